"""Shared fixtures: ``db_url`` on SQLite and PostgreSQL, ``app``, ``client``, ``runner``, feeds.

Databases. SQLite always: the schema is migrated once per session into a template file, which
each test copies (fast, and every test starts empty). PostgreSQL when the server at
``postgresql+psycopg://postgres@127.0.0.1:5432/test`` answers: several engineers and CI share that
database, so each test session migrates into its own schema (``t_<pid>_<random>``, reached with
``options=-csearch_path=...``), empties it after each test and drops it at the end. When no server
answers, PostgreSQL tests are skipped with the reason.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner
from sqlalchemy import text

from service.app import EXTENSION, create_app
from service.db import Base, make_engine, make_session_factory
from service.migrations import upgrade
from service.security import sign

# The shared server; TEST_POSTGRES_URL points the tests elsewhere (e.g. another CI service name).
PG_SERVER = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
TOKEN = "test-token-0123456789abcdef"
FEED_SECRET = "test-feed-secret-0123456789"
# Tests run "today" at a fixed instant so ages and statuses do not move with the calendar.
NOW = datetime(2026, 3, 15, 9, 30, tzinfo=UTC)
FIXTURES = Path(__file__).resolve().parent / "fixtures"
_PG_SKIP: dict[str, str] = {}


# --- databases ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    # The migration's engine is disposed when it is done; closing the last connection folds
    # SQLite's WAL into the file, so copying the file alone copies the whole database.
    upgrade(f"sqlite:///{path}")
    assert not path.with_name(path.name + "-wal").exists()
    return path


@pytest.fixture(scope="session")
def pg_schema_url() -> Iterator[str | None]:
    """A migrated schema of our own on the shared server, or None (with the reason) if none."""
    try:
        admin = psycopg.connect(PG_SERVER, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[0]
        print(f"\nPostgreSQL tests skipped: {PG_SERVER} does not answer ({reason})")
        _PG_SKIP["reason"] = reason
        yield None
        return
    schema = f"t_{os.getpid()}_{secrets.token_hex(4)}"
    admin.execute(f'CREATE SCHEMA "{schema}"')
    base = PG_SERVER.replace("postgresql://", "postgresql+psycopg://", 1)
    url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    try:
        upgrade(url)
        yield url
    finally:
        admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.close()


def _truncate_all(url: str) -> None:
    engine = make_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def db_url(request, tmp_path, sqlite_template) -> Iterator[str]:
    """A migrated, empty database: SQLite always, PostgreSQL when the server answers."""
    if request.param == "sqlite":
        path = tmp_path / "test.sqlite3"
        shutil.copyfile(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("pg_schema_url")
    if url is None:
        pytest.skip(f"PostgreSQL not reachable at {PG_SERVER}: {_PG_SKIP.get('reason')}")
    try:
        yield url
    finally:
        _truncate_all(url)


@pytest.fixture
def sqlite_url(tmp_path, sqlite_template) -> str:
    """For tests about SQLite alone (files, byte-for-byte checks)."""
    path = tmp_path / "test.sqlite3"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def db(db_url):
    """(engine, session factory) over an empty, migrated database (SQLite and PostgreSQL)."""
    engine = make_engine(db_url)
    yield engine, make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def factory(db):
    return db[1]


# --- the app ------------------------------------------------------------------------------------


def app_overrides(db_url: str, **extra: Any) -> dict[str, Any]:
    return {
        "DATABASE_URL": db_url,
        "SERVICE_API_TOKENS": TOKEN,
        "FEED_SIGNING_SECRET": FEED_SECRET,
        "TESTING": "1",
        "LOG_LEVEL": "INFO",
        "CLOCK": lambda: NOW,
        **extra,
    }


@pytest.fixture
def app(db_url):
    app = create_app(app_overrides(db_url))
    yield app
    app.extensions[EXTENSION].engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def runner(db_url, monkeypatch) -> CliRunner:
    """A click runner whose environment points the CLI at the test database."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    return CliRunner()


# --- feeds --------------------------------------------------------------------------------------


def signed_headers(body: bytes, *, secret: str = FEED_SECRET, at: datetime = NOW) -> dict[str, str]:
    return {
        "X-Signature": sign(secret, body, int(at.timestamp())),
        "Content-Type": "application/json",
    }


@pytest.fixture
def post_feed(client) -> Callable[..., Any]:
    """``post_feed(doc_or_bytes, secret=..., at=..., headers=...)``: a signed feed request."""

    def post(doc: Any, *, secret: str = FEED_SECRET, at: datetime = NOW, headers=None):
        body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
        all_headers = signed_headers(body, secret=secret, at=at)
        all_headers.update(headers or {})
        return client.post("/api/v1/feeds/erp", data=body, headers=all_headers)

    return post


def load_fixture(*parts: str) -> Any:
    return json.loads(FIXTURES.joinpath(*parts).read_text())


def snapshot(engine) -> dict[str, list[tuple]]:
    """Every row of every table, in key order: equal snapshots mean an unchanged database."""
    out = {}
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            key = list(table.primary_key.columns)
            rows = connection.execute(table.select().order_by(*key)).all()
            out[table.name] = [tuple(row) for row in rows]
    return out

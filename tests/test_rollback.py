"""``credit-control db downgrade REVISION``: the schema goes back to what an older release expects
(docs/operations.md, "Upgrades and rollback"), and ``db upgrade`` brings it forward again."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import psycopg
import pytest
from click.testing import CliRunner
from sqlalchemy import inspect

from service.cli import main
from service.db import make_engine
from service.migrations import current_head
from tests.conftest import PG_SERVER


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_url(request, tmp_path) -> Iterator[str]:
    """An empty database of this test's own (a schema of its own on PostgreSQL)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'rollback.sqlite3'}"
        return
    try:
        admin = psycopg.connect(PG_SERVER, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable at {PG_SERVER}: {exc}")
    schema = f"rb_{secrets.token_hex(4)}"
    admin.execute(f'CREATE SCHEMA "{schema}"')
    base = PG_SERVER.replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    finally:
        admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.close()


def _state(url: str) -> tuple[str, dict[str, set[str]]]:
    """(revision, {table: its columns})."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            revision = connection.exec_driver_sql(
                "SELECT version_num FROM alembic_version"
            ).scalar()
            schema = inspect(connection)
            tables = {
                t: {c["name"] for c in schema.get_columns(t)} for t in schema.get_table_names()
            }
    finally:
        engine.dispose()
    return revision, tables


def test_db_downgrade__goes_back_one_revision_and_upgrade_comes_forward_again(
    empty_url, monkeypatch
):
    monkeypatch.setenv("DATABASE_URL", empty_url)
    runner = CliRunner()
    head = current_head()
    previous = f"{int(head) - 1:04}"

    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    _, head_schema = _state(empty_url)
    down = runner.invoke(main, ["db", "downgrade", previous])
    revision, schema = _state(empty_url)
    up = runner.invoke(main, ["db", "upgrade"])

    assert down.exit_code == 0, down.output
    assert down.output.strip().endswith(f"is at {previous}")
    assert revision == previous
    assert schema != head_schema  # the newest revision's change is undone
    assert up.exit_code == 0, up.output
    assert _state(empty_url) == (head, head_schema)

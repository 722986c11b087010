"""SQLite bulk inserts on a writer thread (``service.db.background_writes``): the transaction
sees exactly what it would have seen had each insert run in place, a failed insert is raised
and nothing of the transaction is kept, and no thread outlives the block."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from service import bulk
from service.bulk import bulk_insert, insert_with_ids
from service.db import background_writes, make_engine, make_session_factory, queued_writes
from service.models import OutboxMessage

NOW = datetime(2026, 3, 15, 7, tzinfo=UTC)


def _rows(count: int, start: int = 0) -> list[dict]:
    return [
        {
            "kind": "Account",
            "target": f"Account:{start + i}",
            "payload": {"n": start + i, "name": "Müller & Söhne"},
            "status": "pending",
            "attempts": 0,
            "available_at": NOW,
            "created_at": NOW,
        }
        for i in range(count)
    ]


def _stored(factory) -> list[tuple]:
    with factory() as session:
        return [
            tuple(row)
            for row in session.execute(
                select(
                    OutboxMessage.id,
                    OutboxMessage.target,
                    OutboxMessage.payload,
                    OutboxMessage.available_at,
                ).order_by(OutboxMessage.id)
            )
        ]


def _writer_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("sqlite-writes")]


@pytest.fixture
def sqlite_factory(sqlite_url):
    engine = make_engine(sqlite_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def small_statements(monkeypatch):
    """Seven rows a statement, so a few dozen rows take several statements."""
    monkeypatch.setattr(bulk, "ROWS_PER_STATEMENT", 7)


def test_queued_inserts_are_seen_by_the_next_query_and_stored_as_in_place(
    sqlite_factory, sqlite_url, small_statements, tmp_path
):
    with sqlite_factory.begin() as session, background_writes(session):
        assert queued_writes(session) is not None
        ids = insert_with_ids(session, OutboxMessage.__table__, _rows(50))
        bulk_insert(session, OutboxMessage.__table__, _rows(23, start=50))
        # The very next statement waits for all 73 rows (11 statements).
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 73
        # And ids continue after what is queued.
        more = insert_with_ids(session, OutboxMessage.__table__, _rows(3, start=73))
    assert ids == list(range(1, 51)) and more == [74, 75, 76]
    background = _stored(sqlite_factory)

    # The same writes without the background writer store the very same rows.
    other = make_engine(sqlite_url.replace("test.sqlite3", "other.sqlite3"))
    (tmp_path / "other.sqlite3").write_bytes((tmp_path / "test.sqlite3").read_bytes())
    other_factory = make_session_factory(other)
    with other_factory.begin() as session:
        session.execute(OutboxMessage.__table__.delete())
    with other_factory.begin() as session:
        assert queued_writes(session) is None
        insert_with_ids(session, OutboxMessage.__table__, _rows(50))
        bulk_insert(session, OutboxMessage.__table__, _rows(23, start=50))
        insert_with_ids(session, OutboxMessage.__table__, _rows(3, start=73))
    assert _stored(other_factory) == background
    assert background[0][2] == {"n": 0, "name": "Müller & Söhne"}
    other.dispose()
    assert _writer_threads() == []


def test_a_failed_insert_is_raised_by_the_next_query_and_nothing_is_kept(
    sqlite_factory, small_statements
):
    with pytest.raises(IntegrityError, match=r"UNIQUE constraint failed: outbox\.id"):
        with sqlite_factory.begin() as session, background_writes(session):
            insert_with_ids(session, OutboxMessage.__table__, _rows(20))
            clash = _rows(10, start=20)
            for number, row in enumerate(clash):
                row["id"] = 15 + number  # ids 15..20 are taken
            bulk_insert(session, OutboxMessage.__table__, clash)
            bulk_insert(session, OutboxMessage.__table__, _rows(5, start=40))
            session.scalar(select(func.count()).select_from(OutboxMessage))
            pytest.fail("the query after a failed insert must raise")
    assert _stored(sqlite_factory) == []
    assert _writer_threads() == []
    # The pooled connection works as before.
    with sqlite_factory.begin() as session:
        bulk_insert(session, OutboxMessage.__table__, _rows(2))
    assert len(_stored(sqlite_factory)) == 2


def test_a_failed_last_insert_is_raised_when_the_block_ends(sqlite_factory):
    with pytest.raises(IntegrityError, match="UNIQUE constraint failed"):
        with sqlite_factory.begin() as session, background_writes(session):
            rows = _rows(3)
            for row, row_id in zip(rows, (8, 9, 9), strict=True):
                row["id"] = row_id
            bulk_insert(session, OutboxMessage.__table__, rows)
    assert _stored(sqlite_factory) == []


def test_an_error_in_the_block_drops_what_is_queued(sqlite_factory, small_statements):
    with pytest.raises(RuntimeError, match="the import failed"):
        with sqlite_factory.begin() as session, background_writes(session):
            bulk_insert(session, OutboxMessage.__table__, _rows(200))
            raise RuntimeError("the import failed")
    assert _stored(sqlite_factory) == []
    assert _writer_threads() == []


def test_nested_blocks_share_one_writer(sqlite_factory):
    with sqlite_factory.begin() as session, background_writes(session):
        outer = queued_writes(session)
        with background_writes(session):
            assert queued_writes(session) is outer
            bulk_insert(session, OutboxMessage.__table__, _rows(4))
        assert queued_writes(session) is outer
    assert len(_stored(sqlite_factory)) == 4


def test_every_backend_stores_the_rows(db):
    """PostgreSQL's server works beside the client already: there the block changes nothing."""
    _engine, factory = db
    with factory.begin() as session, background_writes(session):
        if session.get_bind().dialect.name != "sqlite":
            assert queued_writes(session) is None
        bulk_insert(session, OutboxMessage.__table__, _rows(30))
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 30
    assert [row[1] for row in _stored(factory)] == [f"Account:{i}" for i in range(30)]

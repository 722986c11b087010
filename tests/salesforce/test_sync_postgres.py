"""PostgreSQL behaviour that differs from SQLite: SKIP LOCKED claims and the advisory lock."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from service import outbox
from service.db import make_engine, make_session_factory, transaction
from service.salesforce.leader import Leadership

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg(pg_schema_url):
    if pg_schema_url is None:
        pytest.skip("PostgreSQL does not answer")
    engine = make_engine(pg_schema_url)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE outbox, leases RESTART IDENTITY"))
    yield engine, make_session_factory(engine)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE outbox, leases RESTART IDENTITY"))
    engine.dispose()


def test_claim__concurrent_workers_take_disjoint_rows(pg):
    _, factory = pg
    with transaction(factory) as s:
        for n in range(10):
            outbox.enqueue(s, outbox.ACCOUNT, f"Account:{n}")
    first = factory()
    first.begin()
    try:
        mine = outbox.claim(first, limit=4)  # rows stay locked: this transaction is open
        with transaction(factory) as other:
            theirs = outbox.claim(other, limit=10)
        assert {r.target for r in mine.rows}.isdisjoint({r.target for r in theirs.rows})
        assert len(mine.rows) + len(theirs.rows) == 10
        first.commit()
    finally:
        first.close()


def test_advisory_lock__one_subscriber_per_org(pg):
    engine, factory = pg
    a = Leadership(engine, factory, holder="worker-a")
    b = Leadership(engine, factory, holder="worker-b")
    try:
        assert a.acquire() is True
        assert b.acquire() is False
        assert a.renew() is True
        a.release()
        assert b.acquire() is True
    finally:
        a.release()
        b.release()
        for leader in (a, b):
            if leader._conn is not None:
                leader._conn.close()

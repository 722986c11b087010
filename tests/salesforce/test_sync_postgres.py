"""PostgreSQL behaviour that differs from SQLite: SKIP LOCKED claims and the advisory lock."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from service import outbox
from service.db import make_engine, make_session_factory, transaction
from service.models import OutboxMessage
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


def test_claim__two_pending_rows_of_one_record_never_go_to_two_pushers(pg):
    """Two changes queued at once can leave two pending rows for one Account. SKIP LOCKED gives
    claimers disjoint rows, not disjoint targets: without a lock per target, one claimer could
    take one row while another holds the other, and both push (and announce) the same record."""
    _, factory = pg
    with transaction(factory) as s:
        first = outbox.enqueue(s, outbox.ACCOUNT, "Account:7")
        outbox.enqueue(s, outbox.ACCOUNT, "Account:7")
        s.flush()
        first_row = first.id
    a = factory()
    a.begin()
    b = factory()
    b.begin()
    try:
        # A is inside its claim: its SELECT ... FOR UPDATE has locked the first row.
        a.execute(
            select(OutboxMessage).where(OutboxMessage.id == first_row).with_for_update()
        ).all()
        theirs = outbox.claim(b, limit=10)  # B skips the locked row and takes the other
        mine = outbox.claim(a, limit=10)  # A goes on, B not committed yet
        claimed = [r.target for r in theirs.rows] + [r.target for r in mine.rows]
        assert claimed.count("Account:7") == len(theirs.rows) + len(mine.rows)
        assert not (theirs.rows and mine.rows), "one record in two pushes at once"
        b.commit()
        a.commit()
    finally:
        a.close()
        b.close()


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

"""The outbox on a real SQLite database: enqueue, coalesce, claim leases, retry, dead letters."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from service import outbox
from service.db import make_engine, make_session_factory, transaction, utcnow
from service.models import OutboxMessage
from tests.salesforce.sync_helpers import make_customer


def _rows(factory):
    with factory() as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_queue_for_salesforce__one_pending_row_per_target(factory):
    with transaction(factory) as s:
        c = make_customer(s, "C1")
        assert outbox.queue_for_salesforce(s, [c.id, c.id], [7]) == 2
        assert outbox.queue_for_salesforce(s, [c.id]) == 0  # already pending
        assert outbox.queue_for_salesforce(s, [c.id], announce=True) == 1  # must publish
    rows = _rows(factory)
    assert [r.target for r in rows] == [f"Account:{c.id}", "Receivable__c:7", f"Account:{c.id}"]
    assert rows[2].payload == {"announce": True}


@pytest.fixture
def any_factory(db_url):
    """A session factory on SQLite and on PostgreSQL (the set-based SQL differs)."""
    engine = make_engine(db_url)
    yield make_session_factory(engine)
    engine.dispose()


def test_queue_for_salesforce__set_based_rows_on_both_databases(any_factory):
    now = utcnow()
    with transaction(any_factory) as s:
        outbox.enqueue(s, outbox.ACCOUNT, "Account:1")  # due: Account:1 is not queued again
        outbox.enqueue(s, outbox.ACCOUNT, "Account:2", available_at=now + timedelta(minutes=5))
        claimed = outbox.enqueue(s, outbox.RECEIVABLE, "Receivable__c:10")
        s.flush()
        claimed.status = outbox.IN_FLIGHT  # held by a pusher: a new pending row is needed
        outbox.enqueue(s, outbox.RECEIVABLE, "Receivable__c:11")  # added, not flushed yet
        added = outbox.queue_for_salesforce(s, [3, 1, 2, 3], [11, 10, 12])
        assert added == 4
        assert outbox.queue_for_salesforce(s, [1, 3], [12, 13], announce=True) == 3
    rows = _rows(any_factory)[4:]
    assert [(r.kind, r.target, r.payload) for r in rows] == [
        (outbox.ACCOUNT, "Account:3", {}),
        (outbox.ACCOUNT, "Account:2", {}),
        (outbox.RECEIVABLE, "Receivable__c:10", {}),
        (outbox.RECEIVABLE, "Receivable__c:12", {}),
        (outbox.ACCOUNT, "Account:1", {"announce": True}),
        (outbox.ACCOUNT, "Account:3", {"announce": True}),
        (outbox.RECEIVABLE, "Receivable__c:13", {}),
    ]
    assert {(r.status, r.attempts, r.last_error, r.sent_at) for r in rows} == {
        (outbox.PENDING, 0, None, None)
    }
    assert all(now <= r.available_at <= utcnow() and r.created_at for r in rows)
    with transaction(any_factory) as s:
        claim = outbox.claim(s, limit=100)
    assert len(claim.by_target()["Account:3"]) == 2  # coalesced into one push


def test_queue_for_salesforce__receivables_new_in_this_transaction_are_queued_too(any_factory):
    with transaction(any_factory) as s:
        assert outbox.queue_for_salesforce(s, [], [20]) == 1
        added = outbox.queue_for_salesforce(s, [], [20, 21, 22], new_receivables={21, 22})
    assert added == 2  # 20 was pending already; 21 and 22 cannot have been
    rows = _rows(any_factory)
    assert [(r.kind, r.target, r.payload, r.status, r.attempts) for r in rows] == [
        (outbox.RECEIVABLE, "Receivable__c:20", {}, outbox.PENDING, 0),
        (outbox.RECEIVABLE, "Receivable__c:21", {}, outbox.PENDING, 0),
        (outbox.RECEIVABLE, "Receivable__c:22", {}, outbox.PENDING, 0),
    ]
    assert rows[1].available_at == rows[2].available_at <= utcnow()
    with transaction(any_factory) as s:  # due, so a pusher takes them
        assert set(outbox.claim(s, limit=10).by_target()) == {r.target for r in rows}


def test_claim__takes_every_pending_row_of_a_target_and_leases_them(factory):
    with transaction(factory) as s:
        for n in range(3):
            outbox.enqueue(s, outbox.ACCOUNT, "Account:1", {"n": n})
        outbox.enqueue(s, outbox.ACCOUNT, "Account:2")
    with transaction(factory) as s:
        claim = outbox.claim(s, limit=1, lease_seconds=60)
    assert {r.target for r in claim.rows} == {"Account:1"}
    assert len(claim.by_target()["Account:1"]) == 3
    assert not claim.recovered
    with transaction(factory) as s:
        second = outbox.claim(s, limit=10)
    assert {r.target for r in second.rows} == {"Account:2"}  # leased rows are not taken twice


def test_claim__expired_lease_is_recovered(factory):
    with transaction(factory) as s:
        outbox.enqueue(s, outbox.ACCOUNT, "Account:1")
    with transaction(factory) as s:
        outbox.claim(s, lease_seconds=60)
    later = utcnow() + timedelta(seconds=61)
    with transaction(factory) as s:
        claim = outbox.claim(s, now=later)
    assert claim.recovered == {"Account:1"}
    assert claim.rows[0].attempts == 2


def test_claim__a_recovered_target_stays_recovered_when_its_push_is_retried(factory):
    """The org may hold the dead claimer's push; after a failed retry the next pusher must
    still compare with the org, or it would announce the status a second time."""
    with transaction(factory) as s:
        outbox.enqueue(s, outbox.ACCOUNT, "Account:1")
    with transaction(factory) as s:
        outbox.claim(s, lease_seconds=60)  # this claimer dies
    later = utcnow() + timedelta(seconds=61)
    with transaction(factory) as s:
        taken = outbox.claim(s, now=later)
        assert taken.recovered == {"Account:1"}
        outbox.mark_retry(s, taken.rows, "org busy", "UNABLE_TO_LOCK_ROW", base=0.0, cap=0.0)
    with transaction(factory) as s:
        outbox.enqueue(s, outbox.ACCOUNT, "Account:1")  # a later change of the same Account
    with transaction(factory) as s:
        again = outbox.claim(s, now=later + timedelta(seconds=1))
    assert again.recovered == {"Account:1"}
    assert {r.target for r in again.rows} == {"Account:1"}


def test_retry_then_dead_then_retry_command(factory):
    with transaction(factory) as s:
        outbox.enqueue(s, outbox.ACCOUNT, "Account:1")
        outbox.enqueue(s, outbox.ACCOUNT, "Account:2")
    with transaction(factory) as s:
        rows = outbox.claim(s).rows
        outbox.mark_retry(s, [rows[0]], "locked", "UNABLE_TO_LOCK_ROW", base=10)
        outbox.mark_failed(s, [rows[1]], "deleted", "ENTITY_IS_DELETED")
    first, second = _rows(factory)
    assert first.status == "pending" and first.available_at > utcnow() + timedelta(seconds=4)
    assert first.error_code == "UNABLE_TO_LOCK_ROW"
    assert second.status == "dead" and second.last_error == "deleted"
    with factory() as s:
        assert [r.id for r in outbox.failed_rows(s)] == [second.id]
    with transaction(factory) as s:
        assert outbox.retry_failed(s) == 1
    assert _rows(factory)[1].status == "pending"


def test_backoff_grows_and_is_capped():
    delays = [outbox.backoff_delay(n, base=2, cap=60) for n in (1, 2, 3, 10)]
    assert 1 <= delays[0] <= 2
    assert 2 <= delays[1] <= 4
    assert 4 <= delays[2] <= 8
    assert 30 <= delays[3] <= 60


def test_claim__a_target_in_flight_is_not_claimed_by_another_pusher(factory):
    with transaction(factory) as s:
        outbox.enqueue(s, outbox.ACCOUNT, "Account:1")
    with transaction(factory) as s:
        first = outbox.claim(s, lease_seconds=60)
    with transaction(factory) as s:  # a newer change arrives while the first push is in flight
        outbox.enqueue(s, outbox.ACCOUNT, "Account:1")
        outbox.enqueue(s, outbox.ACCOUNT, "Account:2")
    with transaction(factory) as s:
        second = outbox.claim(s, lease_seconds=60)
    assert [r.target for r in first.rows] == ["Account:1"]
    assert [r.target for r in second.rows] == ["Account:2"]
    with transaction(factory) as s:
        outbox.mark_sent(s, first.rows)
    with transaction(factory) as s:
        third = outbox.claim(s)
    assert [r.target for r in third.rows] == ["Account:1"]

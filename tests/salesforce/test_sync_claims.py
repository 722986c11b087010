"""Outbox claims that outlive their lease: renewed while the push runs, fenced when taken over.

A push may take longer than ``SALESFORCE_CLAIM_LEASE_SECONDS`` (a slow org, API pacing). The
pusher renews the lease of the rows in hand, so a second pusher never takes them for a dead
worker's; and a claimer whose rows were taken over anyway has its acknowledgement discarded.
Measured against devorg with every call slowed down: each Account written once, one
Credit_Status_Change__e per status change.
"""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, select

from service import outbox
from service.db import transaction, utcnow
from service.models import Assessment, OutboxMessage
from service.salesforce.client import build_client
from service.salesforce.push import Pusher
from tests.salesforce.sync_helpers import (
    create_accounts,
    make_customer,
    set_document,
    wait_for,
)
from tests.salesforce.test_sync_worker_kill import _writes_per_account

STATUS_EVENTS = "/event/Credit_Status_Change__e"


def _row(factory, row_id: int) -> OutboxMessage:
    with factory() as s:
        return s.get(OutboxMessage, row_id)


def test_a_claim_taken_over__the_stale_claimers_acknowledgement_is_discarded(factory):
    with transaction(factory) as s:
        row = outbox.enqueue(s, outbox.ACCOUNT, "Account:1")
        s.flush()
        row_id = row.id
    with transaction(factory) as s:
        stale = outbox.claim(s, lease_seconds=60)
    with transaction(factory) as s:  # the first claimer stalled: its lease ran out
        newer = outbox.claim(s, lease_seconds=60, now=utcnow() + timedelta(seconds=61))
    assert newer.recovered == {"Account:1"} and newer.token != stale.token

    with transaction(factory) as s:
        assert outbox.renew(s, stale.token, 60) == 0
        assert outbox.mark_sent(s, stale.rows) == []
        assert outbox.mark_retry(s, stale.rows, "locked", "UNABLE_TO_LOCK_ROW") == []
        assert outbox.mark_failed(s, stale.rows, "deleted", "ENTITY_IS_DELETED") == []
        outbox.release(s, stale.rows)
    row = _row(factory, row_id)
    assert (row.status, row.claim_token, row.last_error) == ("in_flight", newer.token, None)

    with transaction(factory) as s:
        assert [r.id for r in outbox.mark_sent(s, newer.rows)] == [row_id]
    assert _row(factory, row_id).status == "sent"


def test_renew__extends_the_lease_of_the_rows_still_held(factory):
    with transaction(factory) as s:
        outbox.enqueue(s, outbox.ACCOUNT, "Account:1")
        outbox.enqueue(s, outbox.ACCOUNT, "Account:2")
    with transaction(factory) as s:
        claim = outbox.claim(s, lease_seconds=1)
    with transaction(factory) as s:
        outbox.mark_sent(s, claim.rows[:1])
        assert outbox.renew(s, claim.token, 60) == 1  # the sent row is not held any more
    with transaction(factory) as s:  # past the first lease, the renewed row is not due
        assert not outbox.claim(s, now=utcnow() + timedelta(seconds=2))


N = 200


def test_two_pushers_slow_org_short_lease__each_account_written_once_one_event_per_change(
    devorg, factory, sync_settings
):
    settings = sync_settings.with_(claim_lease_seconds=0.5, push_claim_limit=50)
    numbers = [f"L{n:04}" for n in range(N)]
    accounts = create_accounts(build_client(settings), numbers)
    with transaction(factory) as s:
        ids = [make_customer(s, n, account_id=accounts[n]).id for n in numbers]
    for i, cid in enumerate(ids):  # every Account changes; half of them change status
        set_document(factory, cid, status="WATCH" if i % 2 else "OK", overdue="150.00", days=4)
    mark = devorg.bus.last_replay_id()
    # Every request and composite subrequest waits 50 ms: one claim's push (50 Accounts, 25
    # status events) takes about 1.4 s, nearly three leases.
    devorg.faults.latency_ms = 50

    stop = threading.Event()
    pushers = [Pusher(factory, build_client(settings), settings, stop) for _ in range(2)]
    with transaction(factory) as s:
        outbox.queue_for_salesforce(s, ids)
    threads = [threading.Thread(target=p.run, daemon=True) for p in pushers]
    for t in threads:
        t.start()
    try:

        def all_sent():
            with factory() as s:
                return not s.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.status != outbox.SENT)
                )

        wait_for(all_sent, timeout=60, interval=0.1)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
        devorg.faults.latency_ms = 0

    per_account = _writes_per_account(devorg, mark)
    assert set(per_account) == {accounts[n][:15] for n in numbers}
    assert sorted(set(per_account.values())) == [1], "an Account was written twice"
    events = [e.data["payload"] for e in devorg.bus.events_after(STATUS_EVENTS, mark)]
    announced = [e["Account_Id__c"][:15] for e in events]
    assert len(announced) == N // 2 and len(set(announced)) == N // 2
    with factory() as s:
        statuses = dict(s.execute(select(Assessment.customer_id, Assessment.pushed_status)).all())
    assert [statuses[c] for c in ids[:4]] == ["OK", "WATCH", "OK", "WATCH"]

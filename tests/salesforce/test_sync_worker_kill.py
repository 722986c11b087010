"""``credit-control worker`` as a real process, killed with SIGKILL mid-push and restarted.

The org must end in the right state with nothing applied twice: every Account is written once
(counted from devorg's change events), every outbox row ends ``sent``, and the subscriber
resumes after its stored replay id (an event handled before the kill is not handled again, an
event published while it was down is handled after the restart).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from service import outbox
from service.db import transaction
from service.models import CollectionAction, InboxMessage, OutboxMessage
from service.salesforce.client import build_client
from tests.salesforce.sync_helpers import (
    account_writes,
    create_accounts,
    make_customer,
    seed_cursors,
    set_document,
    wait_for,
)

N = 1000


def _start(env) -> subprocess.Popen:
    exe = Path(sys.executable).parent / "credit-control"
    return subprocess.Popen(
        [str(exe), "worker", "--no-scheduler"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _writes_per_account(org, since: int) -> dict[str, int]:
    counts: dict[str, int] = {}
    for event in org.bus.events_after("/data/AccountChangeEvent", since):
        header = event.data["payload"]["ChangeEventHeader"]
        if header["changeType"] == "UPDATE":
            for rid in header["recordIds"]:
                counts[rid[:15]] = counts.get(rid[:15], 0) + 1
    return counts


def _statuses(factory):
    with factory() as s:
        return dict(
            s.execute(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            ).all()
        )


@pytest.mark.slow
def test_sigkill_mid_push__restart_ends_right_nothing_applied_twice(
    db, devorg, sync_settings, tmp_path
):
    engine, factory = db
    client = build_client(sync_settings)
    numbers = [f"K{n:04}" for n in range(N)]
    accounts = create_accounts(client, numbers)
    with transaction(factory) as s:
        ids = [make_customer(s, n, account_id=accounts[n]).id for n in numbers]
    for cid in ids:
        set_document(factory, cid, status="OK", overdue="321.00", days=3) if cid % 2 else None
    with transaction(factory) as s:
        outbox.queue_for_salesforce(s, ids)
    seed_cursors(factory, devorg, sync_settings.channels)
    mark = devorg.bus.last_replay_id()
    env = {
        **os.environ,
        **devorg.env_settings(),
        "DATABASE_URL": str(engine.url),
        # Short, so the restart need not wait long for the dead claim; not shorter: the living
        # worker's lease must survive its heartbeat being starved of CPU for a few seconds on a
        # loaded test machine, or its own other pusher takes its push over mid-call.
        "SALESFORCE_CLAIM_LEASE_SECONDS": "6",
        "SALESFORCE_SUBSCRIBER_LEASE_SECONDS": "3",
        "SALESFORCE_RETRY_BASE_SECONDS": "0.1",
        "LOG_LEVEL": "WARNING",
    }
    devorg.faults.latency_ms = 120  # each call takes a while: the kill lands mid-push

    first = _start(env)
    try:
        wait_for(lambda: account_writes(devorg, since=mark) >= 200, timeout=30, interval=0.005)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    written_before = account_writes(devorg, since=mark)
    assert 0 < written_before < N, "the kill must land mid-push"
    assert _statuses(factory).get("in_flight", 0) > 0 or _statuses(factory).get("pending", 0) > 0

    # An action logged while no worker runs must be handled after the restart.
    action = client.rest(
        "POST",
        "sobjects/Collection_Action__c",
        {"Account__c": accounts["K0001"], "Type__c": "Call", "Outcome__c": "No Answer"},
    )["id"]
    devorg.faults.latency_ms = 0
    second = _start(env)
    try:
        wait_for(lambda: set(_statuses(factory)) == {"sent"}, timeout=40, interval=0.1)

        def handled():
            with factory() as s:
                return s.scalars(
                    select(CollectionAction).where(
                        CollectionAction.salesforce_id.like(action[:15] + "%")
                    )
                ).first()

        wait_for(handled, timeout=20)
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            assert second.wait(20) == 0, second.stderr.read()[-2000:]
        finally:
            if second.poll() is None:
                second.kill()

    # Each Account written exactly once by the push; K0001 may get one more, legitimately,
    # from the re-assessment its Call action triggered after the restart.
    per_account = _writes_per_account(devorg, mark)
    assert set(per_account) == {accounts[n][:15] for n in numbers}
    others = {k: v for k, v in per_account.items() if k != accounts["K0001"][:15]}
    assert set(others.values()) == {1}
    assert per_account[accounts["K0001"][:15]] in (1, 2)
    got = client.rest("GET", f"sobjects/Account/{accounts['K0000']}")
    assert got["Overdue_Amount__c"] == 321 and got["Days_Past_Due__c"] == 3
    with factory() as s:
        handled_twice = s.scalar(
            select(func.count())
            .select_from(InboxMessage)
            .group_by(InboxMessage.external_id)
            .having(func.count() > 1)
        )
    assert handled_twice is None

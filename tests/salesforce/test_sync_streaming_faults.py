"""Streaming faults against devorg: an expired replay id, a refused subscription, a bad day.

The worker runs in-process against the local org over HTTPS, as in test_sync_e2e.py (whose
``book`` and ``worker`` fixtures are used here). Retention expiry is simulated by moving the
org's event clock past 72 hours; a refused channel by devorg's ``refuse_subscribe`` fault.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from click.testing import CliRunner
from devorg.cometd import streaming_for
from sqlalchemy import select

from service.cli import main
from service.db import transaction
from service.models import CollectionAction, Customer, InboxMessage
from service.salesforce.gaps import Gap, list_gaps, record_gap
from service.salesforce.handlers import (
    ACCOUNT_CHANNEL,
    ACTION_CHANNEL,
    PAYMENT_CHANNEL,
    REVIEW_CHANNEL,
)
from tests.salesforce import test_sync_e2e as e2e
from tests.salesforce.sync_helpers import person_client, wait_for
from tests.salesforce.test_sync_e2e import TODAY, _promise, _subscribed

# The whole-loop fixtures: one customer with its Account and an overdue invoice; the worker.
book = e2e.book
worker = e2e.worker

RETENTION = timedelta(hours=72)


@contextmanager
def retention_expired(org) -> Iterator[None]:
    """Every event retained so far is past the org's 72-hour retention (its ids too)."""
    clock = org.bus.clock
    org.bus.clock = lambda: time.time() + RETENTION.total_seconds() + 60
    try:
        yield
    finally:
        # Events published meanwhile are stamped 72 h ahead: expire them too before going
        # back, so later tests (one org per session) do not find them retained.
        org.bus.clock = lambda: time.time() + 2 * RETENTION.total_seconds() + 120
        org.bus.prune()
        org.bus.clock = clock


def _action(factory, action_id: str) -> CollectionAction | None:
    with factory() as s:
        return s.scalars(
            select(CollectionAction).where(
                CollectionAction.salesforce_id.in_({action_id, action_id[:15]})
            )
        ).first()


def _customer(factory, cid: int) -> Customer:
    with factory() as s:
        return s.get(Customer, cid)


def test_expired_replay_id__changes_and_deletions_reconciled_lost_events_reported(
    db, devorg, sync_settings, worker, book, caplog
):
    client, account_id, cid = book
    _engine, factory = db
    # Events from before this worker's time: the platform-event channels get stored cursors too.
    client.rest("POST", "sobjects/Credit_Review_Request__e", {"Account_Id__c": account_id})
    client.rest(
        "POST",
        "sobjects/Payment_Received__e",
        {"Account_Id__c": account_id, "Amount__c": 1, "Currency_Code__c": "EUR"},
    )
    first = worker()
    _subscribed(devorg)
    kept = _promise(client, account_id, amount="100.00")
    dropped = _promise(client, account_id, amount="200.00")
    wait_for(lambda: _action(factory, kept) and _action(factory, dropped), timeout=10)
    # A person's Account edit, so the Account channel has a stored cursor too (the worker's own
    # pushes never come back on it).
    person = person_client(sync_settings)
    person.rest("PATCH", f"sobjects/Account/{account_id}", {"Credit_Limit__c": 4000})
    wait_for(lambda: _customer(factory, cid).credit_limit == Decimal("4000.00"), timeout=10)
    first.shutdown(timeout=5)

    # While no worker runs: an action deleted, one changed, one created, the Account's credit
    # fields changed, and a payment announced.
    client.rest("DELETE", f"sobjects/Collection_Action__c/{dropped}")
    client.rest("PATCH", f"sobjects/Collection_Action__c/{kept}", {"Promised_Amount__c": 150})
    created = _promise(client, account_id, amount="300.00")
    override = (TODAY + timedelta(days=20)).isoformat()
    person.rest(
        "PATCH",
        f"sobjects/Account/{account_id}",
        {"Credit_Limit__c": 5000, "Credit_Hold_Override_Until__c": override},
    )
    client.rest(
        "POST",
        "sobjects/Payment_Received__e",
        {"Account_Id__c": account_id, "Amount__c": 400, "Currency_Code__c": "EUR"},
    )

    caplog.set_level(logging.INFO, logger="service.salesforce")
    with retention_expired(devorg):
        second = worker()
        wait_for(lambda: len(list(_gaps(factory))) == 4, timeout=15)
        _subscribed(devorg)

        assert _action(factory, dropped).is_deleted
        assert _action(factory, kept).promised_amount == Decimal("150.00")
        assert not _action(factory, kept).is_deleted
        assert _action(factory, created).promised_amount == Decimal("300.00")
        customer = _customer(factory, cid)
        assert customer.credit_limit == Decimal("5000.00")
        assert customer.hold_override_until.isoformat() == override

        gaps = {g.kind: g for g in _gaps(factory)}
        assert {c: g.status for c, g in gaps.items()} == {
            ACTION_CHANNEL: "reconciled",
            ACCOUNT_CHANNEL: "reconciled",
            REVIEW_CHANNEL: "unrecoverable",
            PAYMENT_CHANNEL: "unrecoverable",
        }
        assert gaps[ACTION_CHANNEL].payload["deleted"] == 1
        assert "platform events" in gaps[PAYMENT_CHANNEL].error
        assert second.subscriber.stats["unrecoverable"] == 2
        warned = [
            r.getMessage()
            for r in caplog.records
            if r.levelno == logging.WARNING and PAYMENT_CHANNEL in r.getMessage()
        ]
        assert any("may be lost" in line for line in warned)

        # Streaming carries on from there: a promise logged now arrives as usual.
        later = _promise(client, account_id, amount="50.00")
        assert wait_for(lambda: _action(factory, later), timeout=10)


def _gaps(factory) -> list[InboxMessage]:
    with factory() as s:
        return list_gaps(s)


def test_refused_subscription__other_channels_run_and_it_is_retried_until_allowed(
    db, devorg, sync_settings, worker, book, caplog
):
    client, account_id, cid = book
    _engine, factory = db
    streaming = streaming_for(devorg)
    streaming.refuse_subscribe(ACCOUNT_CHANNEL, "cdc_permission")
    caplog.set_level(logging.INFO, logger="service.salesforce")
    w = worker()
    _subscribed(devorg, count=3)

    # The other channels stream as usual, in the same session (no restart, one handshake).
    action = _promise(client, account_id)
    assert wait_for(lambda: _action(factory, action), timeout=10)
    person_client(sync_settings).rest(
        "PATCH", f"sobjects/Account/{account_id}", {"Credit_Limit__c": 7000}
    )
    wait_for(lambda: w.subscriber.bayeux.stats["refusals"] >= 2, timeout=10)  # asked again
    assert ACCOUNT_CHANNEL in w.subscriber.bayeux.refused
    assert w.subscriber.bayeux.stats["handshakes"] == 1
    assert _customer(factory, cid).credit_limit != Decimal("7000.00")

    # Allowed again: the next attempt subscribes at the stored replay id, nothing is missed.
    streaming.allow_subscribe(ACCOUNT_CHANNEL)
    wait_for(lambda: _customer(factory, cid).credit_limit == Decimal("7000.00"), timeout=15)
    assert ACCOUNT_CHANNEL not in w.subscriber.bayeux.refused
    messages = [r.getMessage() for r in caplog.records]
    assert any(
        f"subscription to {ACCOUNT_CHANNEL} refused" in m and "other channels" in m
        for m in messages
    )
    assert not any("subscriber failed" in m for m in messages)


def test_stream_gaps_command__lists_each_gap_and_what_it_lost(db):
    engine, factory = db
    since = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    with transaction(factory) as s:
        record_gap(s, Gap(PAYMENT_CHANNEL, 41, since, since + timedelta(days=4), lost="gone"))
        record_gap(s, Gap(ACTION_CHANNEL, 40, since, since + timedelta(days=4), reconciled=3))
        # The same gap met again (a crash before the replay) is not recorded twice.
        record_gap(s, Gap(ACTION_CHANNEL, 40, since, since + timedelta(days=4), reconciled=3))
    out = CliRunner().invoke(main, ["stream", "gaps"], env={"DATABASE_URL": str(engine.url)})
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert len(lines) == 2
    assert "reconciled" in lines[0] and ACTION_CHANNEL in lines[0] and "reconciled=3" in lines[0]
    assert "unrecoverable" in lines[1] and PAYMENT_CHANNEL in lines[1] and "lost: gone" in lines[1]
    assert "2026-11-01T08:00:00+00:00 .. 2026-11-05T08:00:00+00:00" in lines[1]


def _applied(factory, ids: list[str]) -> tuple[int, int]:
    """(lost, doubled) among these actions: none stored, or handled more than once."""
    with factory() as s:
        rows = s.scalars(select(CollectionAction.salesforce_id)).all()
        handled = s.scalars(
            select(InboxMessage.payload).where(
                InboxMessage.kind == ACTION_CHANNEL, InboxMessage.status == "processed"
            )
        ).all()
    stored = [r[:15] for r in rows]
    created = [
        (p.get("payload") or {}).get("ChangeEventHeader", {}).get("recordIds", ["?"])[0][:15]
        for p in handled
        if (p.get("payload") or {}).get("ChangeEventHeader", {}).get("changeType") == "CREATE"
    ]
    lost = sum(1 for i in ids if i[:15] not in stored)
    doubled = sum(stored.count(i[:15]) - 1 for i in ids if i[:15] in stored)
    doubled += sum(created.count(i[:15]) - 1 for i in ids if i[:15] in created)
    return lost, doubled


def test_bad_day_on_the_stream__unknown_client_request_limit_503_storm__lost_0_doubled_0(
    db, devorg, worker, book
):
    client, account_id, _ = book
    _engine, factory = db
    streaming = streaming_for(devorg)
    w = worker()
    _subscribed(devorg)
    published: list[str] = []

    def burst(n: int) -> None:
        published.extend(
            _promise(client, account_id, amount=f"{10 + len(published)}.00") for _ in range(n)
        )

    # 403::Unknown client: the server forgets the session between two bursts.
    burst(5)
    streaming.drop_clients()
    burst(5)
    # A 503 storm on /cometd: busy handshakes and connects, and the session dropped again.
    streaming.apply_faults({"busy_connects": 4, "busy_handshakes": 4, "drop_clients": True})
    burst(5)
    # REQUEST_LIMIT_EXCEEDED on the worker's next REST calls (its pushes and re-reads).
    burst(5)
    devorg.faults.fail_next(4, "REQUEST_LIMIT_EXCEEDED")
    wait_for(lambda: not devorg.faults.describe()["fail_next"], timeout=30)
    wait_for(lambda: _applied(factory, published)[0] == 0, timeout=30)
    assert _applied(factory, published) == (0, 0)
    assert w.subscriber.bayeux.stats["handshakes"] >= 3

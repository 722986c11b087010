"""The pusher against devorg: coalescing, diffing, call counts, per-record errors, recovery."""

from __future__ import annotations

import math
import time
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from service import outbox
from service.db import transaction
from service.models import Assessment, Customer, OutboxMessage, Receivable
from service.salesforce.client import build_client
from service.salesforce.push import Pusher
from tests.salesforce.sync_helpers import (
    account_writes,
    create_accounts,
    make_customer,
    read_account,
    route_calls,
    set_document,
)


@pytest.fixture
def pusher(factory, sync_settings):
    return Pusher(factory, build_client(sync_settings), sync_settings)


def _customers(factory, numbers, linked: dict[str, str] | None = None) -> list[int]:
    with transaction(factory) as s:
        ids = [make_customer(s, n, account_id=(linked or {}).get(n)).id for n in numbers]
    return ids


def _queue(factory, ids, times: int = 1):
    for _ in range(times):
        with transaction(factory) as s:
            for cid in ids:
                outbox.enqueue(s, outbox.ACCOUNT, outbox.account_target(cid))


def _statuses(factory) -> dict[str, int]:
    with factory() as s:
        rows = s.scalars(select(OutboxMessage.status)).all()
    return {st: rows.count(st) for st in set(rows)}


def test_push__links_coalesces_and_writes_each_account_once(devorg, factory, pusher):
    numbers = [f"C{n:03}" for n in range(250)]
    accounts = create_accounts(pusher.client, numbers)
    ids = _customers(factory, numbers)
    _queue(factory, ids, times=3)  # three changes per customer before the pusher runs
    mark = devorg.bus.last_replay_id()
    devorg.stats.reset()

    report = pusher.run_once()

    assert report.accounts_sent == 250
    assert route_calls(devorg, "PATCH /services/data/vXX.X/composite/sobjects") == math.ceil(
        250 / 200
    )
    assert route_calls(devorg, "/query") == math.ceil(250 / 200)  # link lookups, unlinked only
    assert account_writes(devorg, since=mark) == 250
    assert _statuses(factory) == {"sent": 750}
    got = read_account(
        pusher.client,
        accounts["C007"],
        "Credit_Status__c",
        "Overdue_Amount__c",
        "Credit_Status_Reason__c",
    )
    assert got == {
        "Credit_Status__c": "OK",
        "Overdue_Amount__c": 0,
        "Credit_Status_Reason__c": "OK: test",
    }
    with factory() as s:
        assert (
            s.scalars(select(Customer.salesforce_account_id).where(Customer.number == "C007")).one()
            == accounts["C007"]
        )


def test_push__sends_only_changed_fields_and_nothing_when_unchanged(devorg, factory, pusher):
    accounts = create_accounts(pusher.client, ["A1", "A2"])
    ids = _customers(factory, ["A1", "A2"], accounts)
    _queue(factory, ids)
    pusher.run_once()
    mark = devorg.bus.last_replay_id()
    devorg.stats.reset()

    _queue(factory, ids)  # nothing changed
    report = pusher.run_once()
    assert report.accounts_unchanged == 2 and report.accounts_sent == 0
    assert route_calls(devorg, "composite/sobjects") == 0

    set_document(factory, ids[0], status="WATCH", overdue="900.00", days=20)
    _queue(factory, ids)
    report = pusher.run_once()
    assert report.accounts_sent == 1 and report.events_sent == 1
    # The Account update and its status event travel in one /composite call.
    assert route_calls(devorg, "/services/data/") == 1
    assert account_writes(devorg, accounts["A1"], since=mark) == 1
    assert account_writes(devorg, accounts["A2"], since=mark) == 0
    changed = devorg.bus.events_after("/data/AccountChangeEvent", mark)[-1].data["payload"]
    assert set(changed["ChangeEventHeader"]["changedFields"]) >= {
        "Credit_Status__c",
        "Overdue_Amount__c",
        "Days_Past_Due__c",
    }
    assert "Risk_Score__c" not in changed  # unchanged fields are not sent
    assert "client=credit-control" in changed["ChangeEventHeader"]["changeOrigin"]  # call options
    events = devorg.bus.events_after("/event/Credit_Status_Change__e", mark)
    assert [e.data["payload"]["New_Status__c"] for e in events] == ["WATCH"]
    assert events[0].data["payload"]["Previous_Status__c"] == "OK"
    with factory() as s:
        a = s.get(Assessment, ids[0])
        assert a.pushed_status == "WATCH" and a.pushed_fields["Overdue_Amount__c"] == "900"


def test_unmatched_customer__reported_never_guessed(devorg, factory, pusher):
    create_accounts(pusher.client, ["K1"])
    ids = _customers(factory, ["K1", "NOPE"])
    _queue(factory, ids)
    report = pusher.run_once()
    assert report.unmatched == 1 and report.accounts_sent == 1
    with factory() as s:
        failed = outbox.failed_rows(s)
    assert [(r.status, r.target, r.error_code) for r in failed] == [
        ("unmatched", f"Account:{ids[1]}", "UNMATCHED")
    ]
    assert "NOPE" in failed[0].last_error


def test_row_lock_on_some_records__retried_later_nothing_lost(devorg, factory, pusher):
    accounts = create_accounts(pusher.client, ["L1", "L2", "L3"])
    ids = _customers(factory, ["L1", "L2", "L3"], accounts)
    devorg.faults.lock_records([accounts["L2"]], times=1)
    _queue(factory, ids)
    report = pusher.run_once()
    assert report.accounts_sent == 2 and report.retried == 1
    with factory() as s:
        row = s.scalars(select(OutboxMessage).where(OutboxMessage.status == "pending")).one()
        assert row.error_code == "UNABLE_TO_LOCK_ROW"
    _wait_and_push(pusher, factory)
    assert _statuses(factory) == {"sent": 3}
    assert read_account(pusher.client, accounts["L2"], "Credit_Status__c") == {
        "Credit_Status__c": "OK"
    }


def test_request_limit_exceeded__whole_call_retried(devorg, factory, pusher):
    accounts = create_accounts(pusher.client, ["R1", "R2"])
    ids = _customers(factory, ["R1", "R2"], accounts)
    _queue(factory, ids)
    devorg.faults.fail_next(1, "REQUEST_LIMIT_EXCEEDED")
    report = pusher.run_once()
    assert report.retried == 2
    _wait_and_push(pusher, factory)
    assert _statuses(factory) == {"sent": 2}


def test_deleted_account__dead_letter_then_retry_command(devorg, factory, pusher):
    accounts = create_accounts(pusher.client, ["D1"])
    ids = _customers(factory, ["D1"], accounts)
    pusher.client.rest("DELETE", f"sobjects/Account/{accounts['D1']}")
    _queue(factory, ids)
    report = pusher.run_once()
    assert report.dead == 1
    with factory() as s:
        (row,) = outbox.failed_rows(s)
    assert row.status == "dead" and row.error_code == "ENTITY_IS_DELETED"
    with transaction(factory) as s:
        assert outbox.retry_failed(s, [row.id]) == 1
    assert _statuses(factory) == {"pending": 1}


def test_recovered_lease__org_already_has_the_values__no_second_write(
    devorg, factory, pusher, sync_settings
):
    """A worker died after the org applied its push but before it recorded that."""
    accounts = create_accounts(pusher.client, ["X1"])
    ids = _customers(factory, ["X1"], accounts)
    _queue(factory, ids)
    pusher.run_once()
    with transaction(factory) as s:  # forget the acknowledgement, as a crash would
        s.get(Assessment, ids[0]).pushed_fields = None
        row = s.scalars(select(OutboxMessage)).one()
        row.status, row.available_at = "in_flight", row.created_at
    mark = devorg.bus.last_replay_id()
    report = pusher.run_once()
    assert report.accounts_unchanged == 1
    assert account_writes(devorg, accounts["X1"], since=mark) == 0
    assert _statuses(factory) == {"sent": 1}


def _wait_and_push(pusher, factory, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pusher.run_once()
        if "pending" not in _statuses(factory):
            return
        time.sleep(0.05)
    raise AssertionError(_statuses(factory))


def test_backfill_above_threshold__one_bulk_job(devorg, factory, sync_settings):
    pusher = Pusher(
        factory,
        build_client(sync_settings.with_(bulk_threshold=10)),
        sync_settings.with_(bulk_threshold=10),
    )
    numbers = [f"B{n:02}" for n in range(30)]
    accounts = create_accounts(pusher.client, numbers)
    ids = _customers(factory, numbers, accounts)
    set_document(factory, ids[3], status="HOLD", overdue="5000.00", days=70)
    _queue(factory, ids)
    devorg.stats.reset()
    report = pusher.run_once()
    assert report.accounts_sent == 30
    assert route_calls(devorg, "PATCH /services/data/vXX.X/composite/sobjects") == 0
    assert route_calls(devorg, "jobs/ingest") >= 3
    got = read_account(
        pusher.client, accounts["B03"], "Credit_Status__c", "Overdue_Amount__c", "Days_Past_Due__c"
    )
    assert got == {"Credit_Status__c": "HOLD", "Overdue_Amount__c": 5000, "Days_Past_Due__c": 70}
    assert _statuses(factory) == {"sent": 30}


def _queued_invoice(factory, cid: int, number: str, due: date, open_amount="100.00") -> int:
    """A 100.00 invoice issued 2026-09-01, queued for Salesforce; returns its id."""
    with transaction(factory) as s:
        r = Receivable(
            source="erp-main",
            external_id=number,
            customer_id=cid,
            kind="invoice",
            number=number,
            issue_date=date(2026, 9, 1),
            due_date=due,
            currency="EUR",
            amount=Decimal("100.00"),
            open_amount=Decimal(open_amount),
            source_updated_at=datetime.now(UTC),
        )
        s.add(r)
        s.flush()
        outbox.queue_for_salesforce(s, [], [r.id])
        return r.id


def test_receivables__upserted_by_erp_item_id_with_account_by_external_id(devorg, factory, pusher):
    accounts = create_accounts(pusher.client, ["RV1"])
    (cid,) = _customers(factory, ["RV1"], accounts)
    rid = _queued_invoice(factory, cid, "INV-RV1-1", date(2026, 10, 1), open_amount="40.00")
    report = pusher.run_once()
    assert report.receivables_sent == 1
    (rec,) = pusher.client.query_all(
        "SELECT Id, Account__c, Status__c, Open_Amount__c, ERP_Item_Id__c FROM Receivable__c"
    )
    assert rec["Account__c"][:15] == accounts["RV1"][:15]
    assert rec["Status__c"] == "Partially Paid" and rec["Open_Amount__c"] == 40
    with factory() as s:
        assert s.get(Receivable, rid).salesforce_id == rec["Id"]


def test_api_usage_above_the_share__pusher_slows_down(devorg, factory, sync_settings):
    settings = sync_settings.with_(api_usage_slowdown=0.5, api_usage_pause_seconds=0.3)
    pusher = Pusher(factory, build_client(settings), settings)
    accounts = create_accounts(pusher.client, ["S1", "S2"])
    ids = _customers(factory, ["S1", "S2"], accounts)
    devorg.limits.reset(daily_max=10)
    try:
        devorg.limits.used = 7  # 70% of the daily allowance already used
        pusher.client.query_all("SELECT Id FROM Account")  # reads Sforce-Limit-Info
        assert pusher.client.api_usage_share() == 0.8
        _queue(factory, ids)
        started = time.monotonic()
        report = pusher.run_once()
        assert report.accounts_sent == 2
        assert time.monotonic() - started >= 0.3
    finally:
        devorg.limits.reset(daily_max=15000)


def test_an_item_due_9999_12_31_reaches_the_org_with_no_due_date(devorg, factory, pusher):
    """SAP's "no due date": kept and assessed here, written empty where Salesforce cannot hold
    it, so the item and its Account's figures still arrive (the org refuses years past 4000)."""
    accounts = create_accounts(pusher.client, ["FAR1"])
    (cid,) = _customers(factory, ["FAR1"], accounts)
    _queued_invoice(factory, cid, "INV-FAR-1", date(9999, 12, 31))
    report = pusher.run_once()
    assert report.receivables_sent == 1 and report.dead == 0
    (rec,) = pusher.client.query_all("SELECT Due_Date__c, Issue_Date__c FROM Receivable__c")
    assert rec["Due_Date__c"] is None and rec["Issue_Date__c"] == "2026-09-01"

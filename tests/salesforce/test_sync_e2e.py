"""The whole loop against devorg: feed in -> Account out; action in Salesforce -> Account.

The worker runs in-process (threads) here; test_sync_worker_kill.py runs it as a real
subprocess and kills it. Streaming faults are switched on through devorg's own controls.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from devorg.cometd import streaming_for
from sqlalchemy import select

from service import outbox
from service.app import create_app
from service.db import transaction
from service.models import (
    CollectionAction,
    Customer,
    InboxMessage,
    OutboxMessage,
    Payment,
    Receivable,
    StreamCursor,
)
from service.salesforce.client import build_client
from service.security import sign
from service.worker import Worker
from tests.salesforce.sync_helpers import (
    create_accounts,
    person_client,
    read_account,
    seed_cursors,
    wait_for,
)

SECRET = "feed-secret-0123456789abcdef"
TODAY = datetime.now(UTC).date()


@pytest.fixture
def book(db, sync_settings):
    """One customer, its Account in the org, and an invoice 75 days overdue."""
    _engine, factory = db
    client = build_client(sync_settings)
    accounts = create_accounts(client, ["E1"])
    with transaction(factory) as s:
        c = Customer(
            number="E1",
            source="erp-main",
            name="E1 Ltd",
            currency="EUR",
            salesforce_account_id=accounts["E1"],
        )
        s.add(c)
        s.flush()
        s.add(
            Receivable(
                source="erp-main",
                external_id="INV-E1-1",
                customer_id=c.id,
                kind="invoice",
                number="INV-E1-1",
                issue_date=TODAY - timedelta(days=105),
                due_date=TODAY - timedelta(days=75),
                currency="EUR",
                amount=Decimal("1000.00"),
                open_amount=Decimal("1000.00"),
                source_updated_at=datetime.now(UTC),
            )
        )
    return client, accounts["E1"], c.id


@pytest.fixture
def worker(db, devorg, sync_settings):
    engine, factory = db
    seed_cursors(factory, devorg, sync_settings.channels)
    running: list[Worker] = []

    def start(settings=None) -> Worker:
        w = Worker(engine, factory, settings or sync_settings, schedule=False).start()
        running.append(w)
        return w

    yield start
    for w in running:
        w.shutdown(timeout=5)


def _subscribed(devorg, count: int = 4):
    return wait_for(
        lambda: (
            sum(
                len(c.get("subscriptions", {}))
                for c in streaming_for(devorg).snapshot().get("clients", [])
            )
            >= count
        ),
        timeout=10,
    )


def _promise(client, account_id: str, amount="1000.00", days=10) -> str:
    body = {
        "Account__c": account_id,
        "Type__c": "Promise to Pay",
        "Promised_Amount__c": float(amount),
        "Promised_Date__c": (TODAY + timedelta(days=days)).isoformat(),
    }
    return client.rest("POST", "sobjects/Collection_Action__c", body)["id"]


def test_erp_feed__account_fields_in_the_org_within_2s(
    db, devorg, sync_settings, worker, book, tmp_path
):
    engine, factory = db
    client, account_id, _ = book
    app = create_app(
        {
            "DATABASE_URL": str(engine.url),
            "FEED_SIGNING_SECRET": SECRET,
            "SERVICE_API_TOKENS": "t" * 32,
        }
    )
    worker()
    batch = {
        "source": "erp-main",
        "customers": [{"number": "E1", "name": "E1 Ltd", "currency": "EUR"}],
        "receivables": [
            {
                "id": "INV-E1-2",
                "customer": "E1",
                "type": "invoice",
                "number": "INV-E1-2",
                "issue_date": (TODAY - timedelta(days=50)).isoformat(),
                "due_date": (TODAY - timedelta(days=20)).isoformat(),
                "currency": "EUR",
                "amount": "250.00",
                "open_amount": "250.00",
                "updated_at": datetime.now(UTC).isoformat(),
            }
        ],
        "payments": [],
    }
    body = json.dumps(batch).encode()
    started = time.monotonic()
    response = app.test_client().post(
        "/api/v1/feeds/erp",
        data=body,
        headers={"X-Signature": sign(SECRET, body), "Content-Type": "application/json"},
    )
    assert response.status_code in (200, 202), response.get_data(as_text=True)
    with factory() as s:  # the feed queues the push in its own transaction
        assert s.scalars(select(OutboxMessage)).first() is not None
    got = wait_for(
        lambda: (
            read_account(client, account_id, "Overdue_Amount__c", "Credit_Status__c")[
                "Overdue_Amount__c"
            ]
            == 1250
        ),
        timeout=2.0,
    )
    assert got and time.monotonic() - started < 2.0
    assert read_account(client, account_id, "Credit_Status__c")["Credit_Status__c"] == "HOLD"


def test_promise_in_salesforce__account_reflects_it_within_2s(db, devorg, worker, book):
    client, account_id, cid = book
    w = worker()
    with transaction(db[1]) as s:  # first push, so the Account starts from the ERP's truth
        w.reassess(s, [cid])
        outbox.queue_for_salesforce(s, [cid])
    wait_for(
        lambda: read_account(client, account_id, "Credit_Status__c")["Credit_Status__c"] == "HOLD",
        timeout=5,
    )
    _subscribed(devorg)

    started = time.monotonic()
    _promise(client, account_id)
    promised = (TODAY + timedelta(days=10)).isoformat()
    wait_for(
        lambda: (
            read_account(client, account_id, "Promise_To_Pay_Date__c")["Promise_To_Pay_Date__c"]
            == promised
        ),
        timeout=2.0,
    )
    assert time.monotonic() - started < 2.0
    # The promise covers the overdue amount: the 75-day invoice no longer holds the Account.
    assert read_account(client, account_id, "Credit_Status__c")["Credit_Status__c"] == "WATCH"


def _promise_arrives(db, devorg, client, account_id, timeout=10.0):
    action_id = _promise(client, account_id)

    def stored():
        with db[1]() as s:
            return s.scalars(
                select(CollectionAction).where(
                    CollectionAction.salesforce_id.like(action_id[:15] + "%")
                )
            ).first()

    return wait_for(stored, timeout=timeout)


def test_token_revoked_mid_stream__recovers(db, devorg, worker, book):
    client, account_id, _ = book
    w = worker()
    _subscribed(devorg)
    logins = w.auth.logins
    devorg.revoke_sessions()
    client.reauthenticate()
    assert _promise_arrives(db, devorg, client, account_id)
    assert w.auth.logins > logins


def test_unknown_client__rehandshake_and_resubscribe(db, devorg, worker, book):
    client, account_id, _ = book
    w = worker()
    _subscribed(devorg)
    handshakes = w.subscriber.bayeux.stats["handshakes"]
    streaming_for(devorg).drop_clients()
    assert _promise_arrives(db, devorg, client, account_id)
    assert w.subscriber.bayeux.stats["handshakes"] > handshakes


def test_server_disconnect__reconnects(db, devorg, worker, book):
    client, account_id, _ = book
    w = worker()
    _subscribed(devorg)
    streaming_for(devorg).send_disconnect()
    assert _promise_arrives(db, devorg, client, account_id)
    assert w.subscriber.bayeux.stats["handshakes"] >= 2


def test_expired_replay_id__falls_back_and_nothing_is_lost(db, devorg, sync_settings, worker, book):
    client, account_id, _ = book
    _engine, factory = db
    action_id = _promise(client, account_id)  # happens while no worker runs
    with transaction(factory) as s:
        cursor = s.get(StreamCursor, "/data/Collection_Action__ChangeEvent")
        if cursor is None:
            s.add(StreamCursor(channel="/data/Collection_Action__ChangeEvent", replay_id=1))
        else:
            cursor.replay_id = 1  # long gone: outside the retention window
    w = worker()

    def stored():
        with factory() as s:
            return s.scalars(
                select(CollectionAction).where(
                    CollectionAction.salesforce_id.like(action_id[:15] + "%")
                )
            ).first()

    assert wait_for(stored, timeout=10)
    assert w.subscriber.bayeux.stats["replay_fallbacks"] >= 1


def test_review_request__status_event_even_when_nothing_changed(db, devorg, worker, book):
    client, account_id, cid = book
    w = worker()
    with transaction(db[1]) as s:
        w.reassess(s, [cid])
        outbox.queue_for_salesforce(s, [cid])
    wait_for(
        lambda: read_account(client, account_id, "Credit_Status__c")["Credit_Status__c"] == "HOLD",
        timeout=5,
    )
    _subscribed(devorg)
    mark = devorg.bus.last_replay_id()
    client.rest(
        "POST",
        "sobjects/Credit_Review_Request__e",
        {"Account_Id__c": account_id, "Reason__c": "big order"},
    )

    def answered():  # the answer to the review, not the first push's announcement of HOLD
        return [
            e.data["payload"]
            for e in devorg.bus.events_after("/event/Credit_Status_Change__e", mark)
            if e.data["payload"]["Previous_Status__c"] is not None
        ]

    payload = wait_for(answered, timeout=5)[-1]
    assert payload["Account_Id__c"] == account_id
    assert payload["New_Status__c"] == payload["Previous_Status__c"] == "HOLD"


def test_payment_on_an_unlinked_account__waits_and_counts_once_the_erp_number_is_set(
    db, devorg, sync_settings, worker, book
):
    client, _, _ = book
    person = person_client(sync_settings)  # the ERP number is set by a person
    with transaction(db[1]) as s:  # a customer the ERP sent, not yet linked to any Account
        s.add(Customer(number="E2", source="erp-main", name="E2 Ltd", currency="EUR"))
    worker()
    _subscribed(devorg)
    other = create_accounts(client, ["NOT-YET"])["NOT-YET"]
    person.rest("PATCH", f"sobjects/Account/{other}", {"ERP_Customer_Number__c": None})
    client.rest(
        "POST",
        "sobjects/Payment_Received__e",
        {"Account_Id__c": other, "Amount__c": 125, "Currency_Code__c": "EUR"},
    )

    def waiting():
        with db[1]() as s:
            return s.scalars(
                select(InboxMessage).where(
                    InboxMessage.status == "waiting",
                    InboxMessage.kind == "/event/Payment_Received__e",
                )
            ).first()

    row = wait_for(waiting, timeout=5)
    assert "no customer is linked to this Account yet" in row.error
    with db[1]() as s:
        assert s.get(StreamCursor, "/event/Payment_Received__e").replay_id > 0  # moved on

    person.rest("PATCH", f"sobjects/Account/{other}", {"ERP_Customer_Number__c": "E2"})

    assert wait_for(
        lambda: (
            read_account(client, other, "Balance_Outstanding__c")["Balance_Outstanding__c"] == -125
        ),
        timeout=10,
    )
    with db[1]() as s:
        [payment] = s.scalars(select(Payment).join(Customer).where(Customer.number == "E2")).all()
        assert (payment.amount, payment.status) == (Decimal("125.00"), "provisional")


def test_payment_received__lowers_the_balance_by_exactly_the_amount(db, devorg, worker, book):
    client, account_id, cid = book
    w = worker()
    with transaction(db[1]) as s:  # first push: the Account starts from the ERP's 1,000.00
        w.reassess(s, [cid])
        outbox.queue_for_salesforce(s, [cid])
    wait_for(
        lambda: (
            read_account(client, account_id, "Balance_Outstanding__c")["Balance_Outstanding__c"]
            == 1000
        ),
        timeout=5,
    )
    _subscribed(devorg)
    client.rest(
        "POST",
        "sobjects/Payment_Received__e",
        {
            "Account_Id__c": account_id,
            "Amount__c": 400,
            "Currency_Code__c": "EUR",
            "Reference__c": "R-1",
        },
    )

    def provisional():
        with db[1]() as s:
            return s.scalars(select(Payment).where(Payment.customer_id == cid)).first()

    payment = wait_for(provisional, timeout=5)
    assert (payment.status, payment.amount) == ("provisional", Decimal("400.00"))
    balance = wait_for(
        lambda: (
            read_account(client, account_id, "Balance_Outstanding__c")["Balance_Outstanding__c"]
            == 600
        ),
        timeout=5,
    )
    assert balance
    # Unapplied cash lowers the balance, not the overdue amount (design.md's defaults).
    assert read_account(client, account_id, "Overdue_Amount__c")["Overdue_Amount__c"] == 1000

"""Against devorg, the whole loop: a payment lowers the Account's balance once, in either order;
a promise logged before the Account was linked reaches the Account once it is.

The worker runs in-process; payments come as ``Payment_Received__e`` published in the org and
as signed ERP batches posted to the service's feed.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from devorg.cometd import streaming_for
from sqlalchemy import func, select

from service import outbox
from service.app import create_app
from service.db import transaction
from service.models import AssessmentRequest, Customer, OutboxMessage, Payment, Receivable
from service.salesforce.client import build_client
from service.security import sign
from service.worker import Worker
from tests.salesforce.sync_helpers import person_client, read_account, seed_cursors, wait_for

SECRET = "feed-secret-0123456789abcdef"
TODAY = datetime.now(UTC).date()
NOW = datetime.now(UTC)


@pytest.fixture
def worker(db, devorg, sync_settings):
    engine, factory = db
    seed_cursors(factory, devorg, sync_settings.channels)
    running: list[Worker] = []

    def start() -> Worker:
        w = Worker(engine, factory, sync_settings, schedule=False).start()
        running.append(w)
        return w

    yield start
    for w in running:
        w.shutdown(timeout=10)


@pytest.fixture
def feed(db):
    engine, _ = db
    app = create_app(
        {
            "DATABASE_URL": str(engine.url),
            "FEED_SIGNING_SECRET": SECRET,
            "SERVICE_API_TOKENS": "t" * 32,
        }
    )
    client = app.test_client()

    def post(batch: dict) -> None:
        body = json.dumps({"customers": [], "receivables": [], "payments": [], **batch}).encode()
        response = client.post(
            "/api/v1/feeds/erp",
            data=body,
            headers={"X-Signature": sign(SECRET, body), "Content-Type": "application/json"},
        )
        assert response.status_code in (200, 202), response.get_data(as_text=True)

    return post


def _invoice(customer_id: int, number: str, open_amount: str = "1000.00") -> Receivable:
    return Receivable(
        source="erp-main",
        external_id=number,
        customer_id=customer_id,
        kind="invoice",
        number=number,
        issue_date=TODAY - timedelta(days=105),
        due_date=TODAY - timedelta(days=75),
        currency="EUR",
        amount=Decimal("1000.00"),
        open_amount=Decimal(open_amount),
        source_updated_at=NOW - timedelta(days=1),
    )


def _customer(factory, number: str, account_id: str | None) -> int:
    with transaction(factory) as s:
        c = Customer(
            number=number,
            source="erp-main",
            name=f"{number} Ltd",
            currency="EUR",
            salesforce_account_id=account_id,
        )
        s.add(c)
        s.flush()
        s.add(_invoice(c.id, f"INV-{number}-1"))
        return c.id


def _account(client, number: str | None) -> str:
    body = {"Name": f"Account {number}"}
    if number:
        body["ERP_Customer_Number__c"] = number
    return client.rest("POST", "sobjects/Account", body)["id"]


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


def _balance(client, account_id: str):
    return read_account(client, account_id, "Balance_Outstanding__c")["Balance_Outstanding__c"]


def _settled(factory) -> bool:
    """Nothing left to re-assess or push: what the Account shows is final."""
    with factory() as s:
        waiting = s.scalar(select(func.count()).select_from(AssessmentRequest))
        pending = s.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status.in_((outbox.PENDING, outbox.IN_FLIGHT)))
        )
    return waiting == 0 and pending == 0


def _posting(number: str, reference: str | None = "R-1") -> dict:
    """The ERP's batch: the 1,000.00 payment applied to the invoice, which is now settled."""
    payment = {
        "id": f"P-{number}-1",
        "customer": number,
        "amount": "1000.00",
        "currency": "EUR",
        "received_at": NOW.isoformat(),
        "applied_to": [{"receivable": f"INV-{number}-1", "amount": "1000.00"}],
    }
    if reference:
        payment["reference"] = reference
    return {
        "source": "erp-main",
        "receivables": [
            {
                "id": f"INV-{number}-1",
                "customer": number,
                "type": "invoice",
                "number": f"INV-{number}-1",
                "issue_date": (TODAY - timedelta(days=105)).isoformat(),
                "due_date": (TODAY - timedelta(days=75)).isoformat(),
                "currency": "EUR",
                "amount": "1000.00",
                "open_amount": "0.00",
                "updated_at": NOW.isoformat(),
            }
        ],
        "payments": [payment],
    }


def _announce(client, account_id: str, reference: str | None = "R-1") -> None:
    body = {
        "Account_Id__c": account_id,
        "Amount__c": 1000,
        "Currency_Code__c": "EUR",
        "Received_At__c": NOW.isoformat(),
    }
    if reference:
        body["Reference__c"] = reference
    client.rest("POST", "sobjects/Payment_Received__e", body)


def _start(db, devorg, worker, customer_id):
    """A running worker and the Account pushed from the ERP's truth: 1,000.00 outstanding."""
    w = worker()
    with transaction(db[1]) as s:
        w.reassess(s, [customer_id])
        outbox.queue_for_salesforce(s, [customer_id])
    _subscribed(devorg)
    return w


def _statuses(factory, customer_id):
    with factory() as s:
        return sorted(
            s.scalars(select(Payment.status).where(Payment.customer_id == customer_id)).all()
        )


def test_announced_in_salesforce_then_posted_by_the_erp__balance_lowered_once(
    db, devorg, sync_settings, worker, feed
):
    _, factory = db
    client = build_client(sync_settings)
    account_id = _account(client, "E1")
    cid = _customer(factory, "E1", account_id)
    _start(db, devorg, worker, cid)
    wait_for(lambda: _balance(client, account_id) == 1000, timeout=10)

    _announce(client, account_id)
    wait_for(lambda: _balance(client, account_id) == 0, timeout=10)
    _announce(client, account_id)  # the same payment announced again (a Flow firing twice)
    feed(_posting("E1"))

    wait_for(lambda: len(_statuses(factory, cid)) >= 2 and _settled(factory), timeout=10)
    assert _balance(client, account_id) == 0  # 1,000.00 lowered by exactly 1,000.00, once
    assert read_account(client, account_id, "Credit_Status__c")["Credit_Status__c"] == "OK"
    assert _statuses(factory, cid) == ["confirmed", "superseded"]


def test_posted_by_the_erp_then_announced_in_salesforce__balance_lowered_once(
    db, devorg, sync_settings, worker, feed
):
    _, factory = db
    client = build_client(sync_settings)
    account_id = _account(client, "E2")
    cid = _customer(factory, "E2", account_id)
    _start(db, devorg, worker, cid)
    wait_for(lambda: _balance(client, account_id) == 1000, timeout=10)

    feed(_posting("E2", reference=None))  # no reference: matched by amount and date
    wait_for(lambda: _balance(client, account_id) == 0, timeout=10)
    _announce(client, account_id[:15], reference="R-9")  # the 15-character form of the id

    wait_for(lambda: len(_statuses(factory, cid)) == 2 and _settled(factory), timeout=10)
    assert _balance(client, account_id) == 0
    assert _statuses(factory, cid) == ["confirmed", "superseded"]


def test_promise_on_an_account_before_its_erp_number__reaches_it_once_linked(
    db, devorg, sync_settings, worker
):
    _, factory = db
    client = build_client(sync_settings)
    account_id = _account(client, None)  # the ERP number is not set yet
    cid = _customer(factory, "E3", None)
    w = worker()
    with transaction(factory) as s:
        w.reassess(s, [cid])
    _subscribed(devorg)

    promised = (TODAY + timedelta(days=10)).isoformat()
    client.rest(
        "POST",
        "sobjects/Collection_Action__c",
        {
            "Account__c": account_id,
            "Type__c": "Promise to Pay",
            "Promised_Amount__c": 1000.0,
            "Promised_Date__c": promised,
        },
    )
    person_client(sync_settings).rest(
        "PATCH", f"sobjects/Account/{account_id}", {"ERP_Customer_Number__c": "E3"}
    )

    account = wait_for(
        lambda: (
            (r := read_account(client, account_id, "Promise_To_Pay_Date__c", "Credit_Status__c"))[
                "Promise_To_Pay_Date__c"
            ]
            == promised
            and r
        ),
        timeout=5,
    )
    # The promise covers the 75-day invoice: WATCH, not HOLD.
    assert account["Credit_Status__c"] == "WATCH"
    with factory() as s:
        assert s.get(Customer, cid).salesforce_account_id == account_id

"""Against the local org: a bank credit naming two invoices lifts the HOLD within 2 s; the same
credit again and the ERP's posting change nothing; a reversal puts the Account back on HOLD;
a credit left for review is chosen in Salesforce and applied within seconds."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from service.app import create_app
from service.cash_application import applying
from service.db import transaction
from service.models import CashApplication, Payment, Receivable
from service.salesforce.errors import PermanentError
from service.salesforce.handlers import SYNC_CHANNEL
from service.salesforce.reviews import CHANNEL as REVIEW_CHANNEL
from service.security import sign
from tests.cash_application.books import credit
from tests.cash_application.org import FIELDS, held_in_org
from tests.salesforce.sync_helpers import person_client, read_account, wait_for

FEED_SECRET = "feed-secret-0123456789abcdef"
TODAY = datetime.now(UTC).date()


@pytest.fixture
def held(db, devorg, sync_settings):
    """B1 with INV-2026-0101 (600.00) and INV-2026-0102 (400.00), 75 days overdue: HOLD in the org."""
    invoices = {"INV-2026-0101": "600.00", "INV-2026-0102": "400.00"}
    with held_in_org(db, devorg, sync_settings, "B1", "B1 GmbH", invoices) as held:
        yield held


def _apply(factory, *credits):
    with transaction(factory) as s:
        return applying.apply_credits(s, list(credits), as_of=TODAY)


def _credit(amount: str, remittance: str, **kw):
    """A credit booked today (the ERP's posting is recognised within days of it)."""
    return credit(amount, remittance, booking_date=TODAY, **kw)


def _review(client, key):
    try:
        return client.rest("GET", f"sobjects/Bank_Credit_Review__c/Cash_Application_Id__c/{key}")
    except PermanentError:
        return None  # not pushed yet


def _lifted(client, account):
    found = read_account(client, account, *FIELDS)
    return found if found["Credit_Status__c"] in ("OK", "WATCH") else None


def test_a_credit_naming_two_invoices_lifts_the_hold_and_nothing_counts_twice(db, held):
    engine, factory = db
    client, account, _customer_id = held

    started = time.monotonic()
    report = _apply(
        factory, _credit("1000.00", "Rechnung INV-2026-0101 / inv 2026 102", transaction_id=501)
    )
    assert report.applied == 1
    lifted = wait_for(lambda: _lifted(client, account), timeout=2)
    assert time.monotonic() - started < 2
    assert Decimal(str(lifted["In_Flight_Amount__c"])) == Decimal("1000")

    # The same transaction again (the camt.053 the next day): nothing changes.
    assert (
        _apply(
            factory, _credit("1000.00", "INV-2026-0101 INV-2026-0102", transaction_id=501)
        ).duplicate
        == 1
    )
    with factory() as s:
        assert len(s.scalars(select(Payment).where(Payment.source == "bank")).all()) == 1

    # The bank reverses it the next day: the Account is back on HOLD.
    with transaction(factory) as s:
        assert applying.reverse_credit(s, 501, as_of=TODAY) == "reversed"
    back = wait_for(
        lambda: (a := read_account(client, account, *FIELDS))["Credit_Status__c"] == "HOLD" and a,
        timeout=5,
    )
    assert Decimal(str(back["In_Flight_Amount__c"] or 0)) == 0

    # Paid again; then the ERP posts the payment: no longer in flight, the balance the same.
    _apply(factory, _credit("1000.00", "INV-2026-0101, INV-2026-0102", transaction_id=502))
    paid = wait_for(lambda: _lifted(client, account), timeout=2)
    balance = Decimal(str(paid["Balance_Outstanding__c"]))
    app = create_app(
        {
            "DATABASE_URL": str(engine.url),
            "FEED_SIGNING_SECRET": FEED_SECRET,
            "SERVICE_API_TOKENS": "t" * 32,
        }
    )
    now = datetime.now(UTC)
    posting = {
        "source": "erp-main",
        "customers": [],
        "receivables": [
            {
                "id": number,
                "customer": "B1",
                "type": "invoice",
                "number": number,
                "issue_date": "2020-01-01",
                "due_date": (TODAY - timedelta(days=75)).isoformat(),
                "currency": "EUR",
                "amount": amount,
                "open_amount": "0.00",
                "updated_at": now.isoformat(),
            }
            for number, amount in (("INV-2026-0101", "600.00"), ("INV-2026-0102", "400.00"))
        ],
        "payments": [
            {
                "id": "PAY-B1-BANK",
                "customer": "B1",
                "amount": "1000.00",
                "currency": "EUR",
                "received_at": now.isoformat(),
                "reference": "ca-2/B1",
                "applied_to": [
                    {"receivable": "INV-2026-0101", "amount": "600.00"},
                    {"receivable": "INV-2026-0102", "amount": "400.00"},
                ],
            }
        ],
    }
    body = json.dumps(posting).encode()
    answer = app.test_client().post(
        "/api/v1/feeds/erp",
        data=body,
        headers={
            "X-Signature": sign(FEED_SECRET, body, int(time.time())),
            "Content-Type": "application/json",
        },
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    posted = wait_for(
        lambda: (
            (a := read_account(client, account, *FIELDS))
            and Decimal(str(a["In_Flight_Amount__c"] or 0)) == 0
            and a
        ),
        timeout=10,
    )
    assert Decimal(str(posted["Balance_Outstanding__c"])) == balance
    assert posted["Credit_Status__c"] in ("OK", "WATCH")
    with factory() as s:
        statuses = sorted(s.scalars(select(Payment.status).where(Payment.source == "bank")))
    assert statuses == ["reversed", "superseded"]


def test_a_credit_left_for_review_is_applied_when_a_person_picks_a_candidate(db, devorg, held):
    _, factory = db
    client, account, _ = held
    mark = devorg.bus.last_replay_id()
    # The payer's name is the customer's, but 1,100.00 is no set of its invoices: a person decides.
    report = _apply(factory, _credit("1100.00", "Zahlung", payer_name="B1 GmbH"))
    assert report.review == 1
    with factory() as s:
        app_id = s.scalars(select(CashApplication.id)).one()
    key = f"ca-{app_id}"
    record = wait_for(lambda: _review(client, key), timeout=5)
    assert record["Status__c"] == "Needs Review" and "INV-2026-0101" in record["Candidates__c"]
    assert read_account(client, account, *FIELDS)["Credit_Status__c"] == "HOLD"

    started = time.monotonic()
    person_client(client.settings).rest(
        "PATCH", f"sobjects/Bank_Credit_Review__c/{record['Id']}", {"Apply_Candidate__c": "1"}
    )
    wait_for(lambda: _lifted(client, account), timeout=5)
    assert time.monotonic() - started < 5
    done = wait_for(
        lambda: (
            (r := client.rest("GET", f"sobjects/Bank_Credit_Review__c/{record['Id']}"))["Status__c"]
            == "Applied"
            and r
        ),
        timeout=5,
    )
    assert "chosen in Salesforce" in done["Outcome__c"]
    with factory() as s:
        assert s.get(CashApplication, app_id).decided_by == "salesforce"
        items = s.scalars(select(Receivable.number)).all()
    assert sorted(items) == ["INV-2026-0101", "INV-2026-0102"]
    # The service's own upserts of the review (created, then "Applied") never came back to the
    # worker: only the person's choice is on its channel.
    assert len(_review_events(devorg, REVIEW_CHANNEL, mark)) >= 3
    (chosen,) = _review_events(devorg, SYNC_CHANNEL, mark)
    assert chosen.data["payload"]["Apply_Candidate__c"] == "1"


def _review_events(devorg, channel: str, mark: int) -> list:
    return [
        e
        for e in devorg.bus.events_after(channel, mark)
        if e.data["payload"]["ChangeEventHeader"]["entityName"] == "Bank_Credit_Review__c"
    ]

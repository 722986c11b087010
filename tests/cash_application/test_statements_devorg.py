"""Statement files through the signed bank feed, against the local org: the camt.054 credit
naming two invoices lifts the HOLD within 2 s; the next day's camt.053 with the same
transaction and the ERP's posting change nothing; a reversal puts the Account back on HOLD.

The files are tests/fixtures/bank/made/ (see its SOURCES.md), their dates moved to today.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from service.app import create_app
from service.models import Payment
from service.security import sign
from tests.bank.files import data
from tests.cash_application.org import FIELDS, held_in_org
from tests.salesforce.sync_helpers import read_account, wait_for

FEED_SECRET = "feed-secret-0123456789abcdef"
TODAY = datetime.now(UTC).date()
# The made files' days: the 15th, the notification's 16th, the reversal's 17th.
DAYS = {
    b"2026-03-15": TODAY - timedelta(days=1),
    b"2026-03-16": TODAY,
    b"2026-03-17": TODAY + timedelta(days=1),
}


def _statement(name: str) -> bytes:
    body = data(f"made/{name}")
    for made, day in DAYS.items():
        body = body.replace(made, day.isoformat().encode())
    return body


def _post(web, body: bytes, path: str = "/api/v1/feeds/bank"):
    headers = {
        "X-Signature": sign(FEED_SECRET, body, int(time.time())),
        "Content-Type": "application/octet-stream" if "bank" in path else "application/json",
    }
    answer = web.post(path, data=body, headers=headers)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()


@pytest.fixture
def held(db, devorg, sync_settings):
    """Acme GmbH owes INV-1001 (790.00) and INV-1002 (400.00), 75 days overdue: HOLD."""
    engine, _ = db
    web = create_app(
        {
            "DATABASE_URL": str(engine.url),
            "FEED_SIGNING_SECRET": FEED_SECRET,
            "SERVICE_API_TOKENS": "t" * 32,
        }
    ).test_client()
    invoices = {"INV-1001": "790.00", "INV-1002": "400.00"}
    with held_in_org(db, devorg, sync_settings, "C-ACME", "Acme GmbH", invoices) as held:
        client, account, _customer_id = held
        yield web, client, account


def _lifted(client, account):
    found = read_account(client, account, *FIELDS)
    return found if found["Credit_Status__c"] in ("OK", "WATCH") else None


def _bank_payments(factory) -> list[str]:
    with factory() as s:
        return sorted(s.scalars(select(Payment.status).where(Payment.source == "bank")))


def test_a_camt054_credit_lifts_the_hold_and_the_camt053_and_the_erp_change_nothing(db, held):
    _, factory = db
    web, client, account = held

    started = time.monotonic()
    report = _post(web, _statement("day1-notification.camt054.001.04.xml"))
    assert report["stored"]["credits"] == 1
    assert report["cash_application"] == [
        "cash application: 1 applied, 0 waiting for review, 0 unmatched, 0 applied before"
    ]
    lifted = wait_for(lambda: _lifted(client, account), timeout=2)
    assert time.monotonic() - started < 2
    assert Decimal(str(lifted["In_Flight_Amount__c"])) == Decimal("1190")
    balance = Decimal(str(lifted["Balance_Outstanding__c"]))

    _post(web, _statement("day2-statement.camt053.001.02.xml"))
    assert _bank_payments(factory) == ["provisional"]
    assert read_account(client, account, *FIELDS) == lifted

    now = datetime.now(UTC).isoformat()
    posting = {
        "source": "erp-main",
        "customers": [],
        "receivables": [
            {
                "id": number,
                "customer": "C-ACME",
                "type": "invoice",
                "number": number,
                "issue_date": "2025-11-30",
                "due_date": (TODAY - timedelta(days=75)).isoformat(),
                "currency": "EUR",
                "amount": amount,
                "open_amount": "0.00",
                "updated_at": now,
            }
            for number, amount in (("INV-1001", "790.00"), ("INV-1002", "400.00"))
        ],
        "payments": [
            {
                "id": "PAY-ACME-1",
                "customer": "C-ACME",
                "amount": "1190.00",
                "currency": "EUR",
                "received_at": now,
                "applied_to": [
                    {"receivable": "INV-1001", "amount": "790.00"},
                    {"receivable": "INV-1002", "amount": "400.00"},
                ],
            }
        ],
    }
    _post(web, json.dumps(posting).encode(), "/api/v1/feeds/erp")
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
    assert _bank_payments(factory) == ["superseded"]


def test_a_reversal_the_next_day_puts_the_account_back_on_hold(db, held):
    _, factory = db
    web, client, account = held
    _post(web, _statement("day1-notification.camt054.001.04.xml"))
    wait_for(lambda: _lifted(client, account), timeout=2)

    report = _post(web, _statement("day3-reversal.camt053.001.08.xml"))

    assert report["reversals"]["linked"] >= 1, report
    back = wait_for(
        lambda: (a := read_account(client, account, *FIELDS))["Credit_Status__c"] == "HOLD" and a,
        timeout=5,
    )
    assert Decimal(str(back["In_Flight_Amount__c"] or 0)) == 0
    assert _bank_payments(factory) == ["reversed"]

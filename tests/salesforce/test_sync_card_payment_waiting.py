"""A card payment that names a customer the ERP has not sent yet is applied when the customer
arrives: the money counts, once, and the Account in the org shows it without a second event."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from service.app import create_app
from service.models import Payment
from service.salesforce.client import build_client
from service.security import sign
from service.worker import Worker
from tests.card_payments.conftest import WEBHOOK_SECRET, deliver, session_object
from tests.salesforce.sync_helpers import create_accounts, read_account, wait_for

FEED_SECRET = "feed-secret-0123456789abcdef"
TODAY = datetime.now(UTC).date()


def _feed(account_id: str) -> bytes:
    """The ERP's first batch naming C-LATE: one invoice 90 days overdue (HOLD on its own)."""
    return json.dumps(
        {
            "source": "erp-main",
            "customers": [
                {
                    "number": "C-LATE",
                    "name": "Late Arrival GmbH",
                    "currency": "EUR",
                    "salesforce_account_id": account_id,
                }
            ],
            "receivables": [
                {
                    "id": "INV-L1",
                    "customer": "C-LATE",
                    "type": "invoice",
                    "number": "INV-L1",
                    "issue_date": (TODAY - timedelta(days=120)).isoformat(),
                    "due_date": (TODAY - timedelta(days=90)).isoformat(),
                    "currency": "EUR",
                    "amount": "2500.00",
                    "open_amount": "2500.00",
                    "updated_at": datetime.now(UTC).isoformat(),
                }
            ],
            "payments": [],
        }
    ).encode()


def test_a_payment_for_a_customer_not_yet_sent_counts_when_the_erp_sends_it(
    db, devorg, sync_settings
):
    engine, factory = db
    client = create_app(
        {
            "DATABASE_URL": str(engine.url),
            "FEED_SIGNING_SECRET": FEED_SECRET,
            "SERVICE_API_TOKENS": "t" * 32,
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        }
    ).test_client()
    org = build_client(sync_settings)
    account_id = create_accounts(org, ["C-LATE"])["C-LATE"]
    paid = session_object(
        "pi_late_1",
        250_000,
        metadata={
            "credit_control_customer": "C-LATE",
            "credit_control_receivables": "INV-L1",
        },
    )
    event = {
        "id": "evt_late_1",
        "object": "event",
        "api_version": "2026-07-29.dahlia",
        "created": int(time.time()),
        "data": {"object": paid},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": "checkout.session.completed",
    }
    assert deliver(client, event).get_json()["outcome"] == "recorded"

    worker = Worker(engine, factory, sync_settings, subscribe=False, schedule=False).start()
    try:
        body = _feed(account_id)
        headers = {
            "X-Signature": sign(FEED_SECRET, body, int(time.time())),
            "Content-Type": "application/json",
        }
        assert client.post("/api/v1/feeds/erp", data=body, headers=headers).status_code == 200

        def lifted():
            account = read_account(
                org, account_id, "Credit_Status__c", "In_Flight_Amount__c", "Overdue_Amount__c"
            )
            return account if account["In_Flight_Amount__c"] == 2500 else None

        account = wait_for(lifted, timeout=10)
        assert account["Credit_Status__c"] in ("OK", "WATCH")
        assert account["Overdue_Amount__c"] == 0
    finally:
        worker.shutdown()

    # The same event again (Stripe retries) and the daily sweep change nothing: one payment.
    assert deliver(client, event).get_json()["outcome"] == "duplicate"
    assert worker._adopt_card_payments(None) == 0
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Payment)) == 1

"""A card payment against devorg: a signed ``checkout.session.completed`` for a customer on HOLD
turns its Account to OK or WATCH within 2 s, with the money shown in In_Flight_Amount__c; when
the ERP posts the payment the Account's balance stays as it was."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from decimal import Decimal

import stripe
from sqlalchemy import select

from service import outbox
from service.app import create_app
from service.assessments import reassess
from service.db import transaction
from service.models import Receivable
from service.security import sign
from service.worker import Worker
from tests.salesforce.sync_helpers import read_account, seed_cursors, wait_for
from tests.salesforce.test_sync_e2e import book  # noqa: F401 - the shared fixture

SECRET = "whsec_sync_0123456789abcdefghij"
FEED_SECRET = "feed-secret-0123456789abcdef"


def _signed(event: dict) -> tuple[bytes, dict]:
    body = json.dumps(event).encode()
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), SECRET)
    return body, {"Stripe-Signature": header, "Content-Type": "application/json"}


def _paid_event(now: datetime) -> dict:
    return {
        "id": "evt_sync_paid",
        "object": "event",
        "api_version": "2026-07-29.dahlia",
        "created": int(now.timestamp()),
        "data": {
            "object": {
                "id": "cs_test_sync",
                "object": "checkout.session",
                "amount_total": 100_000,
                "currency": "eur",
                "metadata": {
                    "credit_control_customer": "E1",
                    "credit_control_receivables": "INV-E1-1",
                },
                "mode": "payment",
                "payment_intent": "pi_sync_1",
                "payment_status": "paid",
                "status": "complete",
            }
        },
        "livemode": False,
        "type": "checkout.session.completed",
    }


def _erp_posting(received_at: datetime) -> dict:
    return {
        "source": "erp-main",
        "customers": [],
        "receivables": [
            {
                "id": "INV-E1-1",
                "customer": "E1",
                "type": "invoice",
                "number": "INV-E1-1",
                "issue_date": "2020-01-01",
                "due_date": "2020-01-31",
                "currency": "EUR",
                "amount": "1000.00",
                "open_amount": "0.00",
                "updated_at": received_at.isoformat(),
            }
        ],
        "payments": [
            {
                "id": "PAY-E1-CARD",
                "customer": "E1",
                "amount": "1000.00",
                "currency": "EUR",
                "received_at": received_at.isoformat(),
                "reference": "pi_sync_1",
                "applied_to": [{"receivable": "INV-E1-1", "amount": "1000.00"}],
            }
        ],
    }


def test_a_card_payment_lifts_the_hold_in_the_org_within_2_seconds(
    db,
    devorg,
    sync_settings,
    book,  # noqa: F811
):
    engine, factory = db
    client, account_id, customer_id = book
    seed_cursors(factory, devorg, sync_settings.channels)
    worker = Worker(engine, factory, sync_settings, schedule=False).start()
    try:
        app = create_app(
            {
                "DATABASE_URL": str(engine.url),
                "FEED_SIGNING_SECRET": FEED_SECRET,
                "SERVICE_API_TOKENS": "t" * 32,
                "STRIPE_WEBHOOK_SECRET": SECRET,
            }
        )
        web = app.test_client()
        with factory() as s:
            receivable_id = s.scalar(select(Receivable.id))
        with transaction(factory) as s:
            reassess(s, [customer_id], datetime.now(UTC).date())
            outbox.queue_for_salesforce(s, [customer_id], [receivable_id])
        fields = ("Credit_Status__c", "Balance_Outstanding__c", "In_Flight_Amount__c")
        wait_for(
            lambda: read_account(client, account_id, *fields)["Credit_Status__c"] == "HOLD",
            timeout=10,
        )

        started = time.monotonic()
        body, headers = _signed(_paid_event(datetime.now(UTC)))
        answer = web.post("/api/v1/webhooks/stripe", data=body, headers=headers)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        lifted = wait_for(
            lambda: (
                account
                if (account := read_account(client, account_id, *fields))["Credit_Status__c"]
                in ("OK", "WATCH")
                else None
            ),
            timeout=2,
        )
        assert time.monotonic() - started < 2
        assert Decimal(str(lifted["In_Flight_Amount__c"])) == Decimal("1000")
        balance = Decimal(str(lifted["Balance_Outstanding__c"]))

        # The same event again changes nothing; a tampered one is refused.
        assert (
            web.post("/api/v1/webhooks/stripe", data=body, headers=headers).get_json()["outcome"]
            == "duplicate"
        )
        spoiled = body.replace(b"100000", b"900000")
        assert web.post("/api/v1/webhooks/stripe", data=spoiled, headers=headers).status_code == 400

        # The ERP posts the payment: no longer in flight, and the balance is the same.
        posting = json.dumps(_erp_posting(datetime.now(UTC))).encode()
        fed = web.post(
            "/api/v1/feeds/erp",
            data=posting,
            headers={
                "X-Signature": sign(FEED_SECRET, posting, int(time.time())),
                "Content-Type": "application/json",
            },
        )
        assert fed.status_code == 200, fed.get_data(as_text=True)
        posted = wait_for(
            lambda: (
                account
                if Decimal(
                    str(
                        (account := read_account(client, account_id, *fields))[
                            "In_Flight_Amount__c"
                        ]
                        or 0
                    )
                )
                == 0
                else None
            ),
            timeout=10,
        )
        assert Decimal(str(posted["Balance_Outstanding__c"])) == balance
        assert posted["Credit_Status__c"] in ("OK", "WATCH")
    finally:
        worker.shutdown(timeout=5)

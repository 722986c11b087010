"""An app with card payments switched on (both databases), a book from the ERP feed, and signed
Stripe events built the way Stripe sends them."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import stripe

from service.app import EXTENSION, create_app
from tests.conftest import NOW, TOKEN, app_overrides, load_fixture, signed_headers

WEBHOOK_SECRET = "whsec_test_0123456789abcdefghij"
OLD_SECRET = "whsec_old_0123456789abcdefghij"
PAY_SECRET = "pay-link-secret-0123456789-abcdef"
BASE_URL = "https://pay.example.com"
WEBHOOK_PATH = "/api/v1/webhooks/stripe"


@pytest.fixture
def card_app(db_url):
    app = create_app(
        app_overrides(
            db_url,
            STRIPE_WEBHOOK_SECRET=f"{WEBHOOK_SECRET},{OLD_SECRET}",
            PAY_LINK_SECRET=PAY_SECRET,
            PUBLIC_BASE_URL=BASE_URL,
        )
    )
    yield app
    app.extensions[EXTENSION].engine.dispose()


@pytest.fixture
def web(card_app):
    return card_app.test_client()


@pytest.fixture
def fed(web):
    """batch_small.json: C-100 (EUR) holds INV-1001, 12,400.00 due 2025-12-31 (on HOLD)."""
    batch = copy.deepcopy(load_fixture("erp", "batch_small.json"))
    body = json.dumps(batch).encode()
    assert web.post("/api/v1/feeds/erp", data=body, headers=signed_headers(body)).status_code == 200
    return batch


def credit(web, number: str = "C-100") -> dict[str, Any]:
    answer = web.get(
        f"/api/v1/accounts/{number}/credit", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()


def stripe_event(kind: str, obj: dict[str, Any], *, event_id: str | None = None, **extra) -> dict:
    return {
        "id": event_id or f"evt_{kind.replace('.', '_')}_{obj.get('id', 'x')}",
        "object": "event",
        "api_version": "2026-07-29.dahlia",
        # The app's clock is NOW: the payment happened then (the signature is real time).
        "created": int(NOW.timestamp()),
        "data": {"object": obj, **extra},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": kind,
    }


def our_metadata(customer: str = "C-100", receivables: str = "INV-1001") -> dict[str, str]:
    return {"credit_control_customer": customer, "credit_control_receivables": receivables}


def session_object(
    pi: str = "pi_test_1",
    amount: int = 1_240_000,
    payment_status: str = "paid",
    metadata: dict | None = None,
) -> dict[str, Any]:
    return {
        "id": f"cs_test_{pi}",
        "object": "checkout.session",
        "amount_total": amount,
        "currency": "eur",
        "metadata": our_metadata() if metadata is None else metadata,
        "mode": "payment",
        "payment_intent": pi,
        "payment_status": payment_status,
        "status": "complete",
    }


def charge_object(pi: str = "pi_test_1", amount: int = 1_240_000, refunded: int = 0) -> dict:
    return {
        "id": f"ch_{pi}",
        "object": "charge",
        "amount": amount,
        "amount_captured": amount,
        "amount_refunded": refunded,
        "currency": "eur",
        "metadata": {},
        "payment_intent": pi,
        "refunded": refunded == amount,
    }


def sign(body: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> dict:
    header = stripe.WebhookSignature.generate_signature_header(
        body.decode(), secret, timestamp=timestamp
    )
    return {"Stripe-Signature": header, "Content-Type": "application/json"}


def deliver(web, event: dict[str, Any], secret: str = WEBHOOK_SECRET):
    body = json.dumps(event).encode()
    return web.post(WEBHOOK_PATH, data=body, headers=sign(body, secret))

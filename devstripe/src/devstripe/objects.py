"""Stripe's objects as the API renders them (field sets of the API version in ``API_VERSION``).

Only the objects this product meets: Checkout Sessions, PaymentIntents, Charges, Refunds,
Disputes and the Events that carry them. Ids look like Stripe's (``cs_test_``, ``pi_``, ...).
"""

from __future__ import annotations

import secrets
import time
from typing import Any

API_VERSION = "2026-07-29.dahlia"


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def now() -> int:
    return int(time.time())


def checkout_session(
    params: dict[str, Any], amount: int, currency: str, hosted_url: str
) -> dict[str, Any]:
    sid = new_id("cs_test")
    created = now()
    return {
        "id": sid,
        "object": "checkout.session",
        "after_expiration": None,
        "allow_promotion_codes": None,
        "amount_subtotal": amount,
        "amount_total": amount,
        "cancel_url": params.get("cancel_url"),
        "client_reference_id": params.get("client_reference_id"),
        "created": created,
        "currency": currency,
        "customer": params.get("customer"),
        "customer_email": params.get("customer_email"),
        "expires_at": created + 24 * 3600,
        "invoice": None,
        "livemode": False,
        "locale": params.get("locale"),
        "metadata": dict(params.get("metadata") or {}),
        "mode": params.get("mode", "payment"),
        # Since API 2022-08-01 a payment-mode session has no PaymentIntent until it is paid.
        "payment_intent": None,
        "payment_link": None,
        "payment_method_types": list(params.get("payment_method_types") or ["card"]),
        "payment_status": "unpaid",
        "status": "open",
        "success_url": params.get("success_url"),
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "url": f"{hosted_url}/{sid}",
    }


def payment_intent(amount: int, currency: str, metadata: dict[str, str]) -> dict[str, Any]:
    pid = new_id("pi")
    return {
        "id": pid,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_received": 0,
        "canceled_at": None,
        "capture_method": "automatic",
        "client_secret": f"{pid}_secret_{secrets.token_hex(8)}",
        "created": now(),
        "currency": currency,
        "customer": None,
        "description": None,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "metadata": dict(metadata),
        "payment_method": new_id("pm"),
        "payment_method_types": ["card"],
        "status": "requires_payment_method",
    }


def charge(intent: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": new_id("ch"),
        "object": "charge",
        "amount": intent["amount"],
        "amount_captured": intent["amount"],
        "amount_refunded": 0,
        "balance_transaction": new_id("txn"),
        "captured": True,
        "created": now(),
        "currency": intent["currency"],
        "customer": intent.get("customer"),
        "disputed": False,
        "livemode": False,
        "metadata": {},
        "paid": True,
        "payment_intent": intent["id"],
        "payment_method": intent["payment_method"],
        "refunded": False,
        "status": "succeeded",
    }


def refund(of: dict[str, Any], amount: int, reason: str | None) -> dict[str, Any]:
    return {
        "id": new_id("re"),
        "object": "refund",
        "amount": amount,
        "balance_transaction": new_id("txn"),
        "charge": of["id"],
        "created": now(),
        "currency": of["currency"],
        "metadata": {},
        "payment_intent": of["payment_intent"],
        "reason": reason,
        "status": "succeeded",
    }


def dispute(of: dict[str, Any], reason: str) -> dict[str, Any]:
    return {
        "id": new_id("dp"),
        "object": "dispute",
        "amount": of["amount"] - of["amount_refunded"],
        "charge": of["id"],
        "created": now(),
        "currency": of["currency"],
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "payment_intent": of["payment_intent"],
        "reason": reason,
        "status": "needs_response",
    }


def event(
    kind: str,
    obj: dict[str, Any],
    previous: dict[str, Any] | None = None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {"object": obj}
    if previous:
        data["previous_attributes"] = previous
    return {
        "id": new_id("evt"),
        "object": "event",
        "api_version": API_VERSION,
        "created": now(),
        "data": data,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": idempotency_key},
        "type": kind,
    }

"""Stripe Checkout for the pay page: a session for the chosen open items, then its URL.

The amount is what is open now (the caller reads it at click time, never from the link). The
session and its PaymentIntent carry our metadata (``service.card_payments.metadata``), so the
webhook knows the customer and receivables without asking us, and so does anyone reading the
payment in Stripe's dashboard. The idempotency key names the attempt (one rendering of the pay
page) and what it pays for: pressing "Pay" twice gives one session, a changed selection a new
one. ``STRIPE_API_BASE`` points the client elsewhere (the local stand-in); nothing else changes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import stripe

from service.card_payments import metadata as meta

NAME_LIMIT = 250


class CheckoutUnavailable(Exception):
    """Stripe could not be reached or refused the session; the customer is told to retry."""


@dataclass(frozen=True)
class Purchase:
    """What one press of "Pay" buys: these receivables of this customer, for this amount."""

    customer_number: str
    receivables: Sequence[str]  # ERP ids, in the page's order
    numbers: Sequence[str]  # invoice numbers, for the line shown on Stripe's page
    amount: Decimal
    currency: str
    pay_link: str
    attempt: str


def client(api_key: str, api_base: str) -> stripe.StripeClient:
    return stripe.StripeClient(api_key, base_addresses={"api": api_base}, max_network_retries=2)


def session_params(purchase: Purchase, success_url: str, cancel_url: str) -> dict:
    md = {
        meta.CUSTOMER: purchase.customer_number,
        **meta.receivable_keys(purchase.receivables),
        meta.PAY_LINK: purchase.pay_link,
    }
    numbers = ", ".join(purchase.numbers)
    name = f"Invoice {numbers}" if len(purchase.numbers) == 1 else f"Invoices {numbers}"
    if len(name) > NAME_LIMIT:
        name = f"{len(purchase.numbers)} invoices of {purchase.customer_number}"
    return {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": purchase.currency.lower(),
                    "unit_amount": meta.to_minor(purchase.amount, purchase.currency),
                    "product_data": {"name": name},
                },
            }
        ],
        "client_reference_id": purchase.customer_number,
        "metadata": md,
        "payment_intent_data": {"metadata": md},
        "success_url": success_url,
        "cancel_url": cancel_url,
    }


def idempotency_key(purchase: Purchase, params: dict) -> str:
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:24]
    return f"credit-control-checkout-{purchase.pay_link}-{purchase.attempt[:40]}-{digest}"


def create_session(
    api: stripe.StripeClient, purchase: Purchase, success_url: str, cancel_url: str
) -> str:
    """The hosted payment page's URL of a new (or, for a repeated attempt, the same) session."""
    params = session_params(purchase, success_url, cancel_url)
    try:
        session = api.v1.checkout.sessions.create(
            params=params, options={"idempotency_key": idempotency_key(purchase, params)}
        )
    except stripe.StripeError as exc:
        # The message may quote the request; the class and status are enough to act on.
        raise CheckoutUnavailable(f"{type(exc).__name__} (HTTP {exc.http_status})") from None
    if not session.url:
        raise CheckoutUnavailable("the session has no URL")
    return session.url

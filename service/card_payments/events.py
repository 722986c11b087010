"""What one Stripe event says about a card payment, whatever API version rendered it.

A webhook endpoint keeps the API version it was created with, so the same event arrives in the
shapes of several versions: a Checkout Session without ``payment_intent`` (subscriptions, or
before it was confirmed), a Charge with an expanded ``refunds`` list (before 2022-11-15) or
without it, a Dispute with or without ``payment_intent``. Only fields present in all of them are
read, each one optional; what an event does not say stays ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from service.card_payments import metadata as meta

SESSION_COMPLETED = "checkout.session.completed"
SESSION_ASYNC_SUCCEEDED = "checkout.session.async_payment_succeeded"
SESSION_ASYNC_FAILED = "checkout.session.async_payment_failed"
INTENT_SUCCEEDED = "payment_intent.succeeded"
CHARGE_REFUNDED = "charge.refunded"
DISPUTE_CREATED = "charge.dispute.created"
DISPUTE_CLOSED = "charge.dispute.closed"
HANDLED = frozenset(
    {
        SESSION_COMPLETED,
        SESSION_ASYNC_SUCCEEDED,
        SESSION_ASYNC_FAILED,
        INTENT_SUCCEEDED,
        CHARGE_REFUNDED,
        DISPUTE_CREATED,
        DISPUTE_CLOSED,
    }
)


@dataclass(frozen=True)
class CardFacts:
    """What an event adds to what we know of one payment (``None``: it does not say)."""

    payment_intent: str | None
    charge: str | None = None
    checkout_session: str | None = None
    customer_number: str | None = None
    receivables: tuple[str, ...] = ()
    pay_link: str | None = None
    currency: str | None = None
    amount: Decimal | None = None
    paid: bool = False
    refunded: Decimal | None = None
    dispute_lost: bool = False
    at: datetime | None = None


def _text(value: Any) -> str | None:
    # An expanded object ({"id": ...}) or its id: both occur across versions.
    if isinstance(value, dict):
        value = value.get("id")
    return str(value) if isinstance(value, str) and value else None


def _money(value: Any, currency: str | None) -> Decimal | None:
    if currency is None or isinstance(value, bool) or not isinstance(value, int):
        return None
    return meta.from_minor(value, currency)


def _metadata(obj: dict[str, Any]) -> dict[str, Any]:
    value = obj.get("metadata")
    return value if isinstance(value, dict) else {}


def facts_of(event: dict[str, Any]) -> CardFacts | None:
    """The facts of a handled event; ``None`` for a type or an object this product ignores."""
    kind = event.get("type")
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if kind not in HANDLED or not isinstance(obj, dict):
        return None
    created = event.get("created")
    at = datetime.fromtimestamp(created, UTC) if isinstance(created, int) else None
    currency = obj.get("currency")
    currency = currency.upper() if isinstance(currency, str) and len(currency) == 3 else None
    md = _metadata(obj)
    ours = {
        "customer_number": str(md[meta.CUSTOMER]) if md.get(meta.CUSTOMER) else None,
        "receivables": tuple(meta.receivables_of(md)),
        "pay_link": str(md[meta.PAY_LINK])[:80] if md.get(meta.PAY_LINK) else None,
    }
    if kind in (SESSION_COMPLETED, SESSION_ASYNC_SUCCEEDED, SESSION_ASYNC_FAILED):
        if obj.get("mode", "payment") != "payment":
            return None  # subscriptions and setups are not receivables paid
        paid = kind != SESSION_ASYNC_FAILED and obj.get("payment_status") == "paid"
        return CardFacts(
            payment_intent=_text(obj.get("payment_intent")),
            checkout_session=_text(obj.get("id")),
            currency=currency,
            amount=_money(obj.get("amount_total"), currency),
            paid=paid,
            at=at,
            **ours,
        )
    if kind == INTENT_SUCCEEDED:
        received = obj.get("amount_received", obj.get("amount"))
        return CardFacts(
            payment_intent=_text(obj.get("id")),
            charge=_text(obj.get("latest_charge")),
            currency=currency,
            amount=_money(received, currency),
            paid=True,
            at=at,
            **ours,
        )
    if kind == CHARGE_REFUNDED:
        return CardFacts(
            payment_intent=_text(obj.get("payment_intent")),
            charge=_text(obj.get("id")),
            currency=currency,
            refunded=_money(obj.get("amount_refunded"), currency),
            at=at,
        )
    # Disputes: only a lost one takes the money back for good; won or open changes nothing.
    return CardFacts(
        payment_intent=_text(obj.get("payment_intent")),
        charge=_text(obj.get("charge")),
        dispute_lost=kind == DISPUTE_CLOSED and obj.get("status") == "lost",
        at=at,
    )

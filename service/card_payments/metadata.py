"""The metadata keys that tie a Stripe payment to a customer and its receivables (design.md).

Checkout Sessions and their PaymentIntents carry ``credit_control_customer`` (the ERP customer
number) and ``credit_control_receivables`` (the receivables' ERP ids, comma-separated), so a
paid session is applied even when something else created it. Stripe caps a metadata value at
500 characters: a longer list goes on in ``credit_control_receivables_2``, ``_3``, ...
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal

CUSTOMER = "credit_control_customer"
RECEIVABLES = "credit_control_receivables"
PAY_LINK = "credit_control_pay_link"
VALUE_LIMIT = 500
MAX_PARTS = 40  # Stripe allows 50 keys

# Currencies Stripe counts in whole units (no minor unit): amounts are sent as they are.
ZERO_DECIMAL = frozenset("bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split())


def receivable_keys(ids: Sequence[str]) -> dict[str, str]:
    """``credit_control_receivables`` (and continuation keys) for these ERP ids."""
    parts: list[str] = []
    current = ""
    for rid in ids:
        candidate = f"{current},{rid}" if current else rid
        if len(candidate) > VALUE_LIMIT and current:
            parts.append(current)
            candidate = rid
        current = candidate
    if current:
        parts.append(current)
    if len(parts) > MAX_PARTS:
        raise ValueError("too many receivables for one payment's metadata")
    return {(RECEIVABLES if i == 0 else f"{RECEIVABLES}_{i + 1}"): p for i, p in enumerate(parts)}


def receivables_of(metadata: Mapping[str, object]) -> list[str]:
    """The ERP ids a payment's metadata names, in order (continuation keys joined)."""
    ids: list[str] = []
    for i in range(MAX_PARTS):
        value = metadata.get(RECEIVABLES if i == 0 else f"{RECEIVABLES}_{i + 1}")
        if not value:
            break
        ids += [part.strip() for part in str(value).split(",") if part.strip()]
    return ids


def to_minor(amount: Decimal, currency: str) -> int:
    """An amount in Stripe's smallest currency unit (cents; whole yen)."""
    exponent = 0 if currency.lower() in ZERO_DECIMAL else 2
    return int((amount * (10**exponent)).to_integral_value(ROUND_HALF_UP))


def from_minor(amount: int, currency: str) -> Decimal:
    exponent = 0 if currency.lower() in ZERO_DECIMAL else 2
    return Decimal(int(amount)).scaleb(-exponent)

"""Decimal helpers: one rounding rule and one way to print money, so figures agree everywhere."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
ONE = Decimal(1)
HUNDRED = Decimal(100)


def cents(value: Decimal) -> Decimal:
    """Round to the cent, half up (what an invoice printout does)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def fmt_money(currency: str, value: Decimal) -> str:
    """``EUR 12,400.00`` — the form credit controllers read in reasons."""
    return f"{currency} {cents(value):,.2f}"


def percent(ratio: Decimal, *, rounding: str = ROUND_HALF_UP) -> int:
    """A ratio as a whole percent. Callers pick the rounding so a text never contradicts a rule
    (utilisation 79.9% must not read "80%", exposure at 100.2% must not read "100%")."""
    return int((ratio * HUNDRED).to_integral_value(rounding=rounding))


def percent_floor(ratio: Decimal) -> int:
    return percent(ratio, rounding=ROUND_FLOOR)


def percent_ceiling(ratio: Decimal) -> int:
    return percent(ratio, rounding=ROUND_CEILING)

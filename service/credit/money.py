"""Decimal helpers: one rounding rule and one way to print money, so figures agree everywhere."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

ZERO = Decimal("0.00")
# The largest amount the service keeps: Salesforce's currency fields are 16 digits with 2 places
# (Amount__c, Balance_Outstanding__c...), and the database's money columns NUMERIC(18, 4) hold
# it too. The feed refuses a bigger amount; a figure adding up to more cannot be assessed.
MAX_AMOUNT = Decimal("99999999999999.99")
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

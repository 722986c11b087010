"""Currency conversion at the policy's rates. A missing rate raises, it is never taken as 1.0."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from service.credit.errors import MissingFxRate
from service.credit.money import cents
from service.credit.policy import Policy

Converter = Callable[[str, Decimal], Decimal]


def _rate_to_base(policy: Policy, currency: str) -> Decimal | None:
    if currency == policy.base_currency:
        return Decimal(1)
    return policy.fx_rates.get(currency)


def converter(policy: Policy, to_currency: str, customer: str) -> Converter:
    """A function converting ``(currency, amount)`` into ``to_currency``, rounded to the cent.

    Rates say what one unit is worth in the policy's base currency; a cross rate goes through
    the base. Amounts already in ``to_currency`` are returned unchanged.
    """
    cache: dict[str, Decimal] = {}

    def convert(currency: str, amount: Decimal) -> Decimal:
        if currency == to_currency:
            return amount
        factor = cache.get(currency)
        if factor is None:
            src = _rate_to_base(policy, currency)
            dst = _rate_to_base(policy, to_currency)
            if src is None or dst is None:
                raise MissingFxRate(customer, currency, to_currency)
            factor = cache[currency] = src / dst
        return cents(amount * factor)

    return convert

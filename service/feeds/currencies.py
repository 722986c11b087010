"""ISO 4217 currency codes and their minor units (decimal places), from Babel's CLDR data.

We take both from Babel (maintained, ships the Unicode CLDR ``currencyData``) rather than keep a
table of our own that would go stale when a currency is introduced or retired. A code is
accepted when CLDR lists it as legal tender in some territory today, so retired codes (DEM, HRK)
and funds or metals (XAU, XDR) are refused: nobody invoices in them.
"""

from __future__ import annotations

from functools import cache

from babel.core import get_global
from babel.numbers import get_currency_precision


@cache
def active_currencies() -> frozenset[str]:
    codes = set()
    for entries in get_global("territory_currencies").values():
        for code, _start, end, tender in entries:
            if end is None and tender:
                codes.add(code)
    return frozenset(codes)


@cache
def minor_units(code: str) -> int:
    """Decimal places an amount in ``code`` may have: JPY 0, EUR 2, BHD 3."""
    return get_currency_precision(code)


def is_currency(code: str) -> bool:
    return code in active_currencies()

"""Why a customer could not be assessed, or a policy could not be loaded.

    CreditError
    ├── AssessmentError        one customer cannot be assessed; the others still are
    │   ├── MissingFxRate      an amount is in a currency the policy has no rate for
    │   └── AmountOutOfRange   a figure adds up to more than can be stored or shown
    └── PolicyError            the policy document is invalid (nothing is assessed with it)

A missing rate is an error on that customer, never a silent rate of 1.0: a wrong conversion
would put a customer on hold (or release one) for a reason nobody can see.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from service.credit.money import MAX_AMOUNT, fmt_money


class CreditError(Exception):
    """Base of the engine's errors."""

    code = "credit_error"


class AssessmentError(CreditError):
    """This customer cannot be assessed; the message says why in words an admin can act on."""

    code = "cannot_assess"

    def __init__(self, customer: str, message: str) -> None:
        super().__init__(f"customer {customer}: {message}")
        self.customer = customer
        self.message = message


class MissingFxRate(AssessmentError):
    """An amount is in a currency with no rate in the policy (``fx_rates``)."""

    code = "missing_fx_rate"

    def __init__(self, customer: str, from_currency: str, to_currency: str) -> None:
        super().__init__(
            customer,
            f"no exchange rate from {from_currency} to {to_currency} in the policy; "
            f"add {from_currency if from_currency else to_currency} to fx_rates",
        )
        self.from_currency = from_currency
        self.to_currency = to_currency


class AmountOutOfRange(AssessmentError):
    """A figure (say, the balance of many huge invoices) is beyond ``MAX_AMOUNT``.

    Each amount the feed takes is within it, but a sum need not be. Such a figure could be
    neither stored (NUMERIC(18, 4)) nor pushed (Salesforce's 16-digit currency fields), so the
    customer is not assessed rather than shown a wrong, clipped figure.
    """

    code = "amount_out_of_range"

    def __init__(self, customer: str, figure: str, currency: str, value: Decimal) -> None:
        super().__init__(
            customer,
            f"{figure} {fmt_money(currency, value)} is beyond "
            f"{fmt_money(currency, MAX_AMOUNT)}, the largest amount the service stores and "
            "Salesforce shows",
        )
        self.figure = figure
        self.value = value


class PolicyError(CreditError):
    """The policy document is invalid; ``errors`` maps each field path to its messages."""

    code = "invalid_policy"

    def __init__(self, errors: Mapping[str, Any]) -> None:
        super().__init__(f"invalid credit policy: {dict(errors)}")
        self.errors = dict(errors)

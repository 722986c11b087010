"""Why a customer could not be assessed, or a policy could not be loaded.

    CreditError
    ├── AssessmentError        one customer cannot be assessed; the others still are
    │   └── MissingFxRate      an amount is in a currency the policy has no rate for
    └── PolicyError            the policy document is invalid (nothing is assessed with it)

A missing rate is an error on that customer, never a silent rate of 1.0: a wrong conversion
would put a customer on hold (or release one) for a reason nobody can see.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


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


class PolicyError(CreditError):
    """The policy document is invalid; ``errors`` maps each field path to its messages."""

    code = "invalid_policy"

    def __init__(self, errors: Mapping[str, Any]) -> None:
        super().__init__(f"invalid credit policy: {dict(errors)}")
        self.errors = dict(errors)

"""What the engine answers: figures, a status with reasons, risk, priority, next action.

Every value is computed from the inputs, the policy and the as-of date alone, so an assessment
can be recomputed for any past date and compared field by field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any, NamedTuple

REASON_TEXT_MAX = 255  # one line a person reads in a list; longer texts end with "…"


class Status(StrEnum):
    """A credit status. Order matters: HOLD is worse than WATCH is worse than OK."""

    OK = "OK"
    WATCH = "WATCH"
    HOLD = "HOLD"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def worse_of(self, other: Status) -> Status:
        return self if self.rank >= other.rank else other


_RANK = {Status.OK: 0, Status.WATCH: 1, Status.HOLD: 2}


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason, as a stable ``code`` for machines and ``text`` for people.

    ``level`` is the status this reason calls for (None for notes such as an active override).
    ``params`` carries the numbers in the text, so the API and Flows need not parse words.
    """

    code: str
    level: Status | None
    text: str
    params: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Aging:
    """Open invoice amounts by days past due (bucket edges from the policy)."""

    current: Decimal
    d1_30: Decimal
    d31_60: Decimal
    d61_90: Decimal
    d91_plus: Decimal

    @property
    def total(self) -> Decimal:
        return self.current + self.d1_30 + self.d31_60 + self.d61_90 + self.d91_plus

    def as_dict(self) -> dict[str, Decimal]:
        """Keys as in the HTTP contract: ``current``, ``1_30``, ``31_60``, ``61_90``, ``91_plus``."""
        return {
            "current": self.current,
            "1_30": self.d1_30,
            "31_60": self.d31_60,
            "61_90": self.d61_90,
            "91_plus": self.d91_plus,
        }


class RiskFactor(NamedTuple):
    """One contribution to the risk score: the measured ``value`` and the ``points`` it adds.

    A named tuple rather than a dataclass: seven are built per customer, and building a frozen
    dataclass costs several times as much when the whole book is re-assessed.
    """

    name: str
    value: Decimal
    points: Decimal
    max_points: Decimal


@dataclass(frozen=True, slots=True)
class Assessment:
    """One customer's credit position on ``as_of`` (amounts in ``currency``, the customer's)."""

    customer: str
    currency: str
    as_of: date
    policy: str
    segment: str | None
    status: Status
    reasons: tuple[Reason, ...]
    balance_outstanding: Decimal
    overdue_amount: Decimal
    disputed_amount: Decimal
    aging: Aging
    days_past_due: int
    credit_limit: Decimal | None
    exposure: Decimal
    utilisation: Decimal | None
    credit_available: Decimal | None
    risk_score: int
    risk_factors: tuple[RiskFactor, ...]
    dunning_level: int
    promise_to_pay_date: date | None
    broken_promises: int
    last_payment_date: date | None
    last_payment_amount: Decimal | None
    avg_days_to_pay: Decimal | None
    collection_priority: int
    next_action_date: date | None
    amount_to_release: Decimal | None
    override_active: bool
    # Provisional payments (card, Salesforce) not yet posted by the ERP, in ``currency``.
    in_flight_amount: Decimal = Decimal(0)

    @property
    def reason_codes(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.reasons)

    @property
    def reason_text(self) -> str:
        """``HOLD: 2 invoices over 60 days past due (EUR 12,400.00); exposure 118% of limit``.

        The reasons of the gravest level come first (under an override those are the HOLD
        reasons, so people see what the override is holding back), then notes (promise,
        override, amount to release). At most ``REASON_TEXT_MAX`` characters.
        """
        levels = [r.level.rank for r in self.reasons if r.level is not None]
        top = max(levels, default=None)
        deciding = [r.text for r in self.reasons if r.level is not None and r.level.rank == top]
        notes = [r.text for r in self.reasons if r.level is None]
        if not deciding and self.status == Status.OK:
            deciding = ["within policy"]
        text = f"{self.status.value}: " + "; ".join(deciding + notes)
        if len(text) > REASON_TEXT_MAX:
            text = text[: REASON_TEXT_MAX - 1].rstrip("; ") + "…"
        return text

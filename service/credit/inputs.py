"""What the engine is told about one customer: plain frozen values, built by the caller.

The engine never reads a database or a clock; whoever builds these values (the bulk loader in
``service.assessments.loading``, a test, the benchmark) decides what is current. The many small
values (items, payments, promises, disputes) are named tuples: as immutable as frozen
dataclasses and several times cheaper to build, which counts when a million items are loaded
for the daily roll. Money is ``Decimal`` in the currency named next to it; the engine converts
to the customer's currency with the policy's rates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import NamedTuple

INVOICE = "invoice"
CREDIT_NOTE = "credit_note"

DISPUTE_OPEN = "open"
DISPUTE_RESOLVED_VALID = "resolved_valid"
DISPUTE_RESOLVED_INVALID = "resolved_invalid"

_ZERO = Decimal(0)
_NO_ATTRIBUTES: Mapping[str, str] = MappingProxyType({})


class Item(NamedTuple):
    """An invoice or credit note as the ERP last described it.

    Open items have ``open_amount > 0``. Settled invoices (``open_amount == 0``) with a
    ``paid_date`` are payment history: they feed average days to pay and the risk score.
    Amounts are positive for both kinds; a credit note's open amount reduces the balance.
    """

    id: str
    kind: str
    number: str
    issue_date: date
    due_date: date
    currency: str
    amount: Decimal
    open_amount: Decimal
    paid_date: date | None = None

    @property
    def is_invoice(self) -> bool:
        return self.kind == INVOICE


class Allocation(NamedTuple):
    """The part of a payment applied to one item (by ``Item.id``)."""

    receivable_id: str
    amount: Decimal


class Payment(NamedTuple):
    """Money received.

    A confirmed (ERP) payment is already reflected in the items' open amounts; its allocations
    are history. A ``provisional`` payment (Stripe, a bank file, a Salesforce event) is not yet:
    the engine takes its allocations off those items' open amounts, so a customer who has just
    paid is released within seconds. Either way, the part not allocated is unapplied cash and
    reduces the balance.
    """

    id: str
    amount: Decimal
    currency: str
    received_at: datetime
    provisional: bool = False
    allocations: tuple[Allocation, ...] = ()

    @property
    def received_on(self) -> date:
        """The UTC calendar day of receipt (the engine's days are UTC days)."""
        at = self.received_at
        return (at if at.tzinfo is UTC else at.astimezone(UTC)).date()

    @property
    def unapplied(self) -> Decimal:
        rest = self.amount
        for a in self.allocations:
            rest -= a.amount
        return rest if rest > _ZERO else _ZERO


class Promise(NamedTuple):
    """A promise to pay ``amount`` (customer currency) by ``promised_date``, logged ``made_on``."""

    id: str
    amount: Decimal
    promised_date: date
    made_on: date


class Dispute(NamedTuple):
    """An amount the customer disputes, on one item or (``receivable_id`` None) on the account.

    Only ``open`` disputes change figures. An account-level dispute is set against the oldest
    overdue invoices first, the same order in which payments are applied.
    """

    id: str
    receivable_id: str | None
    amount: Decimal
    status: str
    opened_on: date


@dataclass(frozen=True, slots=True)
class CustomerInputs:
    """Everything the engine needs about one customer.

    ``attributes`` selects a per-segment policy (e.g. ``{"segment": "enterprise"}``).
    ``follow_ups`` are follow-up dates logged by collectors; the earliest one still ahead
    becomes the next action date if it comes before the engine's own.
    """

    number: str
    currency: str
    credit_limit: Decimal | None = None
    override_until: date | None = None
    attributes: Mapping[str, str] = field(default_factory=lambda: _NO_ATTRIBUTES)
    items: tuple[Item, ...] = ()
    payments: tuple[Payment, ...] = ()
    promises: tuple[Promise, ...] = ()
    disputes: tuple[Dispute, ...] = ()
    follow_ups: tuple[date, ...] = ()


def utc(year: int, month: int, day: int, hour: int = 12) -> datetime:
    """A tz-aware instant, for callers and tests that only know the day."""
    return datetime(year, month, day, hour, tzinfo=UTC)

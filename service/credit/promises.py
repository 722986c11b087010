"""Promises to pay: which are pending, kept or broken on the as-of date.

A promise is kept when payments received between the day it was made and its date plus grace
add up to its amount; each payment counts towards one promise only (earliest promise first), so
one payment cannot keep two promises. It is broken on the day after its date plus grace if it
was not kept, and counts against the customer for ``broken_window_days`` from that day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from service.credit.dates import add_days
from service.credit.fx import Converter
from service.credit.inputs import CustomerInputs, Promise

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class PromiseState:
    pending: tuple[Promise, ...]  # not yet kept, date plus grace not passed
    kept: tuple[Promise, ...]
    broken_recently: tuple[Promise, ...]  # broken within the window
    standing_amount: Decimal  # pending and kept promises whose date plus grace has not passed
    standing_until: date | None  # the latest date plus grace among those
    earliest_made_on: date | None  # among pending promises (dunning pauses from there)

    def covers(self, overdue: Decimal) -> bool:
        """A promise standing for at least the overdue amount holds off the days-past-due HOLD."""
        return overdue > 0 and self.standing_amount >= overdue


NO_PROMISES = PromiseState((), (), (), _ZERO, None, None)


def evaluate_promises(
    inputs: CustomerInputs, as_of: date, convert: Converter, grace_days: int, window_days: int
) -> PromiseState:
    promises = sorted(
        (p for p in inputs.promises if p.made_on <= as_of),
        key=lambda p: (p.promised_date, p.made_on, p.id),
    )
    if not promises:
        return NO_PROMISES
    pool = sorted(
        (
            [p.received_on, p.id, convert(p.currency, p.amount)]
            for p in inputs.payments
            if p.received_on <= as_of
        ),
    )
    pending, kept, broken = [], [], []
    standing = _ZERO
    standing_until = None
    for promise in promises:
        deadline = add_days(promise.promised_date, grace_days)  # 9999-12-31 stays
        last_day = min(deadline, as_of)
        need = promise.amount
        for entry in pool:
            if need <= 0:
                break
            received_on, _, left = entry
            if left <= 0 or received_on < promise.made_on or received_on > last_day:
                continue
            take = min(left, need)
            entry[2] = left - take
            need -= take
        if need <= 0:
            kept.append(promise)
        elif as_of > deadline:
            if (as_of - deadline).days <= window_days:
                broken.append(promise)
            continue
        else:
            pending.append(promise)
        if deadline >= as_of:
            standing += promise.amount
            standing_until = deadline if standing_until is None else max(standing_until, deadline)
    return PromiseState(
        pending=tuple(pending),
        kept=tuple(kept),
        broken_recently=tuple(broken),
        standing_amount=standing,
        standing_until=standing_until,
        earliest_made_on=min((p.made_on for p in pending), default=None),
    )

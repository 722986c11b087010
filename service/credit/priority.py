"""Dunning level, collection priority and next action date: the collectors' worklist.

Priority (0-100, higher is more urgent) adds, with the policy's weights (defaults in brackets):

- money at risk (45): undisputed overdue or the excess over the limit, whichever is larger, on
  a log scale (linear between powers of ten) so 10x the money counts the same step at any size; full at ``amount_reference``
  (1,000,000 in the base currency). Log scale keeps one huge account from drowning every
  smaller one while still putting it first.
- urgency by days past due (20): full at ``days_full`` (90).
- status (15): HOLD full, WATCH half.
- a broken promise in the window (10).
- risk score (10): score / 100 of the weight.

Nothing overdue and nothing over the limit gives 0 — there is nothing to collect. A promise
that stands for the whole overdue amount multiplies the result by ``promise_factor`` (0.5):
the customer has committed, chasing can wait until the promise falls due.
"""

from __future__ import annotations

import functools
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from service.credit.assessment import Status
from service.credit.dates import add_days
from service.credit.figures import Figures
from service.credit.policy import Policy, PriorityPolicy
from service.credit.promises import PromiseState

_ZERO = Decimal(0)
_ONE = Decimal(1)
_HALF = Decimal("0.5")


def _level(days_past_due: int, thresholds: tuple[int, ...]) -> int:
    return sum(1 for t in thresholds if days_past_due >= t)


def dunning_level(fig: Figures, promises: PromiseState, policy: Policy) -> int:
    """How far reminders have escalated: one level per threshold of days past due reached.

    A pending promise pauses dunning: the level stays where it was on the day the promise was
    made (the same open invoices, counted as of that day).
    """
    dpd = fig.days_past_due
    if promises.earliest_made_on is not None:
        made = promises.earliest_made_on.toordinal()
        dpd = max(
            (
                made - inv.due_date.toordinal()
                for inv in fig.invoices
                if inv.days_past_due > 0 and inv.undisputed > 0
            ),
            default=0,
        )
    return _level(dpd, policy.dunning_days)


def collection_priority(
    fig: Figures,
    status: Status,
    risk: int,
    promises: PromiseState,
    pp: PriorityPolicy,
    at_risk_in_base: Decimal,
) -> int:
    if at_risk_in_base <= 0:
        return 0
    w = pp.weights
    points = w["amount"] * min(
        _ONE, _log10(at_risk_in_base + 1) / _reference_log(pp.amount_reference)
    )
    points += w["days"] * min(_ONE, Decimal(fig.days_past_due) / pp.days_full)
    points += w["status"] * (
        _ONE if status == Status.HOLD else _HALF if status == Status.WATCH else _ZERO
    )
    if promises.broken_recently:
        points += w["broken_promise"]
    points += w["risk"] * Decimal(risk) / 100
    if promises.covers(fig.overdue):
        points *= pp.promise_factor
    return max(0, min(100, int(points.to_integral_value(rounding=ROUND_HALF_UP))))


def _log10(x: Decimal) -> Decimal:
    """log10 for x >= 1, linear between powers of ten (exact at 1, 10, 100, ...).

    Monotone like the true logarithm and a hundred times cheaper than ``Decimal.log10``, which
    matters when the whole book is re-assessed; the priority is a ranking, not a measurement.
    """
    exponent = x.adjusted()
    return exponent + (x.scaleb(-exponent) - 1) / 9


@functools.lru_cache(maxsize=64)
def _reference_log(reference: Decimal) -> Decimal:
    return _log10(reference + 1)


def money_at_risk(fig: Figures) -> Decimal:
    """Undisputed overdue, or the excess over the credit limit if that is larger."""
    excess = _ZERO
    if fig.credit_limit is not None and fig.exposure > fig.credit_limit:
        excess = fig.exposure - fig.credit_limit
    return max(fig.overdue, excess)


def next_action_date(
    fig: Figures,
    promises: PromiseState,
    policy: Policy,
    follow_ups: tuple[date, ...],
    as_of: date,
) -> date | None:
    """When a collector should next act on this account.

    - a pending promise: the day after its date plus grace (when it would be broken);
    - otherwise undisputed overdue: the day the oldest such invoice reaches the next dunning
      level, or the as-of date when it is past the last level (escalate now);
    - otherwise the day the earliest open invoice reaches the first dunning level;
    - a follow-up date a collector logged wins when it comes earlier.
    """
    candidate: date | None = None
    if promises.pending:
        promised = min(p.promised_date for p in promises.pending)
        candidate = add_days(promised, policy.promise_grace_days + 1)
    else:
        late = [i for i in fig.invoices if i.days_past_due > 0 and i.undisputed > 0]
        if late:
            oldest = max(late, key=lambda i: i.days_past_due)
            upcoming = [t for t in policy.dunning_days if t > oldest.days_past_due]
            candidate = add_days(oldest.due_date, upcoming[0]) if upcoming else as_of
        else:
            open_ = [i for i in fig.invoices if i.undisputed > 0]
            if open_:
                first = min(i.due_date for i in open_)
                # 9999-12-31 ("no due date") plus the days: 9999-12-31, never overflowing.
                candidate = add_days(first, policy.dunning_days[0])
    ahead = [d for d in follow_ups if d >= as_of]
    if ahead:
        earliest = min(ahead)
        candidate = earliest if candidate is None else min(candidate, earliest)
    return candidate

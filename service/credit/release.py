"""Amount to release: the smallest payment that takes an account on HOLD back to WATCH or OK.

A payment is applied to the undisputed part of open invoices, oldest first. Two rules can be
cured by paying: invoices over the HOLD days past due (all of them must be paid, and they are
the oldest, so they are paid first) — or, when a promise to pay stands, just enough that the
promise covers what is left overdue, which also lifts that rule — and exposure over the limit (every unit paid lowers
exposure by one). The answer is the larger of the two. A HOLD for broken promises cannot be
paid away — the promise stays broken — so there is no amount then (None).
"""

from __future__ import annotations

from decimal import Decimal

from service.credit.figures import Figures
from service.credit.inputs import Allocation
from service.credit.money import cents
from service.credit.policy import Policy
from service.credit.promises import PromiseState

_ZERO = Decimal(0)


def amount_to_release(
    fig: Figures, promises: PromiseState, policy: Policy, promise_holds_off: bool
) -> Decimal | None:
    if len(promises.broken_recently) >= policy.hold_broken_promises:
        return None
    for_days = _ZERO
    if not promise_holds_off:
        for inv in fig.invoices:
            if inv.days_past_due > policy.hold_days_past_due:
                for_days += inv.undisputed
        if for_days > 0 and promises.standing_amount > 0:
            # Or pay just enough that a standing promise covers what is still overdue.
            for_days = min(for_days, fig.overdue - promises.standing_amount)
    for_limit = _ZERO
    limit = fig.credit_limit
    if policy.hold_over_limit and limit is not None and fig.exposure > limit:
        for_limit = fig.exposure - limit
    amount = max(for_days, for_limit)
    return cents(amount) if amount > 0 else None


def allocate_oldest_first(fig: Figures, amount: Decimal) -> tuple[Allocation, ...]:
    """Spread ``amount`` over the undisputed part of open invoices, oldest first."""
    left = amount
    allocations = []
    for inv in fig.invoices:
        if left <= 0:
            break
        take = min(left, inv.undisputed)
        if take > 0:
            allocations.append(Allocation(inv.id, take))
            left -= take
    return tuple(allocations)

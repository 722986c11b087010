"""Risk score 0-100: the sum of seven factors, each worth up to its weight in the policy.

Defaults (points): days late 20, share paid late 10, trend 5, broken promises 15, utilisation
15, overdue share 15, oldest overdue 20 — 100 in all. Each factor scales linearly from 0 to its
weight and stops there:

- days late: average days late of invoices settled in the lookback (365 days), each weighted
  by recency (the weight halves every ``half_life_days``); full at ``late_days_full`` (60).
- share paid late: settled invoices paid after their due date / all settled, in the lookback.
- trend: average days late in the last ``recent_days`` (90) minus the one before; full at
  ``trend_days_full`` (30) days worse; 0 when improving or without both periods.
- broken promises: broken in the promise window; full at ``broken_promises_full`` (2).
- utilisation: 0 at ``utilisation_from`` (50%), full at ``utilisation_full`` (120%); a limit of
  0 with any exposure counts as full.
- overdue share: undisputed overdue / open invoices.
- oldest overdue: days past due (undisputed); full at ``oldest_days_full`` (120).

The score is the sum rounded half up. Every factor grows with what it measures, so more overdue
money, older debt, higher use of the limit or more broken promises never lower the score.
"""

from __future__ import annotations

import functools
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from service.credit.assessment import RiskFactor
from service.credit.figures import Figures
from service.credit.inputs import INVOICE, CustomerInputs
from service.credit.policy import RiskPolicy

_ZERO = Decimal(0)
_ONE = Decimal(1)


@functools.lru_cache(maxsize=256)
def _nothing(name: str, weight: Decimal) -> RiskFactor:
    """A factor that measured nothing: most customers have several, and they never differ."""
    return RiskFactor(name, _ZERO, _ZERO, weight)


def _factor(name: str, value: Decimal, weight: Decimal, ratio: Decimal) -> RiskFactor:
    """Points = weight x ratio, the ratio held between 0 and 1 (exact; rounded for display)."""
    if ratio <= 0:
        if not value:
            return _nothing(name, weight)
        points = _ZERO
    elif ratio >= 1:
        points = weight
    else:
        points = weight * ratio
    return RiskFactor(name, value, points, weight)


def _scaled(name: str, value: Decimal, weight: Decimal, full: int) -> RiskFactor:
    """A factor whose ratio is ``value / full``; nothing measured needs no division."""
    if not value:
        return _nothing(name, weight)
    return _factor(name, value, weight, value / full)


def payment_history(inputs: CustomerInputs, as_of: date, lookback_days: int):
    """(days late, days to pay, age in days) of invoices settled in the lookback."""
    out = []
    for it in inputs.items:
        if it.kind != INVOICE or it.paid_date is None or it.open_amount > 0:
            continue
        age = (as_of - it.paid_date).days
        if age < 0 or age > lookback_days:
            continue
        late = (it.paid_date - it.due_date).days
        out.append((late if late > 0 else 0, (it.paid_date - it.issue_date).days, age))
    return out


def risk_score(
    fig: Figures,
    history: list[tuple[int, int, int]],
    broken_promises: int,
    rp: RiskPolicy,
) -> tuple[int, tuple[RiskFactor, ...]]:
    w = rp.weights
    factors = []

    if history:
        # Integer weights 2**(oldest step - step): the same halving, without Decimal division.
        hl, recent_days = rp.half_life_days, rp.recent_days
        top = max(age for _, _, age in history) // hl
        num = den = late_count = 0
        r_sum = r_n = o_sum = o_n = 0
        for late, _, age in history:
            weight = 1 << (top - age // hl)
            num += weight * late
            den += weight
            if late > 0:
                late_count += 1
            if age <= recent_days:
                r_sum += late
                r_n += 1
            else:
                o_sum += late
                o_n += 1
        avg_late = Decimal(num) / den
        late_share = Decimal(late_count) / len(history)
        trend = Decimal(r_sum) / r_n - Decimal(o_sum) / o_n if r_n and o_n else _ZERO
    else:
        avg_late = late_share = trend = _ZERO
    factors.append(_scaled("days_late", avg_late, w["days_late"], rp.late_days_full))
    factors.append(_factor("late_share", late_share, w["late_share"], late_share))
    factors.append(_scaled("trend", trend, w["trend"], rp.trend_days_full))

    bp = Decimal(broken_promises)
    factors.append(_scaled("broken_promises", bp, w["broken_promises"], rp.broken_promises_full))

    if fig.utilisation is not None:
        u = fig.utilisation
        ratio = (u - rp.utilisation_from) / (rp.utilisation_full - rp.utilisation_from)
    elif fig.credit_limit is not None and fig.exposure > 0:  # a limit of 0
        u, ratio = _ZERO, _ONE
    else:
        u = ratio = _ZERO
    factors.append(_factor("utilisation", u, w["utilisation"], ratio))

    share = fig.overdue / fig.open_invoices if fig.open_invoices > 0 else _ZERO
    factors.append(_factor("overdue_share", share, w["overdue_share"], share))

    dpd = Decimal(fig.days_past_due)
    factors.append(_scaled("oldest_overdue", dpd, w["oldest_overdue"], rp.oldest_days_full))

    total = _ZERO
    for f in factors:
        total += f.points
    score = int(total.to_integral_value(rounding=ROUND_HALF_UP))
    return max(0, min(100, score)), tuple(factors)

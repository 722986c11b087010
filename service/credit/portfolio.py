"""Portfolio figures: DSO by the countback method, average days delinquent, CEI.

For the whole book (every customer, converted to the policy's base currency) or for one
customer (pass one). Sales are invoices by issue date; receivables are open invoices.

- DSO (countback): walk back month by month from the as-of date (the current month counts
  its days so far), taking each month's sales off the receivables; whole months count all
  their days, the last one the share of its sales still needed. If sales run out first, every
  counted month's days are added and the rest is ignored (the figure is a lower bound).
- Best possible DSO: the same countback on current (not yet due) receivables only.
- Average days delinquent (ADD) = DSO - best possible DSO.
- CEI over the same months = (beginning receivables + sales - ending receivables) /
  (beginning receivables + sales - ending current receivables) x 100. Beginning receivables are
  invoices issued before the period and open at its start: settled ones open until their paid
  date, open ones at today's open amount plus what was allocated to them during the period.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from service.credit.errors import AssessmentError
from service.credit.figures import compute_figures
from service.credit.fx import converter
from service.credit.inputs import INVOICE, CustomerInputs
from service.credit.money import cents
from service.credit.policy import Policy

_ZERO = Decimal(0)
_TENTH = Decimal("0.1")


@dataclass(frozen=True, slots=True)
class PortfolioFigures:
    currency: str
    as_of: date
    period_start: date
    customers: int
    receivables: Decimal
    current_receivables: Decimal
    sales: Decimal
    dso: Decimal | None
    best_possible_dso: Decimal | None
    average_days_delinquent: Decimal | None
    cei: Decimal | None  # percent
    errors: tuple[str, ...]  # customers left out (e.g. a missing rate)


def month_windows(as_of: date, months: int) -> list[tuple[date, date]]:
    """(first day, last day) of each month, newest first; the newest ends on ``as_of``.

    Fewer than ``months`` when the calendar starts sooner (an as-of date in January of year 1).
    """
    out = []
    end = as_of
    for _ in range(months):
        start = end.replace(day=1)
        out.append((start, end))
        if start == date.min:
            break
        end = date.fromordinal(start.toordinal() - 1)
    return out


def dso_countback(receivables: Decimal, sales_by_period: Sequence[tuple[int, Decimal]]) -> Decimal:
    """Days of sales the receivables stand for; ``sales_by_period`` newest first, (days, sales)."""
    left = receivables
    days = _ZERO
    for period_days, sales in sales_by_period:
        if left <= 0:
            break
        if sales <= 0:
            days += period_days
            continue
        if left >= sales:
            days += period_days
            left -= sales
        else:
            days += Decimal(period_days) * left / sales
            left = _ZERO
    return days.quantize(_TENTH, ROUND_HALF_UP)


def portfolio_figures(
    customers: Iterable[CustomerInputs],
    policy: Policy,
    as_of: date,
    *,
    months: int = 3,
    currency: str | None = None,
) -> PortfolioFigures:
    windows = month_windows(as_of, months)
    months = len(windows)
    period_start = windows[-1][0]
    target = currency or policy.base_currency
    sales = [_ZERO] * months
    receivables = current = beginning = _ZERO
    count = 0
    errors: list[str] = []
    for inputs in customers:
        cur = target or inputs.currency
        if target is None:
            target = cur
        try:
            own = policy.for_customer(inputs.attributes)[0]
            to_own = converter(own, inputs.currency, inputs.number)
            to_target = converter(own, cur, inputs.number)
            fig = compute_figures(inputs, as_of, to_own, own.bucket_edges)
            c_sales = [_ZERO] * months
            c_begin = _ZERO
            allocated = _allocated_since(inputs, period_start, as_of)
            for it in inputs.items:
                if it.kind != INVOICE or it.issue_date > as_of:
                    continue
                amount = to_target(it.currency, it.amount)
                for i, (start, end) in enumerate(windows):
                    if start <= it.issue_date <= end:
                        c_sales[i] += amount
                        break
                if it.issue_date < period_start:
                    if it.open_amount > 0:
                        c_begin += to_target(
                            it.currency, it.open_amount + allocated.get(it.id, _ZERO)
                        )
                    elif it.paid_date is not None and it.paid_date >= period_start:
                        c_begin += amount
            c_recv = to_target(inputs.currency, fig.open_invoices)
            c_current = to_target(inputs.currency, fig.aging.current)
        except AssessmentError as exc:
            errors.append(str(exc))
            continue
        count += 1
        sales = [a + b for a, b in zip(sales, c_sales, strict=True)]
        receivables += c_recv
        current += c_current
        beginning += c_begin

    total_sales = sum(sales, _ZERO)
    dso = bpdso = add = cei = None
    if total_sales > 0:
        per = [((end - start).days + 1, s) for (start, end), s in zip(windows, sales, strict=True)]
        dso = dso_countback(receivables, per)
        bpdso = dso_countback(current, per)
        add = dso - bpdso
    denominator = beginning + total_sales - current
    if denominator > 0:
        cei = ((beginning + total_sales - receivables) / denominator * 100).quantize(
            _TENTH, ROUND_HALF_UP
        )
    return PortfolioFigures(
        currency=target or "",
        as_of=as_of,
        period_start=period_start,
        customers=count,
        receivables=cents(receivables),
        current_receivables=cents(current),
        sales=cents(total_sales),
        dso=dso,
        best_possible_dso=bpdso,
        average_days_delinquent=add,
        cei=cei,
        errors=tuple(errors),
    )


def _allocated_since(inputs: CustomerInputs, start: date, as_of: date) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for p in inputs.payments:
        if p.provisional or not (start <= p.received_on <= as_of):
            continue
        for a in p.allocations:
            out[a.receivable_id] = out.get(a.receivable_id, _ZERO) + a.amount
    return out

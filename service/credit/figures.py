"""The figures of design.md: aging, balance, overdue, disputed, days past due, exposure.

Everything is converted to the customer's currency first. Open invoices are walked oldest first
(due date, then issue date, then number), the order in which payments and account-level
disputes are applied, so "oldest overdue first" means the same thing everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from service.credit.assessment import Aging
from service.credit.fx import Converter
from service.credit.inputs import DISPUTE_OPEN, INVOICE, CustomerInputs

_ZERO = Decimal(0)
# ``OpenInvoice(...)`` runs a generated Python ``__new__``; ``tuple.__new__(OpenInvoice, values)``
# builds the same named tuple without that frame (ten per customer, a million per book).
_new_tuple = tuple.__new__


class OpenInvoice(NamedTuple):
    """One open invoice in the customer's currency, net of provisional payments."""

    id: str
    number: str
    due_date: date
    open: Decimal
    disputed: Decimal
    days_past_due: int

    @property
    def undisputed(self) -> Decimal:
        return self.open - self.disputed

    @property
    def overdue(self) -> bool:
        return self.days_past_due > 0


class Figures(NamedTuple):
    invoices: tuple[OpenInvoice, ...]  # oldest first
    open_invoices: Decimal
    open_credit_notes: Decimal
    unapplied_cash: Decimal
    balance: Decimal
    exposure: Decimal
    overdue: Decimal
    disputed: Decimal
    days_past_due: int
    aging: Aging
    credit_limit: Decimal | None
    utilisation: Decimal | None
    credit_available: Decimal | None


def compute_figures(
    inputs: CustomerInputs, as_of: date, convert: Converter, bucket_edges: Sequence[int]
) -> Figures:
    cur = inputs.currency

    # Provisional payments are not yet in the ERP's open amounts: take them off here.
    provisional: dict[str, Decimal] = {}
    unapplied = _ZERO
    for p in inputs.payments:
        if p.received_on > as_of:
            continue
        if p.provisional:
            for a in p.allocations:
                provisional[a.receivable_id] = provisional.get(a.receivable_id, _ZERO) + convert(
                    p.currency, a.amount
                )
        rest = p.unapplied
        if rest:
            unapplied += convert(p.currency, rest)

    rows: list[tuple[date, date, str, str, Decimal]] = []
    credit_notes = _ZERO
    zero = _ZERO
    for it in inputs.items:
        if it.open_amount <= zero:
            continue
        amount = it.open_amount if it.currency == cur else convert(it.currency, it.open_amount)
        if it.kind == INVOICE:
            if provisional:
                amount -= provisional.get(it.id, _ZERO)
                if amount <= zero:
                    continue
            rows.append((it.due_date, it.issue_date, it.number, it.id, amount))
        else:
            credit_notes += amount
    rows.sort()

    # Disputes: on one item (capped at what is open), or on the account (oldest overdue first).
    item_disputes: dict[str, Decimal] = {}
    account_disputed = _ZERO
    for d in inputs.disputes:
        if d.status != DISPUTE_OPEN or d.opened_on > as_of or d.amount <= zero:
            continue
        if d.receivable_id is None:
            account_disputed += d.amount
        else:
            item_disputes[d.receivable_id] = item_disputes.get(d.receivable_id, _ZERO) + d.amount

    e1, e2, e3 = bucket_edges
    b0 = b1 = b2 = b3 = b4 = _ZERO
    invoices: list[OpenInvoice] = []
    total = overdue = disputed = _ZERO
    dpd_max = 0
    ordinal = as_of.toordinal()
    for due, _issue, number, item_id, amount in rows:
        dpd = ordinal - due.toordinal()
        disp = item_disputes.get(item_id, _ZERO) if item_disputes else _ZERO
        if disp > amount:
            disp = amount
        if account_disputed and dpd > 0 and disp < amount:
            take = min(account_disputed, amount - disp)
            disp += take
            account_disputed -= take
        invoices.append(_new_tuple(OpenInvoice, (item_id, number, due, amount, disp, dpd)))
        total += amount
        disputed += disp
        if dpd > 0 and amount > disp:
            overdue += amount - disp
            if dpd > dpd_max:
                dpd_max = dpd
        if dpd <= 0:
            b0 += amount
        elif dpd <= e1:
            b1 += amount
        elif dpd <= e2:
            b2 += amount
        elif dpd <= e3:
            b3 += amount
        else:
            b4 += amount

    # An account-level dispute larger than the overdue invoices also covers current ones.
    if account_disputed:
        for i, inv in enumerate(invoices):
            if not account_disputed:
                break
            if inv.days_past_due <= 0 and inv.disputed < inv.open:
                take = min(account_disputed, inv.open - inv.disputed)
                invoices[i] = inv._replace(disputed=inv.disputed + take)
                disputed += take
                account_disputed -= take

    balance = total - credit_notes - unapplied
    exposure = balance if balance > 0 else _ZERO
    limit = inputs.credit_limit
    utilisation = available = None
    if limit is not None:
        available = limit - exposure
        if limit > 0:
            utilisation = exposure / limit
    return Figures(
        invoices=tuple(invoices),
        open_invoices=total,
        open_credit_notes=credit_notes,
        unapplied_cash=unapplied,
        balance=balance,
        exposure=exposure,
        overdue=overdue,
        disputed=disputed,
        days_past_due=dpd_max,
        aging=Aging(b0, b1, b2, b3, b4),
        credit_limit=limit,
        utilisation=utilisation,
        credit_available=available,
    )

"""Small books for the planner's tests: invoices by days past due on a fixed Monday."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from service.credit import CustomerInputs, Dispute, Item, Promise

MONDAY = date(2026, 3, 16)


def invoice(n: int, days_past_due: int, amount: str, currency: str = "EUR", as_of=MONDAY) -> Item:
    due = as_of - timedelta(days=days_past_due)
    return Item(
        f"i{n}", "invoice", f"INV-{n}", due - timedelta(days=30), due, currency,
        Decimal(amount), Decimal(amount),
    )  # fmt: skip


def customer(*items: Item, disputes=(), promises=(), payments=(), currency="EUR", **kw):
    return CustomerInputs(
        "C-1",
        currency,
        items=tuple(items),
        disputes=tuple(disputes),
        promises=tuple(promises),
        payments=tuple(payments),
        **kw,
    )


def dispute(item: str | None, amount: str, on: date = MONDAY) -> Dispute:
    return Dispute(f"d-{item}", item, Decimal(amount), "open", on - timedelta(days=2))


def promise(amount: str, until: date, made: date = MONDAY - timedelta(days=2)) -> Promise:
    return Promise(f"p-{until}", Decimal(amount), until, made)

"""Customers and invoices written straight into a test database (the ERP feed is tested
elsewhere): what a dunning run reads."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from service.models import CollectionAction, Customer, Receivable

NOW = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)  # a Monday
TODAY = NOW.date()


def add_customer(session, number: str, email: str | None = "billing@example.com", **kw) -> Customer:
    customer = Customer(
        number=number,
        source="erp",
        name=kw.pop("name", f"Customer {number}"),
        currency=kw.pop("currency", "EUR"),
        billing_email=email,
        **kw,
    )
    session.add(customer)
    session.flush()
    return customer


def add_invoice(
    session, customer: Customer, n: str, days_past_due: int, amount: str, currency: str = "EUR",
    as_of: date = TODAY,
) -> Receivable:  # fmt: skip
    due = as_of - timedelta(days=days_past_due)
    item = Receivable(
        source="erp",
        external_id=f"{customer.number}-{n}",
        customer_id=customer.id,
        kind="invoice",
        number=f"INV-{n}",
        issue_date=due - timedelta(days=30),
        due_date=due,
        currency=currency,
        amount=Decimal(amount),
        open_amount=Decimal(amount),
        is_open=True,
        source_updated_at=NOW,
    )
    session.add(item)
    session.flush()
    return item


def add_action(session, customer: Customer, type_: str, **kw) -> CollectionAction:
    kw.setdefault("occurred_at", NOW - timedelta(days=1))
    action = CollectionAction(customer_id=customer.id, type=type_, **kw)
    session.add(action)
    session.flush()
    return action

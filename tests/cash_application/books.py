"""A small book in the database and bank credits built the way statement reading hands them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import count

from sqlalchemy import select

from service.cash_application.credit import BankCredit
from service.db import transaction
from service.models import Assessment, Customer, Payment, Receivable

TODAY = date(2026, 3, 15)
_ids = count(1000)


def add_customer(session, number: str, name: str, currency: str = "EUR") -> Customer:
    customer = Customer(number=number, source="erp-main", name=name, currency=currency)
    session.add(customer)
    session.flush()
    return customer


def add_invoice(
    session, customer: Customer, number: str, amount: str, due: date = date(2025, 12, 31)
) -> Receivable:
    item = Receivable(
        source="erp-main",
        external_id=number,
        customer_id=customer.id,
        kind="invoice",
        number=number,
        issue_date=date(2025, 11, 30),
        due_date=due,
        currency=customer.currency,
        amount=Decimal(amount),
        open_amount=Decimal(amount),
        source_updated_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    session.add(item)
    session.flush()
    return item


def seed(factory) -> dict[str, int]:
    """C-100 Acme GmbH: INV-1001 (400.00) and INV-1002 (600.00), both 74 days overdue (HOLD);
    C-200 Beta AG: 2026-00077 (250.00); C-300 Gamma: INV-3001 (1,000.00)."""
    with transaction(factory) as s:
        acme = add_customer(s, "C-100", "Acme GmbH")
        beta = add_customer(s, "C-200", "Beta AG")
        gamma = add_customer(s, "C-300", "Gamma Ltd")
        add_invoice(s, acme, "INV-1001", "400.00")
        add_invoice(s, acme, "INV-1002", "600.00")
        add_invoice(s, beta, "2026-00077", "250.00", due=date(2026, 4, 30))
        add_invoice(s, gamma, "INV-3001", "1000.00", due=date(2026, 4, 30))
        return {"C-100": acme.id, "C-200": beta.id, "C-300": gamma.id}


def credit(
    amount: str,
    remittance: str = "",
    *,
    references: tuple[str, ...] = (),
    payer_name: str | None = "Someone",
    payer_iban: str | None = None,
    transaction_id: int | None = None,
    currency: str = "EUR",
    booking_date: date = TODAY,
) -> BankCredit:
    return BankCredit(
        transaction_id=transaction_id if transaction_id is not None else next(_ids),
        account="DE02120300000000202051",
        bank_reference="BANKREF-1",
        end_to_end_id=None,
        amount=Decimal(amount),
        currency=currency,
        booking_date=booking_date,
        value_date=booking_date,
        payer_name=payer_name,
        payer_iban=payer_iban,
        remittance=remittance,
        references=references,
    )


def status(factory, customer_id: int) -> str:
    with factory() as s:
        return s.get(Assessment, customer_id).status


def payments(factory, source: str = "bank") -> list[Payment]:
    with factory() as s:
        rows = s.scalars(select(Payment).where(Payment.source == source).order_by(Payment.id)).all()
        for r in rows:
            _ = list(r.allocations)
        s.expunge_all()
        return rows


def open_in_flight(factory, number: str) -> Decimal:
    """What of an invoice's open amount is still not covered by in-flight cash."""
    from service.cash_application.applying import in_flight_by_item

    with factory() as s:
        item = s.scalars(select(Receivable).where(Receivable.number == number)).one()
        return item.open_amount - in_flight_by_item(s, [item.id]).get(item.id, Decimal(0))

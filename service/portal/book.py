"""What a pay link shows, read at request time: the customer, its open items, its assessment.

``open_page`` checks the link against the current data: an unknown customer, invoices that are
not this customer's (a link can only name them if it was signed so: refused as tampered) and
links whose invoices are all settled each raise ``LinkRefused`` with the page to show.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import INVOICE, Assessment, Customer, Receivable
from service.paylinks import PayLinkClaims


class LinkRefused(Exception):
    """The link opens no page; ``reason`` names the page (paid, unknown, tampered) and status."""

    def __init__(self, reason: str, status: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class Item:
    id: int
    external_id: str
    kind: str
    number: str
    due_date: date
    currency: str
    open_amount: Decimal
    days_overdue: int
    chosen: bool


@dataclass(frozen=True)
class Page:
    customer_id: int
    number: str
    name: str
    currency: str
    language: str | None
    status: str | None
    amount_to_release: Decimal | None
    items: list[Item]
    as_of: date

    @property
    def total_open(self) -> Decimal:
        """Open invoices less open credit notes (which the ERP sends as positive amounts)."""
        return sum(
            (i.open_amount if i.kind == INVOICE else -abs(i.open_amount) for i in self.items),
            Decimal(0),
        )

    def item(self, external_id: str) -> Item | None:
        return next((i for i in self.items if i.external_id == external_id), None)


def open_page(session: Session, claims: PayLinkClaims, as_of: date) -> Page:
    customer = session.scalars(select(Customer).where(Customer.number == claims.customer)).first()
    if customer is None:
        raise LinkRefused("unknown", 404)
    named = set(claims.invoices)
    if named:
        owners = dict(
            session.execute(
                select(Receivable.external_id, Receivable.customer_id).where(
                    Receivable.external_id.in_(sorted(named))
                )
            ).all()
        )
        if set(owners) != named or set(owners.values()) != {customer.id}:
            raise LinkRefused("tampered", 403)
    rows = session.scalars(
        select(Receivable)
        .where(Receivable.customer_id == customer.id, Receivable.is_open.is_(True))
        .order_by(Receivable.due_date, Receivable.number)
    ).all()
    items = [
        Item(
            id=r.id,
            external_id=r.external_id,
            kind=r.kind,
            number=r.number,
            due_date=r.due_date,
            currency=r.currency,
            open_amount=r.open_amount,
            days_overdue=max(0, (as_of - r.due_date).days),
            chosen=r.kind == INVOICE and (not named or r.external_id in named),
        )
        for r in rows
    ]
    if not any(i.kind == INVOICE and i.open_amount > 0 for i in items) or (
        named and not any(i.chosen for i in items)
    ):
        raise LinkRefused("paid", 410)
    assessment = session.get(Assessment, customer.id)
    document = (assessment.document or {}) if assessment else {}
    release = document.get("amount_to_release")
    return Page(
        customer_id=customer.id,
        number=customer.number,
        name=customer.name,
        currency=customer.currency,
        language=customer.language,
        status=assessment.status if assessment else None,
        amount_to_release=Decimal(str(release)) if release not in (None, "") else None,
        items=items,
        as_of=as_of,
    )


def chosen_total(page: Page, external_ids: list[str]) -> Decimal:
    """The amount of the chosen open invoices, from the data read now (never from the link)."""
    wanted = set(external_ids)
    return sum(
        (i.open_amount for i in page.items if i.external_id in wanted and i.kind == INVOICE),
        Decimal(0),
    )

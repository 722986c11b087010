"""What the ERP posts: each applied bank credit, per customer and invoice, with stable ids.

One line per allocation and one per unapplied amount (an overpayment): the bank transaction,
the customer, the invoice (``null`` for unapplied cash), the amount. A line's ``id`` is
``ca-<application>/<customer number>/<invoice ERP id or "unapplied">`` and never changes, so an
ERP that keys its postings by it can fetch the same lines again without posting twice. A line's
``status`` is ``applied`` (in flight, for the ERP to post), ``posted`` (the ERP's own posting
superseded it) or ``reversed`` (the bank took the credit back: the ERP undoes its posting).

``since`` selects applications changed at or after an instant (applied, decided in Salesforce,
reversed), oldest change first; ``next_since`` in an answer is where the next call starts (the
last application may come again: re-reading is harmless).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.cash_application.applying import applications_since
from service.credit.money import cents
from service.models import (
    REVERSED,
    SUPERSEDED,
    CashApplication,
    CashApplicationPayment,
    Customer,
    Payment,
    Receivable,
)

CSV_COLUMNS = (
    "id",
    "cash_application_id",
    "status",
    "bank_transaction_id",
    "bank_account",
    "bank_reference",
    "end_to_end_id",
    "booking_date",
    "customer",
    "invoice",
    "document_number",
    "amount",
    "currency",
    "evidence",
    "decided_by",
    "updated_at",
)


def _status(app: CashApplication, payment: Payment) -> str:
    if app.status == "reversed" or payment.status == REVERSED:
        return "reversed"
    return "posted" if payment.status == SUPERSEDED else "applied"


def documents(session: Session, since: datetime | None, limit: int) -> list[dict[str, Any]]:
    """Applications changed since ``since`` with their lines, as the API serves them."""
    apps = applications_since(session, since, limit)
    if not apps:
        return []
    links = session.execute(
        select(CashApplicationPayment.cash_application_id, Payment, Customer.number)
        .join(Payment, Payment.id == CashApplicationPayment.payment_id)
        .join(Customer, Customer.id == CashApplicationPayment.customer_id)
        .where(CashApplicationPayment.cash_application_id.in_([a.id for a in apps]))
        .order_by(CashApplicationPayment.id)
    ).all()
    item_ids = {a.receivable_id for _, p, _ in links for a in p.allocations}
    items = {
        r.id: (r.external_id, r.number)
        for r in session.execute(
            select(Receivable.id, Receivable.external_id, Receivable.number).where(
                Receivable.id.in_(sorted(item_ids))
            )
        )
    }
    lines: dict[int, list[dict[str, Any]]] = {}
    for app_id, payment, number in links:
        app = next(a for a in apps if a.id == app_id)
        status = _status(app, payment)
        allocated = []
        for alloc in sorted(payment.allocations, key=lambda a: a.receivable_id):
            ext, doc = items.get(alloc.receivable_id, (str(alloc.receivable_id), None))
            allocated.append((ext, doc, alloc.amount))
        rest = payment.amount - sum((a for _, _, a in allocated), 0)
        for ext, doc, amount in allocated:
            lines.setdefault(app_id, []).append(_line(payment, number, ext, doc, amount, status))
        if rest > 0:
            lines.setdefault(app_id, []).append(_line(payment, number, None, None, rest, status))
    return [
        {
            "id": f"ca-{app.id}",
            "status": app.status,
            "bank_transaction_id": app.transaction_id,
            "bank_account": app.account,
            "bank_reference": app.bank_reference,
            "end_to_end_id": app.end_to_end_id,
            "booking_date": app.booking_date.isoformat(),
            "amount": str(cents(app.amount)),
            "currency": app.currency,
            "payer_name": app.payer_name,
            "evidence": app.evidence,
            "confidence": app.confidence,
            "reason": app.reason,
            "decided_by": app.decided_by,
            "updated_at": app.updated_at.isoformat(),
            "lines": lines.get(app.id, []),
        }
        for app in apps
    ]


def _line(
    payment: Payment, customer: str, invoice: str | None, document: str | None, amount, status: str
) -> dict[str, Any]:
    return {
        "id": f"{payment.external_id}/{invoice if invoice is not None else 'unapplied'}",
        "customer": customer,
        "invoice": invoice,
        "document_number": document,
        "amount": str(cents(amount)),
        "currency": payment.currency,
        "status": status,
    }


def csv_rows(docs: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for doc in docs:
        for line in doc["lines"]:
            yield {
                "id": line["id"],
                "cash_application_id": doc["id"],
                "status": line["status"],
                "bank_transaction_id": doc["bank_transaction_id"],
                "bank_account": doc["bank_account"],
                "bank_reference": doc["bank_reference"] or "",
                "end_to_end_id": doc["end_to_end_id"] or "",
                "booking_date": doc["booking_date"],
                "customer": line["customer"],
                "invoice": line["invoice"] or "",
                "document_number": line["document_number"] or "",
                "amount": line["amount"],
                "currency": line["currency"],
                "evidence": doc["evidence"] or "",
                "decided_by": doc["decided_by"] or "",
                "updated_at": doc["updated_at"],
            }


def write_csv(out: io.TextIOBase, docs: Iterable[dict[str, Any]]) -> int:
    """The lines as CSV (a header, then one row per line); returns the rows written.

    Cells that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@`` first) are
    prefixed with a quote: payer-written text must never execute in the ERP clerk's Excel.
    """
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    count = 0
    for row in csv_rows(docs):
        writer.writerow({k: _cell(v) for k, v in row.items()})
        count += 1
    return count


def _cell(value: Any) -> Any:
    if (isinstance(value, str) and value[:1] in ("=", "+", "@", "\t", "\r")) or (
        isinstance(value, str) and value[:1] == "-" and not _is_number(value)
    ):
        return "'" + value
    return value


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True

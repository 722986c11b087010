"""The closed loop for cash applied from bank statements: what the ERP should post, queued once.

An applied bank credit is a provisional payment per customer (``service.cash_application``)
until the ERP posts the money. Where the ERP has a place for unposted cash (Business Central's
payment journals), each provisional payment is written there as one line of its whole amount
(the invoices it pays named on it; the export ``GET /api/v1/cash-applications`` still serves a
line per invoice) for the accountant to post, and taken out again when the bank reverses the
credit before it is posted. One line per payment is what lets the posting supersede the
provisional payment by ``service.payment_matching``'s rule: lines per invoice would never match
its amount, and the money would count twice once posted.

``queue_cash_writes`` scans the applications changed since its cursor (``<erp>:cash``) whose
customers are of the connector's source, and queues in ``erp_writes``:

* ``cash_applied`` (key ``cash:<payment id>:applied``, the provisional payment's own id
  ``ca-<application>/<customer>``) for each payment still provisional;
* ``cash_reversed`` (key ``cash:<payment id>:reversed``) for each payment of a reversed
  application that had a ``cash_applied`` queued (whatever became of it: a write that failed may still
  have reached the ERP).

Every run also retires (``superseded``) the ``cash_applied`` writes not sent yet whose payment
is no longer provisional: the ERP posted that money another way, or the bank took it back, and
writing it now would record it twice.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.connectors import cursors
from service.connectors.writeback import (
    DEAD,
    OVERLAP,
    PENDING,
    SUPERSEDED,
    insert_new,
    new_row,
)
from service.credit.money import cents
from service.models import (
    APPLIED,
    PROVISIONAL,
    REVERSED,
    REVERSED_CREDIT,
    CashApplication,
    CashApplicationPayment,
    Customer,
    ErpWrite,
    Payment,
    Receivable,
)

APPLIED_KIND, REVERSED_KIND = "cash_applied", "cash_reversed"


def reference(application_id: int, line_id: str) -> str:
    """The line's reference in the ERP (35 characters at most, Business Central's external
    document number): the application and a digest of the line's stable id."""
    digest = hashlib.sha256(line_id.encode()).hexdigest()[:8].upper()
    return f"CC-{application_id}-{digest}"


def _line(
    session: Session, app: CashApplication, payment: Payment, customer: str
) -> dict[str, Any]:
    """The one line to write for a customer's provisional payment: its whole amount, so that
    the ERP's posting of it is the same payment by ``service.payment_matching``'s rule (same
    customer, currency and amount, within its window) and supersedes it; lines per invoice
    would never match it."""
    allocations = sorted(payment.allocations, key=lambda a: a.receivable_id)
    items = {
        r.id: r
        for r in session.scalars(
            select(Receivable).where(Receivable.id.in_([a.receivable_id for a in allocations]))
        )
    }
    paid = [(items.get(a.receivable_id), a.amount) for a in allocations]
    only = paid[0][0] if len(paid) == 1 else None
    numbers = [item.number if item is not None else "?" for item, _ in paid]
    line_id = payment.external_id
    pays = f" pays {', '.join(numbers)}" if numbers else " unapplied"
    return {
        "line": line_id,
        "reference": reference(app.id, line_id),
        "application": f"ca-{app.id}",
        "customer": customer,
        "invoices": [
            {"item": item.external_id if item else None, "number": number, "amount": str(cents(a))}
            for (item, a), number in zip(paid, numbers, strict=True)
        ],
        # Applied to in the ERP only when it pays exactly one invoice; otherwise the
        # description names them for the accountant to apply.
        "item": only.external_id if only is not None else None,
        "item_number": only.number if only is not None else None,
        "amount": str(cents(payment.amount)),
        "currency": payment.currency,
        "date": app.booking_date.isoformat(),
        "description": " ".join(
            part for part in (f"Bank credit ca-{app.id}{pays}", app.bank_reference) if part
        )[:100],
        "payment_id": payment.id,
    }


def queue_cash_writes(session: Session, connector: str, source: str, now: datetime) -> int:
    """Queue the cash applications' writes since the last scan; returns the rows added."""
    name = f"{connector}:cash"
    since = (cursors.position(session, name) or {}).get("updated_at")
    query = (
        select(CashApplication, Payment, Customer.number)
        .join(
            CashApplicationPayment, CashApplicationPayment.cash_application_id == CashApplication.id
        )
        .join(Payment, Payment.id == CashApplicationPayment.payment_id)
        .join(Customer, Customer.id == CashApplicationPayment.customer_id)
        .where(
            Customer.source == source,
            CashApplication.status.in_((APPLIED, REVERSED_CREDIT)),
        )
        .order_by(CashApplication.updated_at, CashApplication.id, Payment.id)
    )
    if since:
        query = query.where(CashApplication.updated_at >= datetime.fromisoformat(since) - OVERLAP)
    rows: list[dict[str, Any]] = []
    latest = since
    for app, payment, number in session.execute(query).all():
        latest = app.updated_at.isoformat()
        reversed_ = app.status == REVERSED_CREDIT or payment.status == REVERSED
        line = _line(session, app, payment, number)
        applied_key = f"cash:{line['line']}:applied"
        if not reversed_:
            if payment.status == PROVISIONAL:
                rows.append(new_row(connector, APPLIED_KIND, applied_key, line, now))
            continue
        queued = session.scalars(
            select(ErpWrite.id).where(ErpWrite.connector == connector, ErpWrite.key == applied_key)
        ).first()
        if queued is not None:
            payload = {k: line[k] for k in ("reference", "application", "customer", "line")}
            rows.append(
                new_row(connector, REVERSED_KIND, f"cash:{line['line']}:reversed", payload, now)
            )
    added = insert_new(session, rows)
    retire_unsent(session, connector)
    if latest and latest != since:
        cursors.save(session, name, {"updated_at": latest}, now)
    return added


def retire_unsent(session: Session, connector: str) -> int:
    """``cash_applied`` writes not sent whose payment is no longer provisional: superseded."""
    unsent = session.execute(
        select(ErpWrite.id, ErpWrite.payload).where(
            ErpWrite.connector == connector,
            ErpWrite.kind == APPLIED_KIND,
            ErpWrite.status.in_((PENDING, DEAD)),
        )
    ).all()
    if not unsent:
        return 0
    wanted = {row_id: payload.get("payment_id") for row_id, payload in unsent}
    provisional = set(
        session.scalars(
            select(Payment.id).where(
                Payment.id.in_([p for p in wanted.values() if p is not None]),
                Payment.status == PROVISIONAL,
            )
        )
    )
    retired = [row_id for row_id, payment in wanted.items() if payment not in provisional]
    if retired:
        session.execute(
            update(ErpWrite)
            .where(ErpWrite.id.in_(retired))
            .values(
                status=SUPERSEDED,
                last_error="not sent: the ERP posted this cash or the bank took it back first",
            )
            .execution_options(synchronize_session=False)
        )
    return len(retired)

"""The statement PDF attached to the levels that ask for one: every open invoice of the
customer in the message's currency, as of the day the message is sent, rendered by WeasyPrint.

Rendered when the message is sent, not when the run stores it: a run over the whole book stays
fast, and the statement shows what is open at the moment the customer reads it.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import SimpleNamespace

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.dunning.render import Company, _environment, _labels, _words
from service.models import Customer, DunningMessage, Receivable


def statement_pdf(session: Session, m: DunningMessage, company: Company, today: date) -> bytes:
    # Imported here: WeasyPrint and its font stack cost ~70 MB, and only these levels need it.
    from weasyprint import HTML

    customer = session.get(Customer, m.customer_id)
    assert customer is not None
    w = _words(m.language, m.language)
    items = session.execute(
        select(
            Receivable.number, Receivable.issue_date, Receivable.due_date, Receivable.open_amount
        )
        .where(
            Receivable.customer_id == m.customer_id,
            Receivable.is_open.is_(True),
            Receivable.kind == "invoice",
            Receivable.currency == m.currency,
        )
        .order_by(Receivable.due_date, Receivable.number)
    ).all()
    rows = [
        SimpleNamespace(
            number=number,
            issued=w.day(issued),
            due=w.day(due),
            days=max(0, (today - due).days),
            amount=w.money(amount, m.currency),
        )
        for number, issued, due, amount in items
    ]
    total = sum((amount for *_, amount in items), Decimal(0))
    html_env, _ = _environment()
    html = html_env.get_template("statement.html").render(
        language=w.language,
        L=_labels(w.language),
        company=company,
        customer_name=customer.name,
        reference=w.t("reference", customer=customer.number),
        as_of=w.day(today),
        rows=rows,
        total=w.money(total, m.currency),
    )
    return HTML(string=html).write_pdf()


def statement_filename(m: DunningMessage, number: str, today: date) -> str:
    word = _labels(m.language if m.language in ("en", "de") else "en")["statement_file"]
    safe = "".join(ch for ch in number if ch.isalnum() or ch in "-_") or "customer"
    return f"{word}-{safe}-{today.isoformat()}.pdf"

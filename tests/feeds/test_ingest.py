"""The bulk writers store exactly what an ordinary SQLAlchemy insert stores."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import insert, select, text

from service.bulk import bulk_insert
from service.db import make_engine, make_session_factory, transaction
from service.models import Customer, Receivable


def _row(external_id: str, customer_id: int, amount: str, instant: datetime) -> dict:
    return {
        "source": "erp",
        "external_id": external_id,
        "customer_id": customer_id,
        "kind": "invoice",
        "number": external_id,
        "issue_date": date(2026, 1, 1),
        "due_date": date(2026, 1, 31),
        "currency": "EUR",
        "amount": Decimal(amount),
        "open_amount": Decimal(amount),
        "is_open": True,
        "closed_on": None,
        "source_updated_at": instant,
        "created_at": instant,
        "updated_at": instant,
    }


def test_bulk_insert__stores_the_same_values_as_a_plain_insert(db_url):
    engine = make_engine(db_url)
    sessions = make_session_factory(engine)
    instant = datetime(2026, 3, 1, 10, 0, tzinfo=timezone(timedelta(hours=2)))
    with transaction(sessions) as session:
        session.execute(
            insert(Customer.__table__),
            [
                {
                    "number": "C",
                    "source": "erp",
                    "name": "C",
                    "currency": "EUR",
                    "created_at": instant,
                    "updated_at": instant,
                }
            ],
        )
        customer_id = session.scalar(select(Customer.id))
        # 1.0 and 1.00 are equal Decimals; each must keep its own text.
        bulk_insert(
            session,
            Receivable.__table__,
            [_row("A", customer_id, "1.0", instant), _row("B", customer_id, "1.00", instant)],
        )
        session.execute(
            insert(Receivable.__table__),
            [_row("C", customer_id, "1.0", instant), _row("D", customer_id, "1.00", instant)],
        )
    with engine.connect() as connection:
        raw = connection.execute(
            text(
                "SELECT external_id, amount, issue_date, source_updated_at FROM receivables ORDER BY external_id"
            )
        ).all()
    with sessions() as session:
        loaded = {r.external_id: r for r in session.scalars(select(Receivable))}
    engine.dispose()

    assert [tuple(r[1:]) for r in raw[:2]] == [tuple(r[1:]) for r in raw[2:]]
    assert loaded["A"].source_updated_at == instant.astimezone(UTC)

"""Out-of-order ERP rows: an older version of a row sent after a newer one is ignored.

ERPs resend: a retried export, two exports racing through a queue. Whatever order the rows
arrive in, the newest ``updated_at`` of each row is the one kept, and a payment sent twice is
stored once (measured: lost 0, doubled 0).
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from service.models import Payment
from tests.reliability import measure


def _batch(receivables, payments=()) -> dict:
    return {
        "source": "erp-main",
        "customers": [{"number": "O-1", "name": "Order Ltd", "currency": "EUR"}],
        "receivables": receivables,
        "payments": list(payments),
    }


def _row(item: str, open_amount: str, updated_at: str) -> dict:
    return {
        "id": item,
        "customer": "O-1",
        "type": "invoice",
        "number": item,
        "issue_date": "2026-01-01",
        "due_date": "2026-01-31",
        "currency": "EUR",
        "amount": "1000.00",
        "open_amount": open_amount,
        "updated_at": updated_at,
    }


PAYMENT = {
    "id": "PAY-O-1",
    "customer": "O-1",
    "amount": "300.00",
    "currency": "EUR",
    "received_at": "2026-03-02T09:00:00Z",
    "reference": "BACS 1",
    "applied_to": [{"receivable": "INV-O-1", "amount": "300.00"}],
}


def test_out_of_order_erp_rows__older_ignored_nothing_lost_or_doubled(db_url, factory, post_feed):
    newer = [
        _row("INV-O-1", "700.00", "2026-03-10T10:00:00Z"),
        _row("INV-O-2", "0.00", "2026-03-10T10:00:00Z"),
    ]
    older = [
        _row("INV-O-1", "1000.00", "2026-03-01T10:00:00Z"),  # before the payment
        _row("INV-O-2", "1000.00", "2026-03-10T09:59:59Z"),  # one second older
        _row("INV-O-3", "400.00", "2026-03-05T10:00:00Z"),  # new: kept
    ]
    first = post_feed(_batch(newer, [PAYMENT]))
    assert first.status_code == 200, first.json
    second = post_feed(_batch(older, [PAYMENT]))  # a late resend of an older export
    assert second.status_code == 200, second.json
    assert second.json["receivables"] == {"accepted": 1, "ignored": 2}

    tally = measure.feed_rows(factory, newer + older, "erp-main")
    with factory() as s:
        stored = s.scalar(
            select(func.count()).select_from(Payment).where(Payment.external_id == "PAY-O-1")
        )
        total = s.scalar(select(Payment.amount).where(Payment.external_id == "PAY-O-1"))
    if stored != 1 or total != Decimal("300.00"):
        tally.doubled.append(f"PAY-O-1 stored {stored} times ({total})")
    assert tally.clean, str(tally)

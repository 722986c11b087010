"""The golden table: hand-checked scenarios in tests/fixtures/credit/golden.txt, one per row."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from service.credit import AssessmentError, assess, load_policy
from tests.credit.creditbook import book

FIXTURES = Path(__file__).parents[1] / "fixtures" / "credit"
POLICY = load_policy(json.loads((FIXTURES / "golden_policy.json").read_text()))


def _rows() -> list[dict[str, str]]:
    lines = [
        line
        for line in (FIXTURES / "golden.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    header = [h.strip() for h in lines[0].split("|")]
    rows = []
    for line in lines[1:]:
        cells = [c.strip() for c in line.split("|")]
        assert len(cells) == len(header), f"row {cells[0]} has {len(cells)} cells"
        rows.append(dict(zip(header, cells, strict=True)))
    return rows


ROWS = _rows()


def test_golden_table__has_at_least_30_distinct_scenarios():
    ids = [r["id"] for r in ROWS]
    assert len(ids) >= 30
    assert len(set(ids)) == len(ids)


def _money(cell: str) -> Decimal | None:
    return None if cell == "-" else Decimal(cell)


def _offset(as_of: date, cell: str) -> date | None:
    return None if cell == "-" else as_of + timedelta(days=int(cell))


@pytest.mark.parametrize("row", ROWS, ids=[r["id"] for r in ROWS])
def test_golden(row):
    as_of = date.fromisoformat(row["as_of"])
    inputs = book(
        as_of,
        items_=row["items"],
        payments_=row["payments"],
        promises_=row["promises"],
        disputes_=row["disputes"],
        limit=row["limit"],
        override=row["override"],
        attrs=row["attrs"],
        currency=row["ccy"],
    )
    if row["status"].startswith("ERROR:"):
        with pytest.raises(AssessmentError) as caught:
            assess(inputs, POLICY, as_of)
        assert caught.value.code == row["status"].removeprefix("ERROR:")
        return

    a = assess(inputs, POLICY, as_of)
    got = {
        "status": a.status.value,
        "reasons": ",".join(a.reason_codes) or "-",
        "balance": a.balance_outstanding,
        "overdue": a.overdue_amount,
        "disputed": a.disputed_amount,
        "dpd": a.days_past_due,
        "aging": tuple(a.aging.as_dict().values()),
        "release": a.amount_to_release,
    }
    want = {
        "status": row["status"],
        "reasons": row["reasons"],
        "balance": Decimal(row["balance"]),
        "overdue": Decimal(row["overdue"]),
        "disputed": Decimal(row["disputed"]),
        "dpd": int(row["dpd"]),
        "aging": tuple(Decimal(x) for x in row["aging"].split("/")),
        "release": _money(row["release"]),
    }
    assert got == want
    assert a.reason_text.startswith(row["text"]), a.reason_text
    assert len(a.reason_text) <= 255

    checks = dict(c.split("=", 1) for c in row["checks"].split())
    actual = {
        "risk": lambda: str(a.risk_score),
        "priority": lambda: str(a.collection_priority),
        "dunning": lambda: str(a.dunning_level),
        "broken": lambda: str(a.broken_promises),
        "segment": lambda: a.segment,
        "avgpay": lambda: str(a.avg_days_to_pay),
    }
    for key, value in checks.items():
        if key in actual:
            assert actual[key]() == value, key
        elif key == "next":
            assert a.next_action_date == _offset(as_of, value), key
        elif key == "ptp":
            assert a.promise_to_pay_date == _offset(as_of, value), key
        elif key == "exposure":
            assert a.exposure == Decimal(value), key
        elif key == "avail":
            assert a.credit_available == Decimal(value), key
        elif key == "last_pay":
            day, amount = value.split(":")
            assert (a.last_payment_date, a.last_payment_amount) == (
                _offset(as_of, day),
                Decimal(amount),
            ), key
        else:
            raise AssertionError(f"unknown check {key!r} in row {row['id']}")

"""ERP CSV files for import tests, written row by row (the fixtures folder holds the small ones)."""

from __future__ import annotations

import csv
from pathlib import Path

RECEIVABLE_COLUMNS = [
    "id",
    "customer",
    "type",
    "number",
    "issue_date",
    "due_date",
    "currency",
    "amount",
    "open_amount",
    "updated_at",
]


def receivables_csv(
    path: Path, rows: int, *, bad: dict[int, str] | None = None, customer: str = "C-100"
) -> Path:
    """``rows`` EUR invoices ``R<i>`` of 10.00 for ``customer`` (``{i}`` is the row's number);
    row ``i`` in ``bad`` gets that amount instead."""
    bad = bad or {}
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(RECEIVABLE_COLUMNS)
        for i in range(rows):
            item = [f"R{i}", customer.format(i=i), "invoice", f"R{i}", "2026-01-01", "2026-01-31"]
            amounts = ["EUR", bad.get(i, "10.00"), "10.00", "2026-03-01T00:00:00Z"]
            writer.writerow([*item, *amounts])
    return path

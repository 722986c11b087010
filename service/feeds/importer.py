"""``credit-control import erp FILE...``: the ERP feed's data from CSV or JSON files.

Same rows, same validation (the feed's loaders and reference checks), same writes
(``apply_batch``). Two differences suit files rather than requests:

- A bad row is rejected and reported (file, line, path, message); the good rows around it are
  stored. A file of a million rows should not fail whole for one typo, and the report says
  exactly what to fix and re-import (re-importing is harmless: rows not newer are ignored).
- CSV is streamed in chunks of ``chunk_size`` rows, each committed on its own, so memory stays
  flat whatever the file's size. JSON files (the feed's document shape) are read whole: they are
  meant for feed-sized batches.

Re-assessment is durable, as for the feed: each chunk queues its touched customers for
re-assessment (``service.assessment_queue``) and their Receivable__c pushes in its own
transaction. After the last chunk the import drains the queue itself, so the figures are ready
when the command returns (``drain=False`` leaves that to the worker); if the import is
interrupted, the worker's assessor finishes what the committed chunks asked for.

CSV: one file per kind, the header naming the feed's fields. The kind is detected from the header
(``received_at`` → payments, ``due_date`` → receivables, else customers) or given with
``--kind``. A payment's ``applied_to`` is written ``<receivable id>:<amount>`` pairs joined by
``;`` (e.g. ``INV-1:100.00;INV-2:25.50``).
"""

from __future__ import annotations

import csv
import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from service import assessment_queue
from service.db import transaction
from service.errors import FieldError
from service.feeds.ingest import Counts, apply_batch, reference_errors
from service.feeds.schemas import KINDS, loader
from service.outbox import queue_for_salesforce

log = logging.getLogger(__name__)

ORDER = {"customers": 0, "receivables": 1, "payments": 2}
# Customers per transaction in the final drain: bigger than the worker's batches (nobody waits
# on the import's write lock but itself), still a short transaction each.
IMPORT_DRAIN_LIMIT = 2_000
_INTEGER_FIELDS = {"payment_terms_days"}


@dataclass(frozen=True, slots=True)
class Rejected:
    file: str
    line: int | None
    path: str
    message: str


@dataclass
class ImportReport:
    counts: dict[str, Counts] = field(default_factory=lambda: {k: Counts() for k in KINDS})
    rejected: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    # The final drain of the assessment queue: customers assessed, and how long it took.
    assessed: int = 0
    assess_seconds: float = 0.0
    # Set when a drain batch failed: those customers stay queued for the worker.
    assess_error: str | None = None


def detect_kind(header: list[str]) -> str:
    names = set(header)
    if "received_at" in names:
        return "payments"
    if "due_date" in names:
        return "receivables"
    return "customers"


def csv_row(raw: dict[str, str]) -> dict[str, Any]:
    """A CSV record in the feed's JSON shape: blanks are absent, numbers and lists parsed."""
    row: dict[str, Any] = {}
    for key, value in raw.items():
        if key is None:  # more cells than header names
            row["_extra_cells"] = value
            continue
        if value is None or value == "":
            continue
        if key in _INTEGER_FIELDS and value.isdigit():
            row[key] = int(value)
        elif key == "applied_to":
            row[key] = [_allocation(part) for part in value.split(";") if part.strip()]
        else:
            row[key] = value
    return row


def _allocation(text: str) -> dict[str, str]:
    receivable, sep, amount = text.strip().rpartition(":")
    return {"receivable": receivable, "amount": amount} if sep else {"receivable": text.strip()}


def read_csv(path: Path, chunk_size: int) -> Iterator[tuple[list[int], list[dict]]]:
    """Chunks of (line numbers, rows); the line is where the record ends in the file."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        lines: list[int] = []
        rows: list[dict] = []
        for raw in reader:
            rows.append(csv_row(raw))
            lines.append(reader.line_num)
            if len(rows) >= chunk_size:
                yield lines, rows
                lines, rows = [], []
        if rows:
            yield lines, rows


def csv_header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return next(csv.reader(handle), [])


def plan(paths: list[Path], kind: str | None) -> list[tuple[str, Path]]:
    """Which kind each file holds, customers first so the others can refer to them."""
    planned = []
    for path in paths:
        if path.suffix.lower() == ".json":
            planned.append(("json", path))
        else:
            planned.append((kind or detect_kind(csv_header(path)), path))
    return sorted(planned, key=lambda p: ORDER.get(p[0], -1))


def import_files(
    sessions: sessionmaker[Session],
    paths: list[Path],
    *,
    source: str,
    now: datetime,
    kind: str | None = None,
    chunk_size: int = 5_000,
    on_rejected: Callable[[Rejected], None] = lambda r: None,
    policy: Any = None,
    drain: bool = True,
) -> ImportReport:
    report = ImportReport()
    for file_kind, path in plan(paths, kind):
        if file_kind == "json":
            document = json.loads(path.read_text(encoding="utf-8"))
            for json_kind in KINDS:
                rows = (document.get(json_kind) or []) if isinstance(document, dict) else []
                for start, part in _enumerate_chunks(rows, chunk_size):
                    _import_chunk(
                        sessions,
                        source,
                        json_kind,
                        path,
                        None,
                        part,
                        start,
                        now,
                        report,
                        on_rejected,
                    )
            continue
        for lines, rows in read_csv(path, chunk_size):
            _import_chunk(
                sessions, source, file_kind, path, lines, rows, 0, now, report, on_rejected
            )
    if drain:
        _drain(sessions, now, policy, report)
    return report


def _drain(
    sessions: sessionmaker[Session], now: datetime, policy: Any, report: ImportReport
) -> None:
    """Re-assess what the import queued (and anything else waiting), batch by batch.

    A batch that fails leaves its requests queued: the rows are stored, the worker's assessor
    (which sets aside a customer that keeps failing) finishes the job, and the report says so.
    """
    started = time.perf_counter()
    try:
        while assessed := assessment_queue.drain_once(
            sessions, now.date(), policy, IMPORT_DRAIN_LIMIT
        ):
            report.assessed += len(assessed)
    except assessment_queue.DrainFailed as failed:
        log.exception("import: re-assessment failed; the worker re-assesses what is left")
        report.assess_error = f"{failed} ({type(failed.__cause__).__name__})"
    report.assess_seconds = time.perf_counter() - started


def _enumerate_chunks(rows: list, size: int) -> Iterator[tuple[int, list]]:
    for start in range(0, len(rows), size):
        yield start, rows[start : start + size]


def _import_chunk(
    sessions: sessionmaker[Session],
    source: str,
    kind: str,
    path: Path,
    lines: list[int] | None,
    rows: list[dict],
    first_index: int,
    now: datetime,
    report: ImportReport,
    on_rejected: Callable[[Rejected], None],
) -> None:
    errors: list[FieldError] = []
    loaded = loader(kind).load_many(rows, kind, errors)
    good = [(i, row) for i, row in enumerate(loaded) if row is not None]
    bad: dict[int, list[FieldError]] = {}
    for error in errors:
        bad.setdefault(_index(error.path), []).append(error)

    with transaction(sessions) as session:
        batch = {"source": source, **{k: [] for k in KINDS}}
        batch[kind] = [row for _, row in good]
        stored_customers: dict[str, int] = {}
        for error in reference_errors(session, batch, stored_customers):
            original = good[_index(error.path)][0]
            bad.setdefault(original, []).append(error)
        batch[kind] = [row for i, row in good if i not in bad]
        result = apply_batch(session, batch, now, stored_customers)
        # With the rows or not at all: the re-assessment they call for and the Receivable__c
        # pushes. Accounts are queued for Salesforce by whoever re-assesses them.
        assessment_queue.request(session, result.customer_ids, now)
        queue_for_salesforce(session, (), sorted(result.receivable_ids))
    counts = getattr(result, kind)
    report.counts[kind].accepted += counts.accepted
    report.counts[kind].ignored += counts.ignored
    report.rejected[kind] += len(bad)
    for i in sorted(bad):
        for error in bad[i]:
            _, _, rest = error.path.partition("].")
            on_rejected(
                Rejected(
                    file=str(path),
                    line=lines[i] if lines is not None else None,
                    path=rest
                    if lines is not None
                    else f"{kind}[{first_index + i}].{rest}".rstrip("."),
                    message=error.message,
                )
            )


def _index(path: str) -> int:
    """``receivables[12].due_date`` -> 12."""
    return int(path.split("[", 1)[1].split("]", 1)[0])

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

Files are read and validated by ``service.feeds.reading`` (the file formats are described
there).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from service import assessment_queue
from service.db import is_postgres, transaction
from service.errors import FieldError
from service.feeds.ingest import Counts, apply_batch, reference_errors
from service.feeds.reading import Chunk, plan, validated_chunks
from service.feeds.schemas import KINDS
from service.outbox import queue_for_salesforce

log = logging.getLogger(__name__)

# Customers per transaction in the final drain: bigger than the worker's batches (nobody waits
# on the import's write lock but itself), still a short transaction each.
IMPORT_DRAIN_LIMIT = 2_000
# PostgreSQL: a queue this long is drained by two processes when there are two cores; a shorter
# one is not worth starting a process for (~1 s). Not more than two: each holds ~100 MB (the
# import's budget is 300 MB in all), and the database server needs cores of its own.
PARALLEL_DRAIN_MIN = 8_000
MAX_DRAIN_PROCESSES = 2


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
    with closing(validated_chunks(plan(paths, kind), chunk_size)) as chunks:
        for chunk in chunks:
            _import_chunk(sessions, source, chunk, now, report, on_rejected)
    if drain:
        _drain(sessions, now, policy, report)
    return report


def _drain(
    sessions: sessionmaker[Session], now: datetime, policy: Any, report: ImportReport
) -> None:
    """Re-assess what the import queued (and anything else waiting), batch by batch.

    A big queue on PostgreSQL is drained by several processes at once (the engine is CPU-bound
    Python). A batch that fails leaves its requests queued: the rows are stored, the worker's
    assessor finishes the job, and the report says so.
    """
    started = time.perf_counter()
    processes = 1
    if is_postgres(sessions.kw["bind"]):
        with sessions() as session:
            if assessment_queue.depth(session).requests >= PARALLEL_DRAIN_MIN:
                processes = min(os.cpu_count() or 1, MAX_DRAIN_PROCESSES)
    drained = assessment_queue.drain_all(
        sessions, now.date(), policy, IMPORT_DRAIN_LIMIT, processes=processes
    )
    report.assessed = drained.assessed
    report.assess_error = drained.failed
    report.assess_seconds = time.perf_counter() - started


def _import_chunk(
    sessions: sessionmaker[Session],
    source: str,
    chunk: Chunk,
    now: datetime,
    report: ImportReport,
    on_rejected: Callable[[Rejected], None],
) -> None:
    kind, lines = chunk.kind, chunk.lines
    good = [(i, row) for i, row in enumerate(chunk.loaded) if row is not None]
    bad: dict[int, list[FieldError]] = {}
    for error in chunk.errors:
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
        queue_for_salesforce(
            session, (), sorted(result.receivable_ids), new_receivables=result.new_receivable_ids
        )
    counts = getattr(result, kind)
    report.counts[kind].accepted += counts.accepted
    report.counts[kind].ignored += counts.ignored
    report.rejected[kind] += len(bad)
    for i in sorted(bad):
        for error in bad[i]:
            _, _, rest = error.path.partition("].")
            on_rejected(
                Rejected(
                    file=str(chunk.path),
                    line=lines[i] if lines is not None else None,
                    path=rest
                    if lines is not None
                    else f"{kind}[{chunk.start + i}].{rest}".rstrip("."),
                    message=error.message,
                )
            )


def _index(path: str) -> int:
    """``receivables[12].due_date`` -> 12."""
    return int(path.split("[", 1)[1].split("]", 1)[0])

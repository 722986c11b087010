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
re-assessment (``service.assessments.queue``) and their Receivable__c pushes in its own
transaction. After the last chunk the import drains the queue itself, so the figures are ready
when the command returns (``drain=False`` leaves that to the worker); if the import is
interrupted, the worker's assessor finishes what the committed chunks asked for.

Files are read and validated by ``service.feeds.reading`` (the file formats are described
there).

A big CSV file of customers or receivables is imported by two processes at once when there are
two cores: this one takes the even chunks, a helper the odd ones, each reading, validating and
writing its own (``_Shares``). One process alternates between Python work (parsing,
validating: about half its time) and waiting for the database; two keep both busy (on SQLite
the helper validates while this one holds the write lock). Files are still imported one after
the other, so the customers are all stored before any receivable refers to them. Payments are
not shared: their allocations move receivables' open amounts, which two writers could race on.

What sharing changes: chunks commit in no fixed order, so of two rows with the same key and
the same ``updated_at`` (the rule keeps the first one seen), either may be kept. On PostgreSQL
two chunks may insert the same new key at once; the loser's transaction fails on the unique
index and is retried whole (``CONFLICT_RETRIES``), and then sees the winner's row.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from service.assessments import queue as assessment_queue
from service.db import is_postgres, make_engine, make_session_factory, transaction
from service.errors import FieldError
from service.feeds.ingest import Counts, apply_batch, reference_errors
from service.feeds.reading import Chunk, Share, plan, validated_chunks
from service.feeds.schemas import KINDS
from service.feeds.spool import Spool, merged
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
# Sharing a file (see the module's docstring): CSV files of these kinds, and, when the number of
# processes is left to the import, only files big enough (~40k receivables) that a helper's
# start-up (about a second: a fresh interpreter importing the service) pays.
SHARED_KINDS = frozenset({"customers", "receivables"})
SHARE_MIN_BYTES = 4 * 1024 * 1024
MAX_IMPORT_PROCESSES = 2
# A chunk whose transaction lost a race with another share's (PostgreSQL: the same new key, a
# deadlock) is tried again, up to this many times in all. Sqlstates: unique violation,
# deadlock detected, serialization failure.
CONFLICT_RETRIES = 5
_CONFLICTS = frozenset({"23505", "40P01", "40001"})


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

    def add(self, other: ImportReport) -> None:
        """Count another share's rows in (``_Shares``); drain figures are not shares'."""
        for name, counts in other.counts.items():
            self.counts[name].accepted += counts.accepted
            self.counts[name].ignored += counts.ignored
            self.rejected[name] += other.rejected[name]


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
    processes: int | None = None,
    on_rows: Callable[[int], None] = lambda n: None,
) -> ImportReport:
    """Import ``paths`` in order (customers first); ``processes`` None picks 1 or 2 (cores).

    With 2 or more, CSV files of ``SHARED_KINDS`` are shared between that many processes:
    every one of them when ``processes`` is given, only the big ones when it is picked here.
    ``on_rows(n)`` is told after each chunk how many more rows were handled (for a progress
    bar; in a shared file, this process's chunks stand for every share's, an estimate).
    """
    report = ImportReport()
    wanted = processes or min(os.cpu_count() or 1, MAX_IMPORT_PROCESSES)
    for file_kind, path in plan(paths, kind):
        if wanted > 1 and _worth_sharing(file_kind, path, explicit=processes is not None):
            shares = _Shares(source, file_kind, path, now, chunk_size)
            shares.run(sessions, wanted, report, on_rejected, on_rows)
            continue
        with closing(validated_chunks([(file_kind, path)], chunk_size)) as chunks:
            for chunk in chunks:
                _import_chunk(sessions, source, chunk, now, report, on_rejected)
                on_rows(len(chunk.loaded))
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


def _worth_sharing(kind: str, path: Path, *, explicit: bool) -> bool:
    if kind not in SHARED_KINDS:  # payments, and JSON files ("json")
        return False
    return explicit or path.stat().st_size >= SHARE_MIN_BYTES


def _helper_pool(helpers: int) -> ProcessPoolExecutor:
    # spawn, not fork: this process holds database connections a forked child must not share.
    return ProcessPoolExecutor(helpers, mp_context=multiprocessing.get_context("spawn"))


@dataclass(frozen=True)
class _Shares:
    """One file imported by several processes at once, each taking every n-th chunk (sent to
    the helpers as it is: picklable, no engine)."""

    source: str
    kind: str
    path: Path
    now: datetime
    chunk_size: int

    def run(
        self,
        sessions: sessionmaker[Session],
        processes: int,
        report: ImportReport,
        on_rejected: Callable[[Rejected], None],
        on_rows: Callable[[int], None] = lambda n: None,
    ) -> None:
        """This process takes share 0, helpers the others; rejections are reported in file
        order once every share is done (they wait in spool files meanwhile).

        A helper that dies (killed, out of memory) has its share imported here afterwards:
        the chunks it committed are then counted as ignored (not newer), and nothing is lost.
        An error a helper raises (a file it cannot read, the database refusing) is raised here.
        """
        url = sessions.kw["bind"].url.render_as_string(hide_password=False)
        with (
            tempfile.TemporaryDirectory(prefix="credit-control-import-") as spool_dir,
            _helper_pool(processes - 1) as pool,
        ):
            spools = [Path(spool_dir) / f"share-{n}.rejected" for n in range(processes)]
            helpers = {
                n: pool.submit(_import_share_process, url, self, Share(n, processes), spools[n])
                for n in range(1, processes)
            }
            try:
                parts = [
                    self.import_share(
                        sessions,
                        Share(0, processes),
                        spools[0],
                        on_rows=lambda n: on_rows(n * processes),
                    )
                ]
            finally:  # even when this share failed: the helpers' chunks end before the spools
                wait(helpers.values())
            for n, helper in helpers.items():
                try:
                    parts.append(helper.result())
                except BrokenProcessPool:
                    log.warning("import helper died; importing its share of %s here", self.path)
                    parts.append(self.import_share(sessions, Share(n, processes), spools[n]))
            for part in parts:
                report.add(part)
            for rejected in merged(spools):
                on_rejected(rejected)

    def import_share(
        self,
        sessions: sessionmaker[Session],
        share: Share,
        spool_path: Path,
        on_rows: Callable[[int], None] = lambda n: None,
    ) -> ImportReport:
        report = ImportReport()
        planned = [(self.kind, self.path)]
        with Spool(spool_path) as spool:
            with closing(validated_chunks(planned, self.chunk_size, share)) as chunks:
                for chunk in chunks:
                    rejected: list[Rejected] = []
                    _import_chunk(sessions, self.source, chunk, self.now, report, rejected.append)
                    spool.add(chunk.number, rejected)
                    on_rows(len(chunk.loaded))
        return report


def _import_share_process(
    database_url: str, shares: _Shares, share: Share, spool_path: Path
) -> ImportReport:
    """A helper process's share of a file: its own engine, the same chunk writes."""
    engine = make_engine(database_url)
    try:
        return shares.import_share(make_session_factory(engine), share, spool_path)
    finally:
        engine.dispose()


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

    for attempt in range(1, CONFLICT_RETRIES + 1):
        try:
            counts, unknown = _write_chunk(sessions, source, kind, good, set(bad), now)
            break
        except Exception as error:
            if attempt == CONFLICT_RETRIES or _sqlstate(error) not in _CONFLICTS:
                raise
            log.info(
                "import chunk %d of %s met a concurrent writer (%s); trying it again",
                chunk.number,
                chunk.path,
                _sqlstate(error),
            )
    for original, error in unknown:
        bad.setdefault(original, []).append(error)
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


def _write_chunk(
    sessions: sessionmaker[Session],
    source: str,
    kind: str,
    good: list[tuple[int, dict]],
    invalid: set[int],
    now: datetime,
) -> tuple[Counts, list[tuple[int, FieldError]]]:
    """One chunk's transaction: its valid rows that refer to known customers are stored.

    Returns the kind's counts, and the rows refused for unknown references (by their index in
    the chunk, with the error). Nothing outside the transaction changes, so it can be retried.
    """
    with transaction(sessions) as session:
        batch = {"source": source, **{k: [] for k in KINDS}}
        batch[kind] = [row for _, row in good]
        stored_customers: dict[str, int] = {}
        unknown = [
            (good[_index(error.path)][0], error)
            for error in reference_errors(session, batch, stored_customers)
        ]
        refused = invalid | {original for original, _ in unknown}
        batch[kind] = [row for i, row in good if i not in refused]
        result = apply_batch(session, batch, now, stored_customers)
        # With the rows or not at all: the re-assessment they call for and the Receivable__c
        # pushes. Accounts are queued for Salesforce by whoever re-assesses them.
        assessment_queue.request(session, result.customer_ids, now)
        queue_for_salesforce(
            session, (), sorted(result.receivable_ids), new_receivables=result.new_receivable_ids
        )
    return getattr(result, kind), unknown


def _sqlstate(error: Exception) -> str | None:
    """PostgreSQL's error code, whether SQLAlchemy wrapped the driver's error or, as for the
    COPY that ``service.bulk`` runs on the driver's cursor, it came through as it is."""
    driver_error = error.orig if isinstance(error, DBAPIError) else error
    return getattr(driver_error, "sqlstate", None)


def _index(path: str) -> int:
    """``receivables[12].due_date`` -> 12."""
    return int(path.split("[", 1)[1].split("]", 1)[0])

"""The whole book: every customer re-assessed, chunk by chunk, in this process or several.

``reassess_all`` walks the book in one process (the ``assess`` command, the daily roll);
``reassess_book`` spreads the chunks over one process per CPU, since the engine is CPU-bound
Python. Each chunk is locked, read, assessed and written as ``service.assessments.reassess``
does for a few customers.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    create_engine,
    select,
)
from sqlalchemy.orm import Session

from service.assessments.loading import DEFAULT_CHUNK, id_ranges, load_inputs, lock_range
from service.assessments.storing import (
    ReassessReport,
    Rows,
    assess_inputs,
    prepare_rows,
    store,
    write_rows,
)
from service.credit import (
    Policy,
    default_policy,
    load_policy,
)
from service.db import make_engine, make_session_factory
from service.models import Assessment as AssessmentRow


def reassess_all(
    session: Session,
    as_of: date,
    policy: Policy | None = None,
    *,
    chunk: int = DEFAULT_CHUNK,
    commit_each: bool = False,
    on_chunk: Callable[[Session, list[int]], Any] | None = None,
    progress: Callable[[ReassessReport], None] | None = None,
) -> ReassessReport:
    """Re-assess every customer, ``chunk`` customers at a time.

    ``on_chunk(session, customer_ids)`` runs in the same transaction after each chunk is stored
    (e.g. ``service.outbox.queue_for_salesforce``). ``commit_each`` commits after every chunk
    (a big book: short transactions, a crash loses one chunk's work); otherwise the caller
    commits.
    """
    policy = policy or default_policy()
    report = ReassessReport()
    for lo, hi in id_ranges(session, chunk):
        lock_range(session, lo, hi)
        inputs = load_inputs(session, as_of, policy, lo=lo, hi=hi)
        part = store(session, assess_inputs(inputs, as_of, policy), as_of)
        part.items = sum(len(c.items) for c in inputs.values())
        report.add(part)
        if on_chunk:
            on_chunk(session, list(inputs))
        if commit_each:
            session.commit()
        if progress:
            progress(report)
    return report


_WORKER: dict[str, Any] = {}


def _worker_start(url: str, policy_document: dict[str, Any], as_of: date) -> None:
    writer = make_engine(url)
    # Reads need no write lock: on SQLite a plain engine begins deferred, so workers read in
    # parallel (WAL) and take the write lock only for their upsert.
    reader = create_engine(url) if url.startswith("sqlite") else writer
    _WORKER.update(
        readers=make_session_factory(reader),
        writers=make_session_factory(writer),
        policy=load_policy(policy_document),
        as_of=as_of,
    )


def _worker_chunk(bounds: tuple[int, int]) -> ReassessReport:
    lo, hi = bounds
    policy, as_of = _WORKER["policy"], _WORKER["as_of"]
    read_from = datetime.now(UTC)
    with _WORKER["readers"]() as session:
        inputs = load_inputs(session, as_of, policy, lo=lo, hi=hi)
        session.rollback()
    rows = prepare_rows(assess_inputs(inputs, as_of, policy), as_of)
    with _WORKER["writers"]() as session, session.begin():
        lock_range(session, lo, hi)
        rows = _without_newer(session, rows, lo, hi, read_from)
        report = write_rows(session, rows)
    report.items = sum(len(c.items) for c in inputs.values())
    return report


def _without_newer(session: Session, rows: Rows, lo: int, hi: int, read_from: datetime) -> Rows:
    """``rows`` less the customers assessed since ``read_from`` (the chunk's read began).

    A whole-book worker reads outside the write transaction (SQLite: outside the write lock,
    so workers read in parallel). Meanwhile the worker's assessor may have assessed one of
    these customers after a feed changed it, and deleted its request; writing this chunk's
    older figures over that would leave them stale with nothing left to correct them. So the
    newer row is kept: anything it did not see has a request waiting.
    """
    newer = set(
        session.scalars(
            select(AssessmentRow.customer_id).where(
                AssessmentRow.customer_id.between(lo, hi), AssessmentRow.computed_at >= read_from
            )
        )
    )
    if not newer:
        return rows
    good = [row for row in rows.good if row[0] not in newer]
    for row in rows.good:
        if row[0] in newer:
            rows.report.statuses[row[2]] -= 1
    rows.report.assessed = len(good)
    return Rows(rows.report, good, [row for row in rows.bad if row["customer_id"] not in newer])


def reassess_book(
    database_url: str,
    as_of: date,
    policy: Policy | None = None,
    *,
    workers: int | None = None,
    chunk: int = DEFAULT_CHUNK,
) -> ReassessReport:
    """Re-assess every customer with ``workers`` processes, each chunk committed on its own.

    For the daily roll and the benchmark over a big book: the engine is CPU-bound Python, so
    processes (not threads) share the work. Each worker opens its own connections; the result
    is the same as :func:`reassess_all` with ``commit_each``.
    """
    policy = policy or default_policy()
    workers = workers or os.cpu_count() or 1
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            ranges = list(id_ranges(session, chunk))
    finally:
        engine.dispose()
    report = ReassessReport()
    if not ranges:
        return report
    with ProcessPoolExecutor(
        max_workers=min(workers, len(ranges)),
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_worker_start,
        initargs=(database_url, policy.portable_document(), as_of),
    ) as pool:
        for part in pool.map(_worker_chunk, ranges):
            report.add(part)
    return report

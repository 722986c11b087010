"""One pull from an ERP: page after page, each stored with the cursor it reaches.

``run_sync`` is what ``credit-control sync <erp>`` and the worker's schedule call. Incremental
by default: from the stored cursor on. ``full=True`` is the reconciliation of open items: every
open item the ERP lists is read and written again (stamped with the instant it was read), and
afterwards every receivable of the connector's source still open here but not written by this
run is closed (the ERP no longer lists it open: settled, reversed or archived), through the same
writes as any row. Because some ERPs mark changes by day only, an incremental pull re-reads its
last day; rows not newer than what is stored change nothing.

Each page is one transaction: its rows, their re-assessment requests, their Salesforce pushes and
the cursor. A pull killed mid-way leaves every committed page stored and the cursor after the
last of them; the next pull resumes there. ``keep_going`` (the worker's heartbeat) is asked
after each page; False stops the pull there.
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from service.connectors import cursors
from service.connectors.base import Connector, Page, Record
from service.connectors.store import (
    StoreCounts,
    store_page,
    stored_customer_currencies,
    unseen_open_receivables,
)
from service.db import make_engine, make_session_factory, transaction, utcnow
from service.feeds.schemas import KINDS

log = logging.getLogger(__name__)

CLOSE_CHUNK = 5_000
# Unique violation, deadlock, serialization failure: a page that lost a race is stored again.
_CONFLICTS = frozenset({"23505", "40P01", "40001"})
CONFLICT_RETRIES = 5


@dataclass
class SyncReport:
    connector: str
    full: bool
    pages: int = 0
    read: int = 0
    closed: int = 0  # open receivables a full reconciliation closed
    counts: StoreCounts = field(default_factory=StoreCounts)
    seconds: float = 0.0
    stopped: bool = False  # keep_going said stop before the end
    throttled: int = 0
    tokens_renewed: int = 0

    def lines(self) -> list[str]:
        out = [
            f"{self.connector}: {'full reconciliation' if self.full else 'incremental pull'}, "
            f"{self.read} ERP items read in {self.pages} pages, {self.seconds:.1f}s"
            + (" (stopped before the end)" if self.stopped else "")
        ]
        for kind in KINDS:
            out.append(
                f"{kind}: {self.counts.accepted[kind]} accepted, "
                f"{self.counts.ignored[kind]} ignored (not newer), "
                f"{self.counts.rejected[kind]} rejected"
            )
        if self.full:
            out.append(f"closed: {self.closed} receivables no longer open in the ERP")
        if self.counts.dropped_allocations:
            out.append(
                f"allocations to receivables never stored, left out: "
                f"{self.counts.dropped_allocations}"
            )
        if self.throttled or self.tokens_renewed:
            out.append(
                f"throttled answers waited out: {self.throttled}; tokens renewed: "
                f"{self.tokens_renewed}"
            )
        return out


def run_sync(
    sessions: sessionmaker[Session],
    connector: Connector,
    *,
    full: bool = False,
    clock: Callable[[], datetime] = utcnow,
    on_page: Callable[[SyncReport], None] = lambda report: None,
    keep_going: Callable[[], bool] = lambda: True,
    processes: int = 1,
) -> SyncReport:
    """Pull and store; ``processes`` > 1 shares a big full reconciliation (``shares``)."""
    report = SyncReport(connector=connector.name, full=full)
    started = time.perf_counter()
    run_started = clock()
    with sessions() as session:
        position = None if full else cursors.position(session, connector.name)

    def stored_customers(numbers: list[str]) -> dict[str, str]:
        with sessions() as session:
            return stored_customer_currencies(session, numbers)

    shares = [{}]
    if full and processes > 1 and hasattr(connector, "shares"):
        shares = connector.shares(processes)  # type: ignore[attr-defined]
    try:
        with _Helpers(sessions, connector, shares[1:]) as helpers:
            if len(shares) > 1:
                pages = connector.pull_share(shares[0], stored_customers=stored_customers)  # type: ignore[attr-defined]
            else:
                pages = connector.pull(position, full=full, stored_customers=stored_customers)
            for page in pages:
                _store(sessions, connector, page, clock(), report)
                on_page(report)
                if not keep_going():
                    report.stopped = True
                    break
            helpers.finish(report, stored_customers, clock)
        if full and not report.stopped:
            report.closed = _close_unseen(sessions, connector.source, run_started, clock)
            with transaction(sessions) as session:
                cursors.save(session, connector.name, connector.full_position(), clock(), full=True)
    finally:
        stats = connector.stats()
        report.throttled += stats.get("throttled", 0)
        report.tokens_renewed += stats.get("tokens_renewed", 0)
        report.seconds = time.perf_counter() - started
    return report


def _store(
    sessions: sessionmaker[Session],
    connector: Connector,
    page: Page,
    now: datetime,
    report: SyncReport,
) -> None:
    for attempt in range(1, CONFLICT_RETRIES + 1):
        try:
            with transaction(sessions) as session:
                counts = store_page(session, connector.source, page, now)
                if page.position is not None:
                    cursors.save(session, connector.name, page.position, now)
            break
        except DBAPIError as error:
            # Two shares inserting the same new customer (PostgreSQL): the loser's page is
            # stored again, and then finds the winner's row.
            if (
                attempt == CONFLICT_RETRIES
                or getattr(error.orig, "sqlstate", None) not in _CONFLICTS
            ):
                raise
            log.info("connector page met a concurrent writer; storing it again")
    report.pages += 1
    report.read += page.read
    report.counts.add(counts)


class _Helpers:
    """Helper processes pulling the other shares of a full reconciliation.

    Each builds the connector from its ``spawn_args`` and its own engine, stores its pages as
    this process does, and returns its report. A helper that dies (killed, out of memory) has
    its share pulled here afterwards; what it committed is then rewritten, which changes
    nothing (rows not newer are ignored).
    """

    def __init__(self, sessions: sessionmaker[Session], connector: Connector, shares: list):
        self.sessions = sessions
        self.connector = connector
        self.shares = shares
        self.pool: ProcessPoolExecutor | None = None
        self.futures: list = []

    def __enter__(self) -> _Helpers:
        if self.shares:
            url = self.sessions.kw["bind"].url.render_as_string(hide_password=False)
            factory, settings = self.connector.spawn_args()  # type: ignore[attr-defined]
            self.pool = ProcessPoolExecutor(
                len(self.shares), mp_context=multiprocessing.get_context("spawn")
            )
            self.futures = [
                self.pool.submit(_pull_share_process, url, factory, settings, share)
                for share in self.shares
            ]
        return self

    def finish(self, report: SyncReport, stored_customers, clock) -> None:
        for share, future in zip(self.shares, self.futures, strict=True):
            try:
                part = future.result()
            except BrokenProcessPool:
                log.warning("a connector helper died; pulling its share here")
                part = SyncReport(connector=report.connector, full=True)
                for page in self.connector.pull_share(share, stored_customers=stored_customers):  # type: ignore[attr-defined]
                    _store(self.sessions, self.connector, page, clock(), part)
            report.pages += part.pages
            report.read += part.read
            report.counts.add(part.counts)
            report.throttled += part.throttled
            report.tokens_renewed += part.tokens_renewed

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


def _pull_share_process(url: str, factory: str, settings: object, share: dict) -> SyncReport:
    module, name = factory.split(":")
    connector = getattr(importlib.import_module(module), name)(settings)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    report = SyncReport(connector=connector.name, full=True)

    def stored_customers(numbers: list[str]) -> dict[str, str]:
        with sessions() as session:
            return stored_customer_currencies(session, numbers)

    try:
        for page in connector.pull_share(share, stored_customers=stored_customers):
            _store(sessions, connector, page, utcnow(), report)
        stats = connector.stats()
        report.throttled = stats.get("throttled", 0)
        report.tokens_renewed = stats.get("tokens_renewed", 0)
        return report
    finally:
        engine.dispose()


def _close_unseen(
    sessions: sessionmaker[Session],
    source: str,
    before: datetime,
    clock: Callable[[], datetime],
) -> int:
    closed = after = 0
    while True:
        now = clock()
        with transaction(sessions) as session:
            found = unseen_open_receivables(session, source, before, CLOSE_CHUNK, after)
            if not found:
                return closed
            after = found[-1][0]
            stamp = now.isoformat()
            records = []
            for _, row in found:
                row["updated_at"] = stamp
                records.append(Record("receivables", row["id"], row))
            counts = store_page(session, source, Page(records=records), now)
        closed += counts.accepted["receivables"]

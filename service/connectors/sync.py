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

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from service.connectors import cursors
from service.connectors.base import Connector, Page, Record
from service.connectors.store import (
    StoreCounts,
    store_page,
    stored_customer_currencies,
    unseen_open_receivables,
)
from service.db import transaction, utcnow
from service.feeds.schemas import KINDS

CLOSE_CHUNK = 5_000


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
) -> SyncReport:
    report = SyncReport(connector=connector.name, full=full)
    started = time.perf_counter()
    run_started = clock()
    with sessions() as session:
        position = None if full else cursors.position(session, connector.name)

    def stored_customers(numbers: list[str]) -> dict[str, str]:
        with sessions() as session:
            return stored_customer_currencies(session, numbers)

    try:
        for page in connector.pull(position, full=full, stored_customers=stored_customers):
            _store(sessions, connector, page, clock(), report)
            on_page(report)
            if not keep_going():
                report.stopped = True
                break
        else:
            if full:
                report.closed = _close_unseen(sessions, connector.source, run_started, clock)
                with transaction(sessions) as session:
                    cursors.save(
                        session, connector.name, connector.full_position(), clock(), full=True
                    )
    finally:
        stats = connector.stats()
        report.throttled = stats.get("throttled", 0)
        report.tokens_renewed = stats.get("tokens_renewed", 0)
        report.seconds = time.perf_counter() - started
    return report


def _store(
    sessions: sessionmaker[Session],
    connector: Connector,
    page: Page,
    now: datetime,
    report: SyncReport,
) -> None:
    with transaction(sessions) as session:
        counts = store_page(session, connector.source, page, now)
        if page.position is not None:
            cursors.save(session, connector.name, page.position, now)
    report.pages += 1
    report.read += page.read
    report.counts.add(counts)


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

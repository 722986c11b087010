"""One connector run: the pull, then the closed loop (queue what collectors did, send it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from service.connectors.base import Connector
from service.connectors.cash_writes import APPLIED_KIND, queue_cash_writes
from service.connectors.sync import SyncReport, run_sync
from service.connectors.writeback import LoopReport, queue_writes, send_writes
from service.db import transaction, utcnow


@dataclass
class RunReport:
    sync: SyncReport
    loop: LoopReport

    def lines(self) -> list[str]:
        return [*self.sync.lines(), self.loop.line()]


def run_connector(
    sessions: sessionmaker[Session],
    connector: Connector,
    *,
    full: bool = False,
    on_page: Callable[[SyncReport], None] = lambda report: None,
    keep_going: Callable[[], bool] = lambda: True,
    processes: int = 1,
) -> RunReport:
    sync = run_sync(
        sessions,
        connector,
        full=full,
        on_page=on_page,
        keep_going=keep_going,
        processes=processes,
    )
    loop = LoopReport()
    # A connector without a closed loop yet (``writes_back = False``) queues nothing.
    if not sync.stopped and getattr(connector, "writes_back", True):
        kinds = getattr(connector, "write_kinds", None)
        with transaction(sessions) as session:
            loop.queued = queue_writes(session, connector.name, connector.source, utcnow(), kinds)
            if kinds is not None and APPLIED_KIND in kinds:
                loop.queued += queue_cash_writes(
                    session, connector.name, connector.source, utcnow()
                )
        sent = send_writes(sessions, connector, utcnow())
        loop.sent, loop.retried, loop.dead = sent.sent, sent.retried, sent.dead
    after_run = getattr(connector, "after_run", None)
    if after_run is not None and not sync.stopped:  # e.g. renew webhook subscriptions
        after_run(sessions, utcnow())
    return RunReport(sync, loop)

"""What the worker is doing, written to the database and read by any process that serves it.

A web dyno's ``/readyz`` and ``/metrics`` cannot ask the worker (another process, often another
machine), and a figure kept in one process's memory would differ between the web workers that
answer scrapes. So each ``credit-control worker`` writes a heartbeat row every
``WORKER_HEARTBEAT_SECONDS`` (``worker_heartbeats``, one row per worker process) with what only
it knows: the Salesforce login state, the API usage of the last ``Sforce-Limit-Info`` header,
its running parts and, on the worker holding the subscriber, when each channel's streaming
session was last seen healthy. Everything else is read from the tables the worker works on:
the outbox backlog, the cursors' last move per channel, the scheduled jobs' last runs.

``read_status`` gathers it all in a handful of small queries (a count and a minimum over
indexed columns, the heartbeat rows), once per scrape or readiness probe.

A worker stopped cleanly marks its row ``stopped_at``; one killed just stops beating. Either way
the readers see the freshest heartbeat age, and ``/readyz`` fails once it is older than
``WORKER_SILENT_SECONDS``. Rows of workers gone for a week are pruned by the beating workers.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from service import outbox
from service.db import transaction, utcnow
from service.models import JobRun, OutboxMessage, StreamCursor, WorkerHeartbeat

log = logging.getLogger(__name__)

# Login states a worker reports.
LOGIN_OK = "ok"
LOGIN_FAILING = "failing"
LOGIN_UNKNOWN = "unknown"  # no login tried yet

# Rows of workers silent this long are deleted (a restarted dyno has a new pid, so a new row).
FORGET_AFTER = timedelta(days=7)


@dataclass(frozen=True)
class Snapshot:
    """What one worker reports in one heartbeat."""

    parts: tuple[str, ...] = ()
    login: str = LOGIN_UNKNOWN
    login_error: str | None = None
    api_used: int | None = None
    api_total: int | None = None
    # Channel -> when its streaming session was last seen healthy (the subscriber's holder only).
    channels: dict[str, datetime] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "parts": list(self.parts),
            "login": self.login,
            "login_error": self.login_error,
            "api_used": self.api_used,
            "api_total": self.api_total,
            "channels": {name: at.isoformat() for name, at in self.channels.items()},
        }


def beat(
    session: Session, holder: str, started_at: datetime, snapshot: Snapshot, now: datetime
) -> None:
    """Write ``holder``'s heartbeat (insert or update its row); the caller commits."""
    row = session.get(WorkerHeartbeat, holder)
    if row is None:
        row = WorkerHeartbeat(holder=holder, started_at=started_at)
        session.add(row)
    row.heartbeat_at = now
    row.stopped_at = None
    row.state = snapshot.as_json()
    session.execute(
        delete(WorkerHeartbeat).where(WorkerHeartbeat.heartbeat_at < now - FORGET_AFTER)
    )


def mark_stopped(session: Session, holder: str, now: datetime) -> None:
    """A clean stop: the row stays (the readers still see when the worker was last heard)."""
    row = session.get(WorkerHeartbeat, holder)
    if row is not None:
        row.stopped_at = now


class Heartbeat(threading.Thread):
    """Writes ``snapshot()`` every ``every`` seconds until ``stop`` is set, then marks the stop.

    A failed write (database busy or down) is logged and tried at the next beat: the readers
    then see the heartbeat age grow, which is what the database being unreachable means for them.
    """

    def __init__(
        self,
        factory: sessionmaker[Session],
        holder: str,
        snapshot: Callable[[], Snapshot],
        every: float,
        stop: threading.Event,
    ):
        super().__init__(name="heartbeat", daemon=True)
        self.factory = factory
        self.holder = holder
        self.snapshot = snapshot
        self.every = every
        self.stop_event = stop
        self.started_at = utcnow()
        self.beats = 0

    def beat_once(self) -> None:
        try:
            snapshot = self.snapshot()
            with transaction(self.factory) as session:
                beat(session, self.holder, self.started_at, snapshot, utcnow())
            self.beats += 1
        except Exception:
            log.warning("worker heartbeat not written; trying again", exc_info=True)

    def run(self) -> None:
        self.beat_once()
        while not self.stop_event.wait(self.every):
            self.beat_once()

    def mark_stopped(self) -> None:
        try:
            with transaction(self.factory) as session:
                mark_stopped(session, self.holder, utcnow())
        except Exception:
            log.warning("worker stop not recorded", exc_info=True)


# -- reading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelLag:
    channel: str
    # Since the last event applied (the cursor last moved); None: none applied yet.
    last_event_seconds: float | None
    # Since the streaming session was last seen healthy; None: never.
    heartbeat_seconds: float | None


@dataclass(frozen=True)
class WorkerStatus:
    """The worker's figures as any process reads them from the database."""

    workers: int  # heartbeat rows (workers heard from in the last week)
    last_heartbeat_seconds: float | None  # the freshest; None: no worker has ever reported
    last_holder: str | None
    stopped: bool  # the freshest worker stopped cleanly
    login: str | None  # of the freshest worker that tried; None: no worker reported
    login_error: str | None
    api_used: int | None
    api_total: int | None
    channels: list[ChannelLag]
    outbox_pending: int
    outbox_oldest_pending_seconds: float
    jobs_last_finished: dict[str, datetime]


def read_status(session: Session, now: datetime) -> WorkerStatus:
    rows = session.scalars(
        select(WorkerHeartbeat).order_by(WorkerHeartbeat.heartbeat_at.desc())
    ).all()
    freshest = rows[0] if rows else None
    login, login_error, api_used, api_total = None, None, None, None
    for row in rows:  # freshest first: the first worker that knows
        if login is None and row.state.get("login", LOGIN_UNKNOWN) != LOGIN_UNKNOWN:
            login, login_error = row.state["login"], row.state.get("login_error")
        if api_total is None and row.state.get("api_total"):
            api_used, api_total = row.state.get("api_used"), row.state["api_total"]
    if login is None and rows:
        login = LOGIN_UNKNOWN
    channel_seen: dict[str, datetime] = {}
    for row in rows:
        for name, at in (row.state.get("channels") or {}).items():
            seen = datetime.fromisoformat(at)
            if name not in channel_seen or seen > channel_seen[name]:
                channel_seen[name] = seen
    cursors = dict(session.execute(select(StreamCursor.channel, StreamCursor.updated_at)).all())
    channels = [
        ChannelLag(
            name,
            _age(now, cursors.get(name)),
            _age(now, channel_seen.get(name)),
        )
        for name in sorted(set(channel_seen) | set(cursors))
    ]
    pending, oldest = session.execute(
        select(func.count(), func.min(OutboxMessage.created_at)).where(
            OutboxMessage.status.in_((outbox.PENDING, outbox.IN_FLIGHT))
        )
    ).one()
    jobs = dict(
        session.execute(
            select(JobRun.job, func.max(JobRun.finished_at))
            .where(JobRun.finished_at.is_not(None))
            .group_by(JobRun.job)
        ).all()
    )
    return WorkerStatus(
        workers=len(rows),
        last_heartbeat_seconds=_age(now, freshest.heartbeat_at) if freshest else None,
        last_holder=freshest.holder if freshest else None,
        stopped=bool(freshest and freshest.stopped_at),
        login=login,
        login_error=login_error,
        api_used=api_used,
        api_total=api_total,
        channels=channels,
        outbox_pending=pending,
        outbox_oldest_pending_seconds=_age(now, oldest) or 0.0,
        jobs_last_finished=jobs,
    )


def _age(now: datetime, then: datetime | None) -> float | None:
    if then is None:
        return None
    return max(0.0, (now - then).total_seconds())

"""The daily roll: every customer assessed before today is re-assessed, so ageing moves on.

It runs at ``CREDIT_CONTROL_REASSESS_AT`` in ``CREDIT_CONTROL_TIMEZONE`` (and once at start-up,
to catch up after a pause), queues the pushes of the Accounts it re-assessed, and prunes what is
past its retention (``service.retention``: inbox, parked events, sent and dead outbox rows). Every worker runs this scheduler, and each day's run
is elected through the database (``service.job_runs``): the first worker to claim the day runs
it, the others skip it.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from service import job_runs, outbox, retention
from service.assessments.reassess import Reassessor
from service.config import SyncSettings
from service.db import transaction, utcnow
from service.models import Assessment

log = logging.getLogger(__name__)

REASSESS_BATCH = 500
JOB = "daily-roll"


class DailyRoll:
    """Daily re-assessment at ``reassess_at`` in ``timezone``; also prunes what is past retention."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        settings: SyncSettings,
        reassess: Reassessor,
        stop: threading.Event,
        *,
        chores: Sequence[Callable[[], object]] = (),
    ):
        self.factory = factory
        self.settings = settings
        self.reassess = reassess
        self.stop = stop
        # Run after each day's re-assessment, in the worker that ran it: sweeps the worker
        # composes in from other concerns (card payments waiting for their customer).
        self.chores = tuple(chores)
        self.busy = threading.Lock()
        self.holder = f"{threading.current_thread().name}:{uuid.uuid4().hex[:12]}"

    def next_run(self, now: datetime) -> datetime:
        hour, minute = (int(x) for x in self.settings.reassess_at.split(":"))
        local = now.astimezone(self.settings.zone)
        at = datetime.combine(local.date(), time(hour, minute), self.settings.zone)
        return (
            at
            if at > local
            else datetime.combine(
                local.date() + timedelta(days=1), time(hour, minute), self.settings.zone
            )
        )

    def run(self) -> None:
        self.run_due()
        while not self.stop.is_set():
            wait = (self.next_run(utcnow()) - utcnow()).total_seconds()
            if self.stop.wait(max(1.0, min(wait, 3600))):
                return
            if wait <= 3600:
                self.run_due()

    def run_due(self, today: date | None = None) -> int:
        """Re-assess customers assessed before today; returns how many were re-assessed.

        Only in the worker that claims today's run (``job_runs``); elsewhere it returns 0.
        """
        today = today or datetime.now(self.settings.zone).date()
        key = today.isoformat()
        done = 0
        after = 0  # keyset: a customer the engine cannot assess keeps its old as_of
        try:
            with transaction(self.factory) as session:
                if not job_runs.start(session, JOB, key, self.holder):
                    log.info("daily re-assessment of %s: run by another worker", key)
                    return 0
            while not self.stop.is_set():
                with self.busy, transaction(self.factory) as session:
                    if not job_runs.beat(session, JOB, key, self.holder):
                        log.warning("daily re-assessment of %s taken over by another worker", key)
                        return done
                    ids = list(
                        session.scalars(
                            select(Assessment.customer_id)
                            .where(Assessment.as_of < today, Assessment.customer_id > after)
                            .order_by(Assessment.customer_id)
                            .limit(REASSESS_BATCH)
                        )
                    )
                    if not ids:
                        break
                    self.reassess(session, ids)
                    outbox.queue_for_salesforce(session, ids)
                    done += len(ids)
                    after = ids[-1]
            for chore in self.chores:
                chore()
            retention.prune(self.factory, self.settings, self.stop)
            if not self.stop.is_set():
                with transaction(self.factory) as session:
                    job_runs.finish(session, JOB, key, self.holder)
        except Exception:
            log.exception("daily re-assessment failed")
        if done:
            log.info("daily re-assessment: %s customers", done)
        return done

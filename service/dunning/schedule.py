"""Dunning in the worker: the daily run at ``DUNNING_AT``, the quick loop and the sender.

- The daily run: once a day at ``DUNNING_AT`` in ``CREDIT_CONTROL_TIMEZONE`` (and at start-up
  when today's run has not been made), elected once per cluster through ``service.job_runs``
  like the daily roll; a run taken over after its worker died resumes where it stopped (what
  was stored is not stored again).
- The quick loop: every few seconds, the customers whose pause or reminder request came from
  Salesforce since the last look are planned again (``run.answer_requests``), so a "send a
  reminder now" goes out, and a pause shows in Next_Reminder_Date__c, within seconds.
- The sender (``sender.Sender``) drains the queue; without ``SMTP_URL`` reminders are stored
  and wait (``credit-control dunning run`` says so).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from service import job_runs
from service.db import transaction, utcnow
from service.dunning.run import Settings, answer_requests, run_book
from service.dunning.sender import Sender

log = logging.getLogger(__name__)

JOB = "dunning"
RETRY_CLAIM = timedelta(seconds=60)


class DunningScheduler:
    def __init__(
        self,
        factory: sessionmaker[Session],
        settings: Settings,
        zone: ZoneInfo,
        at: str,
        stop: threading.Event,
        *,
        on_queued: Callable[[], None] = lambda: None,
        poll_seconds: float = 3.0,
    ) -> None:
        self.factory = factory
        self.settings = settings
        self.zone = zone
        self.at = time(*(int(x) for x in at.split(":")))
        self.stop = stop
        self.on_queued = on_queued
        self.poll_seconds = poll_seconds
        self.busy = threading.Lock()
        self.holder = f"dunning:{uuid.uuid4().hex[:12]}"
        self.done: date | None = None
        self.retry_at = utcnow()

    def today(self) -> date:
        return datetime.now(self.zone).date()

    def due_today(self, now: datetime) -> bool:
        local = now.astimezone(self.zone)
        return local.time() >= self.at

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                today, now = self.today(), utcnow()
                if self.done != today and self.due_today(now) and now >= self.retry_at:
                    if self.run_daily(today):
                        self.done = today
                    else:  # another worker has it; ask again later in case it dies
                        self.retry_at = now + RETRY_CLAIM
                with self.busy:
                    report = answer_requests(self.factory, self.today(), self.settings)
                if report is not None and report.queued:
                    self.on_queued()
            except Exception:
                log.exception("dunning loop failed; trying again shortly")
            self.stop.wait(self.poll_seconds)

    def run_daily(self, today: date | None = None) -> bool:
        """Today's run, in the one worker that claims it; False when not this worker's."""
        today = today or self.today()
        key = today.isoformat()
        with transaction(self.factory) as session:
            if not job_runs.start(session, JOB, key, self.holder):
                return False

        def beat() -> bool:
            with transaction(self.factory) as session:
                return job_runs.beat(session, JOB, key, self.holder) and not self.stop.is_set()

        url = self.factory.kw["bind"].url.render_as_string(hide_password=False)
        with self.busy:  # the book's chunks over one process per CPU
            report = run_book(url, today, self.settings, on_chunk=beat)
        if report.queued:
            self.on_queued()
        if not self.stop.is_set():
            with transaction(self.factory) as session:
                job_runs.finish(session, JOB, key, self.holder)
        return True


def dunning_parts(
    factory: sessionmaker[Session],
    settings: Settings,
    zone: ZoneInfo,
    at: str,
    stop: threading.Event,
    mailer=None,
    *,
    poll_seconds: float = 3.0,
) -> list[tuple[str, object]]:
    """The worker's dunning threads as (name, part); each part has ``run()`` and ``busy``."""
    sender = Sender(factory, mailer, stop, company=settings.company) if mailer is not None else None
    scheduler = DunningScheduler(
        factory,
        settings,
        zone,
        at,
        stop,
        on_queued=(sender.kick.set if sender is not None else lambda: None),
        poll_seconds=poll_seconds,
    )
    parts: list[tuple[str, object]] = [("dunning", scheduler)]
    if sender is not None:
        parts.append(("dunning-sender", sender))
    else:
        log.warning("SMTP_URL is not set: reminders are stored but not sent")
    return parts

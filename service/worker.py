"""The worker process: CometD subscriber, outbox pusher, assessor and scheduler, as threads.

``credit-control worker`` runs ``Worker(...).run_forever()``. On SIGTERM (Heroku's dyno stop,
``kill``) or SIGINT it stops taking new work, lets the batch in hand finish (the pusher's current
call and its acknowledgement, the subscriber's current events and their cursor), releases the
subscriber lease so another worker can take over at once, and exits 0. Stored replay ids and
outbox leases make a restart resume where this one stopped, even after SIGKILL.

The scheduler re-assesses every customer whose assessment is older than today, in the
configured time zone, at the configured time (and once at start-up, to catch up after a pause),
so ageing moves on as days pass and the changed Accounts are pushed.

The assessor drains the assessment queue (``service.assessment_queue``) that feeds and the import
fill in their own transactions: it re-assesses the customers waiting, queues their Account
pushes and wakes the pushers, so a feed change reaches Salesforce within a couple of seconds.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from time import monotonic

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session, sessionmaker

from service import assessment_queue, outbox
from service.db import transaction, utcnow
from service.metrics import Metrics
from service.models import Assessment, OutboxMessage
from service.salesforce.auth import Authenticator
from service.salesforce.client import SalesforceClient, make_http_session
from service.salesforce.handlers import Handlers
from service.salesforce.push import Pusher
from service.salesforce.settings import SyncSettings
from service.salesforce.subscriber import Subscriber

log = logging.getLogger(__name__)

Reassess = Callable[[Session, list[int]], None]
SENT_RETENTION = timedelta(days=7)
REASSESS_BATCH = 500


class ZoneReassess:
    """The engine's re-assessment bound to today's date in the configured time zone.

    A callable ``(session, customer_ids)`` for the event handlers and the scheduler; the
    assessor reads its ``policy`` and ``as_of()`` so every part of the worker judges alike.
    The customers are locked first (PostgreSQL), as a queue drain locks them, so a handler and
    a drain of one customer never write an older assessment over a newer one.
    """

    def __init__(self, settings: SyncSettings, policy=None) -> None:
        self.settings = settings
        self.policy = policy

    def as_of(self) -> date:
        return datetime.now(self.settings.zone).date()

    def __call__(self, session: Session, customer_ids: list[int]) -> None:
        from service.feeds.assessment import reassess as reassess_customers

        assessment_queue.lock_customers(session, customer_ids)
        reassess_customers(session, customer_ids, self.as_of(), self.policy)


def make_reassess(settings: SyncSettings, policy=None) -> ZoneReassess:
    """Bind the engine's re-assessment to today's date in the configured time zone."""
    return ZoneReassess(settings, policy)


def read_record_with(client: SalesforceClient):
    """A record by Id through REST, or None when it is gone (deleted, never existed)."""
    from service.salesforce.errors import PermanentError

    def read(sobject: str, record_id: str) -> dict | None:
        try:
            record = client.rest("GET", f"sobjects/{sobject}/{record_id}")
        except PermanentError as exc:
            if exc.code in ("NOT_FOUND", "ENTITY_IS_DELETED"):
                return None
            raise
        if record:
            record.pop("attributes", None)
        return record

    return read


class Scheduler:
    """Daily re-assessment at ``reassess_at`` in ``timezone``; also prunes old sent outbox rows."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        settings: SyncSettings,
        reassess: Reassess,
        stop: threading.Event,
    ):
        self.factory = factory
        self.settings = settings
        self.reassess = reassess
        self.stop = stop
        self.busy = threading.Lock()

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
        """Re-assess customers assessed before today; returns how many were re-assessed."""
        today = today or datetime.now(self.settings.zone).date()
        done = 0
        after = 0  # keyset: a customer the engine cannot assess keeps its old as_of
        try:
            while not self.stop.is_set():
                with self.busy, transaction(self.factory) as session:
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
            with transaction(self.factory) as session:
                session.execute(
                    delete(OutboxMessage).where(
                        OutboxMessage.status == outbox.SENT,
                        OutboxMessage.sent_at < utcnow() - SENT_RETENTION,
                    )
                )
        except Exception:
            log.exception("daily re-assessment failed")
        if done:
            log.info("daily re-assessment: %s customers", done)
        return done


class Assessor:
    """Drains the assessment queue: polls every ``poll_seconds``, or at once when kicked.

    Each batch is one transaction (``assessment_queue.drain_once``); after each commit the
    pushers are woken. A batch that fails is rolled back whole, so its requests stay queued; the
    failure is logged and retried after a pause that doubles (up to a minute). So that one
    customer the engine chokes on cannot hold up everyone queued behind it, a failed batch is
    retried at half the size, down to one customer; a customer that fails alone is set aside
    for ``quarantine_seconds`` (its requests stay queued, and a credit read still assesses it on
    the spot) while the others are drained, and the batch size grows back after each success.
    """

    def __init__(
        self,
        factory: sessionmaker[Session],
        as_of: Callable[[], date],
        policy,
        stop: threading.Event,
        *,
        on_commit: Callable[[], None] = lambda: None,
        observe: assessment_queue.Observe | None = None,
        poll_seconds: float = 0.2,
        limit: int = assessment_queue.DRAIN_LIMIT,
        quarantine_seconds: float = 600.0,
    ):
        self.factory = factory
        self.as_of = as_of
        self.policy = policy
        self.stop = stop
        self.on_commit = on_commit
        self.observe = observe
        self.poll_seconds = poll_seconds
        self.limit = limit
        self.size = limit  # the next batch's size: halved after a failure, regrown after success
        self.quarantine_seconds = quarantine_seconds
        self.quarantined: dict[int, float] = {}  # customer id -> monotonic time it is retried
        self.busy = threading.Lock()
        self.kick = threading.Event()
        self.failures = 0

    def run(self) -> None:
        while not self.stop.is_set():
            if self.drain_batch():
                continue  # more may be waiting: no pause while there is work
            pause = min(60.0, self.poll_seconds * 2.0**self.failures)
            self.kick.wait(pause)
            self.kick.clear()

    def drain_batch(self) -> int:
        """Assess one batch; returns how many customers (0: nothing waiting, or it failed)."""
        if not self._anything_waiting():
            return 0
        with self.busy:
            if self.stop.is_set():
                return 0
            now = monotonic()
            self.quarantined = {c: t for c, t in self.quarantined.items() if t > now}
            try:
                assessed = assessment_queue.drain_once(
                    self.factory,
                    self.as_of(),
                    self.policy,
                    self.size,
                    observe=self.observe,
                    skip=self.quarantined,
                )
            except assessment_queue.DrainFailed as failed:
                self._failed(failed.customer_ids)
                return 0
            except Exception:
                self.failures += 1
                log.exception("assessment queue: could not take requests; retrying later")
                return 0
        self.failures = 0
        self.size = min(self.limit, self.size * 2)
        if assessed:
            self.on_commit()
        return len(assessed)

    def _anything_waiting(self) -> bool:
        try:
            return assessment_queue.waiting(self.factory.kw["bind"])
        except Exception:
            return True  # let the drain itself meet (and log) whatever is wrong

    def _failed(self, customer_ids: list[int]) -> None:
        if len(customer_ids) == 1:
            [customer] = customer_ids
            self.quarantined[customer] = monotonic() + self.quarantine_seconds
            log.exception(
                "assessment queue: customer %s cannot be assessed; set aside for %.0f s, "
                "its requests stay queued",
                customer,
                self.quarantine_seconds,
            )
            return  # the others are not to blame: no pause
        self.failures += 1
        self.size = max(1, len(customer_ids) // 2)
        log.exception(
            "assessment queue: a batch of %s customers failed; its requests stay queued, "
            "retrying %s at a time",
            len(customer_ids),
            self.size,
        )


class Worker:
    """Owns the threads and the orderly shutdown."""

    def __init__(
        self,
        engine: Engine,
        factory: sessionmaker[Session],
        settings: SyncSettings,
        *,
        reassess: Reassess | None = None,
        subscribe: bool = True,
        push: bool = True,
        schedule: bool = True,
        assess: bool = True,
    ):
        self.engine = engine
        self.factory = factory
        self.settings = settings
        self.stop = threading.Event()
        self.reassess = reassess or make_reassess(settings)
        self.auth = Authenticator(settings, make_http_session(settings))
        # Pushers overlap their waits on the org; a target is never in two pushes at once.
        self.pushers = (
            [
                Pusher(factory, SalesforceClient(settings, self.auth), settings, self.stop)
                for _ in range(max(1, settings.push_threads))
            ]
            if push
            else []
        )
        self.pusher = self.pushers[0] if self.pushers else None
        self.subscriber = None
        if subscribe:
            client = SalesforceClient(settings, self.auth)
            handlers = Handlers(self.reassess, read_record_with(client))
            self.subscriber = Subscriber(engine, factory, client, settings, handlers, self.stop)
            self.subscriber.on_commit = self._kick_pushers
        self.scheduler = (
            Scheduler(factory, settings, self.reassess, self.stop) if schedule else None
        )
        # The worker's own registry: the drains' timings and counts (not served over HTTP yet).
        self.metrics = Metrics()
        self.assessor = None
        if assess:
            self.assessor = Assessor(
                factory,
                getattr(self.reassess, "as_of", lambda: datetime.now(settings.zone).date()),
                getattr(self.reassess, "policy", None),
                self.stop,
                on_commit=self._kick_pushers,
                observe=self.metrics.observe_assessment,
            )
        self.threads: list[threading.Thread] = []

    def _kick_pushers(self) -> None:
        for pusher in self.pushers:
            pusher.kick.set()

    def start(self) -> Worker:
        parts = [(f"pusher-{i}" if i else "pusher", p) for i, p in enumerate(self.pushers)]
        parts += [
            ("subscriber", self.subscriber),
            ("assessor", self.assessor),
            ("scheduler", self.scheduler),
        ]
        for name, part in parts:
            if part is not None:
                thread = threading.Thread(target=part.run, name=name, daemon=True)
                thread.start()
                self.threads.append(thread)
        log.info("worker started: %s", ", ".join(t.name for t in self.threads))
        return self

    def shutdown(self, timeout: float = 30.0) -> None:
        """Stop taking work, finish the batch in hand, free the subscriber lease."""
        self.stop.set()
        self._kick_pushers()
        if self.assessor is not None:
            self.assessor.kick.set()
        for part in (self.subscriber, self.assessor, self.scheduler):
            if part is not None and part.busy.acquire(timeout=timeout):
                part.busy.release()
        for thread in self.threads:
            if thread.name.startswith("pusher"):
                thread.join(timeout)
        if self.subscriber is not None:
            if self.subscriber.bayeux is not None:
                self.subscriber.bayeux.disconnect()
            try:
                self.subscriber.leadership.release()
            except Exception:
                log.warning("could not release the subscriber lease", exc_info=True)
        log.info("worker stopped")

    def run_forever(self) -> int:
        def on_signal(signum, _frame):
            log.info("signal %s: finishing the batch in hand", signum)
            self.stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        self.start()
        while not self.stop.wait(1.0):
            pass
        self.shutdown()
        return 0


def __getattr__(name: str):
    # service/cli.py looks up ``service.worker:worker_command``; the command lives with the
    # other Salesforce commands and is imported lazily to keep this module free of click.
    if name == "worker_command":
        from service.salesforce.cli import worker_command

        return worker_command
    raise AttributeError(name)

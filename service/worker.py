"""The worker process: CometD subscriber, outbox pusher and scheduler, as three threads.

``credit-control worker`` runs ``Worker(...).run_forever()``. On SIGTERM (Heroku's dyno stop,
``kill``) or SIGINT it stops taking new work, lets the batch in hand finish (the pusher's current
call and its acknowledgement, the subscriber's current events and their cursor), releases the
subscriber lease so another worker can take over at once, and exits 0. Stored replay ids and
outbox leases make a restart resume where this one stopped, even after SIGKILL.

The scheduler re-assesses every customer whose assessment is older than today, in the
configured time zone, at the configured time (and once at start-up, to catch up after a pause),
so ageing moves on as days pass and the changed Accounts are pushed.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session, sessionmaker

from service import outbox
from service.db import transaction, utcnow
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


def make_reassess(settings: SyncSettings, policy=None) -> Reassess:
    """Bind the engine's re-assessment to today's date in the configured time zone."""

    def reassess(session: Session, customer_ids: list[int]) -> None:
        # The feeds' helper calls service.reassess.reassess_customers (the engine) and has a
        # stand-in until it exists, so handlers and feeds always assess the same way.
        from service.feeds.assessment import reassess as reassess_customers

        as_of = datetime.now(settings.zone).date()
        reassess_customers(session, customer_ids, as_of, policy)

    return reassess


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
        self.threads: list[threading.Thread] = []

    def _kick_pushers(self) -> None:
        for pusher in self.pushers:
            pusher.kick.set()

    def start(self) -> Worker:
        parts = [(f"pusher-{i}" if i else "pusher", p) for i, p in enumerate(self.pushers)]
        parts += [("subscriber", self.subscriber), ("scheduler", self.scheduler)]
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
        for part in (self.subscriber, self.scheduler):
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

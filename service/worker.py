"""The worker process: CometD subscriber, outbox pushers, assessor, daily roll and, when an ERP
is configured, the ERP connectors' loop (``service.connectors.schedule``), as threads.

``credit-control worker`` runs ``Worker(...).run_forever()``. On SIGTERM (Heroku's dyno stop,
``kill``) or SIGINT it stops taking new work, lets the batch in hand finish (the pusher's current
call and its acknowledgement, the subscriber's current events and their cursor), releases the
subscriber lease so another worker can take over at once, and exits 0. Stored replay ids and
outbox leases make a restart resume where this one stopped, even after SIGKILL.

This module only composes: the parts live with their concern (``service.salesforce`` for the
subscriber and pushers, ``service.assessments`` for the assessor and the daily roll,
``service.connectors`` for the ERP pulls), and one
``Reassessor`` (policy and time zone) is handed to every part that re-assesses.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading

import click
from sqlalchemy import Engine, inspect
from sqlalchemy.orm import Session, sessionmaker

from service.assessments import Reassessor, load_policy_file
from service.assessments.assessor import Assessor
from service.assessments.daily import DailyRoll
from service.config import ConfigError, SyncSettings, load_config
from service.connectors.schedule import ConnectorLoop, connector_loop
from service.db import make_engine, make_session_factory
from service.logs import configure_logging
from service.metrics import Metrics
from service.paylinks import PayLinks
from service.salesforce.auth import Authenticator
from service.salesforce.client import SalesforceClient, read_record_with
from service.salesforce.handlers import Handlers
from service.salesforce.http import make_http_session
from service.salesforce.push import Pusher
from service.salesforce.subscriber import Subscriber

log = logging.getLogger(__name__)


class Worker:
    """Owns the threads and the orderly shutdown."""

    def __init__(
        self,
        engine: Engine,
        factory: sessionmaker[Session],
        settings: SyncSettings,
        *,
        reassess: Reassessor | None = None,
        subscribe: bool = True,
        push: bool = True,
        schedule: bool = True,
        assess: bool = True,
        pay_links: PayLinks | None = None,
        connector_loop: ConnectorLoop | None = None,
    ):
        self.engine = engine
        self.factory = factory
        self.settings = settings
        self.stop = threading.Event()
        self.reassess = reassess or Reassessor(zone=settings.zone)
        self.auth = Authenticator(settings, make_http_session(settings))
        # Pushers overlap their waits on the org; a target is never in two pushes at once.
        self.pushers = (
            [
                Pusher(
                    factory,
                    SalesforceClient(settings, self.auth),
                    settings,
                    self.stop,
                    pay_links=pay_links,
                )
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
            DailyRoll(factory, settings, self.reassess, self.stop) if schedule else None
        )
        # The worker's own registry: the drains' timings and counts (the worker serves no HTTP).
        self.metrics = Metrics()
        self.assessor = None
        if assess:
            self.assessor = Assessor(
                factory,
                self.reassess.as_of,
                self.reassess.policy,
                self.stop,
                on_commit=self._kick_pushers,
                observe=self.metrics.observe_assessment,
            )
        # ERP connectors (service.connectors), when an ERP is configured.
        self.connector_loop = connector_loop
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
            ("connectors", self.connector_loop),
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
        for part in (self.subscriber, self.assessor, self.scheduler, self.connector_loop):
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


@click.command("worker")
@click.option("--no-subscriber", is_flag=True, help="Do not run the CometD subscriber here.")
@click.option("--no-pusher", is_flag=True, help="Do not run the outbox pusher here.")
@click.option("--no-scheduler", is_flag=True, help="Do not run the daily re-assessment here.")
def worker_command(no_subscriber: bool, no_pusher: bool, no_scheduler: bool) -> None:
    """Run the Salesforce sync: subscriber, pushers, assessor and daily roll (SIGTERM stops
    cleanly)."""
    config = load_config(require=())
    # JSON lines like the web process, so one log pipeline reads both.
    configure_logging(config.log_level)
    if config.salesforce is None:
        raise ConfigError("SALESFORCE_CLIENT_ID", "the org the worker syncs with", missing=True)
    # The same policy as the web process, or the worker would judge customers differently.
    policy = load_policy_file(config.credit_policy_file)
    engine = make_engine(config.database_url)
    if not inspect(engine).has_table("assessment_requests"):
        raise click.ClickException("the database has no tables: run `credit-control db upgrade`")
    worker = Worker(
        engine,
        make_session_factory(engine),
        config.salesforce,
        reassess=Reassessor(policy, config.salesforce.zone),
        subscribe=not no_subscriber,
        push=not no_pusher,
        schedule=not no_scheduler,
        pay_links=config.pay_links,
    )
    worker.connector_loop = connector_loop(worker.factory, worker.stop, os.environ)
    sys.exit(worker.run_forever())

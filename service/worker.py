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
import signal
import sys
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import click
from sqlalchemy import Engine, inspect
from sqlalchemy.orm import Session, sessionmaker

from service import tracing
from service.assessments import Reassessor, load_policy_file
from service.assessments.assessor import Assessor
from service.assessments.daily import DailyRoll
from service.card_payments import in_flight
from service.cash_application import reviews as cash_application_reviews
from service.config import Config, ConfigError, SyncSettings, load_config
from service.connectors.schedule import ConnectorLoop, connector_loop
from service.credit import Policy
from service.db import make_engine, make_session_factory, transaction, utcnow
from service.logs import configure_logging
from service.metrics import Metrics
from service.paylinks import PayLinks
from service.salesforce import billing_contacts
from service.salesforce.auth import Authenticator
from service.salesforce.client import SalesforceClient, read_record_with
from service.salesforce.handlers import Handlers
from service.salesforce.http import make_http_session
from service.salesforce.leader import default_holder
from service.salesforce.push import Pusher
from service.salesforce.subscriber import Subscriber
from service.worker_status import Heartbeat, Snapshot

log = logging.getLogger(__name__)

# How often the heartbeat tries a login again while the last one failed.
LOGIN_RETRY = timedelta(minutes=1)


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
        dunning: Callable[[sessionmaker[Session], threading.Event], list[tuple[str, Any]]]
        | None = None,
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
            handlers = Handlers(
                self.reassess, read_record_with(client), cash_application_reviews.decide
            )
            self.subscriber = Subscriber(engine, factory, client, settings, handlers, self.stop)
            self.subscriber.on_commit = self._kick_pushers
        self.scheduler = (
            DailyRoll(
                factory,
                settings,
                self.reassess,
                self.stop,
                chores=[lambda: self._adopt_card_payments(None)],
            )
            if schedule
            else None
        )
        # Dunning's billing contacts: every ticked Contact read at start and daily (once per
        # cluster); change events keep them current in between.
        self.billing_contacts = (
            billing_contacts.Reconciler(
                factory,
                SalesforceClient(settings, self.auth).query_all,
                settings.zone,
                settings.reassess_at,
                self.stop,
            )
            if subscribe and schedule
            else None
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
                after_drain=self._adopt_card_payments,
                observe=self.metrics.observe_assessment,
            )
        # ERP connectors (service.connectors), when an ERP is configured.
        self.connector_loop = connector_loop
        # Dunning's threads (service.dunning.schedule), built with the worker's stop event.
        self.dunning = dunning(factory, self.stop) if dunning is not None else []
        self.threads: list[threading.Thread] = []
        # When each channel's session was last seen healthy here (kept across beats).
        self._channels_seen: dict = {}
        self._login_tried = None
        self.heartbeat = Heartbeat(
            factory, default_holder(), self.snapshot, settings.heartbeat_seconds, self.stop
        )

    def snapshot(self) -> Snapshot:
        """What this worker reports in its heartbeat (``service.worker_status``)."""
        now = utcnow()
        # The login state is what /readyz reports: found out at start, and a failed login is
        # tried again now and then, so a fixed setting shows without waiting for a push.
        due = self._login_tried is None or now - self._login_tried >= LOGIN_RETRY
        if (self.pushers or self.subscriber) and self.auth.login_state != "ok" and due:
            self._login_tried = now
            try:
                self.auth.token()
            except Exception as exc:  # the authenticator records it as failing, with the reason
                log.debug("login failed: %s", type(exc).__name__)
        if self.subscriber is not None:
            for channel in self.subscriber.healthy_channels():
                self._channels_seen[channel] = now
        clients = [p.client for p in self.pushers]
        if self.subscriber is not None:
            clients.append(self.subscriber.client)
        usages = [usage for client in clients if (usage := client.api_usage()) is not None]
        used, total = max(usages) if usages else (None, None)
        return Snapshot(
            parts=tuple(t.name for t in self.threads if t.is_alive()),
            login=self.auth.login_state,
            login_error=self.auth.login_error,
            api_used=used,
            api_total=total,
            channels=dict(self._channels_seen),
        )

    def _adopt_card_payments(self, customer_ids: list[int] | None) -> int:
        """Apply card payments that named these customers before the ERP sent them."""
        with transaction(self.factory) as session:
            adopted = in_flight.adopt_waiting(
                session, self.reassess.as_of(), self.reassess.policy, customer_ids
            )
        if adopted:
            log.info("card payments applied to customers who arrived since: %s", adopted)
        return adopted

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
            ("billing-contacts", self.billing_contacts),
            *self.dunning,
        ]
        for name, part in parts:
            if part is not None:
                thread = threading.Thread(target=part.run, name=name, daemon=True)
                thread.start()
                self.threads.append(thread)
        self.heartbeat.start()
        log.info("worker started: %s", ", ".join(t.name for t in self.threads))
        return self

    def shutdown(self, timeout: float = 30.0) -> None:
        """Stop taking work, finish the batch in hand, free the subscriber lease."""
        self.stop.set()
        self._kick_pushers()
        if self.assessor is not None:
            self.assessor.kick.set()
        for part in (
            self.subscriber,
            self.assessor,
            self.scheduler,
            self.connector_loop,
            self.billing_contacts,
            *(p for _, p in self.dunning),
        ):
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
        if self.heartbeat.is_alive():
            self.heartbeat.join(timeout)
        self.heartbeat.mark_stopped()
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
    tracing.configure(engine=engine)  # off unless OTEL_* variables ask for it
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
        dunning=None if no_scheduler else dunning_threads(config, policy),
    )
    worker.connector_loop = connector_loop(worker.factory, worker.stop, config.erps)
    sys.exit(worker.run_forever())


def dunning_threads(config: Config, policy: Policy) -> Callable[..., list]:
    """The dunning scheduler and sender (``service.dunning.schedule``) for this configuration."""
    from service.dunning.render import Company
    from service.dunning.run import Settings, check_policy
    from service.dunning.schedule import dunning_parts
    from service.dunning.smtp import Mailer

    assert config.salesforce is not None
    check_policy(policy)
    settings = Settings(
        policy,
        Company(config.company_name, config.company_address, config.company_logo_url),
        config.mail.domain if config.mail else "localhost",
        config.pay_links,
    )
    zone = config.salesforce.zone
    mailer = Mailer(config.mail) if config.mail else None
    return lambda factory, stop: dunning_parts(
        factory,
        settings,
        zone,
        config.dunning_at,
        stop,
        mailer,
    )

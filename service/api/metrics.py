"""``GET /metrics``: Prometheus text for this app's registry (bearer token required).

Besides the request and feed counters, the book's credit figures, computed when scraped:

- ``credit_accounts{status}`` — assessed accounts by status (``OK``, ``WATCH``, ``HOLD``, and
  ``ERROR`` for never assessed successfully), and ``credit_accounts_with_errors`` — accounts
  whose latest re-assessment failed. One aggregate query per scrape.
- ``credit_portfolio_dso_days``, ``..._best_possible_dso_days``,
  ``..._average_days_delinquent_days``, ``..._cei_percent``, ``..._receivables``,
  ``..._customers``, ``..._customers_left_out`` (label ``currency``), and
  ``credit_portfolio_computed_timestamp_seconds``, from the app's ``PortfolioCache``: recomputed
  at most once a minute (see ``service.assessments.portfolio`` for why) in a background thread, so a scrape
  never waits for the book; the very first scrapes of a process go without them until then.

- ``assessment_queue_requests`` — re-assessment requests waiting (feeds and imports write one
  per touched customer; the worker drains them), and ``assessment_queue_oldest_seconds`` — the
  age of the oldest, i.e. how far behind the stored assessments may be. A count over the
  primary key and one row, per scrape.

- ``inbox_parked_events`` — inbound events whose handling failed and that wait for
  ``credit-control events replay``; ``outbox_dead_rows`` — pushes Salesforce refused for good,
  and ``outbox_unmatched_rows`` — pushes for customers no Account carries the number of (both
  wait for ``credit-control outbox retry``). Alert on any of them above 0. Two counts per scrape.

The worker's figures, read from the database whichever process is scraped
(``service.worker_status``; one small query each):

- ``worker_heartbeat_age_seconds`` — since the freshest worker heartbeat (absent until a worker
  has run); alert when it passes ``WORKER_SILENT_SECONDS``.
- ``outbox_pending_rows`` and ``outbox_oldest_pending_seconds`` — pushes waiting for Salesforce
  (pending or in flight) and the age of the oldest.
- ``subscriber_last_event_age_seconds{channel}`` — since the last event applied on the channel;
  ``subscriber_heartbeat_age_seconds{channel}`` — since its streaming session was last seen
  healthy (absent for a channel never seen so).
- ``salesforce_api_requests_used`` and ``salesforce_api_requests_limit`` — the daily API
  allowance, from the last ``Sforce-Limit-Info`` header a worker saw.
- ``salesforce_login_ok`` — 1 when the workers' last login succeeded, 0 when it failed.
- ``job_last_finished_timestamp_seconds{job}`` — when each scheduled job (``daily-roll``, and
  any other run through ``service.job_runs``) last finished, Unix time.

If the database cannot answer, the credit figures are left out of that scrape (and the problem
logged); the process's own metrics are still served.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from flask import Flask, Response
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, select

from service import outbox
from service.assessments.portfolio import status_counts
from service.assessments.queue import depth
from service.extensions import EXTENSION, services
from service.inbox import count_parked
from service.metrics import CONTENT_TYPE
from service.models import OutboxMessage
from service.worker_status import LOGIN_FAILING, LOGIN_OK, read_status

log = logging.getLogger(__name__)

_PORTFOLIO = (
    # (name, help, attribute of PortfolioFigures)
    ("credit_portfolio_dso_days", "Days sales outstanding (countback).", "dso"),
    (
        "credit_portfolio_best_possible_dso_days",
        "Best possible DSO: the countback on receivables not yet due.",
        "best_possible_dso",
    ),
    (
        "credit_portfolio_average_days_delinquent_days",
        "Average days delinquent: DSO minus best possible DSO.",
        "average_days_delinquent",
    ),
    ("credit_portfolio_cei_percent", "Collection effectiveness index, percent.", "cei"),
    ("credit_portfolio_receivables", "Open invoices, in the currency labelled.", "receivables"),
    ("credit_portfolio_customers", "Customers counted in the portfolio figures.", "customers"),
)

_QUEUE_REQUESTS = (
    "assessment_queue_requests",
    "Re-assessment requests waiting for the worker (one per customer a change touched).",
)
_QUEUE_OLDEST = (
    "assessment_queue_oldest_seconds",
    "Age of the oldest waiting re-assessment request (0 when none wait).",
)
_PARKED = (
    "inbox_parked_events",
    "Inbound events whose handling failed, waiting for `credit-control events replay`.",
)
_DEAD = ("outbox_dead_rows", "Outbox rows Salesforce refused for good (`credit-control outbox`).")
_UNMATCHED = (
    "outbox_unmatched_rows",
    "Outbox rows for customers no Account carries the ERP number of.",
)


class CreditCollector:
    """Yields the credit gauges at scrape time (a custom collector, so nothing runs between)."""

    def __init__(self, svc) -> None:
        self.svc = svc

    def describe(self) -> list[Metric]:
        # Declared without samples, so registering does not query the database.
        return [
            GaugeMetricFamily("credit_accounts", "Assessed accounts by status.", labels=["status"]),
            GaugeMetricFamily(
                "credit_accounts_with_errors", "Accounts whose latest re-assessment failed."
            ),
            *[GaugeMetricFamily(n, h, labels=["currency"]) for n, h, _ in _PORTFOLIO],
            GaugeMetricFamily(
                "credit_portfolio_customers_left_out",
                "Customers left out of the portfolio figures (e.g. no exchange rate).",
                labels=["currency"],
            ),
            GaugeMetricFamily(
                "credit_portfolio_computed_timestamp_seconds",
                "When the portfolio figures were computed (Unix time).",
            ),
            GaugeMetricFamily(*_QUEUE_REQUESTS),
            GaugeMetricFamily(*_QUEUE_OLDEST),
            GaugeMetricFamily(*_PARKED),
            GaugeMetricFamily(*_DEAD),
            GaugeMetricFamily(*_UNMATCHED),
        ]

    def collect(self) -> Iterator[Metric]:
        yield from self._accounts()
        yield from self._queue()
        yield from self._failures()
        yield from self._portfolio()

    def _failures(self) -> Iterator[Metric]:
        try:
            with self.svc.sessions() as session:
                parked = count_parked(session)
                failed = dict(
                    session.execute(
                        select(OutboxMessage.status, func.count())
                        .where(OutboxMessage.status.in_(outbox.FAILED_STATES))
                        .group_by(OutboxMessage.status)
                    ).all()
                )
        except Exception:
            log.warning("parked events and dead outbox rows left out of /metrics", exc_info=True)
            return
        yield GaugeMetricFamily(*_PARKED, value=parked)
        yield GaugeMetricFamily(*_DEAD, value=failed.get(outbox.DEAD, 0))
        yield GaugeMetricFamily(*_UNMATCHED, value=failed.get(outbox.UNMATCHED, 0))

    def _queue(self) -> Iterator[Metric]:
        try:
            with self.svc.sessions() as session:
                waiting = depth(session, self.svc.clock())
        except Exception:
            log.warning("assessment_queue left out of /metrics", exc_info=True)
            return
        yield GaugeMetricFamily(*_QUEUE_REQUESTS, value=waiting.requests)
        yield GaugeMetricFamily(*_QUEUE_OLDEST, value=waiting.oldest_seconds)

    def _accounts(self) -> Iterator[Metric]:
        try:
            with self.svc.sessions() as session:
                counts, with_errors = status_counts(session)
        except Exception:
            log.warning("credit_accounts left out of /metrics", exc_info=True)
            return
        family = GaugeMetricFamily(
            "credit_accounts", "Assessed accounts by status.", labels=["status"]
        )
        for status, n in counts.items():
            family.add_metric([status], n)
        yield family
        yield GaugeMetricFamily(
            "credit_accounts_with_errors",
            "Accounts whose latest re-assessment failed.",
            value=with_errors,
        )

    def _portfolio(self) -> Iterator[Metric]:
        cached = self.svc.portfolio.get_nowait(self.svc.clock().date())
        if cached is None:  # the first computation is under way (or failed: it is logged)
            return
        f = cached.figures
        labels = [f.currency or ""]
        for name, help_text, attribute in _PORTFOLIO:
            value = getattr(f, attribute)
            family = GaugeMetricFamily(name, help_text, labels=["currency"])
            if value is not None:  # no sales in the period: no DSO, and no sample either
                family.add_metric(labels, float(value))
            yield family
        left_out = GaugeMetricFamily(
            "credit_portfolio_customers_left_out",
            "Customers left out of the portfolio figures (e.g. no exchange rate).",
            labels=["currency"],
        )
        left_out.add_metric(labels, len(f.errors))
        yield left_out
        yield GaugeMetricFamily(
            "credit_portfolio_computed_timestamp_seconds",
            "When the portfolio figures were computed (Unix time).",
            value=cached.computed_at.timestamp(),
        )


_WORKER_GAUGES = (
    ("worker_heartbeat_age_seconds", "Seconds since the freshest worker heartbeat.", []),
    ("outbox_pending_rows", "Outbox rows waiting for Salesforce (pending or in flight).", []),
    ("outbox_oldest_pending_seconds", "Age of the oldest outbox row waiting (0: none).", []),
    (
        "subscriber_last_event_age_seconds",
        "Seconds since the last event applied on the channel.",
        ["channel"],
    ),
    (
        "subscriber_heartbeat_age_seconds",
        "Seconds since the channel's streaming session was last seen healthy.",
        ["channel"],
    ),
    (
        "salesforce_api_requests_used",
        "Salesforce API requests used in the last 24 hours (last Sforce-Limit-Info).",
        [],
    ),
    (
        "salesforce_api_requests_limit",
        "The org's daily Salesforce API allowance (last Sforce-Limit-Info).",
        [],
    ),
    ("salesforce_login_ok", "1 when the workers' last Salesforce login succeeded, else 0.", []),
    (
        "job_last_finished_timestamp_seconds",
        "When the scheduled job last finished (Unix time).",
        ["job"],
    ),
)


class WorkerCollector:
    """The worker's figures at scrape time, from the shared database."""

    def __init__(self, svc) -> None:
        self.svc = svc

    def describe(self) -> list[Metric]:
        return [GaugeMetricFamily(n, h, labels=labels) for n, h, labels in _WORKER_GAUGES]

    def collect(self) -> Iterator[Metric]:
        try:
            with self.svc.sessions() as session:
                status = read_status(session, self.svc.clock())
        except Exception:
            log.warning("worker figures left out of /metrics", exc_info=True)
            return
        family = {n: GaugeMetricFamily(n, h, labels=labels) for n, h, labels in _WORKER_GAUGES}
        if status.last_heartbeat_seconds is not None:
            family["worker_heartbeat_age_seconds"].add_metric([], status.last_heartbeat_seconds)
        family["outbox_pending_rows"].add_metric([], status.outbox_pending)
        family["outbox_oldest_pending_seconds"].add_metric([], status.outbox_oldest_pending_seconds)
        for lag in status.channels:
            if lag.last_event_seconds is not None:
                family["subscriber_last_event_age_seconds"].add_metric(
                    [lag.channel], lag.last_event_seconds
                )
            if lag.heartbeat_seconds is not None:
                family["subscriber_heartbeat_age_seconds"].add_metric(
                    [lag.channel], lag.heartbeat_seconds
                )
        if status.api_total:
            family["salesforce_api_requests_used"].add_metric([], status.api_used or 0)
            family["salesforce_api_requests_limit"].add_metric([], status.api_total)
        if status.login in (LOGIN_OK, LOGIN_FAILING):
            family["salesforce_login_ok"].add_metric([], 1 if status.login == LOGIN_OK else 0)
        for job, at in sorted(status.jobs_last_finished.items()):
            family["job_last_finished_timestamp_seconds"].add_metric([job], at.timestamp())
        yield from family.values()


# The route is a plain Flask one (Prometheus text, no marshmallow), so its OpenAPI entry is
# written out here and added to the document by ``service.app``.
OPENAPI_OPERATIONS = {
    "get": {
        "tags": ["metrics"],
        "summary": "Prometheus metrics (text exposition format 0.0.4).",
        "responses": {
            "200": {
                "description": "The metrics, one sample a line",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            },
            "401": {
                "description": "No or wrong bearer token",
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Errors"}}
                },
            },
            "default": {"$ref": "#/components/responses/DEFAULT_ERROR"},
        },
    }
}


def init_app(app: Flask) -> None:
    svc = app.extensions[EXTENSION]
    svc.metrics.add_collector(CreditCollector(svc))
    svc.metrics.add_collector(WorkerCollector(svc))

    def metrics():
        return Response(services().metrics.render(), mimetype=CONTENT_TYPE.split(";")[0])

    app.add_url_rule("/metrics", "metrics", metrics, methods=["GET"])

"""Prometheus metrics, one registry per app.

A registry per app (not the library's global one) lets tests build many apps in one process and
lets each app's ``/metrics`` show only its own figures. Other parts of the service add their
collectors to ``Metrics.registry`` (e.g. the engine's portfolio gauges, the sync's lag, the
assessment queue's depth, which ``service.api.metrics`` reads from the database at scrape time)
with ``add_collector``.

Several web processes (gunicorn's workers) each count only the requests they answered, and a
scrape reaches one of them. With ``multiprocess_dir`` (``PROMETHEUS_MULTIPROC_DIR``, which
``gunicorn.conf.py`` sets for every web process) the counters and histograms live in files there
(prometheus_client picks that storage when the variable is in the environment at import time) and
``render`` sums every process's files, dead workers' included, so ``/metrics`` shows the whole
server whichever worker answers. The custom collectors read the shared database, so each process
yields them itself, once per scrape.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    def __init__(self, multiprocess_dir: str | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        # What a scrape shows: this process's registry, or every web process's files.
        self.scraped = self.registry
        if multiprocess_dir is not None:
            self.scraped = CollectorRegistry()
            MultiProcessCollector(self.scraped, path=multiprocess_dir)
        self.http_requests = Counter(
            "http_requests",
            "HTTP requests answered, by endpoint and status.",
            ["method", "endpoint", "status"],
            registry=self.registry,
        )
        self.http_duration = Histogram(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by endpoint.",
            ["endpoint"],
            registry=self.registry,
        )
        self.feed_rows = Counter(
            "feed_rows",
            "Feed rows by feed, kind and outcome (accepted, ignored as not newer, rejected).",
            ["feed", "kind", "outcome"],
            registry=self.registry,
        )
        self.assessment_duration = Histogram(
            "assessment_duration_seconds",
            "Time the credit engine took for one batch of queued customers: a drain of the "
            "assessment queue (worker, import), or one customer assessed on read.",
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.assessed_customers = Counter(
            "assessed_customers",
            "Customers re-assessed from the assessment queue after a change.",
            registry=self.registry,
        )

    def observe_assessment(self, customer_ids: list[int], seconds: float) -> None:
        """``service.assessments.queue.Observe``: one batch of customers assessed."""
        self.assessment_duration.observe(seconds)
        self.assessed_customers.inc(len(customer_ids))

    def add_collector(self, collector: Collector) -> None:
        """A collector computed at scrape time (e.g. from the database), in every scrape."""
        self.scraped.register(collector)

    def render(self) -> bytes:
        return generate_latest(self.scraped)

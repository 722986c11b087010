"""Prometheus metrics, one registry per app.

A registry per app (not the library's global one) lets tests build many apps in one process and
lets each app's ``/metrics`` show only its own figures. Other parts of the service add their
collectors to ``Metrics.registry`` (e.g. the engine's portfolio gauges, the sync's lag, the
assessment queue's depth, which ``service.api.metrics`` reads from the database at scrape time).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
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

    def render(self) -> bytes:
        return generate_latest(self.registry)

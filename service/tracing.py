"""Optional OpenTelemetry tracing of the web app (Flask), the database (SQLAlchemy) and the
outbound HTTP calls (requests: Salesforce, Stripe).

Off unless the standard ``OTEL_*`` variables ask for it: ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``), ``OTEL_TRACES_EXPORTER`` (``otlp``, ``console``) or
``OTEL_SERVICE_NAME``. ``OTEL_SDK_DISABLED=true`` turns it off whatever else is set. Off costs
nothing: no OpenTelemetry module is even imported, no request is wrapped.

On, it needs the ``otel`` extra (``pip install 'credit-control[otel]'``; a missing one stops the
process with one line saying so). Spans go to OTLP over HTTP (the exporter reads
``OTEL_EXPORTER_OTLP_*`` itself: endpoint, headers, timeout) in batches from a background
thread, or to stdout with ``OTEL_TRACES_EXPORTER=console``. The service name is
``OTEL_SERVICE_NAME`` (default ``credit-control``), with ``OTEL_RESOURCE_ATTRIBUTES`` added.
Sampling follows ``OTEL_TRACES_SAMPLER`` (the SDK's default: every trace).

Called once per process, after the app and its engine exist (``create_app``, the worker
command); gunicorn builds the app in each worker after forking, so each has its own exporter
thread.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from service.errors import ConfigError

log = logging.getLogger(__name__)

TRIGGERS = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_TRACES_EXPORTER",
    "OTEL_SERVICE_NAME",
)
DEFAULT_SERVICE_NAME = "credit-control"


def requested(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the ``OTEL_*`` variables ask for tracing."""
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if env.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return False
    return any(env.get(name, "").strip() for name in TRIGGERS)


def configure(*, app: Any = None, engine: Any = None, exporter: Any = None) -> Any:
    """Instrument ``app`` (Flask), ``engine`` (SQLAlchemy) and requests when tracing is asked
    for; returns the tracer provider, or None when off. ``exporter`` (tests) replaces the one
    the variables choose."""
    if exporter is None and not requested():
        return None
    try:
        from opentelemetry import trace
        from opentelemetry.instrumentation.flask import FlaskInstrumentor
        from opentelemetry.instrumentation.requests import RequestsInstrumentor
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        raise ConfigError(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "tracing needs the otel extra: pip install 'credit-control[otel]'",
        ) from None

    resource = Resource.create(
        {"service.name": os.environ.get("OTEL_SERVICE_NAME", "").strip() or DEFAULT_SERVICE_NAME}
    )
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(exporter or _exporter()))
    trace.set_tracer_provider(provider)
    if app is not None:
        FlaskInstrumentor().instrument_app(app, tracer_provider=provider)
    if engine is not None:
        # The instrumentation declares SQLAlchemy < 2.1 and would refuse 2.1 silently; the
        # engine events it listens to are unchanged in 2.1 (tests/ops/test_tracing.py).
        SQLAlchemyInstrumentor().instrument(
            engine=engine, tracer_provider=provider, skip_dep_check=True
        )
    requests_instrumentor = RequestsInstrumentor()
    if not requests_instrumentor.is_instrumented_by_opentelemetry:
        requests_instrumentor.instrument(tracer_provider=provider)
    log.info("tracing on", extra={"service_name": resource.attributes.get("service.name")})
    return provider


def _exporter():
    kind = os.environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() or "otlp"
    if kind == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    if kind != "otlp":
        raise ConfigError("OTEL_TRACES_EXPORTER", "otlp, console or none")
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()

"""The Flask app factory: ``create_app(overrides=None)``, built in named steps.

The environment is read here, never at import time, so gunicorn (``service.app:create_app()``),
the demo and the tests each get exactly the settings they pass. Whatever the parts of the app
share (settings, database, metrics, clock, policy) hangs off ``app.extensions`` as one
``service.extensions.Services`` value; views reach it through ``services()``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask_smorest import Api
from werkzeug.routing import Rule

from service import logs, rate_limits, tracing
from service.api import accounts, auth, errors, health, metrics, observe, operations, portfolio
from service.assessments import load_policy_file
from service.assessments.portfolio import PortfolioCache, book_figures
from service.bank import views as bank_views
from service.card_payments import webhooks as stripe_webhooks
from service.cash_application import views as cash_application_views
from service.config import Config, load_config
from service.connectors.bc import webhook as bc_webhook
from service.db import make_engine, make_session_factory
from service.extensions import EXTENSION, Services
from service.feeds import views as feed_views
from service.feeds.schemas import ErpBatchIn, ErrorsOut
from service.metrics import Metrics
from service.portal import views as portal_views

log = logging.getLogger(__name__)


class _Api(Api):
    """flask-smorest's Api without its own error handler: ``service.api.errors`` answers all.

    Its default error response (``default`` in every operation) is documented with our envelope,
    ``{"errors": [...]}``, which is what every error answer carries.
    """

    ERROR_SCHEMA = ErrorsOut

    def _register_error_handlers(self):
        pass

    def _register_responses(self):
        # Named before the default responses refer to it, so the document holds it once.
        self.spec.components.schema("Errors", schema=ErrorsOut)
        super()._register_responses()


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    """Build the web app. ``overrides`` (environment variable names) win over the environment.

    Besides variables, tests may pass ``CLOCK`` (a callable returning an aware ``datetime``).
    """
    overrides = dict(overrides or {})
    clock = overrides.pop("CLOCK", None)
    config = load_config(overrides=overrides)
    app = Flask(__name__)
    app.config.update(
        TESTING=config.testing,
        MAX_CONTENT_LENGTH=config.feed_max_bytes,
        API_TITLE="Credit Control for Salesforce",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
    )
    configure_logging(app, config)
    svc = configure_database(app, config)
    if clock is not None:
        svc.clock = clock
    configure_blueprints(app)
    configure_rate_limits(app, config)
    configure_errors(app)
    configure_metrics(app)
    # Off, and nothing imported, unless OTEL_* variables ask for it (service.tracing).
    tracing.configure(app=app, engine=svc.engine)
    log.info("app ready", extra={"database": config.database_url.split(":", 1)[0]})
    return app


def configure_logging(app: Flask, config: Config) -> None:
    logs.configure_logging(config.log_level)
    observe.init_request_ids(app)


def configure_database(app: Flask, config: Config) -> Services:
    engine = make_engine(config.database_url)
    svc = Services(
        config=config,
        engine=engine,
        sessions=make_session_factory(engine),
        metrics=Metrics(config.metrics_multiprocess_dir),
        policy=load_policy_file(config.credit_policy_file),
    )
    svc.portfolio = _portfolio_cache(svc)
    app.extensions[EXTENSION] = svc
    return svc


def _portfolio_cache(svc: Services) -> PortfolioCache:
    # Late-bound: tests replace svc.clock after this runs.
    return PortfolioCache(
        lambda as_of: book_figures(svc.sessions, as_of, svc.policy), clock=lambda: svc.clock()
    )


def configure_blueprints(app: Flask) -> None:
    api = _Api(
        app,
        spec_kwargs={
            "info": {"description": "Feeds in, credit status out. See README.md."},
        },
    )
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    api.spec.components.security_scheme(
        "feedSignature",
        {
            "type": "apiKey",
            "in": "header",
            "name": "X-Signature",
            "description": 't=<unix>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">',
        },
    )
    api.spec.components.security_scheme(
        "stripeSignature",
        {
            "type": "apiKey",
            "in": "header",
            "name": "Stripe-Signature",
            "description": "Stripe's webhook signature (t=<unix>,v1=<hex HMAC-SHA256>)",
        },
    )
    api.spec.options["security"] = [{"bearerAuth": []}]
    api.spec.components.schema("ErpBatchIn", schema=ErpBatchIn)
    api.register_blueprint(health.blp)
    api.register_blueprint(accounts.blp)
    api.register_blueprint(portfolio.blp)
    api.register_blueprint(operations.blp)
    api.register_blueprint(feed_views.blp)
    api.register_blueprint(bank_views.blp)
    api.register_blueprint(stripe_webhooks.blp)
    api.register_blueprint(bc_webhook.blp)
    api.register_blueprint(cash_application_views.blp)
    # /metrics is a plain Flask route (service.api.metrics); its entry is written out there.
    api.spec.path(rule=Rule("/metrics"), operations=metrics.OPENAPI_OPERATIONS)
    # The customer pay page: HTML, public (the signed link is the credential), not in the API.
    app.register_blueprint(portal_views.blp)
    auth.init_app(app)


def configure_rate_limits(app: Flask, config: Config) -> None:
    """The public endpoints, limited per client address (``service.rate_limits``)."""
    rate_limits.init_app(
        app,
        config,
        {"feeds": feed_views.blp, "webhooks": stripe_webhooks.blp, "pay_page": portal_views.blp},
    )


def configure_errors(app: Flask) -> None:
    errors.init_app(app)


def configure_metrics(app: Flask) -> None:
    metrics.init_app(app)

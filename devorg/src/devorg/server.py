"""The devorg Flask app: the plumbing every Salesforce answer shares.

Per request, in Salesforce's order: added latency (fault), injected 503 / REQUEST_LIMIT_EXCEEDED
(fault), session check (401 ``INVALID_SESSION_ID`` as a JSON array), API allowance
(403 ``REQUEST_LIMIT_EXCEEDED``), then the route. Every ``/services/data`` answer carries
``Sforce-Limit-Info``. Served one thread per connection (CometD long-polls hold a thread for
up to 110 s), over HTTPS and optionally plain HTTP, both the same app, by the keep-alive WSGI
server in ``httpserver.py``.
"""

from __future__ import annotations

import logging
import re
import time

from flask import Flask, g, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from .admin import make_admin_blueprint
from .bulk import make_bulk_blueprint
from .cometd import make_cometd_blueprint
from .composite import make_composite_blueprint
from .errors import SalesforceError, invalid_session, not_found, request_limit
from .graphql_api import make_graphql_blueprint
from .lightning import make_lightning_blueprint
from .oauth import make_oauth_blueprint
from .rest import make_rest_blueprint
from .ui_api import make_ui_api_blueprint
from .wire import bearer_token, error_response, sf_json

log = logging.getLogger(__name__)

_DATA_PATH = re.compile(r"^/services/data/v(\d+\.\d)(/.*)?$")
RETIRED_BELOW = 31.0
RETIRED_FROM = 21.0


def _route_key() -> str:
    rule = request.url_rule.rule if request.url_rule is not None else request.path
    return f"{request.method} {rule.replace('v<version>', 'vXX.X')}"


def _check_version(version: str, org) -> SalesforceError | None:
    number = float(version)
    if RETIRED_FROM <= number < RETIRED_BELOW:
        return SalesforceError(
            "API_DISABLED_FOR_ORG",
            f"Version {version} of the API is retired and no longer supported.",
            410,
            include_fields=False,
        )
    if number < RETIRED_FROM or number > float(org.api_version_max) or not version.endswith(".0"):
        return not_found()
    return None


def create_devorg_app(org) -> Flask:
    app = Flask("devorg")
    app.config["DEVORG"] = org
    app.json.sort_keys = False  # type: ignore[attr-defined]

    @app.before_request
    def _prelude():
        g.started = time.perf_counter()
        g.raw_body = None
        path = request.path
        if org.faults.latency_ms and not path.startswith("/_devorg/"):
            time.sleep(org.faults.latency_ms / 1000.0)
        if path.startswith("/_devorg/"):
            return None  # the admin blueprint guards itself
        g.subrequest = request.headers.get("X-Devorg-Subrequest") == org.subrequest_secret
        if not g.subrequest:
            org.stats.count(_route_key())
        if not path.startswith("/services/"):
            return None
        match = _DATA_PATH.match(path)
        is_data = match is not None
        g.is_data = is_data
        failure = None if g.subrequest else org.faults.take_failure()
        if failure == "503":
            return sf_json(
                [{"message": "Service temporarily unavailable", "errorCode": "SERVER_UNAVAILABLE"}],
                503,
            )
        if failure == "REQUEST_LIMIT_EXCEEDED":
            return error_response(request_limit())
        if path.startswith("/services/oauth2/"):
            return None
        if is_data:
            g.api_version = match.group(1)
            err = _check_version(match.group(1), org)
            if err is not None:
                return error_response(err)
        elif path.rstrip("/") == "/services/data":
            return None  # the versions list needs no session
        session = org.auth.session_for(bearer_token())
        if session is None:
            response = error_response(invalid_session())
            response.headers["WWW-Authenticate"] = "Token"
            return response
        g.session = session
        g.user = org.auth.user_by_id(session.user_id)
        if is_data and not g.subrequest and not org.limits.spend():
            return error_response(request_limit())
        return None

    @app.after_request
    def _epilogue(response):
        if getattr(g, "is_data", False):
            response.headers["Sforce-Limit-Info"] = org.limits.header()
        return response

    @app.errorhandler(SalesforceError)
    def _salesforce_error(err: SalesforceError):
        return error_response(err)

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException):
        if request.path.startswith("/_devorg/"):
            return sf_json({"error": err.name, "devorg": True}, err.code or 500)
        if isinstance(err, MethodNotAllowed):
            allowed = ",".join(m for m in (err.valid_methods or []) if m not in ("HEAD", "OPTIONS"))
            return sf_json(
                [
                    {
                        "errorCode": "METHOD_NOT_ALLOWED",
                        "message": f"HTTP Method '{request.method}' not allowed. Allowed are {allowed}",
                    }
                ],
                405,
            )
        if isinstance(err, NotFound):
            return error_response(not_found())
        return sf_json(
            [{"errorCode": "UNKNOWN_EXCEPTION", "message": err.description or err.name}],
            err.code or 500,
        )

    @app.errorhandler(Exception)
    def _unexpected(err: Exception):
        log.exception("devorg route failed")
        return sf_json(
            [
                {
                    "errorCode": "UNKNOWN_EXCEPTION",
                    "message": "An unexpected error occurred. Please include this ErrorId if you contact support: devorg",
                }
            ],
            500,
        )

    app.register_blueprint(make_oauth_blueprint(org))
    app.register_blueprint(make_rest_blueprint(org))
    app.register_blueprint(make_composite_blueprint(org))
    app.register_blueprint(make_bulk_blueprint(org))
    app.register_blueprint(make_admin_blueprint(org))
    app.register_blueprint(make_cometd_blueprint(org))
    app.register_blueprint(make_ui_api_blueprint(org))
    app.register_blueprint(make_graphql_blueprint(org))
    app.register_blueprint(make_lightning_blueprint(org))
    return app

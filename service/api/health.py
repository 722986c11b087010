"""``/healthz`` (the process answers) and ``/readyz`` (it can do its job).

``/readyz`` checks the database (reachable and migrated) and then every check registered in
``Services.readiness_checks``. The Salesforce sync registers ``salesforce`` (login) and
``subscriber`` (lag); until it does, both read "not configured", which does not fail readiness:
the service takes feeds and serves assessments without an org.
"""

from __future__ import annotations

import logging

from flask_smorest import Blueprint
from sqlalchemy import inspect, text

from service.api.auth import public
from service.app import services

log = logging.getLogger(__name__)

blp = Blueprint("health", __name__, description="Liveness and readiness")

NOT_CONFIGURED = {"status": "not configured"}


@blp.route("/healthz", methods=["GET"])
@public
def healthz():
    """Alive: answers without touching the database (no token needed)."""
    return {"status": "ok"}


@blp.route("/readyz", methods=["GET"])
def readyz():
    """Ready: database reachable and migrated; Salesforce login and subscriber lag."""
    svc = services()
    checks = {"database": _database(svc)}
    for name in ("salesforce", "subscriber"):
        checks[name] = NOT_CONFIGURED
    for name, check in svc.readiness_checks.items():
        try:
            checks[name] = check()
        except Exception:
            log.exception("readiness check failed", extra={"check": name})
            checks[name] = {"status": "failing"}
    ready = all(c.get("status") in ("ok", "not configured") for c in checks.values())
    return {"status": "ok" if ready else "failing", "checks": checks}, 200 if ready else 503


def _database(svc) -> dict:
    try:
        with svc.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            migrated = inspect(connection).has_table("alembic_version")
    except Exception:
        log.exception("database not reachable")
        return {"status": "failing", "detail": "not reachable"}
    if not migrated:
        return {"status": "failing", "detail": "not migrated; run: credit-control db upgrade"}
    return {"status": "ok", "backend": svc.engine.dialect.name}

"""``/healthz`` (the process answers) and ``/readyz`` (it can do its job).

``/readyz`` checks the database (reachable and migrated) and then every check registered in
``Services.readiness_checks``. The Salesforce sync registers ``salesforce`` (login) and
``subscriber`` (lag); until it does, both read "not configured", which does not fail readiness:
the service takes feeds and serves assessments without an org.

``assessment_queue`` reports how many re-assessment requests wait and the age of the oldest. It
never fails readiness: a backlog means the worker is behind (or not running), not that this
process cannot serve; reads of a waiting customer assess it on the spot.
"""

from __future__ import annotations

import logging

from flask_smorest import Blueprint
from sqlalchemy import inspect, text

from service.api.auth import public
from service.assessments.queue import depth
from service.extensions import services

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
    if checks["database"]["status"] == "ok":
        checks["assessment_queue"] = _assessment_queue(svc)
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


def _assessment_queue(svc) -> dict:
    try:
        with svc.sessions() as session:
            waiting = depth(session, svc.clock())
    except Exception:
        log.exception("assessment queue not readable")
        return {"status": "ok", "detail": "not readable"}
    return {
        "status": "ok",
        "requests": waiting.requests,
        "oldest_seconds": round(waiting.oldest_seconds, 1),
    }

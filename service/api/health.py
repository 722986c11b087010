"""``/healthz`` (the process answers) and ``/readyz`` (it can do its job).

``/readyz`` checks the database (reachable and migrated; a SQLite file is named and said to serve
one machine only, since processes elsewhere would each have a file of their own) and then every check registered in
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
from marshmallow import INCLUDE, Schema, fields
from sqlalchemy import inspect, text

from service.api.auth import public
from service.assessments.queue import depth
from service.config import safe_database_url
from service.extensions import services

log = logging.getLogger(__name__)

blp = Blueprint("health", __name__, description="Liveness and readiness")

NOT_CONFIGURED = {"status": "not configured"}
SQLITE_SCOPE = (
    "single machine: every web and worker process must run on this machine and share this file"
)


class HealthOut(Schema):
    status = fields.String(required=True, metadata={"enum": ["ok"]})


class CheckOut(Schema):
    """One readiness check. Checks registered by the sync may add fields of their own."""

    class Meta:
        unknown = INCLUDE

    status = fields.String(required=True, metadata={"enum": ["ok", "not configured", "failing"]})
    detail = fields.String(metadata={"description": "why, when not ok"})
    backend = fields.String(metadata={"description": "database: sqlite or postgresql"})
    url = fields.String(metadata={"description": "database, SQLite only: the file in use"})
    scope = fields.String(
        metadata={"description": "database, SQLite only: that it serves one machine alone"}
    )
    requests = fields.Integer(metadata={"description": "assessment_queue: requests waiting"})
    oldest_seconds = fields.Float(
        metadata={"description": "assessment_queue: age of the oldest request"}
    )


class ReadinessOut(Schema):
    status = fields.String(required=True, metadata={"enum": ["ok", "failing"]})
    checks = fields.Dict(
        keys=fields.String(),
        values=fields.Nested(CheckOut),
        required=True,
        metadata={
            "description": "by name: database, assessment_queue (when the database answers), "
            "salesforce, subscriber, and any check the worker registers"
        },
    )


@blp.route("/healthz", methods=["GET"])
@blp.doc(security=[])
@blp.alt_response(200, schema=HealthOut, description="The process answers")
@public
def healthz():
    """Alive: answers without touching the database (no token needed)."""
    return {"status": "ok"}


@blp.route("/readyz", methods=["GET"])
@blp.alt_response(200, schema=ReadinessOut, description="Ready: every check ok or not configured")
@blp.alt_response(503, schema=ReadinessOut, description="Not ready: a check is failing")
@blp.alt_response(401, schema="Errors", description="No or wrong bearer token")
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
    check = {"status": "ok", "backend": svc.engine.dialect.name}
    if svc.engine.dialect.name == "sqlite":
        # Chosen with CREDIT_CONTROL_SQLITE=1 or a sqlite:// DATABASE_URL: say what it means.
        check["url"] = safe_database_url(svc.config.database_url)
        check["scope"] = SQLITE_SCOPE
    return check


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

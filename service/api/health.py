"""``/healthz`` (the process answers) and ``/readyz`` (it can do its job).

``/readyz`` checks the database (reachable and migrated; a SQLite file is named and said to serve
one machine only, since processes elsewhere would each have a file of their own), then reads
what the workers wrote to the database (``service.worker_status``), so every web process
answers alike:

- ``worker``: the freshest worker heartbeat. Fails when it is older than
  ``WORKER_SILENT_SECONDS`` (the worker stopped, crashed or cannot reach the database), or when
  the org is configured here and no worker has ever reported. "not configured" when neither.
- ``salesforce``: the login state the workers last reported (fails when the last login was
  refused or the token endpoint unreachable), with the API usage of the last
  ``Sforce-Limit-Info`` header. "not configured" until a worker reports.
- ``subscriber``: per channel, the age of the last event applied and of the streaming session's
  last healthy heartbeat; fails when a channel's heartbeat is older than
  ``WORKER_SILENT_SECONDS``. "not configured" while no worker runs the subscriber.
- ``outbox``: pushes waiting for Salesforce and the age of the oldest. Never fails readiness.

Checks registered in ``Services.readiness_checks`` win over these by name.

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
from service.worker_status import LOGIN_FAILING, LOGIN_OK, WorkerStatus, read_status

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
    """Ready: database reachable and migrated; worker heard from; Salesforce login; subscriber
    lag; outbox and assessment queue backlogs."""
    svc = services()
    checks = {"database": _database(svc)}
    for name in ("salesforce", "subscriber"):
        checks[name] = NOT_CONFIGURED
    if checks["database"]["status"] == "ok":
        checks["assessment_queue"] = _assessment_queue(svc)
        checks.update(_worker_checks(svc))
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


def _worker_checks(svc) -> dict[str, dict]:
    try:
        with svc.sessions() as session:
            status = read_status(session, svc.clock())
    except Exception:
        log.exception("worker status not readable")
        return {"worker": {"status": "failing", "detail": "worker status not readable"}}
    silent = svc.config.worker_silent_seconds
    return {
        "worker": _worker(status, silent, svc.config.salesforce_configured),
        "salesforce": _salesforce(status),
        "subscriber": _subscriber(status, silent),
        "outbox": {
            "status": "ok",
            "pending": status.outbox_pending,
            "oldest_seconds": round(status.outbox_oldest_pending_seconds, 1),
        },
    }


def _worker(status: WorkerStatus, silent: float, org_configured: bool) -> dict:
    age = status.last_heartbeat_seconds
    if age is None:
        if org_configured:
            return {"status": "failing", "detail": "no worker has reported; start one"}
        return NOT_CONFIGURED
    check = {
        "status": "ok" if age <= silent else "failing",
        "last_heartbeat_seconds": round(age, 1),
        "silent_after_seconds": silent,
        "holder": status.last_holder,
    }
    if age > silent:
        how = "stopped" if status.stopped else "silent"
        check["detail"] = f"no worker heartbeat for {age:.0f} s (last worker {how})"
    return check


def _salesforce(status: WorkerStatus) -> dict:
    if status.login is None:
        return NOT_CONFIGURED
    check: dict = {"status": "failing" if status.login == LOGIN_FAILING else "ok"}
    check["login"] = status.login
    if status.login == LOGIN_FAILING:
        check["detail"] = status.login_error or "login failed"
    if status.api_total:
        check["api_used"] = status.api_used
        check["api_limit"] = status.api_total
    elif status.login != LOGIN_OK:
        check["detail"] = check.get("detail", "no login yet")
    return check


def _subscriber(status: WorkerStatus, silent: float) -> dict:
    channels = {
        lag.channel: {
            "last_event_seconds": _round(lag.last_event_seconds),
            "heartbeat_seconds": _round(lag.heartbeat_seconds),
        }
        for lag in status.channels
    }
    if not any(lag.heartbeat_seconds is not None for lag in status.channels):
        return {**NOT_CONFIGURED, "channels": channels} if channels else NOT_CONFIGURED
    stale = sorted(
        lag.channel
        for lag in status.channels
        if lag.heartbeat_seconds is None or lag.heartbeat_seconds > silent
    )
    check: dict = {"status": "failing" if stale else "ok", "channels": channels}
    if stale:
        check["detail"] = "no streaming heartbeat within WORKER_SILENT_SECONDS: " + ", ".join(stale)
    return check


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)

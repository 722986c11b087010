"""``/_devorg/``: fault switches and introspection for tests and demos — not a Salesforce API.

Guarded so it cannot be mistaken for one: every call needs ``X-Devorg-Admin: <admin token>``
(``DevOrg.admin_token``; the CLI writes it to the env file as ``DEVORG_ADMIN_TOKEN``), a
Salesforce session token is refused, answers are plain JSON objects (never Salesforce's error
arrays) and carry ``X-Devorg: admin``.

    GET  /_devorg/stats           requests by route, writes per record, records by object, API usage
    POST /_devorg/stats/reset     zero the request counts and write counts
    POST /_devorg/reset           drop all records (users stay), faults, stats, API counter
    GET  /_devorg/faults          what is switched on
    POST /_devorg/faults          {"fail_next": n, "kind": "503"|"REQUEST_LIMIT_EXCEEDED",
                                   "lock_records": [ids], "lock_times": n, "latency_ms": ms,
                                   "expire_sessions": true, "revoke_sessions": true,
                                   "revoke_token": "...", "api_limit": {"max": n, "used": n},
                                   "stream": {...}}   (stream: passed to the event bus)
                                  A bad name or value (an unknown stream fault or setting, a
                                  non-number) answers 400 {"error", "devorg": true, "applied"}
                                  with what was applied before it; never a 500.
    DELETE /_devorg/faults        clear all faults
    GET  /_devorg/records/<Object> the stored records of an object (including deleted)
"""

from __future__ import annotations

import hmac

from flask import Blueprint, jsonify, request


def make_admin_blueprint(org) -> Blueprint:
    bp = Blueprint("devorg_admin", __name__, url_prefix="/_devorg")

    @bp.before_request
    def _guard():
        supplied = request.headers.get("X-Devorg-Admin", "")
        if not supplied or not hmac.compare_digest(supplied, org.admin_token):
            response = jsonify(
                {"error": "devorg admin token required (X-Devorg-Admin)", "devorg": True}
            )
            response.status_code = 403
            return response
        return None

    @bp.after_request
    def _mark(response):
        response.headers["X-Devorg"] = "admin"
        return response

    @bp.get("/stats")
    def stats():
        return jsonify(
            {
                "requests": org.stats.snapshot(),
                "requests_total": sum(org.stats.snapshot().values()),
                "writes_per_record": dict(org.store.write_counts),
                "records_by_object": org.store.counts(),
                "api_usage": {"used": org.limits.used, "max": org.limits.daily_max},
            }
        )

    @bp.post("/stats/reset")
    def stats_reset():
        org.stats.reset()
        with org.store.lock:
            org.store.write_counts.clear()
        return jsonify({"ok": True})

    @bp.post("/reset")
    def reset():
        org.reset()
        return jsonify({"ok": True})

    @bp.get("/faults")
    def faults_get():
        return jsonify(org.faults.describe())

    @bp.delete("/faults")
    def faults_clear():
        org.faults.clear()
        return jsonify({"ok": True})

    @bp.post("/faults")
    def faults_set():
        body = request.get_json(silent=True) or {}
        if not isinstance(body, dict):
            return jsonify({"error": "the body must be a JSON object", "devorg": True}), 400
        done: dict = {}
        try:
            _apply_faults(body, done)
        except (TypeError, ValueError) as exc:
            # A bad name or value (e.g. an unknown stream fault) is the caller's mistake: 400
            # with what went wrong and what had already been applied, never a 500.
            return jsonify({"error": str(exc), "devorg": True, "applied": done}), 400
        return jsonify({"ok": True, "applied": done})

    def _apply_faults(body: dict, done: dict) -> None:
        if "fail_next" in body:
            org.faults.fail_next(int(body["fail_next"]), str(body.get("kind", "503")))
            done["fail_next"] = int(body["fail_next"])
        if "lock_records" in body:
            times = body.get("lock_times")
            org.faults.lock_records(
                list(body["lock_records"]), None if times is None else int(times)
            )
            done["lock_records"] = len(body["lock_records"])
        if "latency_ms" in body:
            org.faults.latency_ms = float(body["latency_ms"])
            done["latency_ms"] = org.faults.latency_ms
        if body.get("expire_sessions"):
            done["expired"] = org.expire_sessions()
        if body.get("revoke_sessions"):
            done["revoked"] = org.revoke_sessions()
        if body.get("revoke_token"):
            done["revoked_token"] = org.auth.revoke(str(body["revoke_token"]))
        if "api_limit" in body:
            limit = body["api_limit"] or {}
            org.limits.reset(int(limit["max"]) if "max" in limit else None)
            if "used" in limit:
                org.limits.used = int(limit["used"])
            done["api_limit"] = {"used": org.limits.used, "max": org.limits.daily_max}
        if "stream" in body:
            handler = getattr(org.bus, "apply_faults", None)
            if handler is None:
                raise ValueError("the event bus takes no stream faults")
            if not isinstance(body["stream"], dict):
                raise ValueError("stream must be a JSON object of streaming fault names")
            try:
                done["stream"] = handler(body["stream"])
            except RuntimeError as exc:  # no CometD server serves the bus
                raise ValueError(str(exc)) from exc

    @bp.get("/records/<sobject>")
    def records(sobject):
        obj = org.schema.object(sobject)
        if obj is None:
            return jsonify({"error": f"no object {sobject}", "devorg": True}), 404
        return jsonify(
            {
                "object": obj.name,
                "records": list(org.store.iter_object(obj.name, include_deleted=True)),
            }
        )

    return bp

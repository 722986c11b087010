"""Request ids, access log lines and HTTP metrics, around every request.

The request id is taken from ``X-Request-Id`` when the caller sent a safe one (so a line in our
log joins the caller's), else made up; it is echoed on the response and put on every log line.
Metrics label requests by route rule, never by raw path, so a scan of random URLs cannot blow up
the number of series.
"""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, request

from service.extensions import services
from service.logs import new_request_id, request_id_var

log = logging.getLogger("service.access")

REQUEST_ID_HEADER = "X-Request-Id"


def init_request_ids(app: Flask) -> None:
    @app.before_request
    def start():
        g.request_id = new_request_id(request.headers.get(REQUEST_ID_HEADER))
        g.request_token = request_id_var.set(g.request_id)
        g.started = time.perf_counter()

    @app.after_request
    def finish(response: Response):
        request_id = g.get("request_id")
        if request_id:
            response.headers[REQUEST_ID_HEADER] = request_id
        started = g.get("started")
        elapsed = time.perf_counter() - started if started else 0.0
        svc = services()
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        svc.metrics.http_requests.labels(request.method, endpoint, str(response.status_code)).inc()
        svc.metrics.http_duration.labels(endpoint).observe(elapsed)
        log.info(
            "request",
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round(elapsed * 1000, 1),
            },
        )
        return response

    @app.teardown_request
    def reset(_exc):
        token = g.pop("request_token", None)
        if token is not None:
            request_id_var.reset(token)

"""``GET /metrics``: Prometheus text for this app's registry (bearer token required)."""

from __future__ import annotations

from flask import Flask, Response

from service.metrics import CONTENT_TYPE


def init_app(app: Flask) -> None:
    from service.app import services

    def metrics():
        return Response(services().metrics.render(), mimetype=CONTENT_TYPE.split(";")[0])

    app.add_url_rule("/metrics", "metrics", metrics, methods=["GET"])

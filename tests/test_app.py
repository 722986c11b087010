"""The app factory: request ids, JSON logs, the one error envelope."""

from __future__ import annotations

import io
import json
import logging

from service.app import create_app
from tests.conftest import TOKEN, app_overrides


def test_request_id__echoed_when_safe_and_made_up_when_not(client):
    given = client.get("/healthz", headers={"X-Request-Id": "erp-batch-42"})
    unsafe = client.get("/healthz", headers={"X-Request-Id": "bad id; with spaces"})

    assert given.headers["X-Request-Id"] == "erp-batch-42"
    assert unsafe.headers["X-Request-Id"] != "bad id; with spaces"
    assert len(unsafe.headers["X-Request-Id"]) == 32


def test_logs__every_line_is_json_with_the_request_id(client):
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "credit-control-json")
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        client.get("/healthz", headers={"X-Request-Id": "trace-me-1"})
    finally:
        handler.setStream(previous)

    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    access = [line for line in lines if line.get("logger") == "service.access"]
    assert access[-1]["request_id"] == "trace-me-1"
    assert access[-1]["status"] == 200


def test_errors__unexpected_exception_is_a_generic_500_without_details(db_url):
    app = create_app(app_overrides(db_url))

    @app.get("/boom")
    def boom():
        raise RuntimeError("password=hunter2 at db.internal:5432")

    response = app.test_client().get("/boom", headers={"Authorization": f"Bearer {TOKEN}"})

    assert response.status_code == 500
    assert response.json == {
        "errors": [
            {"code": "internal", "message": "Something went wrong on our side; it has been logged."}
        ]
    }
    assert "hunter2" not in response.get_data(as_text=True)


def test_errors__unknown_route_and_wrong_method_are_json(client):
    assert (
        client.get("/api/v1/nothing", headers={"Authorization": f"Bearer {TOKEN}"}).json["errors"][
            0
        ]["code"]
        == "not_found"
    )
    response = client.get("/api/v1/feeds/erp", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 405
    assert response.json["errors"][0]["code"] == "method_not_allowed"


def test_create_app__secrets_never_reach_the_logs(db_url, caplog):
    caplog.set_level(logging.DEBUG)
    app = create_app(app_overrides(db_url))
    app.test_client().get("/healthz")

    assert TOKEN not in caplog.text
    assert "test-feed-secret" not in caplog.text


def test_create_app__many_apps_in_one_process_have_their_own_metrics(db_url):
    first = create_app(app_overrides(db_url))
    second = create_app(app_overrides(db_url))
    first.test_client().get("/healthz")

    text = (
        second.test_client()
        .get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        .get_data(as_text=True)
    )

    assert 'endpoint="/healthz"' not in text

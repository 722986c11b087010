"""Optional OpenTelemetry: off by default (not even imported), on with the OTEL_* variables,
and then a request's spans (Flask, SQLAlchemy, requests) reach the exporter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from service.tracing import requested
from tests.conftest import FEED_SECRET, TOKEN

APP = textwrap.dedent(
    """
    import json, sys, threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    import requests

    from service.app import create_app

    app = create_app({"DATABASE_URL": sys.argv[1]})
    client = app.test_client()
    status = client.get("/readyz", headers={"Authorization": "Bearer " + sys.argv[2]}).status_code

    class Ok(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    requests.get(f"http://127.0.0.1:{server.server_port}/", timeout=5)
    server.shutdown()
    loaded = sorted({m.split(".")[0] for m in sys.modules if m.startswith("opentelemetry")})
    print("RESULT " + json.dumps({"status": status, "otel_modules": loaded}), flush=True)
    """
)


def _run(sqlite_url: str, **otel: str) -> tuple[dict, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")} | {
        "SERVICE_API_TOKENS": TOKEN,
        "FEED_SIGNING_SECRET": FEED_SECRET,
        "LOG_LEVEL": "WARNING",
    }
    done = subprocess.run(
        [sys.executable, "-c", APP, sqlite_url, TOKEN],
        env=env | otel,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (line,) = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
    return json.loads(line.removeprefix("RESULT ")), done.stdout


def test_off_by_default__no_opentelemetry_module_is_even_loaded(sqlite_url):
    result, out = _run(sqlite_url)

    assert result == {"status": 200, "otel_modules": []}
    assert '"trace_id"' not in out


def test_disabled_wins_over_an_endpoint(sqlite_url):
    result, _ = _run(
        sqlite_url, OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:4318", OTEL_SDK_DISABLED="true"
    )

    assert result["otel_modules"] == []


def test_on__a_request_and_its_database_and_http_calls_reach_the_exporter(sqlite_url):
    result, out = _run(
        sqlite_url, OTEL_TRACES_EXPORTER="console", OTEL_SERVICE_NAME="credit-control-test"
    )

    assert result["status"] == 200
    spans = _spans(out)
    names = {span["name"] for span in spans}
    assert "GET /readyz" in names
    assert any(span["attributes"].get("db.system") == "sqlite" for span in spans), names
    assert any(span["attributes"].get("http.url", "").startswith("http://127.0.0.1:")
               or span["attributes"].get("url.full", "").startswith("http://127.0.0.1:")
               for span in spans if span["kind"] == "SpanKind.CLIENT"), names  # fmt: skip
    assert {span["resource"]["attributes"]["service.name"] for span in spans} == {
        "credit-control-test"
    }
    # The database spans of the request are children of its Flask span: one trace.
    readyz = next(span for span in spans if span["name"] == "GET /readyz")
    trace_id = readyz["context"]["trace_id"]
    assert any(
        span["context"]["trace_id"] == trace_id and span["attributes"].get("db.system")
        for span in spans
    )


def _spans(stdout: str) -> list[dict]:
    """The console exporter's output: one indented JSON object per span."""
    spans, buffer, depth = [], [], 0
    for line in stdout.splitlines():
        if line.startswith("RESULT "):
            continue
        if line == "{" and depth == 0:
            buffer, depth = [line], 1
            continue
        if depth:
            buffer.append(line)
            if line == "}":
                spans.append(json.loads("\n".join(buffer)))
                depth = 0
    return spans


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, False),
        ({"OTEL_SERVICE_NAME": "cc"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "  "}, False),
        ({"OTEL_SERVICE_NAME": "cc", "OTEL_TRACES_EXPORTER": "none"}, False),
        ({"OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=prod"}, False),
    ],
)
def test_requested__only_by_the_variables_that_say_where_or_what(environ, expected):
    assert requested(environ) is expected

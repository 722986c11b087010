"""The ``web`` process as the Procfile runs it: gunicorn with gunicorn.conf.py and two workers.

Run for real (a gunicorn subprocess on a free port, over a migrated SQLite file): /metrics must
count every request whichever worker answered it, and every line gunicorn and the app write to
stderr must be one JSON object with the app's fields, with no plain-text access line beside it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from tests.conftest import FEED_SECRET, TOKEN

ROOT = Path(__file__).resolve().parent.parent
REQUESTS = 1000
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PROCFILE_WEB = re.compile(r"^web:\s*(?P<command>.+)$", re.MULTILINE)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _procfile_web_command(port: int) -> list[str]:
    """The Procfile's web line, with this test's port and two workers spelt out."""
    line = PROCFILE_WEB.search((ROOT / "Procfile").read_text())["command"]
    assert line.startswith("gunicorn -c gunicorn.conf.py ")
    app = line.rsplit(" ", 1)[1].strip("'")
    return [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind",
            f"127.0.0.1:{port}", "--workers", "2", app]  # fmt: skip


def _wait_until_up(base: str, server: subprocess.Popen, log: Path) -> None:
    """Poll /readyz (not the counted /healthz: a poll that times out on a booting worker is
    still answered and counted later) until it answers."""
    deadline = time.monotonic() + 120  # a cold start on a loaded 2-core machine
    while time.monotonic() < deadline:
        assert server.poll() is None, f"gunicorn exited: {log.read_text()[-2000:]}"
        try:
            if requests.get(f"{base}/readyz", headers=AUTH, timeout=5).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):  # booting workers on a busy machine
            time.sleep(0.2)
    raise AssertionError(f"gunicorn did not answer: {log.read_text()[-2000:]}")


def _sample(metrics: str, name: str, **labels: str) -> float:
    for line in metrics.splitlines():
        if not line.startswith(name + "{"):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}", 1)[0]))
        if found == labels:
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no {name}{labels} in /metrics")


def test_two_workers__metrics_count_every_request_and_every_log_line_is_json(sqlite_url, tmp_path):
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    # A file a previous server left behind: counters must restart from zero with the server.
    (metrics_dir / "counter_1.db").write_bytes(b"stale")
    env = {
        **os.environ,
        "DATABASE_URL": sqlite_url,
        "SERVICE_API_TOKENS": TOKEN,
        "FEED_SIGNING_SECRET": FEED_SECRET,
        "LOG_LEVEL": "INFO",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    log = tmp_path / "stderr.log"
    with log.open("w") as stderr:
        server = subprocess.Popen(
            _procfile_web_command(port),
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        _wait_until_up(base, server, log)

        def get(_):
            return requests.get(f"{base}/healthz", timeout=30).status_code

        with ThreadPoolExecutor(4) as pool:
            statuses = list(pool.map(get, range(REQUESTS)))
        assert statuses == [200] * REQUESTS

        text = requests.get(
            f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
        ).text
        # Both workers answered some (each keeps its counters in a file of its own)...
        assert len(list(metrics_dir.glob("counter_*.db"))) >= 2
        # ...and the scrape, whichever worker served it, counts them all.
        counted = _sample(
            text, "http_requests_total", endpoint="/healthz", method="GET", status="200"
        )
        assert counted == REQUESTS
        assert "credit_accounts_with_errors" in text  # the database's gauges, once
        assert text.count("# TYPE outbox_dead_rows gauge") == 1

        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()

    lines = [line for line in log.read_text().splitlines() if line.strip()]
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            raise AssertionError(f"not a JSON log line: {line!r}") from None
    assert all({"time", "level", "logger", "message", "request_id"} <= r.keys() for r in records)
    gunicorn_lines = [r["message"] for r in records if r["logger"] == "gunicorn.error"]
    assert any(m.startswith("Booting worker") for m in gunicorn_lines)
    assert any("Shutting down" in m for m in gunicorn_lines)
    # One access line per request: the app's, none from gunicorn.
    access = [r for r in records if r["logger"] == "service.access"]
    assert sum(r["path"] == "/healthz" for r in access) == REQUESTS
    assert sum(r["path"] == "/metrics" for r in access) == 1
    assert not [r for r in records if r["logger"] == "gunicorn.access"]

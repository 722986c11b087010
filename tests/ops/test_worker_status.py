"""The worker's figures in /readyz and /metrics, read from the shared database.

A web process cannot ask the worker (another process, often another machine), so the worker
writes a heartbeat row with what only it knows (login state, API usage, streaming health) and
every web process reads that and the tables the worker works on. These tests run a real worker
against the local org and read the figures through a separately built app over the same
database, as a web dyno would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from service import outbox
from service.app import create_app
from service.config import CHANNELS
from service.db import transaction, utcnow
from service.salesforce.client import build_client
from service.worker import LOGIN_RETRY, Worker
from service.worker_status import Heartbeat
from tests.conftest import TOKEN, app_overrides
from tests.salesforce.sync_helpers import create_accounts, make_customer, seed_cursors, wait_for

AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Clock:
    """The web app's clock: real time, moved forward by the test when it wants to."""

    def __init__(self) -> None:
        self.ahead = timedelta(0)

    def __call__(self):
        return utcnow() + self.ahead


def _web(db_url: str, clock=None, **settings):
    return create_app(app_overrides(db_url, CLOCK=clock or utcnow, **settings))


def _readyz(app) -> tuple[int, dict]:
    response = app.test_client().get("/readyz", headers=AUTH)
    return response.status_code, response.json


def _metrics(app) -> str:
    return app.test_client().get("/metrics", headers=AUTH).get_data(as_text=True)


def _sample(text: str, name: str, labels: str = "") -> float | None:
    prefix = f"{name}{{{labels}}} " if labels else f"{name} "
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_running_worker__readyz_and_metrics_show_login_api_usage_channels_and_backlog(
    db, db_url, devorg, sync_settings
):
    engine, factory = db
    seed_cursors(factory, devorg, sync_settings.channels)
    accounts = create_accounts(build_client(sync_settings), ["H-1"])
    with transaction(factory) as s:
        customer = make_customer(s, "H-1", account_id=accounts["H-1"], status="HOLD")
        outbox.queue_for_salesforce(s, [customer.id])
    clock = Clock()
    web = _web(db_url, clock, WORKER_SILENT_SECONDS="5", **devorg.env_settings())

    worker = Worker(
        engine, factory, sync_settings.with_(heartbeat_seconds=0.1), schedule=False
    ).start()
    try:
        # The push spends API requests: its Sforce-Limit-Info reaches the heartbeat.
        def ready_with_usage():
            status, body = _readyz(web)
            checks = body["checks"]
            subscribed = checks["subscriber"].get("channels", {})
            return (
                status == 200
                and "api_used" in checks["salesforce"]
                and checks["outbox"]["pending"] == 0
                and all((subscribed.get(c) or {}).get("heartbeat_seconds") is not None
                        for c in CHANNELS)
            ) and body  # fmt: skip

        body = wait_for(ready_with_usage, timeout=30, interval=0.1)
        checks = body["checks"]
        assert checks["worker"]["status"] == "ok"
        assert checks["worker"]["last_heartbeat_seconds"] < 5
        assert checks["salesforce"]["status"] == "ok"
        assert checks["salesforce"]["login"] == "ok"
        assert checks["salesforce"]["api_limit"] == devorg.limits.daily_max
        assert 0 < checks["salesforce"]["api_used"] <= devorg.limits.used
        assert checks["subscriber"]["status"] == "ok"
        assert set(checks["subscriber"]["channels"]) == set(CHANNELS)

        text = _metrics(web)
        assert _sample(text, "salesforce_api_requests_limit") == devorg.limits.daily_max
        assert _sample(text, "salesforce_login_ok") == 1
        # The push's own Account change may queue another push meanwhile: the figure is there.
        assert _sample(text, "outbox_pending_rows") is not None
        assert _sample(text, "worker_heartbeat_age_seconds") < 5
        for channel in CHANNELS:
            age = _sample(text, "subscriber_heartbeat_age_seconds", f'channel="{channel}"')
            assert age is not None and age < 5
    finally:
        worker.shutdown()

    # Stopped: the row says so; once the silence passes WORKER_SILENT_SECONDS, not ready.
    assert _readyz(web)[0] == 200
    clock.ahead = timedelta(seconds=6)
    status, body = _readyz(web)
    assert status == 503
    assert body["checks"]["worker"]["status"] == "failing"
    assert "stopped" in body["checks"]["worker"]["detail"]
    assert body["checks"]["subscriber"]["status"] == "failing"
    assert _sample(_metrics(web), "worker_heartbeat_age_seconds") > 5


def test_refused_login__readyz_fails_naming_the_refusal_and_metrics_say_login_not_ok(
    db, db_url, devorg, sync_settings
):
    engine, factory = db
    refused = sync_settings.with_(client_id="3MVG-no-such-connected-app", heartbeat_seconds=30)
    worker = Worker(engine, factory, refused, subscribe=False, schedule=False, assess=False)
    beat = Heartbeat(factory, "test-host:1", worker.snapshot, 30, worker.stop)

    beat.beat_once()

    web = _web(db_url)
    status, body = _readyz(web)
    assert status == 503
    salesforce = body["checks"]["salesforce"]
    assert salesforce["status"] == "failing"
    assert "login refused" in salesforce["detail"].lower()
    assert body["checks"]["worker"]["status"] == "ok"  # alive, just not let in
    assert _sample(_metrics(web), "salesforce_login_ok") == 0
    key = Path(devorg.env_settings()["SALESFORCE_PRIVATE_KEY"]).read_text()
    assert key.splitlines()[1] not in json.dumps(body)

    # The setting fixed (here: the authenticator's), a later beat tries again and says so.
    worker.auth.settings = sync_settings
    worker._login_tried -= LOGIN_RETRY
    beat.beat_once()
    status, body = _readyz(web)
    assert body["checks"]["salesforce"]["status"] == "ok"
    assert _sample(_metrics(web), "salesforce_login_ok") == 1


def test_no_worker_yet__outbox_backlog_shown_worker_not_configured_unless_an_org_is(db, db_url):
    _, factory = db
    with transaction(factory) as s:
        ids = [make_customer(s, f"B-{n}").id for n in range(3)]
        outbox.queue_for_salesforce(s, ids)
    later = Clock()
    later.ahead = timedelta(minutes=10)

    without_org = _web(db_url, later)
    status, body = _readyz(without_org)
    assert status == 200
    assert body["checks"]["worker"] == {"status": "not configured"}
    assert body["checks"]["outbox"]["pending"] == 3
    assert body["checks"]["outbox"]["oldest_seconds"] >= 600
    text = _metrics(without_org)
    assert _sample(text, "outbox_pending_rows") == 3
    assert _sample(text, "outbox_oldest_pending_seconds") >= 600
    assert _sample(text, "worker_heartbeat_age_seconds") is None

    with_org = _web(db_url, later, SALESFORCE_CLIENT_ID="x", SALESFORCE_AUTH_FLOW="password")
    status, body = _readyz(with_org)
    assert status == 503
    assert "no worker has reported" in body["checks"]["worker"]["detail"]


def _start_worker(env) -> subprocess.Popen:
    exe = Path(sys.executable).parent / "credit-control"
    return subprocess.Popen(
        [str(exe), "worker", "--no-scheduler"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _stop(process: subprocess.Popen, sig: int) -> None:
    process.send_signal(sig)
    try:
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()


@pytest.mark.slow
def test_worker_process_stopped__readyz_fails_within_the_silent_time_and_passes_once_restarted(
    db, db_url, devorg
):
    """The check the issue names: a real ``credit-control worker``, stopped and started again."""
    _, factory = db
    seed_cursors(factory, devorg, CHANNELS)
    silent = 3.0
    web = _web(db_url, WORKER_SILENT_SECONDS=str(silent), **devorg.env_settings())
    env = {
        **os.environ,
        **devorg.env_settings(),
        "DATABASE_URL": db_url,
        "WORKER_HEARTBEAT_SECONDS": "0.5",
        "SALESFORCE_SUBSCRIBER_LEASE_SECONDS": "3",
        "LOG_LEVEL": "WARNING",
    }

    def ready():
        return _readyz(web)[0] == 200

    def not_ready():
        status, body = _readyz(web)
        return status == 503 and body["checks"]["worker"]["status"] == "failing"

    assert _readyz(web)[0] == 503  # the org is configured and no worker has reported
    for stop_with in (signal.SIGKILL, signal.SIGTERM):
        worker = _start_worker(env)
        try:
            wait_for(ready, timeout=60, interval=0.2)
        finally:
            _stop(worker, stop_with)
        # Within the configured silence (and a margin for a loaded machine).
        wait_for(not_ready, timeout=silent + 5, interval=0.1)

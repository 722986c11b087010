"""Faults of the worker's own process and database: SIGKILL mid-push, connections killed.

SIGKILL: ``credit-control worker`` as a real process, killed while it pushes, restarted (the
longer 1,000-Account version with its own checks is tests/salesforce/test_sync_worker_kill.py).
Database connection loss: PostgreSQL terminates the worker's connections mid-run (as a
failover or a restart does); only this test's connections are terminated, found by an
``application_name`` of their own. SQLite has no server connection to lose.
"""

from __future__ import annotations

import os
import secrets
import signal
from decimal import Decimal

import pytest
from sqlalchemy import text

from service.db import make_engine
from tests.reliability import measure
from tests.reliability.scenario import (
    measured,
    open_book,
    payment,
    promise,
    queue_all,
    settle,
    subscribed,
)
from tests.salesforce.sync_helpers import wait_for
from tests.salesforce.test_sync_worker_kill import _start


@pytest.mark.slow
def test_sigkill_mid_push__restart_nothing_lost_or_doubled(db, devorg, sf, sync_settings):
    engine, factory = db
    book = open_book(devorg, sf, factory, sync_settings.channels, 300, prefix="K")
    queue_all(factory, book)
    env = {
        **os.environ,
        **devorg.env_settings(),
        "DATABASE_URL": engine.url.render_as_string(hide_password=False),
        # Short, so the restart need not wait long for the dead claim; not shorter: the living
        # worker's lease must survive its heartbeat being starved of CPU for a few seconds on a
        # loaded test machine, or its own other pusher takes its push over mid-call.
        "SALESFORCE_CLAIM_LEASE_SECONDS": "6",
        "SALESFORCE_RETRY_BASE_SECONDS": "0.1",
        "LOG_LEVEL": "WARNING",
    }
    devorg.faults.latency_ms = 150  # each call takes a while: the kill lands mid-push
    first = _start(env)
    try:
        wait_for(lambda: measure.writes_per_account(devorg, book.mark), timeout=30, interval=0.005)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    written = sum(measure.writes_per_account(devorg, book.mark).values())
    assert 0 < written < len(book.ids), "the kill must land mid-push"
    promise(sf, book, "K0001")  # while no worker runs
    payment(sf, book, "K0002", Decimal("100.00"), "PAY-K2")
    devorg.faults.latency_ms = 0
    second = _start(env)
    try:
        settle(devorg, factory, book.mark, timeout=40)
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            second.wait(20)
        finally:
            if second.poll() is None:
                second.kill()
    tally = measured(devorg, sf, factory, book)
    assert tally.clean, str(tally)


def test_database_connections_killed__reconnects_nothing_lost_or_doubled(
    db, devorg, sf, sync_settings, worker
):
    engine, factory = db
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite: no server connection to lose (the file is opened in-process)")
    name = f"faults_{secrets.token_hex(4)}"
    url = engine.url.update_query_dict({"application_name": name})
    worker_engine = make_engine(url.render_as_string(hide_password=False))
    book = open_book(devorg, sf, factory, sync_settings.channels, 40)
    try:
        worker(engine=worker_engine)
        subscribed(devorg)
        devorg.faults.latency_ms = 50  # pushes take a while: the kill lands mid-run
        queue_all(factory, book)
        promise(sf, book, "R0001")
        killed = _terminate(engine, name)
        payment(sf, book, "R0002", Decimal("400.00"), "PAY-2")
        promise(sf, book, "R0003")
        killed += _terminate(engine, name)
        devorg.faults.latency_ms = 0
        settle(devorg, factory, book.mark, timeout=30)
        assert killed, "no worker connection was terminated"
        tally = measured(devorg, sf, factory, book)
        assert tally.clean, str(tally)
    finally:
        worker_engine.dispose()


def _terminate(engine, application_name: str) -> int:
    """Terminate this test's worker connections (by application_name) and no one else's."""
    with engine.begin() as connection:
        return len(
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name = :name AND pid <> pg_backend_pid()"
                ),
                {"name": application_name},
            ).all()
        )

"""A pull killed mid-way (SIGKILL) resumes after the last page it committed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from sqlalchemy import func, select

from service.connectors import cursors
from service.connectors.sync import run_sync
from service.models import Payment, Receivable
from tests.connectors.conftest import connector


def test_sync__killed_after_a_page_resumes_from_its_cursor(db_url, factory, sap):
    sap.gate.delay = 0.3
    env = {
        **os.environ,
        **sap.basic_env(),
        "SAP_PAGE_SIZE": "2",
        "DATABASE_URL": db_url,
    }
    child = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "sync", "sap"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        stored = None
        while time.monotonic() < deadline and stored is None:
            with factory() as session:
                stored = cursors.position(session, "sap")
            time.sleep(0.05)
        assert stored is not None, "the child committed no page"
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    with factory() as session:
        resumed_from = cursors.position(session, "sap")
        kept = session.scalar(select(func.count()).select_from(Receivable))
    assert resumed_from.get("after"), resumed_from
    assert 0 < kept < 4
    asked = len(sap.gate.filters)
    sap.gate.delay = 0

    report = run_sync(factory, connector(sap, SAP_PAGE_SIZE="2"))

    # The resumed pull starts after the stored item, not at the beginning.
    first = sap.gate.filters[asked]
    with factory() as session:
        assert cursors.position(session, "sap") == {"changed_on": "2026-03-10"}
    assert f"AccountingDocument eq '{resumed_from['after'][2]}'" in first
    assert "AccountingDocumentItem gt" in first
    assert report.counts.problems == []
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Receivable)) == 4
        assert session.scalar(select(func.count()).select_from(Payment)) == 2

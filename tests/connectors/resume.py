"""A pull killed mid-way and what it must leave behind, for every connector.

``kill_mid_pull`` runs ``credit-control sync <erp>`` in a process of its own against the test
database and SIGKILLs it as soon as the cursor it commits with each page shows it is part way
(no shutdown handler runs: the process just stops). ``stored`` is everything a pull stores that
a user sees (customers, receivables, payments and their allocations, each allocation row
counted), and ``uninterrupted`` what one pull of the same ERP stores into a fresh database: a
resumed pull must end with exactly that, nothing lost and nothing doubled.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from service.connectors import cursors
from service.connectors.base import Connector
from service.connectors.sync import run_sync
from service.db import make_engine, make_session_factory
from service.models import Allocation, Customer, Payment, Receivable


def kill_mid_pull(
    erp: str,
    env: dict[str, str],
    db_url: str,
    factory: sessionmaker[Session],
    *,
    part_way: Callable[[dict[str, Any]], bool],
    seconds: float = 90.0,
) -> dict[str, Any]:
    """SIGKILL a ``sync <erp>`` process once its stored cursor is ``part_way``; the cursor left."""
    child = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "sync", erp],
        env={**os.environ, **env, "DATABASE_URL": db_url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + seconds
        while True:
            with factory() as session:
                reached = cursors.position(session, erp) or {}
            if part_way(reached):
                break
            assert child.poll() is None, f"sync {erp} ended (exit {child.returncode}) unkilled"
            assert time.monotonic() < deadline, f"sync {erp} committed no page in {seconds} s"
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL, "the pull ended before the kill"
    with factory() as session:
        left = cursors.position(session, erp)
    assert left is not None
    return left


def stored(factory: sessionmaker[Session]) -> dict[str, Any]:
    """What the pulls stored, without database ids and instants of reading."""
    with factory() as session:
        customers = sorted(
            (c.number, c.name, c.currency, c.source) for c in session.scalars(select(Customer))
        )
        receivables = sorted(
            (r.external_id, r.kind, r.number, r.amount, r.open_amount, r.currency, r.due_date,
             r.is_open)
            for r in session.scalars(select(Receivable))
        )  # fmt: skip
        payments = [
            (payment.external_id, payment.amount, payment.currency, applied(session, payment.id))
            for payment in session.scalars(select(Payment))
        ]
        allocations = session.scalar(select(func.count()).select_from(Allocation))
    return {
        "customers": customers,
        "receivables": receivables,
        "payments": sorted(payments),
        "allocation rows": allocations,
    }


def applied(session: Session, payment_id: int) -> list[tuple[str, Any]]:
    """A payment's allocations as (receivable's ERP id, amount), in order."""
    rows = session.execute(
        select(Receivable.external_id, Allocation.amount)
        .join(Receivable, Receivable.id == Allocation.receivable_id)
        .where(Allocation.payment_id == payment_id)
    ).all()
    return sorted(tuple(row) for row in rows)


def uninterrupted(sqlite_template: Path, tmp_path: Path, connector: Connector) -> dict[str, Any]:
    """What one pull, never killed, stores into a fresh database."""
    path = tmp_path / "uninterrupted.sqlite3"
    shutil.copyfile(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    try:
        factory = make_session_factory(engine)
        report = run_sync(factory, connector)
        assert report.counts.problems == []
        return stored(factory)
    finally:
        engine.dispose()

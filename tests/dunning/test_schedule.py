"""The worker's daily dunning run: once per cluster and day, whichever worker claims it."""

from __future__ import annotations

import threading
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from service.db import transaction
from service.dunning.schedule import DunningScheduler
from service.models import DunningMessage, JobRun
from tests.dunning.seed import TODAY, add_customer, add_invoice
from tests.dunning.test_run import SETTINGS


def test_daily_run__two_workers_one_run(factory):
    with transaction(factory) as session:
        add_invoice(session, add_customer(session, "C-1"), "1", 20, "500.00")
    stop = threading.Event()
    queued: list[str] = []
    first, second = (
        DunningScheduler(factory, SETTINGS, ZoneInfo("UTC"), "08:00", stop, on_queued=lambda n=n: queued.append(n))
        for n in ("first", "second")
    )  # fmt: skip
    assert first.run_daily(TODAY) is True
    assert second.run_daily(TODAY) is False
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(DunningMessage)) == 1
        assert session.scalar(select(JobRun.finished_at)) is not None
    assert queued == ["first"]  # the sender was woken once

"""The daily re-assessment: customers assessed before today are re-assessed and pushed."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from service import job_runs
from service.assessments import Reassessor
from service.assessments.daily import DailyRoll
from service.config import SyncSettings
from service.db import transaction, utcnow
from service.models import Assessment, JobRun, OutboxMessage
from tests.salesforce.sync_helpers import make_customer

STALE = timedelta(minutes=20)


def test_run_due__reassesses_stale_customers_once_and_queues_them(factory):
    with transaction(factory) as s:
        ids = [make_customer(s, f"D{n}").id for n in range(3)]
        for a in s.scalars(select(Assessment)):
            a.as_of = date(2026, 1, 1)  # assessed long ago
    settings = SyncSettings(timezone="Europe/Berlin")
    today = datetime.now(settings.zone).date()
    scheduler = DailyRoll(factory, settings, Reassessor(zone=settings.zone), threading.Event())
    assert scheduler.run_due(today) == 3
    with factory() as s:
        assert {a.as_of for a in s.scalars(select(Assessment))} == {today}
        assert sorted(s.scalars(select(OutboxMessage.target))) == [f"Account:{i}" for i in ids]
    assert scheduler.run_due(today) == 0  # nothing stale any more


def test_run_due__a_customer_that_cannot_be_assessed_does_not_loop(factory):
    with transaction(factory) as s:
        make_customer(s, "STUCK")
    calls = []
    scheduler = DailyRoll(
        factory, SyncSettings(), lambda session, ids: calls.append(ids), threading.Event()
    )
    assert scheduler.run_due(date(2030, 1, 1)) == 1
    assert calls == [[1]]


def test_next_run__at_the_configured_local_time():
    settings = SyncSettings(timezone="Europe/Berlin", reassess_at="02:00")
    scheduler = DailyRoll(None, settings, None, threading.Event())
    nxt = scheduler.next_run(datetime(2026, 11, 23, 12, 0, tzinfo=UTC))
    assert nxt.isoformat() == "2026-11-24T02:00:00+01:00"


def test_two_workers_started_together__the_days_roll_runs_once(factory):
    with transaction(factory) as s:
        ids = [make_customer(s, f"T{n}").id for n in range(5)]
        for a in s.scalars(select(Assessment)):
            a.as_of = date(2026, 1, 1)
    settings = SyncSettings()
    today = date(2030, 1, 1)
    reassessed: list[int] = []
    start = threading.Barrier(2)
    results: list[int] = []

    def reassess(session, customer_ids):
        reassessed.extend(customer_ids)
        for a in session.scalars(select(Assessment).where(Assessment.customer_id.in_(ids))):
            a.as_of = today

    def worker():
        roll = DailyRoll(factory, settings, reassess, threading.Event())
        start.wait()
        results.append(roll.run_due(today))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == [0, 5]
    assert sorted(reassessed) == ids
    with factory() as s:
        run = s.scalars(select(JobRun)).one()
    assert (run.job, run.run_key, run.finished_at is not None) == ("daily-roll", "2030-01-01", True)
    # A worker started later that day (a restart, a scale-up) does not run it again.
    assert DailyRoll(factory, settings, reassess, threading.Event()).run_due(today) == 0
    assert len(reassessed) == 5


def test_a_run_abandoned_mid_way__the_next_worker_takes_it_over(factory):
    with transaction(factory) as s:
        make_customer(s, "A1")
        for a in s.scalars(select(Assessment)):
            a.as_of = date(2026, 1, 1)
    today = date(2030, 1, 1)
    with transaction(factory) as s:  # a worker claimed the day, then died 20 minutes ago
        assert job_runs.start(s, "daily-roll", today.isoformat(), "dead", now=utcnow() - STALE)
    calls = []
    roll = DailyRoll(factory, SyncSettings(), lambda s, ids: calls.append(ids), threading.Event())
    assert roll.run_due(today) == 1
    assert calls == [[1]]

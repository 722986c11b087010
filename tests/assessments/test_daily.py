"""The daily re-assessment: customers assessed before today are re-assessed and pushed."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

from sqlalchemy import select

from service.assessments import Reassessor
from service.assessments.daily import DailyRoll
from service.config import SyncSettings
from service.db import transaction
from service.models import Assessment, OutboxMessage
from tests.salesforce.sync_helpers import make_customer


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

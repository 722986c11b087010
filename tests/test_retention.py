"""Retention: the daily roll deletes old inbox rows, parked events and finished outbox rows.

On SQLite and PostgreSQL: each kind after its own number of days, in bounded batches, and never
an inbox row inside the CometD replay window (72 hours), whatever the setting says.
"""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import event, select

from service import retention
from service.assessments.daily import DailyRoll
from service.config import SyncSettings, salesforce_settings
from service.db import transaction, utcnow
from service.errors import ConfigError
from service.models import InboxMessage, OutboxMessage

DAY = timedelta(days=1)


def _inbox(session, key: str, status: str, age: timedelta) -> None:
    session.add(
        InboxMessage(
            source="salesforce",
            external_id=key,
            kind="event",
            payload={},
            status=status,
            received_at=utcnow() - age,
        )
    )


def _outbox(session, target: str, status: str, age: timedelta) -> None:
    then = utcnow() - age
    session.add(
        OutboxMessage(
            kind="account",
            target=target,
            payload={},
            status=status,
            attempts=1,
            available_at=then,
            created_at=then - DAY,
            sent_at=then if status == "sent" else None,
        )
    )


def _seed(factory) -> None:
    with transaction(factory) as s:
        _inbox(s, "processed-31d", "processed", 31 * DAY)
        _inbox(s, "processed-29d", "processed", 29 * DAY)
        _inbox(s, "parked-91d", "failed", 91 * DAY)
        _inbox(s, "parked-89d", "failed", 89 * DAY)
        _outbox(s, "sent-8d", "sent", 8 * DAY)
        _outbox(s, "sent-6d", "sent", 6 * DAY)
        _outbox(s, "dead-91d", "dead", 91 * DAY)
        _outbox(s, "unmatched-91d", "unmatched", 91 * DAY)
        _outbox(s, "dead-89d", "dead", 89 * DAY)
        _outbox(s, "pending-200d", "pending", 200 * DAY)  # still to push: never pruned


def _left(factory) -> tuple[set[str], set[str]]:
    with factory() as s:
        return (
            set(s.scalars(select(InboxMessage.external_id))),
            set(s.scalars(select(OutboxMessage.target))),
        )


def test_each_kind_is_kept_for_its_retention_then_deleted(factory):
    _seed(factory)
    deleted = retention.prune(factory, SyncSettings())
    assert deleted == {"inbox": 1, "parked": 1, "outbox_sent": 1, "outbox_dead": 2}
    assert _left(factory) == (
        {"processed-29d", "parked-89d"},
        {"sent-6d", "dead-89d", "pending-200d"},
    )


def test_retention_is_configurable(factory):
    _seed(factory)
    settings = SyncSettings(
        retention_inbox_days=40,
        retention_parked_days=10,
        retention_outbox_sent_days=5,
        retention_outbox_dead_days=100,
    )
    retention.prune(factory, settings)
    assert _left(factory) == (
        {"processed-31d", "processed-29d"},
        {"dead-91d", "unmatched-91d", "dead-89d", "pending-200d"},
    )


def test_inbox_rows_inside_the_replay_window_are_never_deleted(factory):
    with transaction(factory) as s:
        _inbox(s, "processed-4d", "processed", 4 * DAY)
        _inbox(s, "processed-71h", "processed", timedelta(hours=71))
        _inbox(s, "parked-71h", "failed", timedelta(hours=71))
    # Below the floor the configuration refuses (built directly, unvalidated, to reach the code).
    retention.prune(factory, SyncSettings(retention_inbox_days=1, retention_parked_days=1))
    assert _left(factory)[0] == {"processed-71h", "parked-71h"}


def test_rows_are_deleted_in_bounded_batches(db):
    engine, factory = db
    with transaction(factory) as s:
        for n in range(7):
            _inbox(s, f"old-{n}", "processed", 40 * DAY)
            _outbox(s, f"sent-{n}", "sent", 40 * DAY)
    deletes: list[int] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("DELETE"):
            deletes.append(cursor.rowcount)

    event.listen(engine, "after_cursor_execute", count)
    try:
        deleted = retention.prune(factory, SyncSettings(), batch=3)
    finally:
        event.remove(engine, "after_cursor_execute", count)
    assert deleted["inbox"] == 7 and deleted["outbox_sent"] == 7
    assert sorted(deletes) == [1, 1, 3, 3, 3, 3]  # 3 + 3 + 1 for each table, never more than 3
    assert _left(factory) == (set(), set())


def test_the_daily_roll_prunes(factory):
    _seed(factory)
    roll = DailyRoll(factory, SyncSettings(), lambda s, ids: None, threading.Event())
    roll.run_due(date(2030, 1, 1))
    assert _left(factory)[0] == {"processed-29d", "parked-89d"}


def test_settings__defaults_read_and_the_replay_window_enforced():
    base = {"SALESFORCE_CLIENT_ID": "id", "SALESFORCE_CLIENT_SECRET": "secret"}
    defaults = salesforce_settings(base)
    assert (
        defaults.retention_inbox_days,
        defaults.retention_outbox_sent_days,
        defaults.retention_outbox_dead_days,
        defaults.retention_parked_days,
    ) == (30, 7, 90, 90)
    assert salesforce_settings({**base, "RETENTION_INBOX_DAYS": "3"}).retention_inbox_days == 3
    with pytest.raises(ConfigError, match="RETENTION_INBOX_DAYS"):
        salesforce_settings({**base, "RETENTION_INBOX_DAYS": "2"})
    with pytest.raises(ConfigError, match="RETENTION_OUTBOX_DEAD_DAYS"):
        salesforce_settings({**base, "RETENTION_OUTBOX_DEAD_DAYS": "soon"})

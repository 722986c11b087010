"""Duplicate delivery of CometD events: the same events delivered again are dropped.

Salesforce delivers at least once: a subscriber that resumes from an older replay id (its
cursor was lost with a crash between handling and storing it, a restored database backup, two
workers replaying) gets events it has already handled. Here a second worker starts from the
replay id before everything the first one handled; the inbox must turn every repeat into a
no-op: no action or payment stored twice, no Account written again, no balance lowered twice.
"""

from __future__ import annotations

from decimal import Decimal

from service.db import transaction
from service.models import StreamCursor
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


def test_duplicate_delivery__repeats_dropped_nothing_lost_or_doubled(
    db, devorg, sf, sync_settings, worker
):
    _engine, factory = db
    book = open_book(devorg, sf, factory, sync_settings.channels, 10)
    first = worker()
    subscribed(devorg)
    queue_all(factory, book)
    promise(sf, book, "R0001")
    promise(sf, book, "R0002")
    payment(sf, book, "R0003", Decimal("400.00"), "PAY-3")
    payment(sf, book, "R0004", Decimal("250.00"), "PAY-4")
    # A review request is answered with a status event even when nothing changed: handled
    # again, it would be answered again.
    sf.rest("POST", "sobjects/Credit_Review_Request__e", {"Account_Id__c": book.accounts["R0005"]})
    book.allow_write("R0005")
    settle(devorg, factory, book.mark)
    first.shutdown(timeout=5)
    before = measure.writes_per_account(devorg, book.mark)
    restart = devorg.bus.last_replay_id()

    redelivered = sum(
        len(measure.org_events(devorg, channel, book.mark)) for channel in sync_settings.channels
    )
    with transaction(factory) as s:  # as if every cursor had been lost
        for channel in sync_settings.channels:
            s.merge(StreamCursor(channel=channel, replay_id=book.mark))
    second = worker()
    wait_for(lambda: second.subscriber.handled >= redelivered, timeout=15)
    settle(devorg, factory, book.mark)

    assert measure.writes_per_account(devorg, book.mark) == before, "repeats wrote Accounts"
    tally = measured(devorg, sf, factory, book)
    again = measure.org_events(devorg, measure.STATUS_EVENT, restart)
    tally.doubled.extend(f"status event published again: {e.data['payload']}" for e in again)
    assert tally.clean, str(tally)

"""Faults of the org's REST API and of its streaming endpoint, each measured lost 0, doubled 0.

A book of customers is pushed to devorg while the fault is on, and promises and payments are
logged in the org meanwhile; a real Worker (threads) does the work. Each test asserts that the
fault was really met, then that nothing was lost and nothing doubled (tests/reliability/measure).
"""

from __future__ import annotations

from decimal import Decimal

from devorg.cometd import streaming_for

from tests.reliability.scenario import (
    measured,
    open_book,
    payment,
    promise,
    queue_all,
    settle,
    subscribed,
)

N = 30


def _events(sf, book) -> None:
    """Two promises and two payments, logged in the org while the fault may still be on."""
    promise(sf, book, "R0001")
    promise(sf, book, "R0002")
    payment(sf, book, "R0003", Decimal("400.00"), "PAY-3")
    payment(sf, book, "R0004", Decimal("1000.00"), "PAY-4")


def test_token_revoked__sessions_renewed_nothing_lost_or_doubled(
    db, devorg, sf, sync_settings, worker
):
    _engine, factory = db
    book = open_book(devorg, sf, factory, sync_settings.channels, N)
    w = worker()
    subscribed(devorg)
    logins = w.auth.logins
    devorg.revoke_sessions()  # the worker's tokens die: REST 401 and /cometd 401::Authentication invalid
    sf.reauthenticate()
    queue_all(factory, book)
    _events(sf, book)
    settle(devorg, factory, book.mark)
    assert w.auth.logins > logins, "the revoked token was never met"
    tally = measured(devorg, sf, factory, book)
    assert tally.clean, str(tally)


def test_unknown_client__rehandshake_nothing_lost_or_doubled(db, devorg, sf, sync_settings, worker):
    _engine, factory = db
    book = open_book(devorg, sf, factory, sync_settings.channels, N)
    w = worker()
    subscribed(devorg)
    handshakes = w.subscriber.bayeux.stats["handshakes"]
    streaming_for(devorg).drop_clients()  # next /meta/connect: 403::Unknown client
    _events(sf, book)
    queue_all(factory, book)
    settle(devorg, factory, book.mark)
    assert w.subscriber.bayeux.stats["handshakes"] > handshakes, "403::Unknown client not met"
    tally = measured(devorg, sf, factory, book)
    assert tally.clean, str(tally)


def test_unable_to_lock_row__rows_retried_nothing_lost_or_doubled(
    db, devorg, sf, sync_settings, worker
):
    _engine, factory = db
    book = open_book(devorg, sf, factory, sync_settings.channels, N)
    locked = [book.accounts[f"R{i:04}"] for i in range(0, N, 3)]
    # Each locked Account refuses its next two writes: per-record UNABLE_TO_LOCK_ROW inside a
    # 200-record composite update whose other records succeed.
    devorg.faults.lock_records(locked, times=2)
    worker()
    subscribed(devorg)
    queue_all(factory, book)
    _events(sf, book)
    settle(devorg, factory, book.mark)
    left = devorg.faults.describe()["locked_records"]
    assert all(times < 2 for times in left.values()), f"the locks were never met: {left}"
    tally = measured(devorg, sf, factory, book)
    assert tally.clean, str(tally)


def test_request_limit_exceeded__waits_then_nothing_lost_or_doubled(
    db, devorg, sf, sync_settings, worker
):
    _engine, factory = db
    book = open_book(devorg, sf, factory, sync_settings.channels, N)
    worker()
    subscribed(devorg)
    _events(sf, book)
    devorg.faults.fail_next(4, "REQUEST_LIMIT_EXCEEDED")  # 403 on the next four API calls
    queue_all(factory, book)
    settle(devorg, factory, book.mark)
    assert not devorg.faults.describe()["fail_next"], "the refusals were never met"
    tally = measured(devorg, sf, factory, book)
    assert tally.clean, str(tally)


def test_503_storm__retried_nothing_lost_or_doubled(db, devorg, sf, sync_settings, worker):
    _engine, factory = db
    book = open_book(devorg, sf, factory, sync_settings.channels, N)
    worker()
    subscribed(devorg)
    _events(sf, book)
    # The next 25 REST and OAuth calls answer 503 SERVER_UNAVAILABLE: the event handlers'
    # reads, the pushes and any login meet it.
    devorg.faults.fail_next(25, "503")
    queue_all(factory, book)
    settle(devorg, factory, book.mark, timeout=30)
    assert not devorg.faults.describe()["fail_next"], "the storm was never met"
    tally = measured(devorg, sf, factory, book)
    assert tally.clean, str(tally)

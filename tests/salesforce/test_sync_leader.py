"""One active subscriber per org: a lease row on SQLite, an advisory lock on PostgreSQL."""

from __future__ import annotations

import time

import pytest

from service.salesforce.leader import Leadership
from tests.salesforce.sync_helpers import wait_for


def test_lease__one_holder_renewal_and_takeover_after_expiry(db):
    engine, factory = db
    a = Leadership(engine, factory, holder="worker-a", lease_seconds=0.5)
    b = Leadership(engine, factory, holder="worker-b", lease_seconds=0.5)
    assert a.acquire() is True
    assert b.acquire() is False
    assert a.renew() is True
    if engine.dialect.name == "postgresql":
        # a died: its session, and with it the advisory lock, is gone once the server has seen
        # the connection close (its backend ends a moment after the socket does).
        a._conn.invalidate()
        assert wait_for(b.acquire, timeout=5) is True
    else:
        time.sleep(0.6)  # a died without renewing
        assert b.acquire() is True
    assert a.renew() is False and a.is_leader is False
    b.release()


def test_release__lets_the_next_worker_in_at_once(db):
    engine, factory = db
    a = Leadership(engine, factory, holder="worker-a", lease_seconds=60)
    b = Leadership(engine, factory, holder="worker-b", lease_seconds=60)
    assert a.acquire()
    a.release()
    assert b.acquire()
    b.release()


def test_lost_lock_connection__the_next_acquire_opens_a_new_one(db):
    engine, factory = db
    if engine.dialect.name != "postgresql":
        pytest.skip("the advisory lock's connection is PostgreSQL's")
    a = Leadership(engine, factory, holder="worker-a", lease_seconds=60)
    assert a.acquire()
    a._conn.invalidate()  # the server or the network dropped it
    assert a.renew() is False and a.is_leader is False
    assert a.acquire() is True  # a new connection, the lock taken again
    assert a.renew() is True
    a.release()

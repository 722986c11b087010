"""One active subscriber per org: the SQLite lease (PostgreSQL uses an advisory lock)."""

from __future__ import annotations

import time

from service.salesforce.leader import Leadership


def test_lease__one_holder_renewal_and_takeover_after_expiry(db):
    engine, factory = db
    a = Leadership(engine, factory, holder="worker-a", lease_seconds=0.5)
    b = Leadership(engine, factory, holder="worker-b", lease_seconds=0.5)
    assert a.acquire() is True
    assert b.acquire() is False
    assert a.renew() is True
    time.sleep(0.6)  # a died without renewing
    assert b.acquire() is True
    assert a.renew() is False and a.is_leader is False


def test_release__lets_the_next_worker_in_at_once(db):
    engine, factory = db
    a = Leadership(engine, factory, holder="worker-a", lease_seconds=60)
    b = Leadership(engine, factory, holder="worker-b", lease_seconds=60)
    assert a.acquire()
    a.release()
    assert b.acquire()

"""SQLite's write lock is handed over in arrival order among the threads of one process.

The worker's subscriber, pushers and assessor all write through one SQLite file. Left to
SQLite's busy handler (sleeps growing to 100 ms), a thread that had waited long kept losing the
lock to newcomers: pushers waited over a second behind back-to-back event batches. service.db
queues the process's writers at a gate in front of ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from service.db import make_engine, make_session_factory, sqlite_writer_gate, transaction


@pytest.fixture
def sqlite(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'gate.sqlite3'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (name TEXT)"))
    yield engine, make_session_factory(engine)
    engine.dispose()


def _wait_until(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.005)


def _write(factory, name: str) -> None:
    with transaction(factory) as s:
        s.execute(text("INSERT INTO t (name) VALUES (:n)"), {"n": name})


def test_gate__waiting_writers_get_the_lock_in_arrival_order(sqlite):
    engine, factory = sqlite
    gate = sqlite_writer_gate(engine)
    holding, release = threading.Event(), threading.Event()

    def holder():
        with transaction(factory) as s:
            s.execute(text("SELECT 1"))
            holding.set()
            release.wait(10)

    threads = [threading.Thread(target=holder)]
    threads[0].start()
    assert holding.wait(10)
    for i, name in enumerate(["first", "second", "third", "fourth"]):
        thread = threading.Thread(target=_write, args=(factory, name))
        thread.start()
        threads.append(thread)
        _wait_until(lambda n=i + 1: gate.waiting() == n)
    release.set()
    for thread in threads:
        thread.join(10)

    with factory() as s:
        order = s.execute(text("SELECT name FROM t ORDER BY rowid")).scalars().all()
    assert order == ["first", "second", "third", "fourth"]
    assert gate.waiting() == 0


def test_gate__given_back_when_the_transaction_fails(sqlite):
    _, factory = sqlite

    with pytest.raises(RuntimeError):
        with transaction(factory) as s:
            s.execute(text("INSERT INTO t (name) VALUES ('rolled back')"))
            raise RuntimeError("handler failed")
    other = threading.Thread(target=_write, args=(factory, "next"))
    other.start()
    other.join(10)

    assert not other.is_alive()
    with factory() as s:
        assert s.execute(text("SELECT name FROM t")).scalars().all() == ["next"]


def test_gate__second_transaction_in_one_thread_fails_as_sqlite_says_not_hangs(tmp_path):
    engine = make_engine(
        f"sqlite:///{tmp_path / 'nested.sqlite3'}",
        connect_args={"timeout": 0.1, "check_same_thread": False},
    )
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (name TEXT)"))
    factory = make_session_factory(engine)
    try:
        with transaction(factory) as outer:
            outer.execute(text("SELECT 1"))
            with pytest.raises(OperationalError, match="database is locked"):
                with transaction(factory) as inner:
                    inner.execute(text("SELECT 1"))
        other = threading.Thread(target=_write, args=(factory, "after"))
        other.start()
        other.join(10)
        assert not other.is_alive()
        assert sqlite_writer_gate(engine).waiting() == 0
    finally:
        engine.dispose()

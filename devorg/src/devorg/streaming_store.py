"""Durable storage of retained streaming events in the devorg ``--state`` SQLite file.

Salesforce keeps high-volume platform events and change events for 72 hours and a subscriber
may come back with a replay id from before an emulator restart.  So that ``--state`` means the
same thing for events as for records, retained events and the replay-id sequence live in their
own tables of that file.  stdlib ``sqlite3`` is enough: one writer (the bus, under its lock),
a handful of rows per transaction.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS devorg_stream_event (
    replay_id  INTEGER PRIMARY KEY,
    channel    TEXT NOT NULL,
    created_at REAL NOT NULL,
    data       TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS devorg_stream_meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""


class EventStore:
    """Rows of ``(replay_id, channel, created_at, data-json)`` plus named counters.

    Reads (:meth:`load`, :meth:`counter`) happen at start-up, before any write; after that one
    writer thread owns the connection and commits whatever has queued up, in order.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, timeout=10)
        # WAL + NORMAL, and group commit in a writer thread: publishing must not wait for the
        # disk, or the emulator could not take the 1,000 events/s the design promises.
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._db.commit()
        self._cond = threading.Condition()
        self._rows: list[tuple[int, str, float, str]] = []
        self._counters: dict[str, int] = {}
        self._prune_before: float | None = None
        self._busy = False  # the writer holds a batch not yet committed
        self._closing = False
        self._writer = threading.Thread(target=self._write_loop, name="devorg-events", daemon=True)
        self._writer.start()

    def load(self, not_before: float) -> Iterator[tuple[int, str, float, str]]:
        """Yield retained rows in replay-id order, dropping those older than ``not_before``."""
        self._db.execute("DELETE FROM devorg_stream_event WHERE created_at < ?", (not_before,))
        self._db.commit()
        yield from self._db.execute(
            "SELECT replay_id, channel, created_at, data FROM devorg_stream_event "
            "ORDER BY replay_id"
        )

    def counter(self, key: str, default: int) -> int:
        row = self._db.execute(
            "SELECT value FROM devorg_stream_meta WHERE key = ?", (key,)
        ).fetchone()
        return int(row[0]) if row else default

    def save(self, rows: list[tuple[int, str, float, str]], counters: dict[str, int]) -> None:
        """Queue events (data already JSON) and counters for the writer thread.

        Publishing answers ``OPERATION_ENQUEUED`` on Salesforce too: an event is accepted
        before it is durable.  Group commit keeps a burst of publishes from paying one SQLite
        commit each; :meth:`flush` and :meth:`close` wait for the disk.
        """
        with self._cond:
            self._rows.extend(rows)
            self._counters.update(counters)
            self._cond.notify()

    def prune(self, not_before: float) -> None:
        with self._cond:
            self._prune_before = max(self._prune_before or 0.0, not_before)
            self._cond.notify()

    def flush(self) -> None:
        """Return once everything queued so far is committed."""
        with self._cond:
            self._cond.notify()
            while self._pending() and self._writer.is_alive():
                self._cond.wait(0.5)

    def close(self) -> None:
        self.flush()
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._writer.join(10)
        self._db.close()

    def _write_loop(self) -> None:
        while True:
            with self._cond:
                while not (self._pending() or self._closing):
                    self._cond.wait()
                if self._closing and not self._pending():
                    return
                rows, self._rows = self._rows, []
                counters, self._counters = self._counters, {}
                prune, self._prune_before = self._prune_before, None
                self._busy = True
            with self._db:
                if rows:
                    self._db.executemany(
                        "INSERT INTO devorg_stream_event (replay_id, channel, created_at, data) "
                        "VALUES (?, ?, ?, ?)",
                        rows,
                    )
                if counters:
                    self._db.executemany(
                        "INSERT INTO devorg_stream_meta (key, value) VALUES (?, ?) "
                        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                        list(counters.items()),
                    )
                if prune is not None:
                    self._db.execute(
                        "DELETE FROM devorg_stream_event WHERE created_at < ?", (prune,)
                    )
            with self._cond:
                self._busy = False
                self._cond.notify_all()

    def _pending(self) -> bool:
        return bool(self._rows or self._counters or self._busy) or self._prune_before is not None

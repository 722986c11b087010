"""Helpers for the big batches of a statement import: phase timings and a paused collector.

A statement import and its cash application run as one call; its report says where the time
went (parse, store, open book, matching, writes, re-assessment) so a slow import can be read
from its log line, and ``bench.cash_application`` prints the same figures. CPU time is this
process's, the steadier figure on a shared machine.

Python's cyclic garbage collector runs whenever enough objects were allocated, and each full
pass walks every live object: with a million open items and 100,000 parsed transactions alive,
the passes cost much and find next to nothing (these objects are freed by reference counting).
``collector_paused`` turns it off for the batch; memory held by a cycle is freed when it is back
on (docs/adr/0021).
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

_lock = threading.Lock()
# How many blocks are pausing the collector, and whether it was on before the first began.
_pause = {"blocks": 0, "was_enabled": True}


class Clock:
    """Laps of wall and CPU time since the last lap (or since it was made)."""

    def __init__(self) -> None:
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def lap(self) -> tuple[float, float]:
        """(wall seconds, CPU seconds) since the last lap; starts the next one."""
        wall, cpu = time.perf_counter(), time.process_time()
        out = (wall - self._wall, cpu - self._cpu)
        self._wall, self._cpu = wall, cpu
        return out


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic collector off while the block runs (nested and concurrent blocks share one
    pause; it is back on when the last ends, unless it was off before the first began)."""
    with _lock:
        if _pause["blocks"] == 0:
            _pause["was_enabled"] = gc.isenabled()
            gc.disable()
        _pause["blocks"] += 1
    try:
        yield
    finally:
        with _lock:
            _pause["blocks"] -= 1
            if _pause["blocks"] == 0 and _pause["was_enabled"]:
                gc.enable()


@contextmanager
def driver_errors_wrapped(session: Session) -> Iterator[None]:
    """A unique or foreign key violation of rows written past SQLAlchemy (``service.bulk``'s
    ``COPY``) raised as SQLAlchemy's ``IntegrityError``, as an ORM write would raise it: the
    import retries on that (two imports of one file at once)."""
    driver = session.get_bind().dialect.loaded_dbapi
    try:
        yield
    except driver.IntegrityError as error:
        raise IntegrityError("bulk write", None, error) from error

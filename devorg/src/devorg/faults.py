"""Faults on demand: what a real org does to a client on a bad day, switched on by tests.

- ``fail_next(n, kind)``: the next n REST/OAuth requests answer 503 (``SERVER_UNAVAILABLE``) or
  403 ``REQUEST_LIMIT_EXCEEDED``.
- ``lock_records(ids, times)``: writes to those records fail with ``UNABLE_TO_LOCK_ROW``
  (in collections as a per-record error), ``times`` attempts each (None: until cleared).
- ``latency_ms``: added before every answer.
Sessions are expired or revoked through ``Auth``; streaming faults belong to the bus.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from .ids import normalize

FAIL_KINDS = ("503", "REQUEST_LIMIT_EXCEEDED")


@dataclass
class Faults:
    latency_ms: float = 0.0
    _fail_queue: list[str] = field(default_factory=list)
    _locked: dict[str, int | None] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, count: int, kind: str = "503") -> None:
        if kind not in FAIL_KINDS:
            raise ValueError(f"kind must be one of {FAIL_KINDS}")
        with self._lock:
            self._fail_queue.extend([kind] * count)

    def take_failure(self) -> str | None:
        with self._lock:
            return self._fail_queue.pop(0) if self._fail_queue else None

    def lock_records(self, record_ids, times: int | None = None) -> None:
        with self._lock:
            for rid in record_ids:
                self._locked[normalize(rid) or rid] = times

    def unlock_records(self) -> None:
        with self._lock:
            self._locked.clear()

    def is_locked(self, record_id: str) -> bool:
        """True if a write to ``record_id`` must fail now (spends one of its ``times``)."""
        with self._lock:
            if record_id not in self._locked:
                return False
            remaining = self._locked[record_id]
            if remaining is None:
                return True
            if remaining <= 0:
                del self._locked[record_id]
                return False
            self._locked[record_id] = remaining - 1
            if remaining - 1 <= 0:
                del self._locked[record_id]
            return True

    def clear(self) -> None:
        with self._lock:
            self.latency_ms = 0.0
            self._fail_queue.clear()
            self._locked.clear()

    def describe(self) -> dict:
        with self._lock:
            return {
                "latency_ms": self.latency_ms,
                "fail_next": list(self._fail_queue),
                "locked_records": dict(self._locked),
            }

"""Request counts by route, so a test can measure how many API calls a push costs."""

from __future__ import annotations

import threading
from collections import Counter


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()

    def count(self, route: str) -> None:
        with self._lock:
            self.requests[route] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.requests)

    def total(self, prefix: str = "") -> int:
        with self._lock:
            return sum(n for route, n in self.requests.items() if prefix in route)

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()

"""Phase timings of an import: wall and CPU seconds, reported and logged beside the counts.

A statement import and its cash application run as one call; its report says where the time
went (parse, store, open book, matching, writes, re-assessment) so a slow import can be read
from its log line, and ``bench.cash_application`` prints the same figures. CPU time is this
process's, the steadier figure on a shared machine.
"""

from __future__ import annotations

import time


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

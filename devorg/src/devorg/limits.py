"""The org's daily API allowance, as ``/limits`` and ``Sforce-Limit-Info`` report it.

Every authenticated REST call spends one request. When the allowance is spent, calls are
refused with ``403 REQUEST_LIMIT_EXCEEDED`` (``TotalRequests Limit exceeded.``) until ``reset``.
"""

from __future__ import annotations

import threading


class ApiLimits:
    def __init__(self, daily_max: int = 15000) -> None:
        self.daily_max = daily_max
        self.used = 0
        self._lock = threading.Lock()

    def spend(self) -> bool:
        """Count one call. False when the allowance was already spent (the call is refused)."""
        with self._lock:
            if self.used >= self.daily_max:
                return False
            self.used += 1
            return True

    @property
    def remaining(self) -> int:
        return max(self.daily_max - self.used, 0)

    def header(self) -> str:
        return f"api-usage={self.used}/{self.daily_max}"

    def reset(self, daily_max: int | None = None) -> None:
        with self._lock:
            self.used = 0
            if daily_max is not None:
                self.daily_max = daily_max

    def exhaust(self) -> None:
        with self._lock:
            self.used = self.daily_max

    def body(self, extra: dict | None = None) -> dict:
        """The ``/limits`` document (a representative subset of what an org reports)."""

        def pair(mx: int, remaining: int) -> dict:
            return {"Max": mx, "Remaining": remaining}

        doc = {
            "ConcurrentAsyncGetReportInstances": pair(200, 200),
            "ConcurrentSyncReportRuns": pair(20, 20),
            "DailyApiRequests": pair(self.daily_max, self.remaining),
            "DailyAsyncApexExecutions": pair(250000, 250000),
            "DailyBulkApiBatches": pair(15000, 15000),
            "DailyBulkV2QueryFileStorageMB": pair(1048576, 1048576),
            "DailyBulkV2QueryJobs": pair(10000, 10000),
            "DailyDeliveredPlatformEvents": pair(50000, 50000),
            "DailyStreamingApiEvents": pair(1000000, 1000000),
            "DataStorageMB": pair(1024, 1024),
            "FileStorageMB": pair(1024, 1024),
            "HourlyPublishedPlatformEvents": pair(250000, 250000),
            "HourlyPublishedStandardVolumePlatformEvents": pair(100000, 100000),
            "MonthlyPlatformEventsUsageEntitlement": pair(0, 0),
            "PermissionSets": {"Max": 1500, "Remaining": 1497, "CreateCustom": pair(1000, 997)},
            "SingleEmail": pair(5000, 5000),
            "StreamingApiConcurrentClients": pair(2000, 2000),
        }
        if extra:
            doc.update(extra)
        return dict(sorted(doc.items()))

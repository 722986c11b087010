"""The worker's connector loop: each configured ERP pulled every ``<ERP>_SYNC_MINUTES``, and
reconciled in full once a day (the first run after midnight UTC), once per cluster; a push
notification recorded since the last pull (``<erp>:notified``, Business Central's webhooks)
runs an incremental pull at the loop's next turn (within 30 s). The very
first run is an incremental pull from the beginning, which brings the history too (settled
items and payments the reconciliation of open items would not).

Every worker runs this loop; each run is elected through ``service.job_runs`` (job
``connector:<erp>``, run key ``full:<day>`` or ``<day>T<hh:mm>`` of its slot), so one worker runs
it and the others skip it. The run's heartbeat is beaten after each page; a worker that loses
its run (it stalled past ``job_runs.STALE_AFTER`` and another took over) stops after the page in
hand. A failed run is logged and tried again at the next slot; what it stored stays stored, and
the cursor resumes after its last committed page.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from service import job_runs
from service.config import ErpSettings
from service.connectors import cursors
from service.connectors.base import Connector
from service.connectors.registry import build
from service.connectors.run import run_connector
from service.db import transaction, utcnow
from service.models import ConnectorCursor, JobRun

log = logging.getLogger(__name__)


class ConnectorLoop:
    def __init__(
        self,
        factory: sessionmaker[Session],
        connectors: list[tuple[Connector, int]],
        stop: threading.Event,
    ) -> None:
        self.factory = factory
        self.connectors = connectors  # (connector, minutes between pulls)
        self.stop = stop
        self.busy = threading.Lock()
        self.holder = f"{threading.current_thread().name}:{uuid.uuid4().hex[:12]}"

    def run(self) -> None:
        while not self.stop.is_set():
            for connector, minutes in self.connectors:
                if self.stop.is_set():
                    return
                self.run_due(connector, minutes)
            if self.stop.wait(30.0):
                return

    def _notified_since_last_pull(self, connector: Connector) -> str | None:
        """The instant of a push notification newer than the last pull, if any."""
        with self.factory() as session:
            notified = session.get(ConnectorCursor, f"{connector.name}:notified")
            pulled = session.get(ConnectorCursor, connector.name)
            if notified is None or (
                pulled is not None and pulled.updated_at >= notified.updated_at
            ):
                return None
            at = notified.updated_at.strftime("%Y-%m-%dT%H:%M:%S.%f")
            # Already pulled for it (and nothing changed since): back to the slots.
            if session.get(JobRun, (f"connector:{connector.name}", f"notified:{at}")):
                return None
        return at

    def run_due(self, connector: Connector, minutes: int, now: datetime | None = None) -> bool:
        """Run the connector's due slot if this worker claims it; True when it ran."""
        now = now or utcnow()
        job = f"connector:{connector.name}"
        with self.factory() as session:
            started = cursors.position(session, connector.name) is not None
            last_full = cursors.full_at(session, connector.name)
        # The first run reads everything (history too); after it, one full run a day.
        full = started and (last_full is None or last_full.date() < now.date())
        if full:
            key = f"full:{now.date().isoformat()}"
        elif notified := self._notified_since_last_pull(connector):
            key = f"notified:{notified}"  # a webhook said something changed: pull now
        else:
            slot = now.replace(second=0, microsecond=0)
            slot -= timedelta(minutes=(slot.hour * 60 + slot.minute) % minutes)
            key = slot.strftime("%Y-%m-%dT%H:%M")
        with transaction(self.factory) as session:
            if not job_runs.start(session, job, key, self.holder, now):
                return False

        def keep_going() -> bool:
            if self.stop.is_set():
                return False
            with transaction(self.factory) as session:
                return job_runs.beat(session, job, key, self.holder)

        try:
            with self.busy:
                report = run_connector(self.factory, connector, full=full, keep_going=keep_going)
            for line in report.lines():
                log.info("%s", line)
            if not report.sync.stopped:
                with transaction(self.factory) as session:
                    job_runs.finish(session, job, key, self.holder)
        except Exception:
            log.exception("connector %s: run %s failed", connector.name, key)
        return True


def connector_loop(
    factory: sessionmaker[Session], stop: threading.Event, erps: Mapping[str, ErpSettings]
) -> ConnectorLoop | None:
    """The loop over the configured ERPs (``Config.erps``), or None when there are none."""
    connectors: list[tuple[Connector, int]] = [
        (build(name, settings), settings.sync_minutes) for name, settings in erps.items()
    ]
    return ConnectorLoop(factory, connectors, stop) if connectors else None

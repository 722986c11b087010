"""Retention: old inbox rows, parked events and finished outbox rows are deleted, a batch at a time.

Run by the daily roll (``service/assessments/daily.py``). Each kind has its own retention in
days (``SyncSettings.retention_*``, from ``RETENTION_*`` variables; defaults and reasons in
docs/reliability.md). Rows are deleted oldest first, ``BATCH`` per transaction, so no statement
holds locks over a whole table and the pushers and subscriber keep working in between. Inbox
rows (parked ones too) younger than the CometD replay window are never deleted: a redelivered
event is recognised only by its inbox row.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from service import inbox, outbox
from service.config import SyncSettings
from service.db import transaction, utcnow

log = logging.getLogger(__name__)

BATCH = 1000


def prune(
    factory: sessionmaker[Session],
    settings: SyncSettings,
    stop: threading.Event | None = None,
    *,
    now: datetime | None = None,
    batch: int = BATCH,
) -> dict[str, int]:
    """Delete what is past its retention; returns the rows deleted per kind."""
    now = now or utcnow()

    def days(n: int) -> datetime:
        return now - timedelta(days=n)

    kinds: dict[str, Callable[[Session], int]] = {
        "inbox": lambda s: inbox.prune(
            s, [inbox.PROCESSED], days(settings.retention_inbox_days), now=now, limit=batch
        ),
        "parked": lambda s: inbox.prune(
            s, inbox.PARKED_STATES, days(settings.retention_parked_days), now=now, limit=batch
        ),
        "outbox_sent": lambda s: outbox.prune(
            s, [outbox.SENT], days(settings.retention_outbox_sent_days), limit=batch
        ),
        "outbox_dead": lambda s: outbox.prune(
            s, outbox.FAILED_STATES, days(settings.retention_outbox_dead_days), limit=batch
        ),
    }
    deleted = dict.fromkeys(kinds, 0)
    for kind, one_batch in kinds.items():
        while not (stop and stop.is_set()):
            with transaction(factory) as session:
                n = one_batch(session)
            deleted[kind] += n
            if n < batch:
                break
    if any(deleted.values()):
        log.info("retention: deleted %s", " ".join(f"{k}={v}" for k, v in deleted.items()))
    return deleted

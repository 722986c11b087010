"""Replay-id gaps: what the subscriber recovered, and what it could not, kept for the operator.

When the org rejects a stored replay id, the events of the gap are gone from the org. The
subscriber re-reads the records behind the change-event channels; platform events cannot be
read again. Each gap is recorded as one inbox row (source ``salesforce``, external id
``gap:<channel>:<replay id>:<start>``, kind = the channel) with status ``reconciled`` (fully
recovered) or ``unrecoverable`` (events of the window may be lost; ``error`` says which), and
its payload holds the window and the counts. ``credit-control stream gaps`` lists them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.inbox import record_once
from service.models import InboxMessage

SOURCE = "salesforce"
PREFIX = "gap:"
RECONCILED = "reconciled"
UNRECOVERABLE = "unrecoverable"


@dataclass
class Gap:
    """A channel's window between the last handled event and the org's rejection of its id."""

    channel: str
    rejected: int | None
    since: datetime
    until: datetime
    reconciled: int = 0
    deleted: int = 0
    skipped: int = 0
    lost: str | None = None  # what could not be recovered, if anything

    @property
    def status(self) -> str:
        return UNRECOVERABLE if self.lost else RECONCILED

    def key(self) -> str:
        return f"{PREFIX}{self.channel}:{self.rejected}:{self.since.isoformat()}"[:255]

    def payload(self) -> dict:
        return {
            "channel": self.channel,
            "rejected_replay_id": self.rejected,
            "from": self.since.isoformat(),
            "to": self.until.isoformat(),
            "reconciled": self.reconciled,
            "deleted": self.deleted,
            "skipped": self.skipped,
        }


def record_gap(session: Session, gap: Gap) -> None:
    """One row per gap (the same gap met again after a crash is not recorded twice)."""
    if record_once(session, SOURCE, gap.key(), gap.channel, gap.payload(), status=gap.status):
        if gap.lost:
            row = session.scalars(
                select(InboxMessage).where(
                    InboxMessage.source == SOURCE, InboxMessage.external_id == gap.key()
                )
            ).one()
            row.error = gap.lost


def list_gaps(session: Session, limit: int = 200) -> list[InboxMessage]:
    """The recorded gaps, newest first."""
    return list(
        session.scalars(
            select(InboxMessage)
            .where(InboxMessage.source == SOURCE, InboxMessage.external_id.like(PREFIX + "%"))
            .order_by(InboxMessage.id.desc())
            .limit(limit)
        )
    )

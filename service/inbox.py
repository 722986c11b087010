"""Record-once: every inbound message is written to the inbox under its source id first.

``record_once`` is an ``INSERT .. ON CONFLICT DO NOTHING`` on both SQLite and PostgreSQL, so a
duplicate is answered by the database itself without raising: the caller's transaction is never
poisoned (an ``IntegrityError`` on PostgreSQL would abort it) and two concurrent deliveries of
the same message cannot both win — the second waits on the unique index, then sees a conflict.

A message's ``status`` ends as the handler's outcome (``processed``, ``ignored``), ``failed``
(the message itself can never be applied; ``error`` says why) or ``parked`` (its handling failed
and may succeed after a fix: ``payload`` and ``error`` are kept for an operator to replay it,
see ``service.salesforce.parked``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from service.db import utcnow
from service.models import InboxMessage

# Salesforce redelivers events of the last 72 hours; a row younger than that is the only thing
# that makes a redelivery a no-op, so it is never pruned, whatever the retention says.
REPLAY_WINDOW = timedelta(hours=72)
PROCESSED = "processed"
FAILED = "failed"
PARKED = "parked"
# An event about an Account no customer is linked to yet: applied when the link appears.
WAITING = "waiting"
PARKED_STATES = (FAILED, PARKED, WAITING)


def record_once(
    session: Session,
    source: str,
    external_id: str,
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    status: str = "processed",
) -> bool:
    """Insert the message; return False (and change nothing) if it was recorded before."""
    return bool(record_many(session, source, [(external_id, kind, payload)], status=status))


def record_many(
    session: Session,
    source: str,
    messages: Sequence[tuple[str, str, dict[str, Any] | None]],
    *,
    status: str = "processed",
) -> set[str]:
    """Insert ``(external_id, kind, payload)`` messages in one statement; returns the new ids.

    One round trip for a whole batch (the CometD subscriber records up to a hundred events per
    transaction). The ids must be distinct within the call; repeats of stored ones are skipped.
    """
    if not messages:
        return set()
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = InboxMessage.__table__
    now = utcnow()
    statement = (
        insert(table)
        .values(
            [
                {
                    "source": source,
                    "external_id": external_id,
                    "kind": kind,
                    "payload": payload,
                    "status": status,
                    "received_at": now,
                }
                for external_id, kind, payload in messages
            ]
        )
        .on_conflict_do_nothing(index_elements=["source", "external_id"])
        .returning(table.c.external_id)
    )
    # RETURNING yields a row only for an insert that happened (rowcount is not reliable across
    # drivers for ON CONFLICT statements).
    return set(session.scalars(statement))


def prune(
    session: Session,
    states: Collection[str],
    before: datetime,
    *,
    now: datetime | None = None,
    limit: int = 1000,
) -> int:
    """Delete up to ``limit`` rows in ``states`` received before ``before``; returns how many.

    One bounded batch (the caller commits and calls again), oldest first. ``before`` is moved
    back to the replay window when it falls inside it.
    """
    before = min(before, (now or utcnow()) - REPLAY_WINDOW)
    oldest = (
        select(InboxMessage.id)
        .where(InboxMessage.status.in_(list(states)), InboxMessage.received_at < before)
        .order_by(InboxMessage.id)
        .limit(limit)
    )
    ids = list(session.scalars(oldest))
    if ids:
        session.execute(delete(InboxMessage).where(InboxMessage.id.in_(ids)))
    return len(ids)


def parked_rows(
    session: Session, limit: int = 200, source: str | None = None
) -> list[InboxMessage]:
    """Parked messages (of one source, or all), oldest first: the order they are replayed in."""
    query = select(InboxMessage).where(InboxMessage.status == PARKED)
    if source is not None:
        query = query.where(InboxMessage.source == source)
    return list(session.scalars(query.order_by(InboxMessage.id).limit(limit)))


def count_parked(session: Session) -> int:
    """How many messages are parked (the ``/metrics`` gauge)."""
    return (
        session.scalar(
            select(func.count()).select_from(InboxMessage).where(InboxMessage.status == PARKED)
        )
        or 0
    )

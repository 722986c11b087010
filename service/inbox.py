"""Record-once: every inbound message is written to the inbox under its source id first.

``record_once`` is an ``INSERT .. ON CONFLICT DO NOTHING`` on both SQLite and PostgreSQL, so a
duplicate is answered by the database itself without raising: the caller's transaction is never
poisoned (an ``IntegrityError`` on PostgreSQL would abort it) and two concurrent deliveries of
the same message cannot both win — the second waits on the unique index, then sees a conflict.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from service.db import utcnow
from service.models import InboxMessage


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
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(InboxMessage.__table__)
        .values(
            source=source,
            external_id=external_id,
            kind=kind,
            payload=payload,
            status=status,
            received_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["source", "external_id"])
        .returning(InboxMessage.__table__.c.id)
    )
    # RETURNING yields a row only when the insert happened (rowcount is not reliable across
    # drivers for ON CONFLICT statements).
    return session.execute(statement).first() is not None

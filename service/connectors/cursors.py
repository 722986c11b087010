"""Stored cursors: where each connector's pull (and its closed-loop scan) stands.

Saved in the transaction that stores the rows of the page that moved it, so after a kill the
next pull starts after the last committed page. Helpers here never commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from service.models import ConnectorCursor


def position(session: Session, name: str) -> dict[str, Any] | None:
    row = session.get(ConnectorCursor, name)
    return dict(row.position) if row is not None else None


def full_at(session: Session, name: str) -> datetime | None:
    row = session.get(ConnectorCursor, name)
    return row.full_at if row is not None else None


def save(
    session: Session,
    name: str,
    new_position: dict[str, Any],
    now: datetime,
    *,
    full: bool = False,
) -> None:
    row = session.get(ConnectorCursor, name)
    if row is None:
        row = ConnectorCursor(name=name, position=new_position, updated_at=now)
        session.add(row)
    else:
        row.position = new_position
        row.updated_at = now
    if full:
        row.full_at = now
    session.flush()

"""The durable queue of reminders (``dunning_messages``): stored first, sent after.

A run stores each rendered message in the transaction that decided it; the sender claims due
rows (``queued`` and available), sends them and marks them ``sent`` in the transaction that
also logs the ``Reminder Sent`` action and queues the Account push, fenced by the claim's
token. The unique key (customer, currency, level, day) makes a repeated or resumed run add
nothing. A claim lasts ``lease``; a sender killed while holding rows leaves them to be claimed
again when it runs out, so nothing stored is ever skipped (the messages handed to the SMTP server
just before the kill, one per connection, may go out twice, with the same Message-ID;
docs/dunning.md).

Helpers here never commit: the caller's transaction decides.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from service.db import utcnow
from service.models import DunningMessage

QUEUED = "queued"
SENDING = "sending"
SENT = "sent"
PARKED = "parked"
# What counts as "sent" when the planner asks which level went out last.
STORED = (QUEUED, SENDING, SENT)


def store(session: Session, rows: Sequence[dict[str, Any]]) -> int:
    """Insert messages; one already stored for its customer, currency, level and day is kept
    as it is. Returns how many were new."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = DunningMessage.__table__
    statement = insert(table).on_conflict_do_nothing(
        index_elements=["customer_id", "currency", "level", "run_date"]
    )
    result = session.execute(statement.returning(table.c.id), list(rows))
    return len(result.all())


@dataclass(frozen=True)
class Claim:
    token: str
    messages: list[DunningMessage]


def _due(now: datetime):
    return or_(
        and_(DunningMessage.status == QUEUED, DunningMessage.available_at <= now),
        and_(DunningMessage.status == SENDING, DunningMessage.claimed_until < now),
    )


def claim(session: Session, limit: int, lease: timedelta, now: datetime | None = None) -> Claim:
    """Take up to ``limit`` due messages (queued and available, or whose claim ran out)."""
    now = now or utcnow()
    token = secrets.token_hex(16)
    due = select(DunningMessage.id).where(_due(now)).order_by(DunningMessage.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = list(session.scalars(due))
    if not ids:
        return Claim(token, [])
    # The condition again: on SQLite two senders may read the same due rows before either
    # writes; only the first update takes them, the second finds them claimed.
    session.execute(
        update(DunningMessage)
        .where(DunningMessage.id.in_(ids), _due(now))
        .values(status=SENDING, claim_token=token, claimed_until=now + lease)
        .execution_options(synchronize_session=False)
    )
    messages = list(
        session.scalars(
            select(DunningMessage)
            .where(DunningMessage.id.in_(ids), DunningMessage.claim_token == token)
            .order_by(DunningMessage.id)
        )
    )
    return Claim(token, messages)


def _fenced(session: Session, message_id: int, token: str, **values: Any) -> bool:
    result = session.execute(
        update(DunningMessage)
        .where(
            DunningMessage.id == message_id,
            DunningMessage.claim_token == token,
            DunningMessage.status == SENDING,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


def mark_sent(session: Session, message_id: int, token: str, now: datetime | None = None) -> bool:
    """False when the claim was lost (another sender took the row over): do nothing else."""
    return _fenced(
        session, message_id, token, status=SENT, sent_at=now or utcnow(), last_error=None
    )


def mark_sent_many(
    session: Session, sent: Sequence[tuple[int, str]], now: datetime | None = None
) -> set[int]:
    """Mark messages (id, claim token) sent in one statement; the ids whose claim still held.
    A message another sender has taken over is left as it is, as ``mark_sent`` does."""
    if not sent:
        return set()
    tokens = dict(sent)
    conn = session.connection()  # Core: the sender calls this for every few messages
    held = _HELD_FOR_UPDATE if conn.dialect.name == "postgresql" else _HELD
    ids = sorted(i for i, token in conn.execute(held, {"ids": list(tokens)}) if tokens[i] == token)
    if ids:
        conn.execute(_MARK_SENT, {"ids": ids, "sent_at": now or utcnow()})
    return set(ids)


_TABLE = DunningMessage.__table__
_HELD = select(_TABLE.c.id, _TABLE.c.claim_token).where(
    _TABLE.c.id.in_(bindparam("ids", expanding=True)), _TABLE.c.status == SENDING
)
_HELD_FOR_UPDATE = _HELD.with_for_update()  # SQLite: the transaction holds the write lock
_MARK_SENT = (
    update(_TABLE)
    .where(_TABLE.c.id.in_(bindparam("ids", expanding=True)))
    .values(status=SENT, sent_at=bindparam("sent_at"), last_error=None)
)


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 ... minutes, at most 4 hours: SMTP's own retry schedules are of that order."""
    return timedelta(minutes=min(240, 2 ** max(0, attempts - 1)))


def mark_retry(
    session: Session, message: DunningMessage, token: str, error: str, now: datetime | None = None
) -> bool:
    now = now or utcnow()
    attempts = message.attempts + 1
    return _fenced(
        session,
        message.id,
        token,
        status=QUEUED,
        attempts=attempts,
        available_at=now + backoff(attempts),
        last_error=error[:2000],
        claim_token=None,
        claimed_until=None,
    )


def mark_parked(session: Session, message: DunningMessage, token: str, error: str) -> bool:
    return _fenced(
        session,
        message.id,
        token,
        status=PARKED,
        attempts=message.attempts + 1,
        last_error=error[:2000],
        claimed_until=None,
    )


def release(session: Session, messages: Sequence[DunningMessage], token: str) -> None:
    """Give claimed rows back untouched (shutting down before they were tried)."""
    for m in messages:
        _fenced(session, m.id, token, status=QUEUED, claim_token=None, claimed_until=None)


def retry_parked(session: Session, ids: Sequence[int] | None = None) -> int:
    """Queue parked messages again (after the address was corrected, say)."""
    statement = update(DunningMessage).where(DunningMessage.status == PARKED)
    if ids is not None:
        statement = statement.where(DunningMessage.id.in_(list(ids)))
    result = session.execute(
        statement.values(status=QUEUED, available_at=utcnow(), claim_token=None).execution_options(
            synchronize_session=False
        )
    )
    return result.rowcount

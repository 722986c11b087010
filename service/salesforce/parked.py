"""Events that could not be handled: how a failure is classed, and how an operator replays them.

A handler's failure is one of three kinds:

* **transient** — the database or the org is unavailable (``RetryableError``, a refused login,
  a lost or locked database connection): nothing is wrong with the event, so the whole batch is
  tried again, for as long as it takes, and the cursor waits;
* **failed** — ``EventRejected``: the event itself can never be applied (unknown account,
  malformed payload); its inbox row says why and nothing else changes;
* **parked** — anything else (a bug, an overflow, a field the integration user may not read, a
  database error on this event's rows): the event's savepoint is rolled back, its inbox row
  keeps the payload and the error with status ``parked``, the rest of the batch commits and
  the cursor moves on. ``credit-control events replay`` handles it again after a fix.

``replay`` runs each event through the same ``Handlers`` the subscriber uses, one transaction
per event with the handler in a savepoint and the customer re-assessed inside it, exactly as the
subscriber handles a batch it has had to take apart. A replayed event ends ``processed`` or
``ignored`` (the handler's outcome), or stays ``parked`` (``failed``) with the new error.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from service import inbox
from service.db import transaction
from service.inbox import FAILED, PARKED, WAITING
from service.models import InboxMessage
from service.salesforce.errors import AuthenticationError, RetryableError, SessionExpired
from service.salesforce.handlers import (
    INBOX_SOURCE,
    AwaitingLink,
    EventRejected,
    Handlers,
    event_of,
)

log = logging.getLogger(__name__)

ERROR_CHARS = 2000


def is_transient(exc: BaseException) -> bool:
    """The database or the org failed, not the event: try the same batch again later."""
    if isinstance(
        exc,
        RetryableError | AuthenticationError | SessionExpired | OperationalError | InterfaceError,
    ):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def failure_status(exc: BaseException) -> str:
    """``failed`` for an event that can never be applied, ``waiting`` for one about an Account
    not linked yet, ``parked`` for one that may be applied after a fix."""
    if isinstance(exc, AwaitingLink):
        return WAITING
    return FAILED if isinstance(exc, EventRejected) else PARKED


def describe(exc: BaseException) -> str:
    """The error as stored on the inbox row (type and message, bounded)."""
    return f"{type(exc).__name__}: {exc}"[:ERROR_CHARS]


@dataclass
class Replayed:
    """One replayed event: its inbox id, the status it ended with, and the error if any."""

    id: int
    external_id: str
    kind: str
    status: str
    error: str | None = None


def parked_rows(session: Session, limit: int = 200) -> list[InboxMessage]:
    """Parked Salesforce events, oldest first (the order they are best replayed in)."""
    return inbox.parked_rows(session, limit, INBOX_SOURCE)


def _chosen(factory: sessionmaker[Session], ids: Sequence[int] | None) -> list[int]:
    """The inbox ids to replay: those given (parked or failed ones), else every parked event."""
    with factory() as session:
        query = select(InboxMessage.id).where(InboxMessage.source == INBOX_SOURCE)
        if ids:
            query = query.where(
                InboxMessage.id.in_(list(ids)), InboxMessage.status.in_((PARKED, FAILED))
            )
        else:
            query = query.where(InboxMessage.status == PARKED)
        return list(session.scalars(query.order_by(InboxMessage.id)))


def replay(
    factory: sessionmaker[Session], handlers: Handlers, ids: Sequence[int] | None = None
) -> list[Replayed]:
    """Handle parked events again (the given inbox ids, else all parked), one transaction each.

    A transient failure (database or org down) stops the replay and is raised: the event it
    met is left as it was, and the ones before it are done.
    """
    results = []
    for inbox_id in _chosen(factory, ids):
        with transaction(factory) as session:
            row = session.get(InboxMessage, inbox_id, with_for_update=True)
            if row is None or row.status not in (PARKED, FAILED):
                continue  # replayed meanwhile by someone else
            event = event_of(row)
            try:
                with session.begin_nested():
                    row.status = handlers.handle(session, event)
                    row.error = None
            except Exception as exc:
                if is_transient(exc):
                    raise
                row.status, row.error = failure_status(exc), describe(exc)
                log.warning("replayed event %s still %s: %s", row.external_id, row.status, exc)
            results.append(Replayed(row.id, row.external_id, row.kind, row.status, row.error))
    return results

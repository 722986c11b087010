"""The outbox: changes that must reach Salesforce, written in the same transaction as their cause.

A row names a target (``Account:<customer id>``, ``Receivable__c:<receivable id>``,
``Collection_Action__c:<action id>`` for an action the service creates) and carries
no field values: the pusher coalesces all pending rows of a target and computes the latest state
when it pushes, so ten re-assessments of one customer in a second cost one write.

Row states::

    pending ──claim──▶ in_flight ──ack──▶ sent
       ▲                   │ retryable error (UNABLE_TO_LOCK_ROW, limits, 5xx): pending later
       │                   │ permanent error (deleted, invalid field, validation): dead
       └── outbox retry ◀──┴ no Account with that ERP number: unmatched

A claim is a lease: ``in_flight`` rows whose ``available_at`` passed belong to a worker that died
(SIGKILL, OOM); the next claim takes them back and flags them ``recovered`` so the pusher
re-reads the org before writing and nothing is applied twice. The pusher renews the lease of the
rows in hand while their push runs (``renew``), so a slow push is never taken for a dead one. And
each claim writes a token of its own on its rows: every acknowledgement (``mark_sent``,
``mark_retry``, ``mark_failed``, ``release``) touches only rows that still carry the token they
were claimed with, so a claimer whose rows were taken over (it stalled past its lease) has its
result discarded instead of overwriting the newer claimer's (``held``).

Helpers here never commit; the caller's transaction decides.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import (
    ARRAY,
    BigInteger,
    String,
    and_,
    bindparam,
    delete,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session, aliased

from service.bulk import bulk_insert
from service.db import UTCDateTime, is_postgres, utcnow
from service.models import OutboxMessage

ACCOUNT = "account"
RECEIVABLE = "receivable"
COLLECTION_ACTION = "collection_action"

PENDING = "pending"
IN_FLIGHT = "in_flight"
SENT = "sent"
DEAD = "dead"
UNMATCHED = "unmatched"
FAILED_STATES = (DEAD, UNMATCHED)


def account_target(customer_id: int) -> str:
    return f"Account:{customer_id}"


RECEIVABLE_TARGET = "Receivable__c:"


def receivable_target(receivable_id: int) -> str:
    return f"{RECEIVABLE_TARGET}{receivable_id}"


# A Collection_Action__c the service creates (a dispute or promise from the pay page).
COLLECTION_ACTION_TARGET = "Collection_Action__c:"


def collection_action_target(action_id: int) -> str:
    return f"{COLLECTION_ACTION_TARGET}{action_id}"


def target_id(target: str) -> int:
    return int(target.split(":", 1)[1])


# Payload key: the row's target was taken over from a claimer that never acknowledged it.
RECOVERED = "recovered"


def enqueue(
    session: Session,
    kind: str,
    target: str,
    payload: dict | None = None,
    *,
    available_at: datetime | None = None,
) -> OutboxMessage:
    row = OutboxMessage(
        kind=kind,
        target=target,
        payload=payload or {},
        status=PENDING,
        attempts=0,
        available_at=available_at or utcnow(),
    )
    session.add(row)
    return row


def queue_for_salesforce(
    session: Session,
    customer_ids: Iterable[int],
    receivable_ids: Iterable[int] = (),
    *,
    announce: bool = False,
    new_receivables: Collection[int] = frozenset(),
) -> int:
    """Queue the Account (and Receivable__c) pushes a change calls for; returns rows added.

    Call it inside the transaction that changed the data, right after re-assessment. A target
    that already has a due pending row is not queued again (the pusher reads the latest state
    anyway). ``announce`` asks for a Credit_Status_Change__e even when the status did not change
    (the answer to a Credit_Review_Request__e), so announced Accounts are always queued.
    ``new_receivables`` (among ``receivable_ids``) were inserted by this transaction: nothing
    can be pending for them, so they are not looked up, and the database builds their rows from
    their ids (``_insert_receivable_targets``). That is most of a big import's rows.

    Set-based on purpose: a 5,000-row feed batch touches thousands of targets, and one ORM object
    per row would cost most of the feed's transaction. One lookup of the pending targets and one
    multi-row INSERT do the same work. Rows are inserted Accounts first, then the receivables,
    each in the order given, new receivables last (the pusher claims by id).
    """
    account_payload = {"announce": True} if announce else {}
    wanted = [(ACCOUNT, account_target(c), account_payload) for c in dict.fromkeys(customer_ids)]
    new = [r for r in dict.fromkeys(receivable_ids) if r in new_receivables]
    wanted += [
        (RECEIVABLE, receivable_target(r), {})
        for r in dict.fromkeys(receivable_ids)
        if r not in new_receivables
    ]
    if not wanted and not new:
        return 0
    # Rows this session added but did not flush yet must count as pending, and keep lower ids.
    session.flush()
    now = utcnow()
    already = _pending_targets(
        session, [target for _, target, payload in wanted if not payload], now
    )
    rows = [row for row in wanted if row[2] or row[1] not in already]
    if rows:
        _insert_pending(session, rows, now)
    if new:
        _insert_receivable_targets(session, new, now)
    return len(rows) + len(new)


def _insert_pending(session: Session, rows: list[tuple[str, str, dict]], now: datetime) -> None:
    """Insert ``(kind, target, payload)`` rows as pending, ids in list order.

    ``service.bulk.bulk_insert``: binary ``COPY`` on PostgreSQL (ids drawn from the sequence row
    by row, in order), an executemany on SQLite that formats the two timestamps once rather than
    once a row.
    """
    values = {"status": PENDING, "attempts": 0, "available_at": now, "created_at": now}
    bulk_insert(
        session,
        OutboxMessage.__table__,
        [{"kind": k, "target": t, "payload": p, **values} for k, t, p in rows],
    )


_INSERT_TARGETS = (
    "INSERT INTO outbox (kind, target, payload, status, attempts, available_at, created_at)"
    " SELECT :kind, :prefix || {id}, :payload, :status, 0, :now, :now FROM {ids} ORDER BY {order}"
)
_INSERT_TARGETS_FROM_ARRAY = _INSERT_TARGETS.format(
    id="k.id", ids="unnest(:ids) WITH ORDINALITY AS k(id, n)", order="k.n"
)
_INSERT_TARGETS_FROM_JSON = _INSERT_TARGETS.format(
    id="k.value", ids="json_each(:ids) AS k", order="k.key"
)


def _insert_receivable_targets(session: Session, receivable_ids: list[int], now: datetime) -> None:
    """Pending ``Receivable__c`` rows for these ids, in this order, built by the database.

    One array (PostgreSQL) or JSON (SQLite) parameter instead of seven bound values a row: an
    import chunk queues one of these per new receivable, and building and binding them in Python
    is a noticeable share of a big import.
    """
    if is_postgres(session):
        statement = _INSERT_TARGETS_FROM_ARRAY
        keys = bindparam("ids", receivable_ids, type_=ARRAY(BigInteger))
    else:
        statement = _INSERT_TARGETS_FROM_JSON
        keys = bindparam("ids", json.dumps(receivable_ids))
    session.execute(
        text(statement).bindparams(
            keys,
            bindparam("kind", RECEIVABLE),
            bindparam("prefix", RECEIVABLE_TARGET),
            bindparam("payload", {}, type_=OutboxMessage.__table__.c.payload.type),
            bindparam("status", PENDING),
            bindparam("now", now, type_=UTCDateTime),
        )
    )


def _pending_targets(session: Session, targets: list[str], now: datetime) -> set[str]:
    """Which of ``targets`` have a due pending row.

    PostgreSQL: one probe of ``ix_outbox_target_state`` per target (a LATERAL subquery with
    ``LIMIT 1``). The plain ``target = ANY(array) AND status = 'pending' AND available_at <= :now``
    lets the planner of a bulk-loaded, not yet analysed outbox walk every pending row instead
    (docs/adr/0007). The row found is locked ``FOR SHARE`` until the caller commits: the caller
    relies on it to carry its change, so a pusher (``FOR UPDATE SKIP LOCKED``) must not claim it
    and read the customer before that change is committed, or the change is never pushed.
    SQLite needs no lock: the caller's transaction holds the write lock (BEGIN IMMEDIATE).
    """
    if not targets:
        return set()
    if is_postgres(session):
        statement = text(
            "SELECT t.target FROM unnest(:targets) AS t(target) CROSS JOIN LATERAL"
            " (SELECT 1 FROM outbox o WHERE o.target = t.target AND o.status = :pending"
            " AND o.available_at <= :now LIMIT 1 FOR SHARE OF o) AS due"
        ).bindparams(
            bindparam("targets", targets, type_=ARRAY(String)),
            bindparam("pending", PENDING),
            bindparam("now", now, type_=UTCDateTime),
        )
        return set(session.scalars(statement))
    due = (OutboxMessage.status == PENDING, OutboxMessage.available_at <= now)
    found: set[str] = set()
    for start in range(0, len(targets), 500):
        chunk = targets[start : start + 500]
        found.update(
            session.scalars(
                select(OutboxMessage.target).where(*due, OutboxMessage.target.in_(chunk))
            )
        )
    return found


@dataclass
class Claim:
    """Rows taken for one push, grouped by target, and the targets recovered from a dead worker.

    ``token`` is written on every row of the claim (``claim_token``): the lease is renewed and
    the rows acknowledged only while they still carry it.
    """

    rows: list[OutboxMessage] = field(default_factory=list)
    recovered: set[str] = field(default_factory=set)
    token: str | None = None

    def by_target(self) -> dict[str, list[OutboxMessage]]:
        out: dict[str, list[OutboxMessage]] = {}
        for row in self.rows:
            out.setdefault(row.target, []).append(row)
        return out

    def __bool__(self) -> bool:
        return bool(self.rows)


def claim(
    session: Session,
    *,
    limit: int = 2000,
    lease_seconds: float = 120.0,
    now: datetime | None = None,
) -> Claim:
    """Take up to ``limit`` due rows (plus every other pending row of the same targets).

    PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so concurrent workers take disjoint rows.
    SQLite: the session's transaction began with BEGIN IMMEDIATE (service.db), so one claimer
    at a time holds the write lock and the plain select is safe.
    """
    now = now or utcnow()
    due = or_(
        and_(OutboxMessage.status == PENDING, OutboxMessage.available_at <= now),
        and_(OutboxMessage.status == IN_FLIGHT, OutboxMessage.available_at <= now),
    )
    # A target another pusher holds right now is left alone: two pushes of one record in
    # flight at once could land in the wrong order and leave the older state in the org.
    held = aliased(OutboxMessage)
    busy = (
        select(held.id)
        .where(
            held.target == OutboxMessage.target,
            held.status == IN_FLIGHT,
            held.available_at > now,
        )
        .exists()
    )
    query = select(OutboxMessage).where(due, ~busy).order_by(OutboxMessage.id).limit(limit)
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    rows = list(session.scalars(query))
    if rows and is_postgres(session):
        rows = _targets_held_alone(session, rows, now)
    if not rows:
        return Claim()
    targets = sorted({r.target for r in rows})
    recovered = _recovered_targets(session, targets)
    have = {r.id for r in rows}
    for start in range(0, len(targets), 500):
        chunk = targets[start : start + 500]
        # The target's other rows come along: its pending changes, and a dead claim's rows no
        # one else holds (those another claimer holds are released when it drops the target).
        extra = select(OutboxMessage).where(
            OutboxMessage.target.in_(chunk),
            or_(
                OutboxMessage.status == PENDING,
                and_(OutboxMessage.status == IN_FLIGHT, OutboxMessage.available_at <= now),
            ),
        )
        if is_postgres(session):
            extra = extra.with_for_update(skip_locked=True)
        rows.extend(r for r in session.scalars(extra) if r.id not in have)
    lease_until = now + timedelta(seconds=lease_seconds)
    token = uuid.uuid4().hex
    for row in rows:
        if row.target in recovered and not (row.payload or {}).get(RECOVERED):
            row.payload = {**(row.payload or {}), RECOVERED: True}
        row.status = IN_FLIGHT
        row.available_at = lease_until
        row.attempts = (row.attempts or 0) + 1
        row.claim_token = token
    session.flush()
    return Claim(rows, recovered, token)


def _recovered_targets(session: Session, targets: list[str]) -> set[str]:
    """The targets a claimer died (or stalled) with: the org may have their push already.

    The pusher compares such a target with the org rather than with what was last acknowledged,
    so a status the dead claimer announced is not announced again. Read from every row of the
    target, not only the rows in hand: on PostgreSQL another claimer may hold the dead claim's
    row for a moment (it is about to drop the target) while this claim takes the target's new
    pending row. The mark stays on the rows until they are sent, so a recovered push that fails
    and is retried is still compared with the org.
    """
    recovered: set[str] = set()
    for start in range(0, len(targets), 500):
        found = session.execute(
            select(OutboxMessage.target, OutboxMessage.status, OutboxMessage.payload).where(
                OutboxMessage.target.in_(targets[start : start + 500]),
                OutboxMessage.status.in_((PENDING, IN_FLIGHT)),
            )
        )
        recovered.update(
            target
            for target, status, payload in found
            if status == IN_FLIGHT or (payload or {}).get(RECOVERED)
        )
    return recovered


def _targets_held_alone(
    session: Session, rows: list[OutboxMessage], now: datetime
) -> list[OutboxMessage]:
    """PostgreSQL: the rows whose target no other claimer is taking or holds.

    ``SKIP LOCKED`` gives concurrent claimers disjoint rows, not disjoint targets: with two
    pending rows for one record (two changes queued at the same moment), one claimer could lock
    one while another locks the other, and both would push the record and announce its status.
    A transaction-scoped advisory lock per target decides who takes it; once a claimer holds it,
    a fresh look drops targets another claim has put in flight since this statement began.
    Advisory locks are database-wide: the key names the schema, so installations (or test runs)
    in other schemas of the same database never hold each other's targets.
    """
    targets = sorted({r.target for r in rows})
    mine = set(
        session.execute(
            text(
                "SELECT t FROM unnest(CAST(:targets AS text[])) AS t "
                "WHERE pg_try_advisory_xact_lock(hashtext(current_schema() || '.outbox:' || t))"
            ),
            {"targets": targets},
        ).scalars()
    )
    if mine:
        taken = set(
            session.scalars(
                select(OutboxMessage.target).where(
                    OutboxMessage.target.in_(sorted(mine)),
                    OutboxMessage.status == IN_FLIGHT,
                    OutboxMessage.available_at > now,
                )
            )
        )
        mine -= taken
    return [r for r in rows if r.target in mine]


def renew(session: Session, token: str, lease_seconds: float, now: datetime | None = None) -> int:
    """Extend the lease of the rows this claim still holds; returns how many it holds.

    Called by the pusher's heartbeat while a push runs, so rows whose push outlives the lease
    (a slow org, API pacing, a large batch) are not taken for a dead worker's and pushed again.
    """
    until = (now or utcnow()) + timedelta(seconds=lease_seconds)
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.claim_token == token, OutboxMessage.status == IN_FLIGHT)
        .values(available_at=until)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def held(session: Session, rows: Sequence[OutboxMessage]) -> list[OutboxMessage]:
    """The rows that still carry the claim token they were read with, locked until commit.

    The fence of every acknowledgement: a row claimed again by another pusher (this claimer
    stalled past its lease) carries the newer claim's token, and this claimer's result for it is
    discarded. On PostgreSQL the rows are locked ``FOR UPDATE``, so a claim cannot take them
    between this check and the caller's commit; on SQLite the transaction holds the write lock.
    """
    by_token: dict[str | None, list[OutboxMessage]] = {}
    for row in rows:
        by_token.setdefault(row.claim_token, []).append(row)
    kept: set[int] = set()
    for token, group in by_token.items():
        ids = [r.id for r in group]
        same = (
            OutboxMessage.claim_token.is_(None)
            if token is None
            else OutboxMessage.claim_token == token
        )
        for start in range(0, len(ids), 500):
            query = select(OutboxMessage.id).where(
                OutboxMessage.id.in_(ids[start : start + 500]), same
            )
            if is_postgres(session):
                query = query.with_for_update()
            kept.update(session.scalars(query))
    return [r for r in rows if r.id in kept]


def mark_sent(
    session: Session, rows: Sequence[OutboxMessage], now: datetime | None = None
) -> list[OutboxMessage]:
    """Mark the rows still held (``held``) sent; returns them."""
    now = now or utcnow()
    rows = held(session, rows)
    ids = [r.id for r in rows]
    for start in range(0, len(ids), 500):
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids[start : start + 500]))
            .values(status=SENT, sent_at=now, last_error=None, error_code=None)
        )
    return rows


def backoff_delay(attempts: int, base: float = 2.0, cap: float = 900.0) -> float:
    """Exponential backoff with full jitter: base·2^(attempts-1), capped, jittered ±50%."""
    delay = min(cap, base * 2 ** max(0, attempts - 1))
    return delay * (0.5 + random.random() / 2)


def mark_retry(
    session: Session,
    rows: Sequence[OutboxMessage],
    error: str,
    code: str | None,
    *,
    base: float = 2.0,
    cap: float = 900.0,
    now: datetime | None = None,
) -> list[OutboxMessage]:
    """Put the rows still held back in the queue after a backoff; returns them."""
    now = now or utcnow()
    rows = held(session, rows)
    for row in rows:
        delay = backoff_delay(row.attempts or 1, base, cap)
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row.id)
            .values(
                status=PENDING,
                available_at=now + timedelta(seconds=delay),
                last_error=error[:2000],
                error_code=code,
            )
        )
    return rows


def mark_failed(
    session: Session,
    rows: Sequence[OutboxMessage],
    error: str,
    code: str | None,
    status: str = DEAD,
) -> list[OutboxMessage]:
    """Mark the rows still held dead (or unmatched) with the error; returns them."""
    rows = held(session, rows)
    ids = [r.id for r in rows]
    for start in range(0, len(ids), 500):
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids[start : start + 500]))
            .values(status=status, last_error=error[:2000], error_code=code)
        )
    return rows


def release(session: Session, rows: Sequence[OutboxMessage]) -> None:
    """Give the rows still held back untouched (a shutdown before they were sent)."""
    ids = [r.id for r in held(session, rows)]
    for start in range(0, len(ids), 500):
        session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id.in_(ids[start : start + 500]), OutboxMessage.status == IN_FLIGHT
            )
            .values(status=PENDING, available_at=utcnow())
        )


def failed_rows(session: Session, limit: int = 500) -> list[OutboxMessage]:
    """Dead letters and unmatched customers, newest first (``credit-control outbox``)."""
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status.in_(FAILED_STATES))
            .order_by(OutboxMessage.id.desc())
            .limit(limit)
        )
    )


def retry_failed(session: Session, ids: Iterable[int] | None = None) -> int:
    """Put dead/unmatched rows back in the queue (``credit-control outbox retry``)."""
    stmt = update(OutboxMessage).where(OutboxMessage.status.in_(FAILED_STATES))
    ids = list(ids) if ids is not None else None
    if ids:
        stmt = stmt.where(OutboxMessage.id.in_(ids))
    result = session.execute(
        stmt.values(status=PENDING, available_at=utcnow(), attempts=0).execution_options(
            synchronize_session=False
        )
    )
    return result.rowcount or 0


def due_count(session: Session, cap: int) -> int:
    """Due pending rows, counted up to ``cap`` (enough to decide on a bulk job, cheaply)."""
    due = (
        select(OutboxMessage.id)
        .where(OutboxMessage.status == PENDING, OutboxMessage.available_at <= utcnow())
        .limit(cap)
        .subquery()
    )
    return session.scalar(select(func.count()).select_from(due)) or 0


def pending_count(session: Session) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status.in_((PENDING, IN_FLIGHT)))
        )
        or 0
    )


def prune(session: Session, states: Collection[str], before: datetime, limit: int = 1000) -> int:
    """Delete up to ``limit`` rows in ``states`` that ended before ``before``; returns how many.

    One bounded batch, oldest first (the caller commits and calls again, so no statement holds
    locks on a whole backlog). A sent row ended at ``sent_at``; a dead or unmatched one at its
    last claim (``available_at``, which a failure leaves as it was).
    """
    ended = OutboxMessage.sent_at if set(states) == {SENT} else OutboxMessage.available_at
    oldest = (
        select(OutboxMessage.id)
        .where(OutboxMessage.status.in_(list(states)), ended < before)
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    ids = list(session.scalars(oldest))
    if ids:
        session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(ids)))
    return len(ids)

"""The assessment queue: customers whose data changed, re-assessed after the change commits.

Why a queue. Re-assessing the hundreds of customers a 5,000-row feed batch touches would take
most of the request's time, and a re-assessment owed only in memory is lost by a crash. So a
change appends one ``assessment_requests`` row per touched customer in the *same transaction* as
the change, so the change and the promise to re-assess commit together or not at all
(docs/adr/0003). Whoever re-assesses afterwards (the worker's assessor thread, the import
command at its end, ``GET .../credit`` for the one customer asked about) deletes the rows it
acted on in the transaction that stores the new assessment. A crash anywhere leaves rows behind,
never a stale figure nobody will fix.

Why an append-only log rather than a "needs assessment" flag per customer. A drain reads some
requests, reads the customers' data, assesses and deletes; meanwhile a feed may change one of
those customers and ask again. With a flag, that second ask would set a flag that is already
set, and the drain's clear would wipe it although the drain read the data *before* the change:
the change would never be assessed. With a log, the second ask is a new row with a new id; a
drain deletes exactly the ids it took (which were committed before it read any data), so the new
row survives and the next drain assesses the customer again. Duplicates cost nothing extra: a
drain takes every pending row of the customers it assesses, so ten asks are one assessment.

Concurrency:

- PostgreSQL: requests are taken ``FOR UPDATE SKIP LOCKED`` (several workers drain disjoint
  rows), then the customers' rows are locked in id order ``FOR NO KEY UPDATE`` before their data
  is read. Two drains (or a drain and a read-path assessment, or a Salesforce event's handler,
  see ``service.assessments.Reassessor``) of one customer therefore run one after the other, the
  second reading what the first committed, so an older assessment never overwrites a newer one.
  ``NO KEY`` because a plain ``FOR UPDATE`` also blocks the ``FOR KEY SHARE`` lock that every
  receivable or payment insert takes on its customer (the foreign key): feeds would wait on
  drains for no reason.
- SQLite: every transaction begins with ``BEGIN IMMEDIATE`` (``service.db``), so one writer at a
  time; a drain sees a stable database throughout.

Helpers take the caller's session and never commit; ``drain_once`` owns its transaction.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from collections.abc import Callable, Collection, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from service.assessments.loading import lock_customers
from service.assessments.reassess import reassess
from service.bulk import bulk_insert, key_chunks, key_in
from service.credit import load_policy
from service.db import is_postgres, make_engine, make_session_factory, transaction, utcnow
from service.models import AssessmentRequest
from service.outbox import queue_for_salesforce

log = logging.getLogger(__name__)

DRAIN_LIMIT = 500

# Called after each drained batch with the customers assessed and the seconds the engine took.
Observe = Callable[[list[int], float], None]


def request(session: Session, customer_ids: Iterable[int], now: datetime | None = None) -> int:
    """Ask for these customers to be re-assessed, in the caller's transaction; returns how many.

    A customer whose request is already waiting is not asked for again: that request is held
    here until the caller commits (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; on SQLite the
    caller's transaction holds the write lock, so no drain runs meanwhile), and the drain that
    takes it afterwards reads this change. A request a drain holds right now is skipped by the
    lock, since that drain may have read the data already, and a new one is written. So an
    import asks once per customer rather than once per chunk. The rest go in set-based (``COPY``
    on PostgreSQL).
    """
    ids = sorted(set(customer_ids))
    if not ids:
        return 0
    held = _hold_waiting(session, ids)
    at = now or utcnow()
    bulk_insert(
        session,
        AssessmentRequest.__table__,
        [{"customer_id": cid, "requested_at": at} for cid in ids if cid not in held],
    )
    return len(ids)


def _hold_waiting(session: Session, customer_ids: list[int]) -> set[int]:
    """Which of these customers have a request waiting that no drain holds; lock those rows."""
    held: set[int] = set()
    for part in key_chunks(session, customer_ids):
        waiting = select(AssessmentRequest.customer_id).where(
            key_in(session, AssessmentRequest.customer_id, part)
        )
        if is_postgres(session):
            waiting = waiting.with_for_update(skip_locked=True)
        held.update(session.scalars(waiting))
    return held


@dataclass
class Taken:
    """Request rows taken by one drain and the distinct customers they name."""

    request_ids: list[int] = field(default_factory=list)
    customer_ids: list[int] = field(default_factory=list)


class DrainFailed(Exception):
    """A drain batch failed and was rolled back whole; its requests are still queued.

    ``customer_ids`` are the customers the batch held, so the caller can retry them in smaller
    batches and set aside the one customer that keeps failing (``service.worker.Assessor``).
    """

    def __init__(self, customer_ids: list[int]) -> None:
        super().__init__(f"re-assessing {len(customer_ids)} customers failed")
        self.customer_ids = customer_ids


def take(session: Session, limit: int = DRAIN_LIMIT, skip: Collection[int] = ()) -> Taken:
    """The oldest ``limit`` requests, plus every other pending request of the same customers.

    Taking the other requests too is what coalesces duplicates: a customer asked for ten times
    is assessed once. Rows another drain holds are skipped (PostgreSQL), never waited for, and so
    are the customers in ``skip``.
    """
    pg = is_postgres(session)
    first = (
        select(AssessmentRequest.id, AssessmentRequest.customer_id)
        .order_by(AssessmentRequest.id)
        .limit(limit)
    )
    if skip:
        first = first.where(AssessmentRequest.customer_id.not_in(sorted(skip)))
    if pg:
        first = first.with_for_update(skip_locked=True)
    rows = session.execute(first).all()
    if not rows:
        return Taken()
    ids = {row.id for row in rows}
    customers = sorted({row.customer_id for row in rows})
    for part in key_chunks(session, customers):
        more = select(AssessmentRequest.id).where(
            key_in(session, AssessmentRequest.customer_id, part)
        )
        if pg:
            more = more.with_for_update(skip_locked=True)
        ids.update(session.scalars(more))
    return Taken(sorted(ids), customers)


def forget(session: Session, request_ids: list[int]) -> None:
    """Delete exactly these request rows (the ones a drain took)."""
    for part in key_chunks(session, request_ids):
        session.execute(
            delete(AssessmentRequest)
            .where(key_in(session, AssessmentRequest.id, part))
            .execution_options(synchronize_session=False)
        )


def assess_and_queue(session: Session, customer_ids: list[int], as_of: date, policy) -> None:
    """Re-assess and queue the Account pushes, no commit."""
    reassess(session, customer_ids, as_of, policy)
    queue_for_salesforce(session, customer_ids)


def drain_once(
    factory: sessionmaker[Session],
    as_of: date,
    policy=None,
    limit: int = DRAIN_LIMIT,
    *,
    observe: Observe | None = None,
    skip: Collection[int] = (),
) -> list[int]:
    """One transaction: take requests, lock, re-assess, queue the pushes, delete; commit.

    Returns the customers assessed (empty when nothing but ``skip`` was waiting). A customer the
    engine cannot assess (say, a missing FX rate) is stored with its error by the engine and its
    requests are deleted like the others': asking again would give the same answer until its
    data changes, and a change asks again. Any other failure once requests were taken rolls the
    whole batch back (its requests stay for the next drain) and raises ``DrainFailed``.
    """
    with transaction(factory) as session:
        taken = take(session, limit, skip)
        if not taken.customer_ids:
            return []
        try:
            started = time.perf_counter()
            assess_and_queue(session, taken.customer_ids, as_of, policy)
            seconds = time.perf_counter() - started
            forget(session, taken.request_ids)
        except Exception as exc:
            raise DrainFailed(taken.customer_ids) from exc
    if observe is not None:
        observe(taken.customer_ids, seconds)
    return taken.customer_ids


@dataclass
class Drained:
    """What draining to the end did: customers assessed, and why it stopped early if it did."""

    assessed: int = 0
    failed: str | None = None


def drain_all(
    factory: sessionmaker[Session],
    as_of: date,
    policy=None,
    limit: int = DRAIN_LIMIT,
    *,
    processes: int = 1,
) -> Drained:
    """Drain until the queue is empty or a batch fails (the import's final drain).

    A failed batch is rolled back whole and its requests stay queued for the worker's assessor,
    which sets aside a customer that keeps failing; the stored rows are not at risk.

    ``processes`` > 1 drains with that many processes at once, this one among them: assessing
    is CPU-bound Python, so 50,000 customers drain in about half the time on two cores.
    PostgreSQL makes that safe (requests taken ``SKIP LOCKED``, customers locked in id order
    before they are read: see the module's docstring). On SQLite a drain holds the one write
    lock while it assesses, so another process would only wait: there it is always one.
    """
    if processes <= 1 or not is_postgres(factory.kw["bind"]):
        return _drain_here(factory, as_of, policy, limit)
    url = factory.kw["bind"].url.render_as_string(hide_password=False)
    document = policy.portable_document() if policy is not None else None
    with ProcessPoolExecutor(
        max_workers=processes - 1, mp_context=multiprocessing.get_context("spawn")
    ) as pool:
        helpers = [
            pool.submit(_drain_process, url, as_of, document, limit) for _ in range(processes - 1)
        ]
        outcomes = [_drain_here(factory, as_of, policy, limit)]
        outcomes += [helper.result() for helper in helpers]
    return Drained(
        assessed=sum(o.assessed for o in outcomes),
        failed=next((o.failed for o in outcomes if o.failed), None),
    )


def _drain_here(factory: sessionmaker[Session], as_of: date, policy, limit: int) -> Drained:
    outcome = Drained()
    try:
        while assessed := drain_once(factory, as_of, policy, limit):
            outcome.assessed += len(assessed)
    except DrainFailed as failed:
        log.exception("re-assessment failed; the worker re-assesses what is left")
        outcome.failed = f"{failed} ({type(failed.__cause__).__name__})"
    return outcome


def _drain_process(database_url: str, as_of: date, policy_document, limit: int) -> Drained:
    """A helper process of ``drain_all``: its own engine, the same loop."""
    policy = load_policy(policy_document) if policy_document is not None else None
    engine = make_engine(database_url)
    try:
        return _drain_here(make_session_factory(engine), as_of, policy, limit)
    finally:
        engine.dispose()


def drain(
    factory: sessionmaker[Session],
    as_of: date,
    policy=None,
    limit: int = DRAIN_LIMIT,
    *,
    observe: Observe | None = None,
) -> int:
    """Drain until the queue is empty; returns customers assessed (the import, the demo).

    A customer asked for again while this runs may be counted twice; that is what it cost.
    """
    done = 0
    while assessed := drain_once(factory, as_of, policy, limit, observe=observe):
        done += len(assessed)
    return done


def waiting(engine: Engine) -> bool:
    """Whether any request waits, read without opening a write transaction.

    Every session transaction on SQLite begins ``BEGIN IMMEDIATE`` (``service.db``), i.e. takes
    the write lock. An idle assessor asking five times a second would take it from the
    subscriber and the pushers for nothing; a plain read on the driver's connection (autocommit
    on SQLite) takes no lock. On PostgreSQL it is one cheap index probe either way.
    """
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT 1 FROM assessment_requests LIMIT 1")
        return cursor.fetchone() is not None
    finally:
        connection.close()


def pending_for(session: Session, customer_id: int) -> int | None:
    """The newest request id for this customer, or None when its assessment is up to date."""
    return session.scalar(
        select(func.max(AssessmentRequest.id)).where(AssessmentRequest.customer_id == customer_id)
    )


def assess_now(session: Session, customer_id: int, as_of: date, policy=None) -> bool:
    """Re-assess one customer now if it has pending requests, in the caller's transaction.

    For the read path: the customer is locked first (so a drain of it in progress finishes
    before this reads), then its requests are read again. Requests up to the newest seen are
    deleted, except those a drain holds right now (``SKIP LOCKED``): that drain will assess the
    customer again and delete them itself; waiting for them here could deadlock with it, since
    it takes requests before customers. Returns whether an assessment was made.
    """
    lock_customers(session, [customer_id])
    newest = pending_for(session, customer_id)
    if newest is None:
        return False
    assess_and_queue(session, [customer_id], as_of, policy)
    mine = select(AssessmentRequest.id).where(
        AssessmentRequest.customer_id == customer_id, AssessmentRequest.id <= newest
    )
    if is_postgres(session):
        mine = mine.with_for_update(skip_locked=True)
    forget(session, list(session.scalars(mine)))
    return True


@dataclass(frozen=True)
class Depth:
    """How much is waiting: request rows, and how old the oldest is (seconds; 0 when empty)."""

    requests: int
    oldest_seconds: float


def depth(session: Session, now: datetime | None = None) -> Depth:
    """Queue depth for metrics and ``/readyz``: a count over the primary key and one row."""
    count = session.scalar(select(func.count()).select_from(AssessmentRequest)) or 0
    oldest = session.scalar(
        select(AssessmentRequest.requested_at).order_by(AssessmentRequest.id).limit(1)
    )
    age = 0.0 if oldest is None else max(0.0, ((now or utcnow()) - oldest).total_seconds())
    return Depth(count, age)

"""Re-assess customers from the database: bulk reads, the pure engine, one upsert per chunk.

The engine (``service.credit``) never touches the database; this module is its loader and
writer. It reads a chunk of customers with four queries (customers, receivables, payments with
their allocations, collection actions — never one query per customer), builds the engine's
frozen inputs, assesses each customer and upserts one ``assessments`` row per customer.

Written for the daily roll of the whole book (issue 4: 100k customers in under 30 s, see
docs/engine.md "Speed"): documents are serialised once with orjson and written as text; on
PostgreSQL a chunk is COPYed into a temporary table and merged with one INSERT ... ON CONFLICT;
``reassess_book`` spreads chunks over one process per CPU.

- ``reassess_customers(session, ids, as_of, policy)`` — after a feed or an event, inside the
  caller's transaction (it never commits).
- ``reassess_all(session, as_of, policy, chunk=...)`` — the daily roll and the benchmark: walks
  the whole book by customer id (keyset pagination, so memory stays flat at any size).
- ``shadow(session, as_of, policy)`` — what each account would get and which Salesforce fields
  would change, writing nothing (``credit-control assess --dry-run``).

A customer that cannot be assessed (say, a missing exchange rate) gets ``error`` set on its row
and keeps its last good figures; the others in the chunk are assessed as usual.
"""

from __future__ import annotations

import functools
import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    String,
    and_,
    bindparam,
    cast,
    column,
    or_,
    select,
    table,
    type_coerce,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator

from service.credit import (
    INVOICE,
    Allocation,
    Assessment,
    AssessmentError,
    CustomerInputs,
    Dispute,
    Item,
    Payment,
    Policy,
    Promise,
    account_fields,
    assess,
    default_policy,
    document_json,
    load_policy,
)
from service.models import Allocation as AllocationRow
from service.models import Assessment as AssessmentRow
from service.models import CollectionAction, Customer, Receivable
from service.models import Payment as PaymentRow

PROMISE = "Promise to Pay"
DISPUTE = "Dispute"
PROVISIONAL = "provisional"
SUPERSEDED = "superseded"
# Collection_Action__c.Dispute_Status__c picklist values -> the engine's dispute states.
DISPUTE_STATES = {
    "open": "open",
    "resolved valid": "resolved_valid",
    "resolved_valid": "resolved_valid",
    "resolved invalid": "resolved_invalid",
    "resolved_invalid": "resolved_invalid",
}
IN_LIST = 900  # ids per IN (...) list: under every backend's bound-parameter limit
DEFAULT_CHUNK = 2000


@dataclass
class ReassessReport:
    """What a run did: customers assessed, the ones that failed (number -> why), status counts."""

    assessed: int = 0
    errors: dict[str, str] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    items: int = 0

    def count(self, status: str) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1

    def add(self, other: ReassessReport) -> None:
        self.assessed += other.assessed
        self.errors.update(other.errors)
        self.items += other.items
        for k, v in other.statuses.items():
            self.statuses[k] = self.statuses.get(k, 0) + v


# --- loading -------------------------------------------------------------------------------------


def _history_start(as_of: date, policy: Policy) -> date:
    """Settled items older than the risk lookback change nothing; do not read them."""
    days = max([policy.risk.lookback_days] + [s.policy.risk.lookback_days for s in policy.segments])
    return as_of - timedelta(days=days + 1)


def _promise_start(as_of: date, policy: Policy) -> date:
    """Promises whose date plus grace ended before the broken-promise window change nothing."""
    pols = [policy] + [s.policy for s in policy.segments]
    days = max(p.broken_promise_window_days + p.promise_grace_days for p in pols)
    return as_of - timedelta(days=days + 1)


# ``Item(...)`` runs a generated Python ``__new__``; ``tuple.__new__(Item, values)`` builds the
# same named tuple without that frame, which counts at a million items per re-assessment.
_new_tuple = tuple.__new__


def _items_by_customer(rows: Sequence[Any]) -> dict[int, list[Item]]:
    """Receivable rows (id as text, customer id, kind, ..., closed on) as Items per customer.

    SQLite answers dates and money as text, PostgreSQL as date and Decimal: two loops rather
    than a conversion call per value, since this is the biggest read by far.
    """
    items: dict[int, list[Item]] = defaultdict(list)
    if rows and type(rows[0][7]) is str:  # SQLite: text
        day = date.fromisoformat
        for rid, cid, kind, number, issue, due, cur, amount, open_amount, closed in rows:
            items[cid].append(
                _new_tuple(
                    Item,
                    (
                        rid,
                        kind,
                        number,
                        day(issue),
                        day(due),
                        cur,
                        Decimal(amount),
                        Decimal(open_amount),
                        None if closed is None else day(closed),
                    ),
                )
            )
    else:  # PostgreSQL: already date and Decimal
        for rid, cid, kind, number, issue, due, cur, amount, open_amount, closed in rows:
            items[cid].append(
                _new_tuple(Item, (rid, kind, number, issue, due, cur, amount, open_amount, closed))
            )
    return items


@functools.cache
def _statements(by_ids: bool) -> dict[str, Any]:
    """The loader's four reads, built once: constructing a SQLAlchemy statement costs more than
    running it against SQLite for one customer. ``by_ids`` selects ``IN :ids`` over
    ``BETWEEN :lo AND :hi``."""
    c = Customer.__table__.c
    r = Receivable.__table__.c
    p = PaymentRow.__table__.c
    a = AllocationRow.__table__.c
    x = CollectionAction.__table__.c

    def of(column):
        if by_ids:
            return column.in_(bindparam("ids", expanding=True))
        return column.between(bindparam("lo"), bindparam("hi"))

    return {
        "customers": select(
            c.id, c.number, c.currency, c.credit_limit, c.hold_override_until, c.segment
        )
        .where(of(c.id))
        .order_by(c.id),
        # The biggest read by far (a million rows for the whole book). Its values come back
        # untyped and are converted in load_inputs: SQLite keeps dates and money as text,
        # PostgreSQL already answers date and Decimal, and skipping the per-value type hooks
        # halves the time of this read.
        "receivables": select(
            cast(r.id, String),  # the engine's item ids are text
            r.customer_id,
            r.kind,
            r.number,
            type_coerce(r.issue_date, String),
            type_coerce(r.due_date, String),
            r.currency,
            type_coerce(r.amount, String),
            type_coerce(r.open_amount, String),
            type_coerce(r.closed_on, String),
        ).where(
            of(r.customer_id),
            or_(
                r.is_open.is_(True),
                and_(r.kind == INVOICE, r.closed_on >= bindparam("history_from")),
            ),
        ),
        # Payments with their allocations, one row per allocation (or one for a payment
        # without any): one round trip instead of two.
        "payments": select(
            p.id,
            p.customer_id,
            p.amount,
            p.currency,
            p.received_at,
            p.status,
            a.receivable_id,
            a.amount,
        )
        .select_from(PaymentRow.__table__)
        .outerjoin(AllocationRow.__table__, a.payment_id == p.id)
        .where(of(p.customer_id), p.status != SUPERSEDED)
        # By customer first: SQLite then walks ix_payments_customer_id in order; ordered by id
        # alone it scanned the whole payments table for every chunk.
        .order_by(p.customer_id, p.id),
        "actions": select(
            x.id,
            x.customer_id,
            x.type,
            x.promised_amount,
            x.promised_date,
            x.receivable_id,
            x.disputed_amount,
            x.dispute_status,
            x.follow_up_date,
            x.occurred_at,
        ).where(
            of(x.customer_id),
            x.is_deleted.is_(False),
            or_(
                and_(x.type == PROMISE, x.promised_date >= bindparam("promise_from")),
                x.type == DISPUTE,
                x.follow_up_date >= bindparam("as_of"),
            ),
        ),
    }


def load_inputs(
    session: Session,
    as_of: date,
    policy: Policy,
    *,
    ids: Sequence[int] | None = None,
    lo: int | None = None,
    hi: int | None = None,
    history_from: date | None = None,
) -> dict[int, CustomerInputs]:
    """The engine inputs of customers ``ids`` (or every customer with ``lo <= id <= hi``).

    Settled invoices are read back to the policy's risk lookback, or to ``history_from`` when
    that is earlier (portfolio figures need every invoice issued or settled in their period).
    """
    if ids is not None:
        ids = sorted(set(ids))
        if ids and ids[-1] - ids[0] + 1 == len(ids):
            # Consecutive ids (one customer, most often) read by range: the same rows, and the
            # statement needs no IN list expanded for every call.
            lo, hi, ids = ids[0], ids[-1], None
    q = _statements(ids is not None)
    since = _history_start(as_of, policy)
    if history_from is not None:
        since = min(since, history_from)
    key = {"ids": list(ids)} if ids is not None else {"lo": lo, "hi": hi}
    conn = session.connection()
    customers = conn.execute(q["customers"], key).all()
    if not customers:
        return {}

    rows = conn.execute(q["receivables"], {**key, "history_from": since}).all()
    items = _items_by_customer(rows)

    payments: dict[int, list[Payment]] = defaultdict(list)
    current: list[Any] | None = (
        None  # [id, customer, amount, currency, received_at, status, allocations]
    )

    def flush_payment() -> None:
        if current is not None:
            pid, cid, amount, cur, received_at, status, allocated = current
            payments[cid].append(
                Payment(str(pid), amount, cur, received_at, status == PROVISIONAL, tuple(allocated))
            )

    # .all(): one fetchall in the driver rather than a fetchone per row.
    for pid, cid, amount, cur, received_at, status, rid, applied in conn.execute(
        q["payments"], key
    ).all():
        if current is None or current[0] != pid:
            flush_payment()
            current = [pid, cid, amount, cur, received_at, status, []]
        if rid is not None:
            current[6].append(Allocation(str(rid), applied))
    flush_payment()

    promises: dict[int, list[Promise]] = defaultdict(list)
    disputes: dict[int, list[Dispute]] = defaultdict(list)
    follow_ups: dict[int, list[date]] = defaultdict(list)
    params = {**key, "promise_from": _promise_start(as_of, policy), "as_of": as_of}
    for row in conn.execute(q["actions"], params).all():
        made_on = row.occurred_at.astimezone(UTC).date()
        if row.type == PROMISE and row.promised_amount and row.promised_date:
            promises[row.customer_id].append(
                Promise(str(row.id), row.promised_amount, row.promised_date, made_on)
            )
        elif row.type == DISPUTE and row.disputed_amount:
            state = DISPUTE_STATES.get((row.dispute_status or "open").strip().lower(), "open")
            rid = None if row.receivable_id is None else str(row.receivable_id)
            disputes[row.customer_id].append(
                Dispute(str(row.id), rid, row.disputed_amount, state, made_on)
            )
        if row.follow_up_date is not None and row.follow_up_date >= as_of:
            follow_ups[row.customer_id].append(row.follow_up_date)

    return {
        cid: CustomerInputs(
            number=number,
            currency=currency,
            credit_limit=limit,
            override_until=override,
            attributes={"segment": segment} if segment else {},
            items=tuple(items.get(cid, ())),
            payments=tuple(payments.get(cid, ())),
            promises=tuple(promises.get(cid, ())),
            disputes=tuple(disputes.get(cid, ())),
            follow_ups=tuple(follow_ups.get(cid, ())),
        )
        for cid, number, currency, limit, override, segment in customers
    }


# --- assessing and storing -----------------------------------------------------------------------


def assess_inputs(
    inputs: dict[int, CustomerInputs], as_of: date, policy: Policy
) -> Iterator[tuple[int, Assessment | AssessmentError]]:
    for cid, customer in inputs.items():
        try:
            yield cid, assess(customer, policy, as_of)
        except AssessmentError as exc:
            yield cid, exc


class _JSONText(TypeDecorator[str]):
    """A JSON column written with text already serialised (by orjson, in ``document_json``).

    The column's own JSON type would serialise the document again with ``json``; this type keeps
    the database type (PostgreSQL still casts the text to ``json``) and passes the text as is.
    """

    impl = JSON
    cache_ok = True

    def bind_processor(self, dialect):
        return None


_FIGURES = (
    "as_of",
    "status",
    "balance_outstanding",
    "overdue_amount",
    "days_past_due",
    "risk_score",
    "collection_priority",
    "document",
    "error",
    "computed_at",
)
_COLUMNS = ("customer_id", *_FIGURES)
# At or above this many rows PostgreSQL gets COPY into a temporary table and one INSERT ...
# SELECT ... ON CONFLICT: several times faster than executemany for a chunk of the book, and
# not worth its three extra statements for the few customers of a feed or an API read.
COPY_AT_LEAST = 50


@functools.cache
def _upsert_statement(dialect: str, update: tuple[str, ...], document_text: bool = False):
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = AssessmentRow.__table__
    statement = insert(table)
    if document_text:
        statement = statement.values(
            {
                name: bindparam(
                    name, type_=_JSONText() if name == "document" else table.c[name].type
                )
                for name in _COLUMNS
            }
        )
    return statement.on_conflict_do_update(
        index_elements=["customer_id"], set_={name: statement.excluded[name] for name in update}
    )


def _upsert(session: Session, rows: list[dict[str, Any]], update: tuple[str, ...]) -> None:
    if rows:
        dialect = session.get_bind().dialect.name
        session.connection().execute(_upsert_statement(dialect, update), rows)


# Session-local and emptied at commit. Only the written columns, typed as in ``assessments``
# and without its constraints, so a column another migration adds cannot break the COPY.
_COPY_CREATE = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS assessments_in ON COMMIT DELETE ROWS AS "
    "SELECT customer_id, as_of, status, balance_outstanding, overdue_amount, days_past_due, "
    "risk_score, collection_priority, document, error, computed_at FROM assessments WITH NO DATA"
)
_COPY_IN = (
    "COPY assessments_in (customer_id, as_of, status, balance_outstanding, overdue_amount, "
    "days_past_due, risk_score, collection_priority, document, error, computed_at) FROM STDIN"
)
_COPY_EMPTY = "TRUNCATE assessments_in"


@functools.cache
def _merge_statement():
    """INSERT INTO assessments SELECT ... FROM assessments_in ON CONFLICT DO UPDATE."""
    incoming = table("assessments_in", *(column(name) for name in _COLUMNS))
    statement = postgresql.insert(AssessmentRow.__table__).from_select(
        list(_COLUMNS), select(*(incoming.c[name] for name in _COLUMNS))
    )
    return statement.on_conflict_do_update(
        index_elements=["customer_id"], set_={name: statement.excluded[name] for name in _FIGURES}
    )


def _copy_upsert(session: Session, rows: list[tuple[Any, ...]]) -> None:
    """PostgreSQL: COPY the rows into a session-local temporary table, then upsert them at once.

    Hand-written with psycopg's COPY (SQLAlchemy has no COPY): one stream and one statement for
    a chunk instead of one INSERT per row. The temporary table is emptied after use so several
    chunks can share one transaction.
    """
    connection = session.connection()
    with connection.connection.dbapi_connection.cursor() as cursor:
        cursor.execute(_COPY_CREATE)
        with cursor.copy(_COPY_IN) as copy:
            for row in rows:
                copy.write_row(row)
    connection.execute(_merge_statement())
    connection.exec_driver_sql(_COPY_EMPTY)


def _write(session: Session, rows: list[tuple[Any, ...]]) -> None:
    """Upsert assessed rows (``_COLUMNS`` order, the document already JSON text)."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql" and len(rows) >= COPY_AT_LEAST:
        _copy_upsert(session, rows)
        return
    session.connection().execute(
        _upsert_statement(dialect, _FIGURES, document_text=True),
        [dict(zip(_COLUMNS, row, strict=True)) for row in rows],
    )


@dataclass
class Rows:
    """A chunk's rows ready to write: assessed (``_COLUMNS`` order, document as JSON text) and
    failed (upsert dicts), with the report of what was assessed."""

    report: ReassessReport
    good: list[tuple[Any, ...]]
    bad: list[dict[str, Any]]


def _error_row(cid: int, message: str, as_of: date, now: datetime) -> dict[str, Any]:
    # A first assessment that fails still gets a row, so the error is visible.
    return {
        "customer_id": cid,
        "as_of": as_of,
        "status": "ERROR",
        "balance_outstanding": Decimal(0),
        "overdue_amount": Decimal(0),
        "days_past_due": 0,
        "risk_score": 0,
        "collection_priority": 0,
        "document": {},
        "error": message,
        "computed_at": now,
    }


def prepare_rows(
    results: Iterable[tuple[int, Assessment | AssessmentError]],
    as_of: date,
    now: datetime | None = None,
) -> Rows:
    """Build the rows to store (documents serialised here), touching no database: a worker
    does this before it takes SQLite's write lock, so the lock is held only to write."""
    now = now or datetime.now(UTC)
    report = ReassessReport()
    statuses = report.statuses
    good: list[tuple[Any, ...]] = []
    bad: list[dict[str, Any]] = []
    for cid, result in results:
        if isinstance(result, AssessmentError):
            report.errors[result.customer] = result.message
            bad.append(_error_row(cid, result.message, as_of, now))
            continue
        status = result.status.value
        statuses[status] = statuses.get(status, 0) + 1
        good.append(
            (
                cid,
                as_of,
                status,
                result.balance_outstanding,
                result.overdue_amount,
                result.days_past_due,
                result.risk_score,
                result.collection_priority,
                document_json(result),
                None,
                now,
            )
        )
    report.assessed = len(good)
    return Rows(report, good, bad)


def write_rows(session: Session, rows: Rows) -> ReassessReport:
    """Upsert prepared rows. A failed customer keeps its last good figures."""
    _write(session, rows.good)
    _upsert(session, rows.bad, ("as_of", "error", "computed_at"))
    return rows.report


def store(
    session: Session,
    results: Iterable[tuple[int, Assessment | AssessmentError]],
    as_of: date,
    now: datetime | None = None,
) -> ReassessReport:
    """Upsert one row per customer. A failed customer keeps its last good figures."""
    return write_rows(session, prepare_rows(results, as_of, now))


def _in_lists(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for i in range(0, len(ids), IN_LIST):
        yield ids[i : i + IN_LIST]


def reassess_customers(
    session: Session,
    customer_ids: Iterable[int],
    as_of: date,
    policy: Policy | None = None,
) -> ReassessReport:
    """Re-assess these customers and store their rows, inside the caller's transaction."""
    policy = policy or default_policy()
    ids = sorted(set(customer_ids))
    report = ReassessReport()
    for part in _in_lists(ids):
        inputs = load_inputs(session, as_of, policy, ids=part)
        report.items += sum(len(c.items) for c in inputs.values())
        report.add(store(session, assess_inputs(inputs, as_of, policy), as_of))
    return report


def _id_ranges(session: Session, chunk: int) -> Iterator[tuple[int, int]]:
    """(first id, last id) of successive chunks of customers, by keyset pagination."""
    last = None
    while True:
        query = select(Customer.id).order_by(Customer.id).limit(chunk)
        if last is not None:
            query = query.where(Customer.id > last)
        ids = session.scalars(query).all()
        if not ids:
            return
        yield ids[0], ids[-1]
        last = ids[-1]


def reassess_all(
    session: Session,
    as_of: date,
    policy: Policy | None = None,
    *,
    chunk: int = DEFAULT_CHUNK,
    commit_each: bool = False,
    on_chunk: Callable[[Session, list[int]], Any] | None = None,
    progress: Callable[[ReassessReport], None] | None = None,
) -> ReassessReport:
    """Re-assess every customer, ``chunk`` customers at a time.

    ``on_chunk(session, customer_ids)`` runs in the same transaction after each chunk is stored
    (e.g. ``service.outbox.queue_for_salesforce``). ``commit_each`` commits after every chunk
    (a big book: short transactions, a crash loses one chunk's work); otherwise the caller
    commits.
    """
    policy = policy or default_policy()
    report = ReassessReport()
    for lo, hi in _id_ranges(session, chunk):
        _lock_range(session, lo, hi)
        inputs = load_inputs(session, as_of, policy, lo=lo, hi=hi)
        part = store(session, assess_inputs(inputs, as_of, policy), as_of)
        part.items = sum(len(c.items) for c in inputs.values())
        report.add(part)
        if on_chunk:
            on_chunk(session, list(inputs))
        if commit_each:
            session.commit()
        if progress:
            progress(report)
    return report


# --- the whole book, in parallel -----------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _worker_start(url: str, policy_document: dict[str, Any], as_of: date) -> None:
    from sqlalchemy import create_engine

    from service.db import make_engine, make_session_factory

    writer = make_engine(url)
    # Reads need no write lock: on SQLite a plain engine begins deferred, so workers read in
    # parallel (WAL) and take the write lock only for their upsert.
    reader = create_engine(url) if url.startswith("sqlite") else writer
    _WORKER.update(
        readers=make_session_factory(reader),
        writers=make_session_factory(writer),
        policy=load_policy(policy_document),
        as_of=as_of,
    )


def _worker_chunk(bounds: tuple[int, int]) -> ReassessReport:
    lo, hi = bounds
    policy, as_of = _WORKER["policy"], _WORKER["as_of"]
    read_from = datetime.now(UTC)
    with _WORKER["readers"]() as session:
        inputs = load_inputs(session, as_of, policy, lo=lo, hi=hi)
        session.rollback()
    rows = prepare_rows(assess_inputs(inputs, as_of, policy), as_of)
    with _WORKER["writers"]() as session, session.begin():
        _lock_range(session, lo, hi)
        rows = _without_newer(session, rows, lo, hi, read_from)
        report = write_rows(session, rows)
    report.items = sum(len(c.items) for c in inputs.values())
    return report


def _lock_range(session: Session, lo: int, hi: int) -> None:
    """PostgreSQL: lock customers ``lo..hi`` in id order, as drains lock theirs
    (``service.assessment_queue.lock_customers``), so a drain of one of them finishes before
    this reads or writes it, and none starts until this commits. No-op on SQLite, where the
    write transaction holds the one write lock."""
    if session.get_bind().dialect.name != "postgresql":
        return
    session.execute(
        select(Customer.id)
        .where(Customer.id.between(lo, hi))
        .order_by(Customer.id)
        .with_for_update(key_share=True)  # FOR NO KEY UPDATE: feeds' inserts are not blocked
    ).all()


def _without_newer(session: Session, rows: Rows, lo: int, hi: int, read_from: datetime) -> Rows:
    """``rows`` less the customers assessed since ``read_from`` (the chunk's read began).

    A whole-book worker reads outside the write transaction (SQLite: outside the write lock,
    so workers read in parallel). Meanwhile the worker's assessor may have assessed one of
    these customers after a feed changed it, and deleted its request; writing this chunk's
    older figures over that would leave them stale with nothing left to correct them. So the
    newer row is kept: anything it did not see has a request waiting.
    """
    newer = set(
        session.scalars(
            select(AssessmentRow.customer_id).where(
                AssessmentRow.customer_id.between(lo, hi), AssessmentRow.computed_at >= read_from
            )
        )
    )
    if not newer:
        return rows
    good = [row for row in rows.good if row[0] not in newer]
    for row in rows.good:
        if row[0] in newer:
            rows.report.statuses[row[2]] -= 1
    rows.report.assessed = len(good)
    return Rows(rows.report, good, [row for row in rows.bad if row["customer_id"] not in newer])


def reassess_book(
    database_url: str,
    as_of: date,
    policy: Policy | None = None,
    *,
    workers: int | None = None,
    chunk: int = DEFAULT_CHUNK,
) -> ReassessReport:
    """Re-assess every customer with ``workers`` processes, each chunk committed on its own.

    For the daily roll and the benchmark over a big book: the engine is CPU-bound Python, so
    processes (not threads) share the work. Each worker opens its own connections; the result
    is the same as :func:`reassess_all` with ``commit_each``.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from service.db import make_engine, make_session_factory

    policy = policy or default_policy()
    workers = workers or os.cpu_count() or 1
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            ranges = list(_id_ranges(session, chunk))
    finally:
        engine.dispose()
    report = ReassessReport()
    if not ranges:
        return report
    with ProcessPoolExecutor(
        max_workers=min(workers, len(ranges)),
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_worker_start,
        initargs=(database_url, policy.portable_document(), as_of),
    ) as pool:
        for part in pool.map(_worker_chunk, ranges):
            report.add(part)
    return report


# --- shadow mode ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShadowLine:
    """One account in shadow mode: the status it would get and the fields that would change."""

    customer: str
    status: str | None
    previous_status: str | None
    changes: dict[str, tuple[Any, Any]]
    error: str | None = None


def shadow(
    session: Session,
    as_of: date,
    policy: Policy | None = None,
    *,
    chunk: int = DEFAULT_CHUNK,
) -> Iterator[ShadowLine]:
    """Assess every customer and compare with what Salesforce last acknowledged; write nothing."""
    from service.salesforce.fields import canonical_fields

    policy = policy or default_policy()
    for lo, hi in _id_ranges(session, chunk):
        inputs = load_inputs(session, as_of, policy, lo=lo, hi=hi)
        pushed = dict(
            session.execute(
                select(AssessmentRow.customer_id, AssessmentRow.pushed_fields).where(
                    AssessmentRow.customer_id >= lo, AssessmentRow.customer_id <= hi
                )
            ).all()
        )
        for cid, result in assess_inputs(inputs, as_of, policy):
            before = pushed.get(cid) or {}
            if isinstance(result, AssessmentError):
                yield ShadowLine(
                    result.customer, None, before.get("Credit_Status__c"), {}, result.message
                )
                continue
            after = account_fields(result)
            old, new = canonical_fields(before), canonical_fields(after)
            changes = {k: (old.get(k), new[k]) for k in new if old.get(k) != new[k]}
            yield ShadowLine(
                result.customer, result.status.value, before.get("Credit_Status__c"), changes
            )


# --- command line ----------------------------------------------------------------------------


def read_policy(path: str | None) -> Policy:
    """The policy in a JSON file, or the default policy when no file is given."""
    if not path:
        return default_policy()
    import json
    from pathlib import Path

    return load_policy(json.loads(Path(path).read_text()))


def _show(value: Any) -> str:
    return "-" if value is None else str(value)


def _assess_command():
    import click

    @click.command("assess")
    @click.option(
        "--dry-run", is_flag=True, help="Shadow mode: show what would change, write nothing."
    )
    @click.option(
        "--as-of",
        "as_of",
        type=click.DateTime(["%Y-%m-%d"]),
        help="Day to assess as of (default: today, UTC).",
    )
    @click.option(
        "--policy",
        "policy_file",
        type=click.Path(exists=True, dir_okay=False),
        envvar="CREDIT_POLICY_FILE",
        help="Policy JSON document (default: design.md's defaults).",
    )
    @click.option(
        "--chunk", default=DEFAULT_CHUNK, show_default=True, type=click.IntRange(1, 50_000)
    )
    @click.option(
        "--all", "show_all", is_flag=True, help="With --dry-run, list unchanged accounts too."
    )
    def assess_command(
        dry_run: bool, as_of, policy_file: str | None, chunk: int, show_all: bool
    ) -> None:
        """Re-assess every customer; with --dry-run, print each account's status and the
        Salesforce fields that would change, pushing and storing nothing."""
        import time

        from service.config import load_config
        from service.db import make_engine, make_session_factory
        from service.feeds.assessment import load_policy_file

        policy = load_policy_file(policy_file)
        day = as_of.date() if as_of else datetime.now(UTC).date()
        engine = make_engine(load_config(require=()).database_url)
        factory = make_session_factory(engine)
        started = time.perf_counter()
        try:
            if dry_run:
                counts: dict[str, int] = defaultdict(int)
                changed = 0
                with factory() as session:
                    for line in shadow(session, day, policy, chunk=chunk):
                        counts[line.status or "ERROR"] += 1
                        if line.error:
                            click.echo(f"{line.customer}\tERROR\t{line.error}")
                            continue
                        if line.changes:
                            changed += 1
                        if line.changes or show_all:
                            moves = "; ".join(
                                f"{k}: {_show(a)} -> {_show(b)}"
                                for k, (a, b) in line.changes.items()
                            )
                            was = _show(line.previous_status)
                            click.echo(
                                f"{line.customer}\t{was} -> {line.status}\t{moves or 'no change'}"
                            )
                summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
                click.echo(
                    f"dry run as of {day}: {summary}; {changed} accounts would change in Salesforce; nothing written"
                )
                return
            from service import outbox

            with factory() as session:
                report = reassess_all(
                    session, day, policy, chunk=chunk, commit_each=True,
                    on_chunk=outbox.queue_for_salesforce,
                )  # fmt: skip
            summary = ", ".join(f"{k} {v}" for k, v in sorted(report.statuses.items()))
            click.echo(
                f"re-assessed {report.assessed} customers as of {day} in "
                f"{time.perf_counter() - started:.1f}s: {summary}; {len(report.errors)} errors"
            )
            for number, message in sorted(report.errors.items())[:20]:
                click.echo(f"{number}: {message}", err=True)
        finally:
            engine.dispose()

    return assess_command


assess_command = _assess_command()

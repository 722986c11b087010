"""Reading the engine's inputs for a chunk of customers: four queries, never one per customer.

``load_inputs`` reads customers, receivables, payments with their allocations and collection
actions for a list or a range of customer ids and builds the engine's frozen inputs. The
helpers below walk the book by id (keyset pagination, so memory stays flat at any size) and
lock customers in id order on PostgreSQL, so two writers of one customer's assessment run one
after the other and an older assessment never overwrites a newer one.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    String,
    and_,
    bindparam,
    cast,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session

from service.bulk import key_chunks, key_in
from service.credit import (
    INVOICE,
    Allocation,
    CustomerInputs,
    Dispute,
    Item,
    Payment,
    Policy,
    Promise,
)
from service.db import is_postgres
from service.models import Allocation as AllocationRow
from service.models import CollectionAction, Customer, Receivable
from service.models import Payment as PaymentRow

PROMISE = "Promise to Pay"
DISPUTE = "Dispute"
PROVISIONAL = "provisional"
SUPERSEDED = "superseded"
REVERSED = "reversed"
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
        .where(of(p.customer_id), p.status.not_in((SUPERSEDED, REVERSED)))
        # By customer first: SQLite then walks ix_payments_customer_id in order; ordered by id
        # alone it would scan the whole payments table for every chunk.
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


def id_ranges(session: Session, chunk: int) -> Iterator[tuple[int, int]]:
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


def lock_range(session: Session, lo: int, hi: int) -> None:
    """PostgreSQL: lock customers ``lo..hi`` in id order, as drains lock theirs
    (``lock_customers``), so a drain of one of them finishes before
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


def lock_customers(session: Session, customer_ids: Iterable[int]) -> None:
    """PostgreSQL: lock these customers' rows in id order (no-op on SQLite).

    Two writers of one customer (two drains, a drain and a credit read, an event handler)
    then run one after the other, the second reading what the first committed. ``NO KEY``
    because a plain ``FOR UPDATE`` also blocks the ``FOR KEY SHARE`` lock every receivable or
    payment insert takes on its customer: feeds would wait on drains for no reason.
    """
    if not is_postgres(session):
        return
    for part in key_chunks(session, sorted(set(customer_ids))):
        session.execute(
            select(Customer.id)
            .where(key_in(session, Customer.id, part))
            .order_by(Customer.id)
            .with_for_update(key_share=True)  # FOR NO KEY UPDATE
        ).all()

"""Storing assessments: the pure engine's answers as ``assessments`` rows, one upsert per chunk.

Documents are serialised once (orjson, in ``service.credit.document_json``) and written as
text. On PostgreSQL a chunk of at least ``COPY_AT_LEAST`` rows is COPYed into a temporary table
and merged with one ``INSERT ... ON CONFLICT`` (SQLAlchemy has no COPY). A customer the engine
cannot assess (say, a missing exchange rate) gets ``error`` set on its row and keeps its last
good figures (a first assessment that fails is stored with status ``ERROR``).

One customer never fails the others: any exception while assessing or serialising one customer
(an ``AssessmentError``, or a bug or an overflow on that customer's data) is caught for that
customer alone, logged with its number and stored as its error, and the chunk goes on.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    bindparam,
    column,
    select,
    table,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator

from service.credit import (
    Assessment,
    AssessmentError,
    CustomerInputs,
    Policy,
    assess,
    document_json,
)
from service.models import Assessment as AssessmentRow

log = logging.getLogger(__name__)


class UnexpectedFailure(AssessmentError):
    """The engine (or the serialiser) raised something other than ``AssessmentError`` for one
    customer: a bug or a value it cannot handle. Stored as that customer's error like any other
    ``AssessmentError``, so the rest of the chunk is assessed."""

    code = "unexpected_error"

    def __init__(self, customer: str, exc: BaseException) -> None:
        super().__init__(
            customer,
            f"the credit engine failed on this customer ({type(exc).__name__}: {str(exc)[:300]}); "
            "the other customers were assessed",
        )


def _unexpected(customer: str, exc: Exception, logged: list[int]) -> UnexpectedFailure:
    """Log an unexpected failure with the customer's number (the first traceback of a run in
    full, the rest in one line each, so a bug that hits the whole book does not flood the log)."""
    if logged[0] == 0:
        log.error("customer %s cannot be assessed", customer, exc_info=exc)
    else:
        log.error("customer %s cannot be assessed: %s: %s", customer, type(exc).__name__, exc)
    logged[0] += 1
    return UnexpectedFailure(customer, exc)


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


def assess_inputs(
    inputs: dict[int, CustomerInputs], as_of: date, policy: Policy
) -> Iterator[tuple[int, Assessment | AssessmentError]]:
    """Each customer's assessment, or why it could not be made: never raises for one customer."""
    logged = [0]
    for cid, customer in inputs.items():
        try:
            result: Assessment | AssessmentError = assess(customer, policy, as_of)
        except AssessmentError as exc:
            result = exc
        except Exception as exc:  # one customer's bug or overflow must not fail the others
            result = _unexpected(customer.number, exc, logged)
        yield cid, result


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
    logged = [0]
    for cid, result in results:
        if not isinstance(result, AssessmentError):
            try:
                document = document_json(result)
            except Exception as exc:  # a figure the serialiser cannot write: this customer only
                result = _unexpected(result.customer, exc, logged)
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
                document,
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

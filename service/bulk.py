"""Set-based SQL for thousands of rows at once: key lookups, bulk inserts, id allocation.

Feeds, the import, the assessment queue and the outbox all write thousands of rows per
transaction; one ORM object or one statement per row would cost most of their time. These
helpers keep each such write to a few statements, and hide the one place where SQLite and
PostgreSQL need different SQL to be fast (``COPY`` and array parameters on PostgreSQL,
executemany on SQLite). They take the caller's session and never commit.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    DateTime,
    and_,
    bindparam,
    func,
    literal,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from service.db import UTCDateTime, queued_writes

IN_CHUNK = 1_000
# PostgreSQL takes a lookup's keys as one array parameter, so one statement carries a whole
# chunk's keys.
ARRAY_CHUNK = 50_000


def key_in(session: Session, column, values: list[Any]) -> ColumnElement[bool]:
    """``column IN (values)``, written so PostgreSQL probes the index whatever its statistics.

    On PostgreSQL the keys travel as one array, unnested in a subquery: the planner then
    probes the unique index once per key. A plain IN list (or ``= ANY``) lets the planner scan
    every row of a bulk-loaded, not yet analysed table and filter.
    """
    if session.get_bind().dialect.name == "postgresql":
        return column.in_(select(func.unnest(literal(list(values), ARRAY(column.type)))))
    return column.in_(values)


def source_key_in(session: Session, source_column, source: str, column, values: list[Any]):
    """``source_column = source AND column IN (values)`` over a (source, key) unique index."""
    if session.get_bind().dialect.name == "postgresql":
        keys = select(
            literal(source, source_column.type),
            func.unnest(literal(list(values), ARRAY(column.type))),
        )
        return tuple_(source_column, column).in_(keys)
    return and_(source_column == source, column.in_(values))


def bulk_insert(session: Session, table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows of one shape: ``COPY`` on PostgreSQL, executemany on SQLite.

    ``COPY`` is several times faster than an executemany for thousands of rows. It bypasses the
    column types' bind processing, which on PostgreSQL only checks what validation already
    guarantees (money is ``Decimal``, instants are aware), so the values go in unchanged.

    When every column's PostgreSQL type is known (``_COPY_TYPES``), the binary ``COPY`` format is
    used with the types declared up front (psycopg's ``Copy.set_types``): the server then parses
    no text.
    """
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        _sqlite_insert(session, table, rows)
        return
    columns = list(rows[0])
    types = _copy_types(table, tuple(columns))
    dbapi_connection = session.connection().connection.dbapi_connection
    statement = f"COPY {table.name} ({_names(session, columns)}) FROM STDIN"
    if types is not None:
        statement += " (FORMAT BINARY)"
    with dbapi_connection.cursor() as cursor, cursor.copy(statement) as copy:
        if types is not None:
            copy.set_types(types)
        if types is not None and "json" in types:
            # Imported here, not at the top: only a PostgreSQL COPY of JSON needs psycopg.
            import orjson
            from psycopg.types.json import set_json_dumps

            # orjson, not json.dumps, for this cursor's JSON values: half the time per row.
            set_json_dumps(orjson.dumps, cursor)
        for row in rows:
            copy.write_row([row[column] for column in columns])


# PostgreSQL type (as SQLAlchemy compiles it, up to the first "(") -> psycopg's binary type name.
# Binary COPY needs the exact type of each column (int4 is not int8), so anything else (JSON, a
# type added later) falls back to text COPY rather than guess.
_COPY_TYPES = {
    "INTEGER": "int4",
    "BIGINT": "int8",
    "BOOLEAN": "bool",
    "DATE": "date",
    "NUMERIC": "numeric",
    "VARCHAR": "text",  # varchar's binary form is text's
    "TEXT": "text",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "JSON": "json",  # a dict or list, serialised by psycopg's json.dumps as the ORM's would be
}
_COPY_TYPES_CACHE: dict[tuple[str, tuple[str, ...]], list[str] | None] = {}


def _copy_types(table, columns: tuple[str, ...]) -> list[str] | None:
    key = (table.name, columns)
    if key not in _COPY_TYPES_CACHE:
        dialect = postgresql.dialect()
        names = [
            _COPY_TYPES.get(table.c[name].type.compile(dialect=dialect).split("(")[0])
            for name in columns
        ]
        _COPY_TYPES_CACHE[key] = None if None in names else names
    return _COPY_TYPES_CACHE[key]


def insert_with_ids(session: Session, table, rows: list[dict[str, Any]]) -> list[int]:
    """``bulk_insert`` rows with their primary keys allocated first (each row dict gets its
    ``id``); returns the ids, in row order.

    Neither ``COPY`` nor SQLite's executemany returns ids, and reading them back by natural key
    would cost a second lookup of every new row. Allocating them is one statement: PostgreSQL
    draws them from the column's own sequence (``nextval`` over ``generate_series``, safe under
    any concurrency; the sequence is looked up once per allocation, not per row); SQLite
    continues after the highest id, which is safe because every transaction here holds the write
    lock from its first statement (``BEGIN IMMEDIATE``, ``service.db``). Should that ever not
    hold, the worst case is a primary key conflict, which rolls the batch back whole (the feed
    answers 409: send it again).
    """
    if not rows:
        return []
    ids = allocate_ids(session, table, len(rows))
    for row, new_id in zip(rows, ids, strict=True):
        row["id"] = new_id
    bulk_insert(session, table, rows)
    return ids


def allocate_ids(session: Session, table, count: int) -> list[int]:
    """``count`` new primary keys of ``table``, for rows inserted later in this transaction
    (``insert_with_ids`` says why this is safe); no other ids of the table may be allocated
    before those rows are in."""
    if count <= 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        return list(
            session.execute(
                text(
                    "WITH s AS MATERIALIZED"
                    " (SELECT pg_get_serial_sequence(:table, 'id')::regclass AS seq)"
                    " SELECT nextval(s.seq) FROM s, generate_series(1, :n)"
                ),
                {"table": table.name, "n": count},
            ).scalars()
        )
    top = session.execute(select(func.max(table.c.id))).scalar() or 0
    return list(range(top + 1, top + 1 + count))


def _sqlite_insert(session: Session, table, rows: list[dict[str, Any]]) -> None:
    """executemany with each column's own bind processor, memoised per distinct value.

    SQLite keeps dates and instants as text, and formatting them is most of an insert's cost;
    a batch repeats the same few values (today's timestamp, a handful of dates) thousands of
    times, so each distinct value is formatted once. The processors are SQLAlchemy's, so what
    is stored is exactly what an ORM insert would store.
    """
    dialect = session.get_bind().dialect
    columns = list(rows[0])
    converters = []
    for name in columns:
        column_type = table.c[name].type
        process = column_type.dialect_impl(dialect).bind_processor(dialect)
        # Only dates and instants: equal Decimals (1.0, 1.00) hash alike but must keep their text.
        repeated = isinstance(column_type, Date | DateTime | UTCDateTime)
        converters.append(_memoised(process) if repeated else process)
    # Column by column: one C-level ``map`` per column instead of a generator per row (a quarter
    # less time).
    values_by_column = []
    for name, convert in zip(columns, converters, strict=True):
        values = [row[name] for row in rows]
        values_by_column.append(values if convert is None else list(map(convert, values)))
    params = list(zip(*values_by_column, strict=True))
    names = _names(session, columns)
    # Table and column names come from our own metadata, never from input.
    sqlite_insert_rows(session, f"INSERT INTO {table.name} ({names}) VALUES", params)


# Rows per multi-row INSERT on the background writer (fewer where SQLite's limit on ``?`` says
# so): each statement waits for the GIL up to a switch interval while the owner runs Python, so
# few big statements; but a compiled statement's size grows with its rows (docs/adr/0021).
ROWS_PER_STATEMENT = 4_000


def sqlite_insert_rows(session: Session, head: str, rows: list[tuple], tail: str = "") -> None:
    """``head`` (``INSERT INTO t (a, b) VALUES``) for each row, then ``tail`` (an ``ON
    CONFLICT`` clause): one executemany, or multi-row statements queued on the connection's
    background writer when the caller runs one (``service.db.background_writes``)."""
    if not rows:
        return
    width = len(rows[0])
    one = "(" + ", ".join("?" * width) + ")"
    queue = queued_writes(session)
    if queue is None:
        session.connection().exec_driver_sql(f"{head} {one}{tail}", rows)
        return
    per = max(1, min(ROWS_PER_STATEMENT, _variable_limit(session) // width))
    label = f"{head} {one}{tail}"
    for start in range(0, len(rows), per):
        chunk = rows[start : start + per]
        statement = f"{head} {', '.join([one] * len(chunk))}{tail}"
        queue.submit(label, statement, list(chain.from_iterable(chunk)))


def _variable_limit(session: Session) -> int:
    """The most ``?`` one statement may hold on this SQLite connection."""
    driver = session.connection().connection.dbapi_connection
    return driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)


def _names(session: Session, columns: list[str]) -> str:
    """Column names as the dialect writes them: quoted where a name is a keyword
    (``cash_applications.references``)."""
    quote = session.get_bind().dialect.identifier_preparer.quote
    return ", ".join(quote(name) for name in columns)


def _memoised(process):
    if process is None:
        return None
    cache: dict[Any, Any] = {}

    def convert(value):
        if value is None:
            return None
        try:
            return cache[value]
        except KeyError:
            result = cache[value] = process(value)
            return result

    return convert


def key_chunks(session: Session, values: Sequence[Any] | Iterable[Any]) -> Iterator[list[Any]]:
    """``values`` in lists of as many keys as one ``key_in`` lookup should carry.

    SQLite binds each key as a parameter of its own (``IN_CHUNK`` a statement); PostgreSQL
    binds them as one array (``ARRAY_CHUNK``), saving a round trip and a plan per thousand.
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    return chunks(values, ARRAY_CHUNK if postgres else IN_CHUNK)


def chunks(values: Sequence[Any] | Iterable[Any], size: int = IN_CHUNK) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for value in values:
        batch.append(value)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def bulk_update(session: Session, table, rows: list[dict[str, Any]]) -> None:
    """Update many rows of one shape by primary key, one executemany.

    Each row holds its primary key as ``b_id`` (``id`` would clash with the column's own bind
    name) and the same other keys: the values to set.
    """
    if not rows:
        return
    session.execute(
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values({key: bindparam(key) for key in rows[0] if key != "b_id"}),
        rows,
    )

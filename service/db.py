"""Database plumbing shared by the web process, the worker and the command line.

SQLite is the embedded default and PostgreSQL the production database; the column types below
exist so that both store exactly the same values. SQLite has no decimal type (its NUMERIC
affinity silently turns ``Decimal("0.10")`` into a float) and no time zones, so money is kept as
text there and instants as naive UTC, and both come back as ``Decimal`` and aware ``datetime``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal

import orjson
from sqlalchemy import DateTime, Engine, MetaData, Numeric, String, create_engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Money(TypeDecorator[Decimal]):
    """An exact decimal amount: NUMERIC(18, 4) on PostgreSQL, canonical text on SQLite."""

    impl = Numeric(18, 4)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(40))
        return dialect.type_descriptor(Numeric(18, 4, asdecimal=True))

    def process_bind_param(self, value, dialect: Dialect):
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"money must be a Decimal, got {type(value).__name__}")
        if dialect.name == "sqlite":
            return format(value, "f")
        return value

    def process_result_value(self, value, dialect: Dialect):
        if value is None:
            return None
        return value if isinstance(value, Decimal) else Decimal(value)


class UTCDateTime(TypeDecorator[datetime]):
    """An instant. Naive values are refused rather than guessed; results are always UTC-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect: Dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("instants must carry a time zone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect: Dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


SQLITE_BUSY_SECONDS = 30


class _WriterGate:
    """SQLite's write lock, handed over first come, first served among this process's threads.

    Why: a thread that finds the database locked is left to SQLite's busy handler, which polls
    with growing sleeps (1, 2, 5 ... 100 ms); a thread that has waited a while sleeps 100 ms
    between tries and keeps losing the lock to threads that just arrived. Queuing the process's
    writers here hands the lock to the longest waiter the moment it is released. Other processes
    still meet SQLite's busy handler (docs/adr/0002). Nothing changes in what a transaction may
    do: the gate is taken just before ``BEGIN IMMEDIATE`` and given back when the connection
    commits, rolls back or closes.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._queue: deque[object] = deque()
        self._owner: int | None = None

    def acquire(self, timeout: float) -> bool:
        """Wait our turn; False (take SQLite's own wait) if this thread holds it or time is up."""
        me = threading.get_ident()
        with self._cond:
            if self._owner == me:
                # A second transaction of the same thread: SQLite answers it as it always did
                # (busy, then "database is locked"); waiting here would never end.
                return False
            ticket = object()
            self._queue.append(ticket)
            turn = self._cond.wait_for(
                lambda: self._owner is None and self._queue[0] is ticket, timeout
            )
            self._queue.remove(ticket)
            if turn:
                self._owner = me
            else:
                self._cond.notify_all()  # the next in line may be free to go now
            return turn

    def release(self) -> None:
        with self._cond:
            self._owner = None
            self._cond.notify_all()

    def waiting(self) -> int:
        """Threads queued for the lock now (diagnostics and tests)."""
        with self._cond:
            return len(self._queue)


_GATES: dict[str, _WriterGate] = {}
_GATES_LOCK = threading.Lock()


def sqlite_writer_gate(engine: Engine) -> _WriterGate | None:
    """The gate this process's writers queue at for a SQLite engine's file (None elsewhere)."""
    if engine.dialect.name != "sqlite":
        return None
    return _writer_gate(engine.url.database or "")


def _writer_gate(database: str) -> _WriterGate:
    """One gate per database file, shared by every engine of this process on that file."""
    key = os.path.realpath(database) if database and database != ":memory:" else database
    with _GATES_LOCK:
        return _GATES.setdefault(key, _WriterGate())


class _WriteQueue:
    """Statements run in order on a thread of their own against one connection.

    pysqlite lets go of the GIL only inside SQLite's own work on a statement, so what runs here
    overlaps the owner's Python work only when each statement is much SQLite work for little
    binding: multi-row ``INSERT ... VALUES`` (``service.bulk``), not an executemany, which takes
    the GIL back for every row. After a statement fails, the rest are skipped and the failure
    stays until the transaction is rolled back.
    """

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writes")
        self._futures: list[Future] = []
        self._failed: Exception | None = None

    def submit(self, label: str, statement: str, parameters: list) -> None:
        self._futures.append(self._thread.submit(self._run, label, statement, parameters))

    def _run(self, label: str, statement: str, parameters: list) -> None:
        if self._failed is not None:
            return
        try:
            # A cursor made directly: the connection's own ``cursor()`` waits for this queue.
            cursor = sqlite3.Cursor(self._connection)
            try:
                cursor.execute(statement, parameters)
            finally:
                cursor.close()
        except Exception as error:  # any failure is the owner's to raise
            error.add_note(f"in a write queued in the background: {label}")
            self._failed = error

    def settle(self) -> None:
        """Wait for every queued statement; raise the failure of one, if any."""
        futures, self._futures = self._futures, []
        for future in futures:
            future.result()
        if self._failed is not None:
            raise self._failed

    def abandon(self) -> None:
        """Drop what has not started, wait for what has, forget any failure (a rollback)."""
        futures, self._futures = self._futures, []
        for future in futures:
            future.cancel()
        futures_wait(futures)
        self._failed = None

    def close(self) -> None:
        self.abandon()
        self._thread.shutdown(wait=True)


class _GatedConnection(sqlite3.Connection):
    """A pysqlite connection that gives the writer gate back once its transaction is over, and
    that may run a batch's inserts on a thread of its own (``background_writes``): any other
    use of the connection waits for them first, so its statements run in the order issued."""

    _gate: _WriterGate | None = None
    _writes: _WriteQueue | None = None

    def _release_gate(self) -> None:
        gate, self._gate = self._gate, None
        if gate is not None:
            gate.release()

    def _settle(self) -> None:
        if self._writes is not None:
            self._writes.settle()

    def _abandon(self) -> None:
        if self._writes is not None:
            self._writes.abandon()

    def cursor(self, *args, **kwargs):
        self._settle()
        return super().cursor(*args, **kwargs)

    def execute(self, *args, **kwargs):
        self._settle()
        return super().execute(*args, **kwargs)

    def executemany(self, *args, **kwargs):
        self._settle()
        return super().executemany(*args, **kwargs)

    def executescript(self, *args, **kwargs):
        self._settle()
        return super().executescript(*args, **kwargs)

    def commit(self) -> None:
        self._settle()  # a failed write raises here, before anything is committed
        try:
            super().commit()
        finally:
            self._release_gate()

    def rollback(self) -> None:
        try:
            self._abandon()
            super().rollback()
        finally:
            self._release_gate()

    def close(self) -> None:
        try:
            writes, self._writes = self._writes, None
            if writes is not None:
                writes.close()
            super().close()
        finally:
            self._release_gate()


def json_text(value) -> str:
    """A JSON column's value as stored: orjson's text, or ``json.dumps``'s for what orjson
    refuses (integers beyond 64 bits, lone surrogates), so anything the standard library could
    store is stored. Both read back equal through ``json.loads``; orjson takes a fraction of the
    time on the thousands of rows a statement import writes (docs/adr/0021)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(value)


def make_engine(url: str, **kwargs) -> Engine:
    """Build an engine with the settings each backend needs for concurrent web and worker use.

    Bound values never reach an exception message or the echo log (``hide_parameters``):
    SQLAlchemy otherwise appends every statement's parameters (a customer's name, a note, a
    token) to the ``str()`` of each database error, and whatever logs that error logs them too.
    JSON columns are written by ``json_text``.
    """
    kwargs.setdefault("hide_parameters", True)
    kwargs.setdefault("json_serializer", json_text)
    if url.startswith("sqlite"):
        connect_args = kwargs.setdefault("connect_args", {})
        connect_args.setdefault("timeout", SQLITE_BUSY_SECONDS)
        # The pool hands a connection to one thread at a time; ``background_writes`` uses it
        # from its writer thread while the owner waits.
        connect_args.setdefault("check_same_thread", False)
        connect_args.setdefault("factory", _GatedConnection)
        # How long a writer waits for the lock, at the gate and then in SQLite's busy handler.
        busy_seconds = float(connect_args.get("timeout", SQLITE_BUSY_SECONDS))
        engine = create_engine(url, **kwargs)
        gate = _writer_gate(engine.url.database or "")

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            # WAL lets the worker read while the web process writes; foreign keys are off by
            # default in SQLite and we rely on them.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_seconds * 1000)}")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # pysqlite defers BEGIN until the first write, which lets two writers read the same
            # row and both act on it; BEGIN IMMEDIATE takes the write lock up front instead.
            # This process's threads queue for it at the gate first (see _WriterGate).
            dbapi = conn.connection.dbapi_connection
            gated = isinstance(dbapi, _GatedConnection) and gate.acquire(busy_seconds)
            if gated:
                dbapi._gate = gate
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                if gated:
                    dbapi._release_gate()
                raise

        _disable_pysqlite_autobegin(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    # psycopg prepares a statement after 5 executions and PostgreSQL then may switch to a generic
    # plan, in which a key lookup over a 1,000-value list or array is a linear search per row.
    # Our statements are few and cheap to plan, so plan each with its actual values.
    kwargs.setdefault("connect_args", {}).setdefault("prepare_threshold", None)
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _utc_session(dbapi_connection, _record):
        # psycopg answers timestamptz in the session's time zone, which is the server's default
        # unless set. In any zone but UTC an instant at the calendar's edge (9999-12-31T23:30Z
        # is 10000-01-01 in Berlin) cannot be read back into a datetime at all, and the row
        # holding it would fail every later read. Instants are UTC throughout the service.
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        cursor = dbapi_connection.cursor()
        cursor.execute("SET TIME ZONE 'UTC'")
        cursor.close()
        dbapi_connection.autocommit = autocommit

    return engine


def _disable_pysqlite_autobegin(engine: Engine) -> None:
    """Hand transaction control to SQLAlchemy so the ``begin`` hook above decides how to begin."""

    @event.listens_for(engine, "connect")
    def _no_autobegin(dbapi_connection, _record):
        dbapi_connection.isolation_level = None


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error. Helpers never commit."""
    with factory() as session, session.begin():
        yield session


def is_postgres(session_or_engine) -> bool:
    bind = (
        session_or_engine.get_bind()
        if isinstance(session_or_engine, Session)
        else session_or_engine
    )
    return bind.dialect.name == "postgresql"


BULK_PAGE_CACHE_MIB = 256


@contextmanager
def roomy_page_cache(session: Session, mebibytes: int = BULK_PAGE_CACHE_MIB) -> Iterator[None]:
    """On SQLite, a page cache of ``mebibytes`` for this connection while a big batch runs.

    SQLite's default cache is 2 MB. A transaction writing hundreds of thousands of rows into
    tables and indexes of a database of hundreds of MB spills its dirty pages to the WAL again
    and again and reads index pages back; with room for the pages it touches, each is written
    once at commit. The cache only grows as pages are touched, and the setting is put back
    afterwards (SQLite then frees what is over), so other work on the pooled connection keeps
    the default. Set through the driver's connection, which works whatever state the
    SQLAlchemy transaction is in (docs/adr/0021). PostgreSQL: nothing to do (its server
    caches).
    """
    if session.get_bind().dialect.name != "sqlite":
        yield
        return
    driver = session.connection().connection.dbapi_connection
    before = driver.execute("PRAGMA cache_size").fetchone()[0]
    driver.execute(f"PRAGMA cache_size=-{int(mebibytes) * 1024}")
    try:
        yield
    finally:
        driver.execute(f"PRAGMA cache_size={int(before)}")


@contextmanager
def background_writes(session: Session) -> Iterator[None]:
    """On SQLite, the block's bulk inserts (``service.bulk``) run on a thread of their own while
    the block goes on with its Python work; elsewhere, nothing changes.

    Every other use of the connection (a query, a flush, the commit) first waits for the
    inserts queued before it, so the transaction sees its own writes exactly as if they had run
    in place. A failed insert is raised by the next use, or when the block ends, as SQLAlchemy's
    error; the transaction can then only be rolled back (docs/adr/0021). PostgreSQL: the server
    already works beside the client.
    """
    if session.get_bind().dialect.name != "sqlite":
        yield
        return
    driver = session.connection().connection.dbapi_connection
    if not isinstance(driver, _GatedConnection) or driver._writes is not None:
        yield  # another factory, or a block of this kind running already
        return
    driver._writes = _WriteQueue(driver)
    try:
        yield
        settle_writes(session)
    finally:
        writes, driver._writes = driver._writes, None
        if writes is not None:
            writes.close()


def settle_writes(session: Session) -> None:
    """Wait for the writes ``background_writes`` queued so far; a failed one is raised as
    SQLAlchemy's error (an ``IntegrityError`` for a constraint)."""
    queue = queued_writes(session)
    if queue is None:
        return
    try:
        queue.settle()
    except sqlite3.Error as error:
        raise DBAPIError.instance(
            "background write", None, error, sqlite3.Error, hide_parameters=True
        ) from error


def queued_writes(session: Session) -> _WriteQueue | None:
    """The queue of ``background_writes`` on this session's connection, if one is running."""
    if session.get_bind().dialect.name != "sqlite":
        return None
    return getattr(session.connection().connection.dbapi_connection, "_writes", None)

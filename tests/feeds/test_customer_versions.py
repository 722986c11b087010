"""A customer carries the ERP's version (``updated_at``): an older batch never overwrites a newer
one, through the feed, the file import and two batches racing, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import event, select

from service.cli import main
from service.db import is_postgres, make_engine, make_session_factory, transaction
from service.feeds.ingest import apply_batch
from service.feeds.schemas import load_batch
from service.models import Customer
from tests.conftest import NOW

OLDER = "2026-03-01T08:00:00Z"
NEWER = "2026-03-02T08:00:00Z"


def customer_row(limit: str, updated_at: str | None, name: str = "Acme") -> dict:
    row = {"number": "C-1", "name": name, "currency": "EUR", "credit_limit": limit}
    if updated_at is not None:
        row["updated_at"] = updated_at
    return row


def feed(*rows: dict) -> dict:
    return {"source": "erp-main", "customers": list(rows), "receivables": [], "payments": []}


def stored_customer(db_url) -> Customer:
    engine = make_engine(db_url)
    try:
        with make_session_factory(engine)() as session:
            return session.scalars(select(Customer).where(Customer.number == "C-1")).one()
    finally:
        engine.dispose()


def test_feed__older_customer_after_a_newer_one_is_ignored(db_url, post_feed):
    post_feed(feed(customer_row("5000.00", OLDER)))
    post_feed(feed(customer_row("9000.00", NEWER)))

    late = post_feed(feed(customer_row("1000.00", OLDER, name="Acme (old name)")))

    assert late.status_code == 200
    assert late.json["customers"] == {"accepted": 0, "ignored": 1}
    customer = stored_customer(db_url)
    assert customer.credit_limit == Decimal("9000.00")
    assert customer.name == "Acme"
    assert customer.source_updated_at == datetime(2026, 3, 2, 8, tzinfo=UTC)


def test_feed__customers_without_a_version_last_write_wins(db_url, post_feed):
    post_feed(feed(customer_row("9000.00", None)))

    post_feed(feed(customer_row("1000.00", None)))

    assert stored_customer(db_url).credit_limit == Decimal("1000.00")


def test_import__older_customer_file_after_a_newer_one_is_ignored(db_url, runner, tmp_path):
    newer = tmp_path / "customers-newer.csv"
    newer.write_text(
        f"number,name,currency,credit_limit,updated_at\nC-1,Acme,EUR,9000.00,{NEWER}\n"
    )
    older = tmp_path / "customers-older.csv"
    older.write_text(
        f"number,name,currency,credit_limit,updated_at\nC-1,Acme,EUR,1000.00,{OLDER}\n"
    )

    assert runner.invoke(main, ["import", "erp", str(newer)]).exit_code == 0
    result = runner.invoke(main, ["import", "erp", str(older)])

    assert result.exit_code == 0, result.output
    assert "customers: 0 accepted, 1 ignored" in result.output
    assert stored_customer(db_url).credit_limit == Decimal("9000.00")


def _batch(row: dict) -> dict:
    batch, errors = load_batch(feed(row))
    assert errors == []
    return batch


def test_apply__an_older_batch_racing_a_newer_one_never_wins(db_url):
    """Both batches read the stored customer before either commits; the newer commits first.

    On PostgreSQL the older batch read the version both started from, so only its UPDATE can
    tell that the row moved on meanwhile. SQLite runs the two one after the other (each
    transaction holds the write lock from its start), so there the older one reads the newer.
    """
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        apply_batch(session, _batch(customer_row("5000.00", "2026-02-01T00:00:00Z")), NOW)
    newer_applied = threading.Event()
    older_updating = threading.Event()
    errors: list[BaseException] = []
    racing = is_postgres(engine)

    @event.listens_for(engine, "before_cursor_execute")
    def _older_writes(_conn, _cursor, statement, *_args):
        if threading.current_thread() is threading.main_thread() and statement.startswith(
            "UPDATE customers"
        ):
            older_updating.set()

    def newer() -> None:
        try:
            with transaction(factory) as session:
                apply_batch(session, _batch(customer_row("9000.00", NEWER)), NOW)
                newer_applied.set()
                # Commit once the older batch has read the customer and decided to update it.
                older_updating.wait(5 if racing else 0)
        except BaseException as error:  # reported by the assertion below
            errors.append(error)
            newer_applied.set()

    thread = threading.Thread(target=newer)
    thread.start()
    newer_applied.wait(5)
    try:
        with transaction(factory) as session:
            apply_batch(session, _batch(customer_row("1000.00", OLDER)), NOW)
    finally:
        older_updating.set()
        thread.join(10)
        engine.dispose()

    assert not errors
    assert not racing or older_updating.is_set()
    customer = stored_customer(db_url)
    assert customer.credit_limit == Decimal("9000.00")
    assert customer.source_updated_at == datetime(2026, 3, 2, 8, tzinfo=UTC)

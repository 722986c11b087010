"""``credit-control import erp``: CSV and JSON files, streamed, with a report of rejected rows."""

from __future__ import annotations

import csv
import json
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import psutil
import pytest
from sqlalchemy import func, select, text

from service.cli import main
from service.db import make_engine, make_session_factory
from service.feeds.importer import ImportReport, import_files
from service.feeds.ingest import apply_batch, reference_errors
from service.feeds.reading import csv_record
from service.feeds.schemas import loader
from service.models import (
    Allocation,
    Assessment,
    AssessmentRequest,
    Customer,
    OutboxMessage,
    Receivable,
)
from tests.conftest import FIXTURES, NOW
from tests.erp_files import receivables_csv

ERP = FIXTURES / "erp"


def stored(db_url, model):
    engine = make_engine(db_url)
    with make_session_factory(engine)() as session:
        found = session.scalars(select(model)).all()
    engine.dispose()
    return found


def test_import_erp__csv_files_store_good_rows_and_report_bad_ones(db_url, runner, tmp_path):
    report = tmp_path / "rejected.csv"
    files = [str(ERP / name) for name in ("payments.csv", "receivables.csv", "customers.csv")]

    result = runner.invoke(main, ["import", "erp", *files, "--report", str(report)])

    assert result.exit_code == 1, result.output  # some rows were rejected
    assert "customers: 3 accepted, 0 ignored (not newer), 0 rejected" in result.output
    assert "receivables: 3 accepted, 0 ignored (not newer), 3 rejected" in result.output
    assert "payments: 1 accepted" in result.output
    with report.open() as handle:
        rejected = [
            (Path(r["file"]).name, r["line"], r["path"], r["message"])
            for r in csv.DictReader(handle)
        ]
    assert rejected == [
        ("receivables.csv", "5", "due_date", "Not a real calendar date."),
        ("receivables.csv", "6", "amount", "JPY amounts have at most 0 decimal places."),
        (
            "receivables.csv",
            "7",
            "customer",
            "Unknown customer 'C-999': not in this batch and not stored.",
        ),
    ]
    assert {r.external_id for r in stored(db_url, Receivable)} == {
        "INV-1001",
        "INV-1002",
        "INV-2001",
    }
    assert [a.amount for a in stored(db_url, Allocation)] == [Decimal("1500.00")]
    assert len(stored(db_url, Assessment)) == 3


def test_import_erp__importing_twice_changes_nothing(db_url, runner):
    files = [str(ERP / "customers.csv"), str(ERP / "receivables.csv")]
    runner.invoke(main, ["import", "erp", *files])

    again = runner.invoke(main, ["import", "erp", *files])

    assert "receivables: 0 accepted, 3 ignored (not newer), 3 rejected" in again.output


def test_import_erp__json_file_in_the_feed_shape(db_url, runner):
    result = runner.invoke(main, ["import", "erp", str(ERP / "batch_small.json")])

    assert result.exit_code == 0, result.output
    assert "receivables: 6 accepted" in result.output
    assert len(stored(db_url, Customer)) == 3


@pytest.fixture
def with_customers(db_url):
    """Sessions on ``db_url``, whose database holds the fixture's three customers."""
    engine = make_engine(db_url)
    sessions = make_session_factory(engine)
    import_files(sessions, [ERP / "customers.csv"], source="erp-main", now=NOW)
    yield sessions
    engine.dispose()


def import_csv(sessions, path: Path, **options) -> tuple[ImportReport, list[tuple[int, str]]]:
    """Import one file; the report, and the (line, field) of each rejected row in report order."""
    rejected = []
    report = import_files(
        sessions, [path], source="erp-main", now=NOW, on_rejected=rejected.append, **options
    )
    return report, [(r.line, r.path) for r in rejected]


def test_import_files__streams_in_chunks_with_lines_counted_across_chunks(with_customers, tmp_path):
    path = receivables_csv(tmp_path / "receivables.csv", 25, bad={17: "bad"})

    report, rejected = import_csv(with_customers, path, chunk_size=4, processes=1)

    assert report.counts["receivables"].accepted == 24
    assert rejected == [(19, "amount")]


def test_import_files__lookups_of_thousands_of_keys_find_every_stored_row(db_url, tmp_path):
    """More keys in one chunk than one SQLite statement binds (1,000): all are looked up."""
    customers, receivables = tmp_path / "customers.csv", tmp_path / "receivables.csv"
    with customers.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["number", "name", "currency"])
        writer.writerows([f"C-{n}", f"Customer {n}", "EUR"] for n in range(2_500))
    receivables_csv(receivables, 2_500, customer="C-{i}")
    engine = make_engine(db_url)
    sessions = make_session_factory(engine)
    files = [customers, receivables]
    try:
        first = import_files(sessions, files, source="erp-main", now=NOW, drain=False)
        again = import_files(sessions, files, source="erp-main", now=NOW, drain=False)
    finally:
        engine.dispose()

    assert first.counts["receivables"].accepted == 2_500
    assert (again.counts["customers"].ignored, again.counts["receivables"].ignored) == (
        2_500,
        2_500,
    )


def test_csv_record__blank_cells_are_absent_and_allocations_parsed():
    row = csv_record(
        ["id", "reference", "applied_to", "payment_terms_days"],
        ["P1", "", "INV:1:10.00; INV-2:5.50", "30"],
    )

    assert row == {
        "id": "P1",
        "applied_to": [
            {"receivable": "INV:1", "amount": "10.00"},
            {"receivable": "INV-2", "amount": "5.50"},
        ],
        "payment_terms_days": 30,
    }


def test_csv_record__cells_beyond_the_header_are_kept_to_be_reported_and_missing_ones_absent():
    assert csv_record(["id", "name"], ["C-1", "Acme", "surplus"]) == {
        "id": "C-1",
        "name": "Acme",
        "_extra_cells": ["surplus"],
    }
    assert csv_record(["id", "name", "currency"], ["C-1"]) == {"id": "C-1"}


def test_import_erp__unreadable_json_shape_is_reported_not_crashed(db_url, runner, tmp_path):
    path = tmp_path / "batch.json"
    path.write_text(json.dumps({"source": "erp-main", "customers": [{"number": "C-1"}]}))

    result = runner.invoke(main, ["import", "erp", str(path)])

    assert result.exit_code == 1
    assert "customers[0].name: Missing data for required field." in result.output


def test_import_erp__a_file_it_cannot_read_ends_with_one_line(db_url, runner, tmp_path):
    path = tmp_path / "batch.json"
    path.write_text('{"customers": [')

    result = runner.invoke(main, ["import", "erp", str(path)])

    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: {path}: not valid JSON: Expecting value: line 1 column 16 (char 15)"
    ]


def test_import_erp__queues_accounts_and_receivables_for_salesforce(db_url, runner):
    runner.invoke(main, ["import", "erp", str(ERP / "customers.csv"), str(ERP / "receivables.csv")])

    targets = {m.target for m in stored(db_url, OutboxMessage)}
    assert sum(t.startswith("Account:") for t in targets) == 3
    assert sum(t.startswith("Receivable__c:") for t in targets) == 3


def test_import_files__two_processes_store_what_one_does_and_report_in_file_order(
    db_url, with_customers, tmp_path
):
    """Each process takes every other chunk; the report still lists rejections by line."""
    path = receivables_csv(tmp_path / "receivables.csv", 25, bad={2: "bad", 9: "x", 22: "12.345"})

    report, rejected = import_csv(with_customers, path, chunk_size=4, processes=2)

    with with_customers() as session:
        waiting = session.scalar(select(func.count()).select_from(AssessmentRequest))
    assert (report.counts["receivables"].accepted, report.rejected["receivables"]) == (22, 3)
    assert rejected == [(4, "amount"), (11, "amount"), (24, "amount")]
    good = {f"R{i}" for i in range(25)} - {"R2", "R9", "R22"}
    assert {r.external_id for r in stored(db_url, Receivable)} == good
    targets = [m.target for m in stored(db_url, OutboxMessage)]
    assert sum(t.startswith("Receivable__c:") for t in targets) == 22
    assert waiting == 0  # the final drain assessed what both processes queued
    assert len(stored(db_url, Assessment)) == 3


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_import_files__a_chunk_that_loses_a_race_for_a_new_key_is_retried(
    db_url, with_customers, tmp_path
):
    """Another writer inserts R0 first and commits while the chunk waits on the unique index:
    the chunk fails (unique violation), is retried, and then keeps the newer stored R0."""
    sessions = with_customers
    engine = sessions.kw["bind"]
    path = receivables_csv(tmp_path / "receivables.csv", 5)  # updated 2026-03-01
    newer = {**loaded_receivable("R0"), "updated_at": NOW, "amount": Decimal("99.00")}
    blocker = sessions()
    batch = {"source": "erp-main", "customers": [], "receivables": [newer], "payments": []}
    known: dict[str, int] = {}
    assert reference_errors(blocker, batch, known) == []
    apply_batch(blocker, batch, NOW, known)
    blocker.flush()  # R0 is in the unique index now, not yet committed

    with ThreadPoolExecutor(1) as pool:
        importing = pool.submit(import_csv, sessions, path, processes=1, drain=False)
        wait_for_a_lock_wait(engine)
        blocker.commit()
        report, _ = importing.result(timeout=60)
    blocker.close()

    assert (report.counts["receivables"].accepted, report.counts["receivables"].ignored) == (4, 1)
    amounts = {r.external_id: r.amount for r in stored(db_url, Receivable)}
    assert amounts["R0"] == Decimal("99.00")
    assert len(amounts) == 5


def loaded_receivable(external_id: str) -> dict:
    """A receivable row as the feed's loader makes it (the shape ``apply_batch`` takes)."""
    row = {
        "id": external_id,
        "customer": "C-100",
        "type": "invoice",
        "number": external_id,
        "issue_date": "2026-01-01",
        "due_date": "2026-01-31",
        "currency": "EUR",
        "amount": "10.00",
        "open_amount": "10.00",
        "updated_at": "2026-03-01T00:00:00Z",
    }
    errors = []
    [loaded] = loader("receivables").load_many([row], "receivables", errors)
    assert errors == []
    return loaded


def wait_for_a_lock_wait(engine, seconds: float = 30) -> None:
    """Until some session of this database waits for a lock (the import, on R0's index entry)."""
    deadline = time.monotonic() + seconds
    with engine.connect() as connection:
        while time.monotonic() < deadline:
            waiting = connection.scalar(text("SELECT count(*) FROM pg_locks WHERE NOT granted"))
            connection.rollback()
            if waiting:
                return
            time.sleep(0.02)
    raise AssertionError("the import never waited for the other writer")


def test_import_erp__shared_file_it_cannot_read_ends_with_one_line(db_url, runner, tmp_path):
    """Both processes meet the bad byte; the command still ends with one line, no traceback."""
    path = receivables_csv(tmp_path / "receivables.csv", 30)
    path.write_bytes(path.read_bytes() + b"R99,C-\xff\n")

    result = runner.invoke(
        main, ["import", "erp", str(path), "--chunk-size", "4", "--processes", "2"]
    )

    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: {path}: not UTF-8 text (invalid start byte)"
    ]


def test_import_files__a_helper_that_dies_has_its_share_imported_here(
    db_url, with_customers, tmp_path
):
    """SIGKILL the helper as soon as it starts: every row is still stored, once."""
    path = receivables_csv(tmp_path / "receivables.csv", 400, bad={397: "bad"})
    this = psutil.Process()
    with ThreadPoolExecutor(1) as pool:
        importing = pool.submit(
            import_csv, with_customers, path, chunk_size=4, processes=2, drain=False
        )
        killed = kill_the_first_child(this)
        report, rejected = importing.result(timeout=120)

    assert killed
    counts = report.counts["receivables"]
    assert counts.accepted + counts.ignored == 399  # ignored: what the helper had committed
    assert rejected == [(399, "amount")]
    assert len(stored(db_url, Receivable)) == 399


def kill_the_first_child(parent: psutil.Process, seconds: float = 30) -> bool:
    """SIGKILL the first process ``parent`` starts (the multiprocessing resource tracker aside)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for child in parent.children():
            try:
                if "resource_tracker" not in " ".join(child.cmdline()):
                    child.kill()
                    return True
            except psutil.NoSuchProcess:
                continue
        time.sleep(0.005)
    return False

"""The Business Central connector against the local Business Central over HTTPS, with msal's
client credentials flow against the stand-in's Entra ID endpoints."""

from __future__ import annotations

from decimal import Decimal

import pytest
from deverp.bc import BcBook, DevBc
from sqlalchemy import select

from service.cli import main
from service.config import bc_settings
from service.connectors import cursors
from service.connectors.bc.connector import ENTITIES, PAYMENTS, BcConnector
from service.connectors.http import ErpError
from service.connectors.sync import run_sync
from service.models import Allocation, Customer, Payment, Receivable
from tests.connectors.resume import kill_mid_pull, uninterrupted
from tests.connectors.resume import stored as stored_rows


@pytest.fixture
def bc(monkeypatch):
    book = BcBook()
    book.customer("10000", "Adatum Corporation")
    book.customer("20000", "Trey Research", currency="USD")
    book.invoice("103001", "10000", 1190.5)
    book.invoice("103002", "20000", 99.99)
    book.credit_memo("104001", "10000", 100)
    book.payment("10000", 500, "103001", external="BANK-0001")  # posted, applied
    with DevBc(book) as server:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", server.ca_path)  # trust the stand-in's CA
        yield server


def connector(server: DevBc, **settings: str) -> BcConnector:
    return BcConnector(bc_settings({**server.env(), **settings}), sleep=lambda s: None)


def stored(factory):
    with factory() as session:
        customers = {c.number: (c.name, c.currency) for c in session.scalars(select(Customer))}
        items = {
            r.number: (r.kind, r.amount, r.open_amount, r.currency)
            for r in session.scalars(select(Receivable))
        }
        payments = [
            (p.amount, p.reference, [a.amount for a in session.scalars(
                select(Allocation).where(Allocation.payment_id == p.id))])
            for p in session.scalars(select(Payment))
        ]  # fmt: skip
    return customers, items, payments


def test_pull__imports_customers_invoices_credit_memos_and_payments(factory, bc):
    report = run_sync(factory, connector(bc))

    assert report.counts.problems == []
    customers, items, payments = stored(factory)
    assert customers == {"10000": ("Adatum Corporation", "EUR"), "20000": ("Trey Research", "USD")}
    assert items == {
        "103001": ("invoice", Decimal("1190.50"), Decimal("690.50"), "EUR"),
        "103002": ("invoice", Decimal("99.99"), Decimal("99.99"), "USD"),
        "104001": ("credit_note", Decimal("100.00"), Decimal("100.00"), "EUR"),
    }
    assert payments == [(Decimal("500.00"), "BANK-0001", [Decimal("500.00")])]
    assert bc.discovery_requests == 1 and bc.token_requests == 1


def test_pull__goes_on_from_its_cursor_page_by_page(factory, bc):
    for n in range(250):  # three pages of invoices
        bc.book.invoice(f"2{n:05d}", "10000", n + 1)
    run_sync(factory, connector(bc))
    with factory() as session:
        reached = cursors.position(session, "bc")
    bc.book.invoice("300001", "20000", 5)

    report = run_sync(factory, connector(bc))

    assert reached["salesInvoices"] < bc.book.rows["salesInvoices"][-1]["lastModifiedDateTime"]
    assert report.counts.accepted["receivables"] == 1
    assert "300001" in stored(factory)[1]


# Business Central documents no Retry-After on its 429s: without one the connector backs off.
@pytest.mark.parametrize(("retry_after", "waited"), [("3", [3.0, 3.0]), (None, [2.0, 4.0])])
def test_pull__survives_throttling_and_an_expired_token(factory, bc, retry_after, waited):
    bc_connector = connector(bc)
    waits: list[float] = []
    bc_connector.http.sleep = waits.append
    run_sync(factory, bc_connector)
    bc.expire_tokens()
    bc.throttle(requests=2, retry_after=retry_after)
    bc.book.invoice("300002", "10000", 7)

    report = run_sync(factory, bc_connector)

    assert waits == waited
    assert report.throttled == 2 and report.tokens_renewed == 1
    assert bc.token_requests == 2
    assert "300002" in stored(factory)[1]


def test_pull__a_wrong_secret_is_one_error_without_the_secret(factory, bc):
    with pytest.raises(ErpError, match="invalid_client") as raised:
        run_sync(factory, connector(bc, BC_CLIENT_SECRET="wrong-secret-0123"))

    assert "wrong-secret-0123" not in str(raised.value)


def test_pull__a_bad_record_is_reported_by_its_number(factory, bc):
    bc.book.rows["salesInvoices"][0]["remainingAmount"] = 5000  # more than the invoice
    bc.book.rows["salesInvoices"][1]["dueDate"] = "someday"

    report = run_sync(factory, connector(bc))

    problems = {(p.source_id, p.path) for p in report.counts.problems}
    assert problems == {("103001", "open_amount"), ("103002", "due_date")}
    assert set(stored(factory)[1]) == {"104001"}


def test_full__closes_what_business_central_no_longer_lists(factory, bc):
    run_sync(factory, connector(bc))
    bc.book.rows["salesInvoices"] = [
        r for r in bc.book.rows["salesInvoices"] if r["number"] != "103002"
    ]

    report = run_sync(factory, connector(bc), full=True)

    assert report.closed == 1
    assert stored(factory)[1]["103002"][2] == Decimal("0.00")
    assert stored(factory)[1]["103001"][2] == Decimal("690.50")


def test_sync_command__pulls_from_business_central(runner, bc, monkeypatch):
    for name, value in bc.env().items():
        monkeypatch.setenv(name, value)

    result = runner.invoke(main, ["sync", "bc"])

    assert result.exit_code == 0, result.output
    assert "receivables: 3 accepted" in result.stdout
    assert "closed loop: 0 writes queued" in result.stdout


@pytest.mark.parametrize("amid", ["salesInvoices", "customerLedgerEntries"])
def test_sync__killed_after_a_page_resumes_from_its_cursor(
    db_url, factory, bc, sqlite_template, tmp_path, amid
):
    for n in range(450):  # five pages of invoices ...
        bc.book.invoice(f"2{n:05d}", "10000", n + 1)
    for n in range(0, 300, 2):  # ... and two of payments, applied to them
        bc.book.payment("10000", n / 2 + 0.5, f"2{n:05d}")
    bc.delay = 0.3

    left = kill_mid_pull("bc", bc.env(), db_url, factory, part_way=lambda cursor: amid in cursor)

    # The entities after the one it was in are not reached yet.
    order = [*ENTITIES, PAYMENTS]
    later = order[order.index(amid) + 1 :]
    assert amid in left and not any(entity in left for entity in later)
    asked = len(bc.filters)
    bc.delay = 0

    report = run_sync(factory, connector(bc))

    assert bc.filters[asked] == "customers?lastModifiedDateTime ge " + left["customers"]
    assert any(
        f.startswith(f"{amid}?") and f.endswith(f"lastModifiedDateTime ge {left[amid]}")
        for f in bc.filters[asked:]
    )
    assert report.counts.problems == []
    everything = stored_rows(factory)
    assert everything == uninterrupted(sqlite_template, tmp_path, connector(bc))
    assert len(everything["receivables"]) == 453 and len(everything["payments"]) == 151
    assert everything["allocation rows"] == 151


def test_pull__entra_id_unreachable_is_one_retryable_error_not_a_crash(factory):
    settings = bc_settings(
        {"BC_TENANT_ID": "t", "BC_CLIENT_ID": "c", "BC_CLIENT_SECRET": "s-0123456789",
         "BC_COMPANY_ID": "x", "BC_AUTHORITY_HOST": "https://127.0.0.1:9",
         "BC_BASE_URL": "https://127.0.0.1:9"}
    )  # fmt: skip
    unreachable = BcConnector(settings, sleep=lambda s: None)  # built without the network

    with pytest.raises(ErpError, match="Entra ID: ") as raised:
        run_sync(factory, unreachable)

    assert raised.value.retryable
    assert "s-0123456789" not in str(raised.value)


def test_pull__a_posted_payment_counts_what_it_closed_and_its_rest_as_unapplied(factory, bc):
    """800.00 posted against 103001 (690.50 open): 690.50 applied, 109.50 unapplied cash. A
    reversed entry is not a payment."""
    bc.book.payment("10000", 800, "103001", external="BANK-0002")
    bc.book.payment("10000", 40, external="BANK-0003")
    bc.book.ledger[-1]["reversed"] = True

    report = run_sync(factory, connector(bc))

    assert report.counts.problems == []
    _, items, payments = stored(factory)
    assert items["103001"][2] == Decimal("0.00")
    assert sorted(payments) == [
        (Decimal("500.00"), "BANK-0001", [Decimal("500.00")]),
        (Decimal("800.00"), "BANK-0002", [Decimal("690.50")]),
    ]


@pytest.mark.parametrize("applied", ["103001:lots", ":500.00", "103001", "103001:1e999999"])
def test_pull__a_payment_whose_applications_cannot_be_read_is_reported_the_rest_kept(
    factory, bc, applied
):
    """``ccAppliedTo`` comes from the tenant's extension: a value it should never hold is one
    rejected payment, reported by its document number, not a stopped pull."""
    bc.book.payment("10000", 40, external="BANK-0002")
    bc.book.ledger[-1]["ccAppliedTo"] = applied

    report = run_sync(factory, connector(bc))

    assert [p.source_id for p in report.counts.problems] == ["PAY0002"]
    _, items, payments = stored(factory)
    assert sorted(payments) == [(Decimal("500.00"), "BANK-0001", [Decimal("500.00")])]
    assert set(items) >= {"103001", "104001"}

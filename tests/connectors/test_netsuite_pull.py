"""The NetSuite connector against the local NetSuite over HTTP: SuiteQL with OAuth 2.0
machine-to-machine (a JWT signed with the certificate's key) and token-based auth."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from deverp.netsuite import DevNetSuite, NsBook
from sqlalchemy import select

from service.config import netsuite_settings
from service.connectors.http import ErpError
from service.connectors.netsuite.connector import NetSuiteConnector
from service.connectors.sync import run_sync
from service.models import Allocation, Customer, Payment, Receivable
from tests.connectors.resume import kill_mid_pull, uninterrupted
from tests.connectors.resume import stored as stored_rows


def small_book() -> NsBook:
    book = NsBook()
    book.customer("CUST-348", "Northwind Traders")
    book.customer("CUST-512", "Fabrikam GmbH", currency="EUR")
    invoice = book.transaction("CustInvc", "INV10482", "CUST-348", "1000", "750")
    book.transaction("CustInvc", "INV10488", "CUST-512", "4320.5", "4320.5", currency="EUR")
    book.transaction("CustCred", "CM2001", "CUST-348", "-100", "-100")
    payment = book.transaction("CustPymt", "PYMT77", "CUST-348", "250", "0", trandate="2026-03-05")
    book.apply(payment, invoice, "250")
    return book


@pytest.fixture
def ns():
    with DevNetSuite(small_book()) as server:
        yield server


@pytest.fixture
def key_file(ns, tmp_path):
    path = tmp_path / "netsuite-key.pem"
    path.write_text(ns.private_pem)
    return str(path)


def connector(env: dict[str, str], **settings: str) -> NetSuiteConnector:
    return NetSuiteConnector(netsuite_settings({**env, **settings}), sleep=lambda s: None)


def stored(factory):
    with factory() as session:
        customers = {c.number: (c.name, c.currency) for c in session.scalars(select(Customer))}
        items = {
            r.number: (r.kind, r.amount, r.open_amount, r.currency)
            for r in session.scalars(select(Receivable))
        }
        payments = {
            p.reference: (p.amount, p.currency, [a.amount for a in session.scalars(
                select(Allocation).where(Allocation.payment_id == p.id))])
            for p in session.scalars(select(Payment))
        }  # fmt: skip
    return customers, items, payments


@pytest.mark.parametrize("auth", ["m2m", "tba"])
def test_pull__imports_customers_invoices_credit_memos_and_payments(factory, ns, key_file, auth):
    env = ns.m2m_env(key_file) if auth == "m2m" else ns.tba_env()

    report = run_sync(factory, connector(env))

    assert report.counts.problems == []
    customers, items, payments = stored(factory)
    assert customers == {
        "CUST-348": ("Northwind Traders", "USD"),
        "CUST-512": ("Fabrikam GmbH", "EUR"),
    }
    assert items == {
        "INV10482": ("invoice", Decimal("1000.00"), Decimal("750.00"), "USD"),
        "INV10488": ("invoice", Decimal("4320.50"), Decimal("4320.50"), "EUR"),
        "CM2001": ("credit_note", Decimal("100.00"), Decimal("100.00"), "USD"),
    }
    assert payments == {"PYMT77": (Decimal("250.00"), "USD", [Decimal("250.00")])}
    assert ns.token_requests == (1 if auth == "m2m" else 0)


def test_pull__a_bad_signature_or_key_is_one_error(factory, ns, tmp_path):
    with pytest.raises(ErpError, match="401 INVALID_LOGIN"):
        run_sync(factory, connector(ns.tba_env(), NS_TOKEN_SECRET="wrong-secret"))
    other = tmp_path / "other.pem"
    other.write_text(DevNetSuite().private_pem)
    with pytest.raises(ErpError, match="401 invalid_client"):
        run_sync(factory, connector(ns.m2m_env(str(other))))


# No NetSuite description found promises a Retry-After on its 429s: without one it backs off.
@pytest.mark.parametrize(("retry_after", "waited"), [("4", [4.0, 4.0]), (None, [2.0, 4.0])])
def test_pull__survives_throttling_and_an_expired_token(factory, ns, key_file, retry_after, waited):
    ns_connector = connector(ns.m2m_env(key_file))
    waits: list[float] = []
    ns_connector.http.sleep = waits.append
    run_sync(factory, ns_connector)
    ns.expire_tokens()
    ns.throttle(requests=2, retry_after=retry_after)
    today = datetime.now(UTC).date().isoformat()  # a change made now
    ns.book.transaction("CustInvc", "INV2", "CUST-512", "10", "10", changed=today)

    report = run_sync(factory, ns_connector)

    assert waits == waited
    assert report.throttled == 2 and report.tokens_renewed == 1
    assert ns.token_requests == 2
    assert "INV2" in stored(factory)[1]


def test_pull__a_payment_linked_to_an_invoice_by_several_lines_is_one_allocation(
    factory, ns, key_file
):
    invoice = ns.book.transaction("CustInvc", "INV7001", "CUST-512", "300", "0", currency="EUR")
    paid = ns.book.transaction("CustPymt", "PYMT7001", "CUST-512", "300", "0", currency="EUR")
    ns.book.apply(paid, invoice, "200")  # NextTransactionLineLink: one row per line linked
    ns.book.apply(paid, invoice, "100")

    report = run_sync(factory, connector(ns.m2m_env(key_file)))

    assert report.counts.problems == []
    assert stored(factory)[2]["PYMT7001"] == (Decimal("300.00"), "EUR", [Decimal("300.00")])


def test_pull__a_bad_row_is_reported_by_its_number(factory, ns, key_file):
    ns.book.transaction("CustInvc", "INV-BAD", "CUST-348", "ten", "10")
    ns.book.transaction("CustInvc", "INV-LATE", "CUST-348", "5", "9")

    report = run_sync(factory, connector(ns.m2m_env(key_file)))

    problems = {(p.source_id, p.path) for p in report.counts.problems}
    assert problems == {("INV-BAD", ""), ("INV-LATE", "open_amount")}
    assert "INV10482" in stored(factory)[1]


def test_sync__killed_after_a_page_resumes_from_its_cursor(
    db_url, factory, ns, key_file, sqlite_template, tmp_path
):
    for n in range(30):  # invoices, every third one paid by a payment of its own
        invoice = ns.book.transaction(
            "CustInvc", f"INV9{n:03d}", "CUST-348", f"{n + 1}", "0" if n % 3 == 0 else f"{n + 1}"
        )
        if n % 3 == 0:
            paid = ns.book.transaction("CustPymt", f"PYMT9{n:03d}", "CUST-348", f"{n + 1}", "0")
            ns.book.apply(paid, invoice, f"{n + 1}")
    ns.delay = 0.3
    env = {**ns.m2m_env(key_file), "NS_PAGE_SIZE": "5"}

    left = kill_mid_pull(
        "netsuite", env, db_url, factory, part_way=lambda cursor: "transactions_after" in cursor
    )

    assert "changed_on" not in left  # a finished pull leaves only the day
    asked = len(ns.queries)
    ns.delay = 0

    report = run_sync(factory, connector(ns.m2m_env(key_file), NS_PAGE_SIZE="5"))

    resumed = next(q for q in ns.queries[asked:] if "FROM transaction" in q)
    assert f"t.id > {left['transactions_after']} ORDER BY t.id" in resumed
    assert report.counts.problems == []
    everything = stored_rows(factory)
    assert everything == uninterrupted(sqlite_template, tmp_path, connector(ns.m2m_env(key_file)))
    assert len(everything["receivables"]) == 33 and len(everything["payments"]) == 11
    assert everything["allocation rows"] == 11


def test_full__closes_what_netsuite_no_longer_lists_open(factory, ns, key_file):
    run_sync(factory, connector(ns.m2m_env(key_file)))
    for row in ns.book.transactions:
        if row["tranid"] == "INV10488":
            row["foreignamountunpaid"] = "0"

    report = run_sync(factory, connector(ns.m2m_env(key_file)), full=True)

    assert report.closed == 1
    assert stored(factory)[1]["INV10488"][2] == Decimal("0.00")
    assert stored(factory)[1]["INV10482"][2] == Decimal("750.00")

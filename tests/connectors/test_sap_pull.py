"""The SAP connector against the local SAP over HTTP: what it imports, and what it survives."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime

import pytest
from sqlalchemy import select

from service.connectors import cursors
from service.connectors.run import run_connector
from service.connectors.sync import run_sync
from service.models import Customer, Payment, Receivable
from tests.connectors.conftest import CUSTOMER, connector
from tests.connectors.resume import applied


def receivables(factory) -> dict[str, tuple]:
    with factory() as session:
        return {
            r.external_id: (r.kind, r.number, r.amount, r.open_amount, r.is_open, r.due_date)
            for r in session.scalars(select(Receivable))
        }


def payments(factory) -> dict[str, tuple]:
    with factory() as session:
        return {
            payment.external_id: (payment.amount, payment.currency, applied(session, payment.id))
            for payment in session.scalars(select(Payment))
        }


@pytest.mark.parametrize("oauth", [True, False], ids=["oauth", "basic"])
def test_pull__imports_customers_invoices_credit_notes_and_payments(factory, sap, oauth):
    report = run_connector(factory, connector(sap, oauth=oauth))

    assert report.sync.counts.problems == []
    with factory() as session:
        customers = {
            c.number: (c.name, c.currency, c.source) for c in session.scalars(select(Customer))
        }
    assert customers == {
        CUSTOMER: ("Inlandskunde DE 1", "EUR", "sap"),
        "10100002": ("Inlandskunde DE 2", "EUR", "sap"),
    }
    assert receivables(factory) == {
        # Two items netted; the open partial payment pointing at it is taken off its open amount.
        "1010/2026/1800000412": (
            "invoice", "90000412", Decimal("1190.00"), Decimal("690.00"), True, date(2026, 4, 9)
        ),
        "1010/2026/1700000010": (
            "credit_note", "1700000010", Decimal("100.00"), Decimal("100.00"), True,
            date(2026, 3, 2),
        ),
        # Cleared by the payment 1400000088: settled.
        "1010/2026/1800000413": (
            "invoice", "1800000413", Decimal("238.00"), Decimal("0.00"), False, date(2026, 2, 1)
        ),
        "1010/2026/1800000500": (
            "invoice", "1800000500", Decimal("50.00"), Decimal("50.00"), True, date(2026, 3, 10)
        ),
    }  # fmt: skip
    assert payments(factory) == {
        "1010/2026/1400000087": (
            Decimal("500.00"),
            "EUR",
            [("1010/2026/1800000412", Decimal("500.00"))],
        ),
        "1010/2026/1400000088": (
            Decimal("238.00"),
            "EUR",
            [("1010/2026/1800000413", Decimal("238.00"))],
        ),
    }


def test_pull__a_second_pull_reads_the_last_day_again_and_changes_nothing(factory, sap):
    run_connector(factory, connector(sap))
    before = receivables(factory), payments(factory)

    again = run_sync(factory, connector(sap))

    assert (receivables(factory), payments(factory)) == before
    assert again.read > 0  # the last day, read again: SAP marks changes by day only
    assert again.counts.problems == []


def test_pull__changes_after_the_cursor_arrive(factory, sap, book):
    run_sync(factory, connector(sap))
    book.clearing_payment(CUSTOMER, ["1800000412", "1400000087"], "690.00", on=date(2026, 3, 11))
    book.touch("1800000500", date(2026, 3, 12), NetDueDate="/Date(1776211200000)/")

    run_sync(factory, connector(sap))

    found = receivables(factory)
    assert found["1010/2026/1800000412"][3:5] == (Decimal("0.00"), False)
    assert found["1010/2026/1800000500"][5] == date(2026, 4, 15)
    with factory() as session:
        assert cursors.position(session, "sap") == {"changed_on": "2026-03-12"}


@pytest.mark.parametrize("form", ["seconds", "http-date", "none"])
def test_pull__waits_out_throttling_for_its_retry_after(factory, sap, form):
    waits: list[float] = []
    sap_connector = connector(sap)
    sap_connector.http.sleep = waits.append
    in_30s = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    retry_after = {"seconds": "7", "http-date": in_30s, "none": None}[form]
    sap.throttle(requests=2, retry_after=retry_after)

    report = run_sync(factory, sap_connector)

    if form == "http-date":
        assert len(waits) == 2 and all(20 < wait <= 30 for wait in waits), waits
    else:  # the header's seconds, or a backoff of its own without one
        assert waits == {"seconds": [7.0, 7.0], "none": [2.0, 4.0]}[form]
    assert report.throttled == 2
    assert len(receivables(factory)) == 4


def test_pull__renews_an_expired_token_and_goes_on(factory, sap, book):
    sap_connector = connector(sap)
    run_sync(factory, sap_connector)
    assert sap.gate.token_requests == 1
    sap.expire_tokens()
    book.invoice(CUSTOMER, "10.00", document="1800000600", posted=date(2026, 3, 11))

    report = run_sync(factory, sap_connector)

    assert report.tokens_renewed == 1
    assert sap.gate.token_requests == 2
    assert "1010/2026/1800000600" in receivables(factory)


def test_pull__wrong_credentials_stop_with_one_clear_error_and_store_nothing(factory, sap):
    from service.connectors.http import ErpError

    bad = connector(sap, oauth=False, SAP_PASSWORD="wrong-password")

    with pytest.raises(ErpError, match="401 UNAUTHORIZED: Logon failed") as raised:
        run_sync(factory, bad)

    assert "wrong-password" not in str(raised.value)
    assert receivables(factory) == {}


def test_pull__a_bad_document_is_reported_by_its_id_and_the_rest_is_stored(factory, sap, book):
    book.invoice(CUSTOMER, "99.00", document="1800000700", currency="EURO")
    book.invoice(CUSTOMER, "12.345", document="1800000701")
    book.invoice(CUSTOMER, "7.00", document="1800000702")
    book.touch("1800000702", date(2026, 3, 10), NetDueDate="/Date(tomorrow)/")
    book.post(CUSTOMER, "-5.00", document="1400000777", doc_type="DZ")
    for row in book.items.rows:
        if row["AccountingDocument"] == "1400000777":
            row["DebitCreditCode"] = "S"
            row["AmountInTransactionCurrency"] = "5.000"

    report = run_sync(factory, connector(sap))

    problems = {(p.source_id, p.path): p.message for p in report.counts.problems}
    assert set(problems) == {
        ("1010/2026/1800000700", "currency"),
        ("1010/2026/1800000701", "amount"),
        ("1010/2026/1800000701", "open_amount"),
        ("1010/2026/1400000777", ""),
        ("1010/2026/1800000702", ""),
    }
    assert problems[("1010/2026/1800000702", "")] == "not an OData date: '/Date(tomorrow)/'"
    assert "does not credit the customer" in problems[("1010/2026/1400000777", "")]
    assert report.counts.rejected == {"customers": 0, "receivables": 3, "payments": 1}
    assert len(receivables(factory)) == 4


def test_pull__only_the_company_codes_asked_for(factory, sap, book):
    book.invoice(CUSTOMER, "70.00", document="1800000412", company_code="1710", currency="USD")

    run_sync(factory, connector(sap, SAP_COMPANY_CODES="1710"))

    assert set(receivables(factory)) == {"1710/2026/1800000412"}


def test_full__closes_what_the_erp_no_longer_lists_open(factory, sap, book):
    run_sync(factory, connector(sap))
    # Archived or reversed without a change marker the incremental pull would see.
    book.items.rows = [r for r in book.items.rows if r["AccountingDocument"] != "1800000500"]
    book.items.changed()

    report = run_sync(factory, connector(sap), full=True)

    assert report.closed == 1
    found = receivables(factory)
    assert found["1010/2026/1800000500"][3:5] == (Decimal("0.00"), False)
    assert found["1010/2026/1800000412"][3:5] == (Decimal("690.00"), True)
    assert found["1010/2026/1700000010"][3:5] == (Decimal("100.00"), True)
    with factory() as session:
        assert cursors.full_at(session, "sap") is not None


@pytest.mark.slow
def test_full__shared_by_two_processes_stores_what_one_would(factory, sap, book):
    for n in range(30):
        book.invoice(CUSTOMER if n % 2 else "10100002", f"{n + 1}.00", document=f"18100{n:05d}")
    single = connector(sap)
    run_sync(factory, single, full=True)
    alone = receivables(factory)
    with factory() as session:
        session.query(Receivable).delete()
        session.commit()
    shared = connector(sap)
    shared.share_min = 1

    report = run_sync(factory, shared, full=True, processes=2)

    assert len(shared.shares(2)) == 2
    assert report.counts.problems == []
    assert report.counts.accepted["receivables"] == len(alone) == 33
    assert {k: v[:5] for k, v in receivables(factory).items()} == {
        k: v[:5] for k, v in alone.items()
    }

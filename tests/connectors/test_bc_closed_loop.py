"""The closed loop with Business Central, against the local Business Central over HTTPS:
promises, disputes and hold overrides logged in Salesforce reach the Credit Control
extension's pages, and bank cash the payment journal, once each, never an amount."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from service.assessments import reassess
from service.cash_application import applying
from service.config import bc_settings as load_bc_settings
from service.connectors.cash_writes import queue_cash_writes
from service.connectors.run import run_connector
from service.connectors.sync import run_sync
from service.connectors.writeback import queue_writes, retry_dead, send_writes
from service.db import transaction, utcnow
from service.errors import ConfigError
from service.models import Assessment, CashApplication, Customer, ErpWrite, Payment, Receivable
from tests.cash_application.books import TODAY, credit
from tests.connectors.test_bc_pull import bc, connector  # noqa: F401 - fixtures
from tests.connectors.test_sap_closed_loop import (
    ACCOUNT,
    ITEM_SF_ID,
    log_action,
    promise_and_dispute,
)

EXTENSION = "/api/creditControl/closedLoop/v1.0/"


def link_in_salesforce(factory) -> None:
    with transaction(factory) as session:
        session.execute(
            update(Customer).where(Customer.number == "10000").values(salesforce_account_id=ACCOUNT)
        )
        session.execute(
            update(Receivable).where(Receivable.number == "103001").values(salesforce_id=ITEM_SF_ID)
        )


def entry(book, number: str) -> dict:
    return next(e for e in book.ledger if e["documentNumber"] == number)


def fields_of(book, number: str) -> dict:
    customer = next(c for c in book.rows["customers"] if c["number"] == number)
    return book.customer_fields[customer["id"]]


def patches(book) -> list[tuple[str, dict]]:
    return [
        (path.split(EXTENSION)[-1], body) for method, path, body in book.writes if method == "PATCH"
    ]


def writes(factory) -> list[ErpWrite]:
    with factory() as session:
        return list(session.scalars(select(ErpWrite).order_by(ErpWrite.id)))


def test_loop__a_promise_and_a_dispute_reach_business_central_once_each(factory, bc):  # noqa: F811
    run_connector(factory, connector(bc))
    link_in_salesforce(factory)
    amounts = bc.book.amounts()
    blocked = [c["blocked"] for c in bc.book.rows["customers"]]
    promise_and_dispute(factory)

    first = run_connector(factory, connector(bc))
    second = run_connector(factory, connector(bc))

    assert (first.loop.queued, first.loop.sent, first.loop.dead) == (2, 2, 0)
    assert (second.loop.queued, second.loop.sent) == (0, 0)
    invoice = entry(bc.book, "103001")
    customer = next(c for c in bc.book.rows["customers"] if c["number"] == "10000")
    assert sorted(patches(bc.book), key=str) == sorted(
        [
            (f"companies({bc.book.company_id})/creditControlCustomers({customer['id']})",
             {"ccPromisedAmount": 300.5, "ccPromisedPayDate": "2026-03-31"}),
            (f"companies({bc.book.company_id})/customerLedgerEntries({invoice['id']})",
             {"disputeStatus": "DISPUTE", "ccDisputedAmount": 190.0,
              "ccDisputeReason": "Not Delivered"}),
        ],
        key=str,
    )  # fmt: skip
    assert (invoice["disputeStatus"], invoice["ccDisputeReason"]) == ("DISPUTE", "Not Delivered")
    assert fields_of(bc.book, "10000")["ccPromisedPayDate"] == "2026-03-31"
    assert bc.book.amounts() == amounts  # never an amount
    assert [c["blocked"] for c in bc.book.rows["customers"]] == blocked


def test_loop__a_promise_on_an_invoice_and_a_resolved_dispute_go_to_its_ledger_entry(
    factory,
    bc,  # noqa: F811
):
    run_connector(factory, connector(bc))
    link_in_salesforce(factory)
    promise_and_dispute(factory)
    log_action(
        factory, "a01Dv0000000003AAA", "CREATE",
        Account__c=ACCOUNT, Type__c="Promise to Pay", Promised_Amount__c=690.5,
        Promised_Date__c="2026-04-15", Receivable__c=ITEM_SF_ID,
        CreatedDate="2026-03-11T09:00:00.000Z",
    )  # fmt: skip
    run_connector(factory, connector(bc))

    log_action(factory, "a01Dv0000000002AAA", "UPDATE", Dispute_Status__c="Resolved Valid")
    run_connector(factory, connector(bc))
    run_connector(factory, connector(bc))

    invoice = entry(bc.book, "103001")
    assert (invoice["promisedPayDate"], invoice["ccPromisedAmount"]) == ("2026-04-15", 690.5)
    assert invoice["disputeStatus"] == ""
    statuses = [b["disputeStatus"] for _, b in patches(bc.book) if "disputeStatus" in b]
    assert statuses == ["DISPUTE", ""]


def test_loop__a_field_that_already_holds_the_value_is_not_written(factory, bc):  # noqa: F811
    """A write sent but not acknowledged (a crash in between) is sent again: Business Central
    already holds the values, so nothing is PATCHed the second time."""
    run_connector(factory, connector(bc))
    link_in_salesforce(factory)
    promise_and_dispute(factory)
    run_connector(factory, connector(bc))
    with transaction(factory) as session:
        session.execute(update(ErpWrite).values(status="pending", available_at=utcnow()))

    report = run_connector(factory, connector(bc))

    assert report.loop.sent == 2
    assert len(patches(bc.book)) == 2


def test_loop__hold_overrides_set_the_extension_field_never_blocked(factory, bc):  # noqa: F811
    run_connector(factory, connector(bc))
    link_in_salesforce(factory)
    log_action(
        factory, "a01Dv0000000009AAA", "CREATE", Account__c=ACCOUNT, Type__c="Hold Override",
        Override_Until__c="2026-04-30", CreatedDate="2026-03-10T09:00:00.000Z",
    )  # fmt: skip

    first = run_connector(factory, connector(bc))
    second = run_connector(factory, connector(bc))
    assert (first.loop.queued, first.loop.sent, second.loop.queued) == (1, 1, 0)
    assert fields_of(bc.book, "10000")["ccHoldOverrideUntil"] == "2026-04-30"

    log_action(factory, "a01Dv0000000009AAA", "UPDATE", Override_Until__c="2026-04-10")
    run_connector(factory, connector(bc))
    assert fields_of(bc.book, "10000")["ccHoldOverrideUntil"] == "2026-04-10"

    log_action(factory, "a01Dv0000000009AAA", "DELETE")
    run_connector(factory, connector(bc))
    assert fields_of(bc.book, "10000")["ccHoldOverrideUntil"] == "0001-01-01"  # none
    assert [b for _, b in patches(bc.book)] == [
        {"ccHoldOverrideUntil": "2026-04-30"},
        {"ccHoldOverrideUntil": "2026-04-10"},
        {"ccHoldOverrideUntil": "0001-01-01"},
    ]
    assert {c["blocked"] for c in bc.book.rows["customers"]} == {" "}


def test_loop__throttled_and_unavailable_answers_are_waited_out(factory, bc):  # noqa: F811
    run_connector(factory, connector(bc))
    link_in_salesforce(factory)
    promise_and_dispute(factory)
    waits: list[float] = []
    patient = connector(bc)
    patient.http.sleep = waits.append
    bc.throttle(requests=2, retry_after="7", status=503)

    report = run_connector(factory, patient)

    assert (report.loop.sent, report.loop.retried) == (2, 0)
    assert waits[:2] == [7.0, 7.0]
    assert len(patches(bc.book)) == 2


def test_loop__a_write_throttled_past_its_attempts_waits_for_a_later_run(factory, bc):  # noqa: F811
    run_connector(factory, connector(bc))
    link_in_salesforce(factory)
    promise_and_dispute(factory)
    impatient = connector(bc)
    impatient.http.attempts = 1  # give up at once: the row waits for a later run
    with transaction(factory) as session:
        assert queue_writes(session, "bc", "bc", utcnow(), impatient.write_kinds) == 2
    bc.throttle(requests=50, retry_after="3")

    report = send_writes(factory, impatient, utcnow())

    assert (report.sent, report.retried) == (0, 2)
    rows = writes(factory)
    assert {r.status for r in rows} == {"pending"}
    assert all("429" in r.last_error and "Too many requests" in r.last_error for r in rows)
    assert patches(bc.book) == []
    bc.throttle(requests=0)

    later = send_writes(factory, connector(bc), utcnow() + timedelta(hours=1))

    assert later.sent == 2 and len(patches(bc.book)) == 2


def test_loop__a_write_refused_for_good_is_parked_with_business_centrals_message(
    factory,
    bc,  # noqa: F811
):
    run_connector(factory, connector(bc))
    link_in_salesforce(factory)
    promise_and_dispute(factory)

    report = run_connector(factory, connector(bc, BC_DISPUTE_STATUS="NOSUCH"))

    assert (report.loop.sent, report.loop.dead) == (1, 1)
    [dead] = [r for r in writes(factory) if r.status == "dead"]
    assert dead.kind == "dispute_open"
    assert "400" in dead.last_error
    assert "contains a value (NOSUCH) that cannot be found in the related table" in dead.last_error
    assert entry(bc.book, "103001")["disputeStatus"] == ""


# --- cash applied from bank statements ----------------------------------------------------------


def apply_bank_credit(
    factory, amount: str = "690.50", remittance: str = "Invoice 103001", **kwargs
) -> int:
    """A bank credit naming invoice 103001 (open 690.50 after its partial payment)."""
    with transaction(factory) as session:
        report = applying.apply_credits(
            session, [credit(amount, remittance, **kwargs)], as_of=TODAY
        )
        assert report.applied == 1, report.outcomes
        return next(iter(report.outcomes))


def reverse(factory, transaction_id: int) -> str:
    with transaction(factory) as session:
        return applying.reverse_credit(session, transaction_id, as_of=TODAY)


def journal_lines(book, code: str = "CCBANK") -> list[dict]:
    journal = next(j for j in book.journals if j["code"] == code)
    return [r for r in book.rows["customerPayments"] if r.get("journalId") == journal["id"]]


def test_cash__an_applied_credit_becomes_one_unposted_journal_line(factory, bc):  # noqa: F811
    bc.book.journal("CCBANK")
    run_connector(factory, connector(bc))
    amounts = bc.book.amounts()
    apply_bank_credit(factory)
    with factory() as session:
        application = session.scalars(select(CashApplication)).one()

    first = run_connector(factory, connector(bc))
    second = run_connector(factory, connector(bc))

    assert (first.loop.queued, first.loop.sent, first.loop.dead) == (1, 1, 0)
    assert (second.loop.queued, second.loop.sent) == (0, 0)
    [line] = journal_lines(bc.book)
    assert line["customerNumber"] == "10000"
    assert line["amount"] == -690.5 and line["appliesToInvoiceNumber"] == "103001"
    assert line["postingDate"] == TODAY.isoformat()
    assert line["externalDocumentNumber"].startswith(f"CC-{application.id}-")
    assert f"ca-{application.id}" in line["description"]
    assert [m for m, _, _ in bc.book.writes] == ["POST"]
    assert bc.book.amounts() == amounts  # unposted: no document's amount moved


def test_cash__a_reversed_credit_takes_its_unposted_line_out(factory, bc):  # noqa: F811
    bc.book.journal("CCBANK")
    run_connector(factory, connector(bc))
    transaction_id = apply_bank_credit(factory)
    run_connector(factory, connector(bc))
    assert len(journal_lines(bc.book)) == 1

    reverse(factory, transaction_id)
    first = run_connector(factory, connector(bc))
    second = run_connector(factory, connector(bc))

    assert (first.loop.queued, first.loop.sent, second.loop.queued) == (1, 1, 0)
    assert journal_lines(bc.book) == []
    assert [m for m, _, _ in bc.book.writes] == ["POST", "DELETE"]


def test_cash__a_posted_line_cannot_be_undone_and_says_so(factory, bc):  # noqa: F811
    bc.book.journal("CCBANK")
    run_connector(factory, connector(bc))
    transaction_id = apply_bank_credit(factory)
    run_connector(factory, connector(bc))
    assert bc.book.post_journal("CCBANK") == 1  # the accountant posts it

    reverse(factory, transaction_id)
    report = run_connector(factory, connector(bc))

    assert report.loop.dead == 1
    [dead] = [r for r in writes(factory) if r.status == "dead"]
    assert dead.kind == "cash_reversed"
    assert "was posted as customer ledger entry" in dead.last_error
    assert "reverse the payment in Business Central" in dead.last_error


def test_cash__a_line_never_sent_is_not_sent_after_the_credit_was_reversed(factory, bc):  # noqa: F811
    bc.book.journal("CCBANK")
    run_connector(factory, connector(bc))
    transaction_id = apply_bank_credit(factory)
    impatient = connector(bc)
    impatient.http.attempts = 1
    with transaction(factory) as session:
        assert queue_cash_writes(session, "bc", "bc", utcnow()) == 1
    bc.throttle(requests=50)
    assert send_writes(factory, impatient, utcnow()).retried == 1
    bc.throttle(requests=0)

    reverse(factory, transaction_id)
    run_connector(factory, connector(bc))
    later = send_writes(factory, connector(bc), utcnow() + timedelta(hours=1))

    assert later.sent == 0
    assert {(r.kind, r.status) for r in writes(factory)} == {
        ("cash_applied", "superseded"),
        ("cash_reversed", "sent"),
    }
    assert journal_lines(bc.book) == []
    assert [m for m, _, _ in bc.book.writes] == []


def test_cash__foreign_currency_cash_is_left_to_the_export(factory, bc):  # noqa: F811
    bc.book.journal("CCBANK")
    run_connector(factory, connector(bc))
    with transaction(factory) as session:
        report = applying.apply_credits(
            session, [credit("99.99", "Invoice 103002", currency="USD")], as_of=TODAY
        )
        assert report.applied == 1, report.outcomes

    result = run_connector(factory, connector(bc))

    assert result.loop.dead == 1
    [dead] = writes(factory)
    assert "USD cash is posted from the export" in dead.last_error
    assert journal_lines(bc.book) == []


def test_cash__a_missing_journal_is_named(factory, bc):  # noqa: F811
    run_connector(factory, connector(bc))
    apply_bank_credit(factory)

    report = run_connector(factory, connector(bc, BC_PAYMENT_JOURNAL="NOJOURNAL"))

    assert report.loop.dead == 1
    [dead] = writes(factory)
    assert "customer payment journal NOJOURNAL does not exist" in dead.last_error


def test_loop__without_the_extension_writes_are_parked_with_business_centrals_answer(
    factory,
    bc,  # noqa: F811
):
    run_connector(factory, connector(bc))
    link_in_salesforce(factory)
    promise_and_dispute(factory)
    bc.extension_installed = False

    report = run_connector(factory, connector(bc))

    assert (report.loop.sent, report.loop.dead) == (0, 2)
    assert all(
        "404 BadRequest_NotFound: No HTTP resource was found" in r.last_error
        for r in writes(factory)
    )
    bc.extension_installed = True
    with transaction(factory) as session:
        assert retry_dead(session, "bc", utcnow()) == 2

    assert run_connector(factory, connector(bc)).loop.sent == 2


def test_loop__a_record_changed_meanwhile_is_read_again_and_written(factory, bc):  # noqa: F811
    run_connector(factory, connector(bc))
    link_in_salesforce(factory)
    promise_and_dispute(factory)
    bc.conflicts = 1  # the first PATCH meets a newer etag: 412

    report = run_connector(factory, connector(bc))

    assert (report.loop.sent, report.loop.dead) == (2, 0)
    assert len(patches(bc.book)) == 2
    assert entry(bc.book, "103001")["disputeStatus"] == "DISPUTE"


def test_cash__a_line_sent_but_not_acknowledged_is_not_made_twice(factory, bc):  # noqa: F811
    bc.book.journal("CCBANK")
    run_connector(factory, connector(bc))
    apply_bank_credit(factory)
    run_connector(factory, connector(bc))
    with transaction(factory) as session:
        # As a claim left it: in flight, the claimer gone after Business Central made the line.
        session.execute(
            update(ErpWrite).values(status="in_flight", available_at=utcnow() - timedelta(hours=1))
        )

    report = run_connector(factory, connector(bc))

    assert report.loop.sent == 1
    assert len(journal_lines(bc.book)) == 1
    assert [m for m, _, _ in bc.book.writes] == ["POST"]


@pytest.mark.parametrize("name", ["BC_DISPUTE_STATUS", "BC_PAYMENT_JOURNAL"])
def test_settings__a_code_longer_than_business_central_takes_is_one_line(name):
    env = {"BC_TENANT_ID": "t", "BC_CLIENT_ID": "c", "BC_CLIENT_SECRET": "s", "BC_COMPANY_ID": "x"}

    assert load_bc_settings(env).payment_journal == "CCBANK"
    with pytest.raises(ConfigError, match=f"{name} is malformed: expected a Business Central code"):
        load_bc_settings({**env, name: "ELEVENCHARS"})


# --- payments counted once: posted payments are read, journal lines are not ---------------------


def overdue_invoice(book) -> None:
    """Invoice 103003 (300.00), 74 days past due on TODAY: customer 10000 is on HOLD."""
    book.invoice("103003", "10000", 300, issued=date(2025, 12, 1), due=date(2025, 12, 31))


def figures(factory, number: str = "10000") -> tuple[str, Decimal, Decimal, Decimal]:
    """Customer ``number`` assessed on TODAY: status, balance, overdue and in-flight amounts."""
    with transaction(factory) as session:
        customer = session.scalars(select(Customer).where(Customer.number == number)).one()
        reassess(session, [customer.id], TODAY)
    with factory() as session:
        row = session.get(Assessment, customer.id)
        return (
            row.status,
            row.balance_outstanding,
            row.overdue_amount,
            Decimal(row.document["in_flight_amount"]),
        )


def payments_of(factory, source: str) -> list[tuple[Decimal, str | None, str]]:
    with factory() as session:
        rows = session.scalars(select(Payment).where(Payment.source == source).order_by(Payment.id))
        return [(p.amount, p.reference, p.status) for p in rows]


def open_amounts(factory) -> dict[str, Decimal]:
    with factory() as session:
        return {r.number: r.open_amount for r in session.scalars(select(Receivable))}


def test_cash__a_credit_paying_two_invoices_is_one_line_and_its_posting_counts_once(
    factory,
    bc,  # noqa: F811
):
    bc.book.journal("CCBANK")
    overdue_invoice(bc.book)
    run_connector(factory, connector(bc))
    # 690.50 + 300.00 open, credit memo 100.00; the posted 500.00 is applied to 103001.
    assert figures(factory) == ("HOLD", Decimal("890.50"), Decimal("300.00"), Decimal(0))
    apply_bank_credit(factory, "990.50", "Invoices 103001 and 103003")

    first = run_connector(factory, connector(bc))  # writes the line; reads no payment
    run_connector(factory, connector(bc))

    assert (first.loop.queued, first.loop.sent) == (1, 1)
    [line] = journal_lines(bc.book)
    assert line["amount"] == -990.5 and line["appliesToInvoiceNumber"] == ""
    assert "103001, 103003" in line["description"]
    # Unposted: the bank payment still counts, in flight; the hold stays lifted.
    assert payments_of(factory, "bank") == [(Decimal("990.50"), None, "provisional")]
    assert [p[0] for p in payments_of(factory, "bc")] == [Decimal("500.00")]
    assert figures(factory) == ("OK", Decimal("-100.00"), Decimal(0), Decimal("990.50"))

    # The accountant applies the line to both invoices (Apply Entries) and posts the batch.
    assert bc.book.post_journal("CCBANK", {line["externalDocumentNumber"]: ["103001", "103003"]})
    assert journal_lines(bc.book) == []
    run_connector(factory, connector(bc))

    assert payments_of(factory, "bank") == [(Decimal("990.50"), None, "superseded")]
    assert payments_of(factory, "bc") == [
        (Decimal("500.00"), "BANK-0001", "confirmed"),
        (Decimal("990.50"), line["externalDocumentNumber"], "confirmed"),
    ]
    assert open_amounts(factory) == {
        "103001": Decimal("0.00"),
        "103002": Decimal("99.99"),
        "103003": Decimal("0.00"),
        "104001": Decimal("100.00"),
    }
    # Counted once: the same balance as while in flight, nothing in flight any more.
    assert figures(factory) == ("OK", Decimal("-100.00"), Decimal(0), Decimal(0))


def test_cash__a_posting_not_applied_to_the_invoices_counts_once_as_unapplied_cash(
    factory,
    bc,  # noqa: F811
):
    """Posted without applying (the entry stays open): Business Central's invoices stay open
    and the payment is unapplied cash there; here too, once."""
    bc.book.journal("CCBANK")
    overdue_invoice(bc.book)
    run_connector(factory, connector(bc))
    apply_bank_credit(factory, "990.50", "Invoices 103001 and 103003")
    run_connector(factory, connector(bc))

    bc.book.post_journal("CCBANK")
    run_connector(factory, connector(bc))

    assert [p[2] for p in payments_of(factory, "bank")] == ["superseded"]
    assert open_amounts(factory)["103003"] == Decimal("300.00")
    # Overdue again until the accountant applies the payment: what Business Central says.
    assert figures(factory) == ("HOLD", Decimal("-100.00"), Decimal("300.00"), Decimal(0))


def test_pull__a_journal_line_keyed_by_someone_else_is_not_a_payment(factory, bc):  # noqa: F811
    overdue_invoice(bc.book)
    run_connector(factory, connector(bc))
    before = figures(factory)
    journal = next(j for j in bc.book.journals if j["code"] == "CASHRCPT")
    with bc.book.lock:
        bc.book.add_journal_line(
            journal,
            {"customerNumber": "10000", "amount": -300, "appliesToInvoiceNumber": "103003",
             "externalDocumentNumber": "CHEQUE-77"},
        )  # fmt: skip

    run_connector(factory, connector(bc))

    assert [p[0] for p in payments_of(factory, "bc")] == [Decimal("500.00")]
    assert figures(factory) == before == ("HOLD", Decimal("890.50"), Decimal("300.00"), Decimal(0))


def test_cash__a_reversed_credit_deletes_its_line_and_nothing_is_counted(factory, bc):  # noqa: F811
    bc.book.journal("CCBANK")
    overdue_invoice(bc.book)
    run_connector(factory, connector(bc))
    before = figures(factory)
    transaction_id = apply_bank_credit(factory, "990.50", "Invoices 103001 and 103003")
    run_connector(factory, connector(bc))
    run_connector(factory, connector(bc))  # the line is in the journal, read by no pull
    assert len(journal_lines(bc.book)) == 1

    assert reverse(factory, transaction_id) == "reversed"
    run_connector(factory, connector(bc))

    assert journal_lines(bc.book) == []
    assert [m for m, _, _ in bc.book.writes] == ["POST", "DELETE"]
    assert payments_of(factory, "bank") == [(Decimal("990.50"), None, "reversed")]
    assert [p[0] for p in payments_of(factory, "bc")] == [Decimal("500.00")]
    assert figures(factory) == before == ("HOLD", Decimal("890.50"), Decimal("300.00"), Decimal(0))


def test_pull__without_the_extension_reads_no_payments_and_says_so_once(
    factory,
    bc,  # noqa: F811
    caplog,
):
    bc.extension_installed = False
    pulling = connector(bc)

    with caplog.at_level(logging.WARNING, logger="service.connectors.bc.connector"):
        first = run_sync(factory, pulling)
        second = run_sync(factory, pulling)

    assert first.counts.problems == [] and second.counts.problems == []
    assert first.counts.accepted["receivables"] == 3
    assert payments_of(factory, "bc") == []
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "customerLedgerEntries page is not there (404): no payments are read" in warnings[0]

"""The closed loop with SAP: a promise and a dispute logged in Salesforce (as change events
through the service's own handlers) reach the local SAP as cases, once each."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update

from service.assessments import Reassessor
from service.cli import main
from service.connectors.run import run_connector
from service.connectors.writeback import queue_writes, retry_dead, send_writes
from service.db import transaction, utcnow
from service.models import Customer, ErpWrite, Receivable
from service.salesforce.cometd import StreamEvent
from service.salesforce.handlers import ACTION_CHANNEL, Handlers
from tests.connectors.conftest import CUSTOMER, connector

ACCOUNT = "001Dv0000000001IAA"
ITEM_SF_ID = "a02Dv0000000001AAA"
replay = iter(range(100, 1000))


def link_in_salesforce(factory) -> None:
    """What the Account and Receivable__c syncs do: the Account carries the ERP number, the
    invoice's mirror exists in the org."""
    with transaction(factory) as session:
        session.execute(
            update(Customer)
            .where(Customer.number == CUSTOMER)
            .values(salesforce_account_id=ACCOUNT)
        )
        session.execute(
            update(Receivable)
            .where(Receivable.external_id == "1010/2026/1800000412")
            .values(salesforce_id=ITEM_SF_ID)
        )


def log_action(factory, record_id: str, change: str, **fields) -> None:
    payload = {
        "ChangeEventHeader": {
            "entityName": "Collection_Action__c",
            "recordIds": [record_id],
            "changeType": change,
        },
        **fields,
    }
    event = StreamEvent(ACTION_CHANNEL, next(replay), {"payload": payload})
    handlers = Handlers(Reassessor(), lambda *args: None)
    with transaction(factory) as session:
        assert handlers.handle(session, event) == "processed"


def promise_and_dispute(factory) -> None:
    log_action(
        factory, "a01Dv0000000001AAA", "CREATE",
        Account__c=ACCOUNT, Type__c="Promise to Pay", Promised_Amount__c=300.5,
        Promised_Date__c="2026-03-31", CreatedDate="2026-03-10T09:00:00.000Z",
    )  # fmt: skip
    log_action(
        factory, "a01Dv0000000002AAA", "CREATE",
        Account__c=ACCOUNT, Type__c="Dispute", Disputed_Amount__c=190,
        Dispute_Reason__c="Not Delivered", Receivable__c=ITEM_SF_ID,
        CreatedDate="2026-03-10T09:05:00.000Z",
    )  # fmt: skip


def test_loop__a_promise_and_a_dispute_reach_sap_once_each(factory, sap, book):
    run_connector(factory, connector(sap))
    link_in_salesforce(factory)
    amounts = book.amounts()
    promise_and_dispute(factory)

    first = run_connector(factory, connector(sap))
    second = run_connector(factory, connector(sap))

    assert (first.loop.queued, first.loop.sent) == (2, 2)
    assert (second.loop.queued, second.loop.sent) == (0, 0)
    posts = [body for method, body in book.case_writes if method == "POST"]
    assert len(book.case_writes) == len(posts) == 2
    promise = next(b for b in posts if b["CaseType"] == "F_PP")
    dispute = next(b for b in posts if b["CaseType"] == "F_DM")
    assert promise["CaseExternalReference"] == "CC-a01Dv0000000001AAA-20260331"
    assert (promise["Customer"], promise["PromisedAmount"], promise["PromiseToPayDueDate"]) == (
        CUSTOMER, "300.50", "2026-03-31",
    )  # fmt: skip
    assert dispute["CaseExternalReference"] == "CC-a01Dv0000000002AAA"
    assert (dispute["CompanyCode"], dispute["FiscalYear"], dispute["AccountingDocument"]) == (
        "1010", "2026", "1800000412",
    )  # fmt: skip
    assert (dispute["CustomerDisputedAmount"], dispute["CustomerDisputedCurrency"]) == (
        "190.00", "EUR",
    )  # fmt: skip
    # CaseReason is a reason code in SAP: the collector's words are in the title.
    assert dispute["CaseTitle"].endswith(": Not Delivered") and "CaseReason" not in dispute
    assert "CaseStatus" not in dispute  # the case type's status profile sets the first
    assert book.amounts() == amounts  # never an amount


def test_loop__a_resolved_dispute_closes_its_case_once(factory, sap, book):
    run_connector(factory, connector(sap))
    link_in_salesforce(factory)
    promise_and_dispute(factory)
    run_connector(factory, connector(sap))

    log_action(factory, "a01Dv0000000002AAA", "UPDATE", Dispute_Status__c="Resolved Valid")
    run_connector(factory, connector(sap, SAP_CASE_CLOSED_STATUS="30"))
    run_connector(factory, connector(sap, SAP_CASE_CLOSED_STATUS="30"))

    patches = [body for method, body in book.case_writes if method == "PATCH"]
    assert patches == [
        {
            "CaseStatus": "30",
            "CaseTitle": "Dispute 1010/2026/1800000412: Not Delivered (Resolved Valid)",
        }
    ]
    [case] = [c for c in book.cases.rows if c["CaseType"] == "F_DM"]
    assert case["CaseStatus"] == "30"


def test_loop__without_the_closed_status_a_resolution_waits_for_it_and_writes_nothing(
    factory, sap, book
):
    run_connector(factory, connector(sap))
    link_in_salesforce(factory)
    promise_and_dispute(factory)
    run_connector(factory, connector(sap))
    log_action(factory, "a01Dv0000000002AAA", "UPDATE", Dispute_Status__c="Resolved Invalid")

    report = run_connector(factory, connector(sap))

    assert report.loop.dead == 1
    assert [m for m, _ in book.case_writes if m == "PATCH"] == []
    with factory() as session:
        [dead] = session.scalars(select(ErpWrite).where(ErpWrite.status == "dead")).all()
        assert dead.last_error.startswith("SAP_CASE_CLOSED_STATUS is not set")
        retry_dead(session, "sap", utcnow())
        session.commit()

    again = run_connector(factory, connector(sap, SAP_CASE_CLOSED_STATUS="30"))

    assert again.loop.sent == 1
    [case] = [c for c in book.cases.rows if c["CaseType"] == "F_DM"]
    assert case["CaseStatus"] == "30" and case["CaseTitle"].endswith("(Resolved Invalid)")


def test_loop__a_write_sent_but_not_acknowledged_is_not_made_twice(factory, sap, book):
    """A crash after SAP made the case and before the row was marked sent: the retry finds
    the case by its reference instead of making a second one."""
    run_connector(factory, connector(sap))
    link_in_salesforce(factory)
    promise_and_dispute(factory)
    run_connector(factory, connector(sap))
    with transaction(factory) as session:
        # As a claim left them: in flight, the claimer gone, its lease run out.
        session.execute(
            update(ErpWrite).values(
                status="in_flight", sent_at=None, available_at=datetime(2026, 1, 1, tzinfo=UTC)
            )
        )

    report = run_connector(factory, connector(sap))

    assert report.loop.sent == 2
    assert len([m for m, _ in book.case_writes if m == "POST"]) == 2


def test_loop__throttled_writes_are_retried_later_not_lost(factory, sap, book):
    run_connector(factory, connector(sap))
    link_in_salesforce(factory)
    promise_and_dispute(factory)
    sap_connector = connector(sap)
    sap_connector.http.attempts = 1  # give up at once: the row waits for a later run
    with transaction(factory) as session:
        assert queue_writes(session, "sap", "sap", utcnow()) == 2
    sap.throttle(requests=50)

    report = send_writes(factory, sap_connector, utcnow())

    assert report.retried == 2 and report.sent == 0
    with factory() as session:
        rows = session.scalars(select(ErpWrite)).all()
        assert {r.status for r in rows} == {"pending"}
        assert all("429" in r.last_error for r in rows)
    assert book.case_writes == []


def test_loop__actions_of_other_sources_customers_are_not_written(factory, sap, book):
    run_connector(factory, connector(sap))
    with transaction(factory) as session:
        session.execute(update(Customer).values(source="erp-main", salesforce_account_id=ACCOUNT))
    promise_and_dispute(factory)

    report = run_connector(factory, connector(sap))

    assert report.loop.queued == 0
    assert book.case_writes == []


def test_loop__writes_sap_refused_for_good_are_sent_again_on_request(
    factory, sap, book, runner, monkeypatch
):
    run_connector(factory, connector(sap))
    link_in_salesforce(factory)
    promise_and_dispute(factory)
    refused = connector(sap, SAP_CASE_SERVICE="API_NO_SUCH_SRV")  # a setting gone wrong: 404

    report = run_connector(factory, refused)

    assert report.loop.dead == 2
    with factory() as session:
        assert {r.status for r in session.scalars(select(ErpWrite))} == {"dead"}
    for name, value in sap.oauth_env().items():
        monkeypatch.setenv(name, value)

    result = runner.invoke(main, ["sync", "sap", "--retry-failed"])

    assert result.exit_code == 0, result.output
    assert "2 failed writes queued again" in result.stderr
    assert "closed loop: 0 writes queued, 2 sent" in result.stdout
    assert len(book.case_writes) == 2


def test_loop__hold_overrides_have_no_place_in_sap(factory, sap, book):
    run_connector(factory, connector(sap))
    link_in_salesforce(factory)
    log_action(
        factory, "a01Dv0000000009AAA", "CREATE", Account__c=ACCOUNT, Type__c="Hold Override",
        Override_Until__c="2026-04-30", CreatedDate="2026-03-10T09:00:00.000Z",
    )  # fmt: skip

    report = run_connector(factory, connector(sap))

    assert report.loop.queued == 0
    assert book.case_writes == []

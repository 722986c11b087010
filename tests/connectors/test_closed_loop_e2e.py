"""Issue #19's check end to end, for each ERP: a promise and a dispute a person logs in
Salesforce (the local org, over HTTPS) reach the worker over CometD, and the connector's run
writes them to the ERP stand-in once each; a second run writes nothing. A dispute resolved
in Salesforce is written once more, and only once.

Nothing is fed to the handlers by hand: the worker runs in-process (as in
tests/salesforce/test_sync_e2e.py), links the customer to its Account and pushes the invoice's
Receivable__c mirror, which is what a person's dispute names.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from devorg.cometd import streaming_for
from sqlalchemy import select

from service.connectors.base import Connector
from service.connectors.run import RunReport, run_connector
from service.models import CollectionAction, Customer, Receivable
from service.salesforce.client import build_client
from service.worker import Worker
from tests.connectors.conftest import CUSTOMER as SAP_CUSTOMER
from tests.connectors.conftest import connector as sap_connector
from tests.connectors.test_bc_closed_loop import EXTENSION
from tests.connectors.test_bc_pull import bc  # noqa: F401 - fixture
from tests.connectors.test_bc_pull import connector as bc_connector
from tests.connectors.test_netsuite_pull import connector as ns_connector
from tests.connectors.test_netsuite_pull import key_file, ns  # noqa: F401 - fixtures
from tests.salesforce.conftest import devorg, org, sync_settings  # noqa: F401 - fixtures
from tests.salesforce.sync_helpers import create_accounts, person_client, seed_cursors, wait_for

PROMISED_DATE = "2026-03-31"
REASON = "Quality"  # a value of the org's restricted picklist Dispute_Reason__c
TIMEOUT = 30.0  # generous: the machine is shared and the worker runs in threads


@dataclass
class Erp:
    """One ERP stand-in as this test drives it: its customer and invoice, a fresh connector,
    a copy of its write log (the writes it received, in its own shapes) and of its amounts."""

    customer: str
    invoice: Callable[[Receivable], bool]
    connector: Callable[[], Connector]
    writes: Callable[[], list]
    amounts: Callable[[], Any]
    opened: Callable[[str, str], list]  # the two writes expected for (promise, dispute)
    resolved: Callable[[], list]  # the one write expected for the resolved dispute


def sap_erp(request) -> Erp:
    server = request.getfixturevalue("sap")
    book = server.book
    document = {"CompanyCode": "1010", "FiscalYear": "2026", "AccountingDocument": "1800000412"}

    def opened(promise: str, dispute: str) -> list:
        return [
            ("POST", {"CaseExternalReference": f"CC-{promise}-20260331", "CaseType": "F_PP",
                      "Customer": SAP_CUSTOMER, "CompanyCode": "", "FiscalYear": "",
                      "AccountingDocument": "", "CaseTitle": "Promise to pay 300.50 EUR by 2026-03-31",
                      "PromisedAmount": "300.50", "PromiseToPayDueDate": PROMISED_DATE,
                      "DisputeCaseCurrency": "EUR"}),
            ("POST", {"CaseExternalReference": f"CC-{dispute}", "CaseType": "F_DM",
                      "Customer": SAP_CUSTOMER, **document,
                      "CaseTitle": f"Dispute 1010/2026/1800000412: {REASON}",
                      "CustomerDisputedAmount": "190.00", "CustomerDisputedCurrency": "EUR"}),
        ]  # fmt: skip

    def resolved() -> list:
        title = f"Dispute 1010/2026/1800000412: {REASON} (Resolved Valid)"
        return [("PATCH", {"CaseStatus": "30", "CaseTitle": title})]

    return Erp(
        customer=SAP_CUSTOMER,
        invoice=lambda r: r.external_id == "1010/2026/1800000412",
        connector=lambda: sap_connector(server, SAP_CASE_CLOSED_STATUS="30"),
        # The connector keys each new case with a random UUID: left out of the comparison.
        writes=lambda: [
            (m, {k: v for k, v in b.items() if k != "DisputeCaseUUID"})
            for m, b in copy.deepcopy(book.case_writes)
        ],
        amounts=book.amounts,
        opened=opened,
        resolved=resolved,
    )


def bc_erp(request) -> Erp:
    server = request.getfixturevalue("bc")
    book = server.book
    company = f"companies({book.company_id})"

    def ids() -> tuple[str, str]:
        customer = next(c for c in book.rows["customers"] if c["number"] == "10000")
        invoice = next(e for e in book.ledger if e["documentNumber"] == "103001")
        return customer["id"], invoice["id"]

    def opened(promise: str, dispute: str) -> list:
        customer, invoice = ids()
        return [
            ("PATCH", f"{company}/creditControlCustomers({customer})",
             {"ccPromisedAmount": 300.5, "ccPromisedPayDate": PROMISED_DATE}),
            ("PATCH", f"{company}/customerLedgerEntries({invoice})",
             {"disputeStatus": "DISPUTE", "ccDisputedAmount": 190.0,
              "ccDisputeReason": REASON}),
        ]  # fmt: skip

    return Erp(
        customer="10000",
        invoice=lambda r: r.number == "103001",
        connector=lambda: bc_connector(server),
        writes=lambda: [(m, p.split(EXTENSION)[-1], b) for m, p, b in copy.deepcopy(book.writes)],
        amounts=lambda: (book.amounts(), [c["blocked"] for c in book.rows["customers"]]),
        opened=opened,
        resolved=lambda: [
            ("PATCH", f"{company}/customerLedgerEntries({ids()[1]})", {"disputeStatus": ""})
        ],
    )


def netsuite_erp(request) -> Erp:
    server = request.getfixturevalue("ns")
    env = server.m2m_env(request.getfixturevalue("key_file"))
    book = server.book

    def ids() -> tuple[str, str]:
        customer = next(str(c["id"]) for c in book.customers if c["entityid"] == "CUST-348")
        invoice = next(str(t["id"]) for t in book.transactions if t["tranid"] == "INV10482")
        return customer, invoice

    def opened(promise: str, dispute: str) -> list:
        customer, invoice = ids()
        return [
            ("customer", customer,
             {"custentity_cc_promised_amount": 300.5, "custentity_cc_promise_date": PROMISED_DATE}),
            ("invoice", invoice,
             {"custbody_cc_dispute_status": "Open", "custbody_cc_disputed_amount": 190.0,
              "custbody_cc_dispute_reason": REASON}),
        ]  # fmt: skip

    return Erp(
        customer="CUST-348",
        invoice=lambda r: r.number == "INV10482",
        connector=lambda: ns_connector(env),
        writes=lambda: copy.deepcopy(book.writes),
        amounts=lambda: [{k: v for k, v in t.items() if k != "custom"} for t in book.transactions],
        opened=opened,
        resolved=lambda: [("invoice", ids()[1], {"custbody_cc_dispute_status": "Resolved Valid"})],
    )


@pytest.fixture(params=["sap", "bc", "netsuite"])
def erp(request) -> Erp:
    return {"sap": sap_erp, "bc": bc_erp, "netsuite": netsuite_erp}[request.param](request)


def subscribed(server, channels) -> bool:
    """Every channel of the worker subscribed in the org: a channel without a stored cursor
    starts at the newest event, so a person's write must come after this."""
    clients = streaming_for(server).snapshot().get("clients", [])
    return sum(len(c.get("subscriptions", {})) for c in clients) >= len(channels)


def linked(factory, erp: Erp) -> tuple[str, str] | None:
    """(Account Id, the invoice's Receivable__c Id) once the worker's push linked both."""
    with factory() as session:
        account = session.scalars(
            select(Customer.salesforce_account_id).where(Customer.number == erp.customer)
        ).one()
        mirror = next(
            (r.salesforce_id for r in session.scalars(select(Receivable)) if erp.invoice(r)), None
        )
    return (account, mirror) if account and mirror else None


def stored(factory, record_id: str, **expected) -> CollectionAction | None:
    """The action as the worker stored it, once it holds ``expected``."""
    with factory() as session:
        row = session.scalars(
            select(CollectionAction).where(
                CollectionAction.salesforce_id.like(record_id[:15] + "%")
            )
        ).first()
    if row is None or row.customer_id is None:
        return None
    return row if all(getattr(row, k) == v for k, v in expected.items()) else None


def quiet(run: RunReport) -> bool:
    return (run.loop.queued, run.loop.sent, run.loop.retried, run.loop.dead) == (0, 0, 0, 0)


def test_e2e__a_promise_a_dispute_and_its_resolution_in_salesforce_reach_the_erp_once_each(
    db,
    devorg,  # noqa: F811
    sync_settings,  # noqa: F811
    erp,
):
    _engine, factory = db
    create_accounts(build_client(sync_settings), [erp.customer])  # the Account sync's work
    first_pull = run_connector(factory, erp.connector())
    assert first_pull.sync.counts.problems == [] and first_pull.loop.queued == 0

    seed_cursors(factory, devorg, sync_settings.channels)
    worker = Worker(*db, sync_settings, schedule=False).start()
    try:
        account, mirror = wait_for(lambda: linked(factory, erp), timeout=TIMEOUT)
        wait_for(lambda: subscribed(devorg, sync_settings.channels), timeout=TIMEOUT)
        amounts, before = erp.amounts(), erp.writes()

        person = person_client(sync_settings)
        promise = person.rest(
            "POST", "sobjects/Collection_Action__c",
            {"Account__c": account, "Type__c": "Promise to Pay", "Promised_Amount__c": 300.5,
             "Promised_Date__c": PROMISED_DATE},
        )["id"]  # fmt: skip
        dispute = person.rest(
            "POST", "sobjects/Collection_Action__c",
            {"Account__c": account, "Type__c": "Dispute", "Disputed_Amount__c": 190,
             "Dispute_Reason__c": REASON, "Dispute_Status__c": "Open",
             "Receivable__c": mirror},
        )["id"]  # fmt: skip
        wait_for(lambda: stored(factory, promise, type="Promise to Pay"), timeout=TIMEOUT)
        row = wait_for(lambda: stored(factory, dispute, type="Dispute"), timeout=TIMEOUT)
        assert row.receivable_id is not None  # the dispute names the invoice

        first = run_connector(factory, erp.connector())
        after_first = erp.writes()
        second = run_connector(factory, erp.connector())

        assert (first.loop.queued, first.loop.sent, first.loop.dead) == (2, 2, 0)
        assert quiet(second)
        new = after_first[len(before) :]
        assert sorted(new, key=str) == sorted(erp.opened(promise, dispute), key=str)
        assert erp.writes() == after_first  # the second run wrote nothing
        assert erp.amounts() == amounts  # never an amount

        person.rest(
            "PATCH", f"sobjects/Collection_Action__c/{dispute}",
            {"Dispute_Status__c": "Resolved Valid"},
        )  # fmt: skip
        wait_for(lambda: stored(factory, dispute, dispute_status="Resolved Valid"), timeout=TIMEOUT)

        third = run_connector(factory, erp.connector())
        after_third = erp.writes()
        fourth = run_connector(factory, erp.connector())

        assert (third.loop.queued, third.loop.sent, third.loop.dead) == (1, 1, 0)
        assert quiet(fourth)
        assert after_third[len(after_first) :] == erp.resolved()
        assert erp.writes() == after_third
        assert erp.amounts() == amounts
    finally:
        worker.shutdown(timeout=5)

"""The closed loop with NetSuite: a promise and a dispute logged in Salesforce reach the local
NetSuite as the integration's custom fields, once each, never an amount."""

from __future__ import annotations

import copy

from sqlalchemy import select, update

from service.connectors.run import run_connector
from service.connectors.writeback import queue_writes, send_writes
from service.db import transaction, utcnow
from service.models import Customer, ErpWrite, Receivable
from tests.connectors.test_netsuite_pull import connector, key_file, ns  # noqa: F401 - fixtures
from tests.connectors.test_sap_closed_loop import (
    ACCOUNT,
    ITEM_SF_ID,
    log_action,
    promise_and_dispute,
)


def link_in_salesforce(factory) -> None:
    with transaction(factory) as session:
        session.execute(
            update(Customer)
            .where(Customer.number == "CUST-348")
            .values(salesforce_account_id=ACCOUNT)
        )
        session.execute(
            update(Receivable)
            .where(Receivable.number == "INV10482")
            .values(salesforce_id=ITEM_SF_ID)
        )


def test_loop__a_promise_and_a_dispute_reach_netsuite_once_each(factory, ns, key_file):  # noqa: F811
    env = ns.m2m_env(key_file)
    run_connector(factory, connector(env))
    link_in_salesforce(factory)
    before = copy.deepcopy(
        [{k: v for k, v in r.items() if k != "custom"} for r in ns.book.transactions]
    )
    promise_and_dispute(factory)

    first = run_connector(factory, connector(env))
    second = run_connector(factory, connector(env))

    assert (first.loop.queued, first.loop.sent, first.loop.dead) == (2, 2, 0)
    assert (second.loop.queued, second.loop.sent) == (0, 0)
    customer_id = next(str(c["id"]) for c in ns.book.customers if c["entityid"] == "CUST-348")
    invoice_id = next(str(t["id"]) for t in ns.book.transactions if t["tranid"] == "INV10482")
    assert sorted(ns.book.writes) == sorted(
        [
            ("customer", customer_id,
             {"custentity_cc_promised_amount": 300.5, "custentity_cc_promise_date": "2026-03-31"}),
            ("invoice", invoice_id,
             {"custbody_cc_dispute_status": "Open", "custbody_cc_disputed_amount": 190.0,
              "custbody_cc_dispute_reason": "Not Delivered"}),
        ]
    )  # fmt: skip
    after = [{k: v for k, v in r.items() if k != "custom"} for r in ns.book.transactions]
    assert after == before  # never an amount


def test_loop__a_resolved_dispute_sets_its_status_once(factory, ns, key_file):  # noqa: F811
    env = ns.m2m_env(key_file)
    run_connector(factory, connector(env))
    link_in_salesforce(factory)
    promise_and_dispute(factory)
    run_connector(factory, connector(env))

    log_action(factory, "a01Dv0000000002AAA", "UPDATE", Dispute_Status__c="Resolved Invalid")
    run_connector(factory, connector(env))
    run_connector(factory, connector(env))

    statuses = [w[2].get("custbody_cc_dispute_status") for w in ns.book.writes if w[0] == "invoice"]
    assert statuses == ["Open", "Resolved Invalid"]


def log_override(factory, until: str | None, change: str = "CREATE") -> None:
    fields = {"Override_Until__c": until}
    if change == "CREATE":
        fields |= {"Account__c": ACCOUNT, "Type__c": "Hold Override",
                   "CreatedDate": "2026-03-10T09:00:00.000Z"}  # fmt: skip
    log_action(factory, "a01Dv0000000009AAA", change, **fields)


def test_loop__a_hold_override_sets_a_custom_field_not_the_credit_hold(
    factory,
    ns,  # noqa: F811
    key_file,  # noqa: F811
):
    env = ns.m2m_env(key_file)
    run_connector(factory, connector(env))
    link_in_salesforce(factory)
    before = copy.deepcopy(ns.book.transactions)
    log_override(factory, "2026-04-30")

    first = run_connector(factory, connector(env))
    second = run_connector(factory, connector(env))
    log_override(factory, "2026-04-10", "UPDATE")
    run_connector(factory, connector(env))
    log_override(factory, None, "DELETE")
    run_connector(factory, connector(env))

    assert (first.loop.queued, first.loop.sent, second.loop.queued) == (1, 1, 0)
    customer_id = next(str(c["id"]) for c in ns.book.customers if c["entityid"] == "CUST-348")
    assert ns.book.writes == [
        ("customer", customer_id, {"custentity_cc_hold_override_until": "2026-04-30"}),
        ("customer", customer_id, {"custentity_cc_hold_override_until": "2026-04-10"}),
        ("customer", customer_id, {"custentity_cc_hold_override_until": None}),
    ]
    assert ns.book.transactions == before  # never an amount


def test_loop__a_throttled_write_is_waited_out(factory, ns, key_file):  # noqa: F811
    env = ns.m2m_env(key_file)
    run_connector(factory, connector(env))
    link_in_salesforce(factory)
    log_override(factory, "2026-04-30")
    waits: list[float] = []
    patient = connector(env)
    patient.http.sleep = waits.append
    with transaction(factory) as session:
        assert queue_writes(session, "netsuite", "netsuite", utcnow(), patient.write_kinds) == 1
    ns.throttle(requests=2, retry_after="4")  # the customer's lookup, then the PATCH

    report = send_writes(factory, patient, utcnow())

    assert (report.sent, report.retried, report.dead) == (1, 0, 0)
    assert waits == [4.0, 4.0]
    assert [w[2] for w in ns.book.writes] == [{"custentity_cc_hold_override_until": "2026-04-30"}]


def test_loop__a_field_missing_in_the_account_parks_the_write_with_its_message(
    factory,
    ns,  # noqa: F811
    key_file,  # noqa: F811
):
    env = ns.m2m_env(key_file)
    run_connector(factory, connector(env))
    link_in_salesforce(factory)
    ns.book.custom_fields.discard("custentity_cc_hold_override_until")
    log_override(factory, "2026-04-30")

    report = run_connector(factory, connector(env))

    assert report.loop.dead == 1
    with factory() as session:
        [row] = session.scalars(select(ErpWrite)).all()
    assert row.status == "dead"
    assert "Invalid field: custentity_cc_hold_override_until" in row.last_error
    assert ns.book.writes == []

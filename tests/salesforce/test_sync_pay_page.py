"""Pay links and the pay page against devorg: links on the Account and Receivable__c, and a
dispute made on the page arrives as a Customer Portal Collection_Action__c, once, and the
Account's status changes as if a collector had logged it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from simple_salesforce import format_soql
from sqlalchemy import select

from service import outbox
from service.app import create_app
from service.assessments import reassess
from service.db import transaction
from service.models import CollectionAction, InboxMessage, Receivable
from service.paylinks import PayLinks
from service.salesforce.handlers import ACTION_CHANNEL, SYNC_CHANNEL
from service.salesforce.keys import receivable_item_id
from service.worker import Worker
from tests.salesforce.sync_helpers import read_account, seed_cursors, wait_for
from tests.salesforce.test_sync_e2e import book  # noqa: F401 - the shared fixture

PAY_SECRET = "pay-link-secret-0123456789-abcdef"
BASE = "https://pay.example.com"


def test_pay_links_and_a_portal_dispute_reach_the_org(db, devorg, sync_settings, book):  # noqa: F811
    engine, factory = db
    client, account_id, customer_id = book
    with factory() as s:
        receivable_id = s.scalar(select(Receivable.id))
    links = PayLinks([PAY_SECRET], BASE)
    seed_cursors(factory, devorg, sync_settings.channels)
    mark = devorg.bus.last_replay_id()
    worker = Worker(engine, factory, sync_settings, schedule=False, pay_links=links).start()
    try:
        app = create_app(
            {
                "DATABASE_URL": str(engine.url),
                "FEED_SIGNING_SECRET": "feed-secret-0123456789abcdef",
                "SERVICE_API_TOKENS": "t" * 32,
                "PAY_LINK_SECRET": PAY_SECRET,
                "PUBLIC_BASE_URL": BASE,
            }
        )
        web = app.test_client()
        with transaction(factory) as s:
            reassess(s, [customer_id], datetime.now(UTC).date())
            outbox.queue_for_salesforce(s, [customer_id], [receivable_id])

        def pushed():
            account = read_account(client, account_id, "Credit_Status__c", "Pay_Link__c")
            return (
                account
                if account["Pay_Link__c"] and account["Credit_Status__c"] == "HOLD"
                else None
            )

        held = wait_for(pushed, timeout=10)
        token = held["Pay_Link__c"].rsplit("/", 1)[1]
        assert links.verify(token).customer == "E1"
        receivable = wait_for(
            lambda: list(
                client.query_all(
                    format_soql(
                        "SELECT Pay_Link__c FROM Receivable__c WHERE ERP_Item_Id__c = {key}",
                        key=receivable_item_id("erp-main", "INV-E1-1"),
                    )
                )
            ),
            timeout=5,
        )
        assert receivable and links.verify(
            receivable[0]["Pay_Link__c"].rsplit("/", 1)[1]
        ).invoices == ("INV-E1-1",)

        started = datetime.now(UTC)
        answer = web.post(
            f"/pay/{token}/dispute",
            data={"invoice": "INV-E1-1", "reason": "Quality", "amount": "1000.00"},
        )
        assert answer.status_code in (200, 410)
        soql = format_soql(
            "SELECT Id, Source__c, Type__c, Dispute_Reason__c FROM Collection_Action__c"
            " WHERE Account__c = {}",
            account_id,
        )
        actions = wait_for(lambda: list(client.query_all(soql)), timeout=5)
        assert [(a["Source__c"], a["Type__c"], a["Dispute_Reason__c"]) for a in actions] == [
            ("Customer Portal", "Dispute", "Quality")
        ]
        # The whole amount is disputed: nothing overdue counts, the hold lifts.
        wait_for(
            lambda: (
                read_account(client, account_id, "Credit_Status__c")["Credit_Status__c"] == "OK"
            ),
            timeout=5,
        )
        assert datetime.now(UTC) - started < timedelta(seconds=5)
        # The push's answer links our row to the record; it is not logged a second time.
        (action,) = wait_for(
            lambda: [a for a in _actions(factory) if a.salesforce_id],
            timeout=5,
        )
        # The record's change event is on the standard channel, and not on the worker's: the
        # service's own write never comes back to it.
        (created,) = [
            e
            for e in devorg.bus.events_after(ACTION_CHANNEL, mark)
            if e.data["payload"]["ChangeEventHeader"]["changeType"] == "CREATE"
        ]
        assert created.data["payload"]["ChangeEventHeader"]["recordIds"] == [action.salesforce_id]
        assert not [
            e
            for e in devorg.bus.events_after(SYNC_CHANNEL, mark)
            if e.data["payload"]["ChangeEventHeader"]["entityName"] == "Collection_Action__c"
        ]
        assert _change_events_received(factory) == 0
        assert len(_actions(factory)) == 1
    finally:
        worker.shutdown(timeout=5)


def _actions(factory):
    with factory() as s:
        return list(s.scalars(select(CollectionAction)))


def _change_events_received(factory) -> int:
    with factory() as s:
        return len(
            s.scalars(
                select(InboxMessage.id).where(
                    InboxMessage.kind.in_((ACTION_CHANNEL, SYNC_CHANNEL)),
                )
            ).all()
        )

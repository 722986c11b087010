"""Dunning as a credit controller sees it in Salesforce (devorg, real HTTP and CometD): each
reminder sent is a 'Reminder Sent' action with level, amount and pay link; the Account shows
the level last sent and the next reminder's day; 'send a reminder now' and a pause logged in
Salesforce take effect within seconds."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from simple_salesforce import format_soql
from sqlalchemy import update

from service.credit import default_policy
from service.db import transaction
from service.dunning.render import Company
from service.dunning.rules import dunning_rules
from service.dunning.run import Settings, run
from service.dunning.schedule import dunning_parts
from service.dunning.smtp import Mailer
from service.models import Customer, Receivable
from service.paylinks import PayLinks
from service.worker import Worker
from tests.dunning.smtp_server import SmtpServer
from tests.dunning.test_sender import _mail
from tests.salesforce.sync_helpers import person_client, read_account, seed_cursors, wait_for
from tests.salesforce.test_sync_e2e import book  # noqa: F401 - the shared fixture

LINKS = PayLinks(["pay-link-secret-0123456789-abcdef"], "https://pay.example.com")
SETTINGS = Settings(default_policy(), Company("Northwind Supplies"), "northwind.example", LINKS)


def _actions(client, account_id):
    soql = format_soql(
        "SELECT Type__c, Source__c, Notes__c FROM Collection_Action__c WHERE Account__c = {}"
        " AND Type__c = 'Reminder Sent'",
        account_id,
    )
    return list(client.query_all(soql))


def test_reminders_show_in_salesforce_and_salesforce_steers_them(db, devorg, sync_settings, book):  # noqa: F811
    engine, factory = db
    client, account_id, _customer_id = book
    today = datetime.now(UTC).date()
    with transaction(factory) as s:  # 20 days overdue: level 2 now, level 3 in ten days
        s.execute(update(Customer).values(billing_email="ap@e1.example"))
        s.execute(update(Receivable).values(due_date=today - timedelta(days=20)))
    seed_cursors(factory, devorg, sync_settings.channels)
    with SmtpServer() as server:
        mailer = Mailer(_mail(server.port))
        worker = Worker(
            engine, factory, sync_settings, schedule=False, pay_links=LINKS,
            dunning=lambda f, stop: dunning_parts(
                f, SETTINGS, ZoneInfo("UTC"), "23:59", stop, mailer, poll_seconds=0.3
            ),
        ).start()  # fmt: skip
        try:
            rules = dunning_rules(default_policy())
            # The daily run of the last business day before today.
            day = today - timedelta(days=1)
            while not rules.is_business_day(day):
                day -= timedelta(days=1)
            run(factory, day, SETTINGS)
            (sent,) = wait_for(lambda: _actions(client, account_id), timeout=15)
            assert sent["Source__c"] == "Service"
            assert "Level 2 (reminder)" in sent["Notes__c"] and "EUR 1000.00" in sent["Notes__c"]
            assert "Pay link: https://pay.example.com/pay/" in sent["Notes__c"]
            wait_for(
                lambda: (
                    read_account(client, account_id, "Dunning_Level__c")["Dunning_Level__c"] == 2
                ),
                timeout=10,
            )
            assert len(server.received()) == 1

            # "Send a reminder now", logged on the Account in Salesforce.
            started = time.monotonic()
            client.rest(
                "POST",
                "sobjects/Collection_Action__c",
                {
                    "Account__c": account_id,
                    "Type__c": "Reminder Requested",
                    "Source__c": "Salesforce",
                },
            )
            wait_for(lambda: len(server.received()) == 2, timeout=15)
            assert time.monotonic() - started < 10
            latest = server.received()[-1]
            assert latest["X-Credit-Control-Customer"] == "E1" and latest["To"] == "ap@e1.example"
            wait_for(
                lambda: len(_actions(client, account_id)) == len(server.received()), timeout=10
            )

            # A pause set on the Account by a person: the next reminder's day moves past it.
            pause = today + timedelta(days=20)
            person_client(sync_settings).rest(
                "PATCH",
                f"sobjects/Account/{account_id}",
                {"Dunning_Paused_Until__c": pause.isoformat()},
            )
            after = rules.business_day_on_or_after(pause + timedelta(days=1))

            def moved():
                value = read_account(client, account_id, "Next_Reminder_Date__c")[
                    "Next_Reminder_Date__c"
                ]
                return value and value >= after.isoformat()

            wait_for(moved, timeout=15)
        finally:
            worker.shutdown(timeout=5)

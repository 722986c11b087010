"""Billing contacts as an admin sets them in Salesforce (devorg, real HTTP, CometD and SMTP): a
customer without billing_email gets its reminder at the e-mail of the Contact ticked as billing
contact; unticking stops it; an invalid address is ignored and reported, never sent to; Contacts
ticked before the subscription are found by the reconciliation's SOQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from service.credit import default_policy
from service.db import transaction
from service.dunning.rules import dunning_rules
from service.dunning.run import run
from service.dunning.schedule import dunning_parts
from service.dunning.smtp import Mailer
from service.models import BillingContact, Customer, DunningMessage
from service.salesforce import billing_contacts
from service.salesforce_ids import to18
from service.worker import Worker
from tests.dunning.smtp_server import SmtpServer
from tests.dunning.test_salesforce_e2e import LINKS, SETTINGS, _actions
from tests.dunning.test_sender import _mail
from tests.salesforce.sync_helpers import person_client, seed_cursors, wait_for
from tests.salesforce.test_sync_e2e import book  # noqa: F401 - the shared fixture


def _contact(person, account_id, last_name, email, ticked) -> str:
    body = {"AccountId": account_id, "LastName": last_name, "Email": email,
            "Billing_Contact__c": ticked}  # fmt: skip
    return to18(person.rest("POST", "sobjects/Contact", body)["id"])


def _tick(person, contact_id, ticked: bool) -> None:
    person.rest("PATCH", f"sobjects/Contact/{contact_id}", {"Billing_Contact__c": ticked})


def _known(factory) -> dict[str, str]:
    with factory() as session:
        return {r.contact_id: r.email for r in session.scalars(select(BillingContact))}


def test_reminders_go_to_the_contacts_an_admin_ticks_and_stop_when_unticked(
    db, devorg, sync_settings, book,  # noqa: F811
):  # fmt: skip
    engine, factory = db
    client, account_id, customer_id = book  # the customer has no billing_email
    person = person_client(sync_settings)
    # Ticked before the service subscribed: only the reconciliation's SOQL can find it.
    earlier = _contact(person, account_id, "Early", "early@e1.example", True)
    _contact(person, account_id, "Sales", "sales@e1.example", False)
    seed_cursors(factory, devorg, sync_settings.channels)
    assert billing_contacts.reconcile(factory, client.query_all) == 1
    assert _known(factory) == {earlier: "early@e1.example"}

    rules = dunning_rules(default_policy())
    today = datetime.now(UTC).date()
    day = today - timedelta(days=1)  # the daily run of the last business day before today
    while not rules.is_business_day(day):
        day -= timedelta(days=1)
    with SmtpServer() as server:
        mailer = Mailer(_mail(server.port))
        worker = Worker(
            engine, factory, sync_settings, schedule=False, pay_links=LINKS,
            dunning=lambda f, stop: dunning_parts(
                f, SETTINGS, ZoneInfo("UTC"), "23:59", stop, mailer, poll_seconds=0.3
            ),
        ).start()  # fmt: skip
        try:
            _tick(person, earlier, False)
            wait_for(lambda: _known(factory) == {}, timeout=15)
            anna = _contact(person, account_id, "Weber", "anna@e1.example", True)
            bad = _contact(person, account_id, "Typo", "ap@e1", True)  # no domain: not an address
            wait_for(lambda: set(_known(factory)) == {anna, bad}, timeout=15)

            report = run(factory, day, SETTINGS)
            assert report.queued == 1 and report.no_recipient == []
            assert report.bad_addresses == [
                f"E1: billing contact {bad}: Email 'ap@e1' is not an e-mail address; ignored"
            ]
            (sent,) = wait_for(lambda: _actions(client, account_id), timeout=15)
            (mail,) = server.received()
            assert mail["To"] == "anna@e1.example" and "ap@e1" not in str(mail)
            assert "anna@e1.example" in sent["Notes__c"]

            # Unticked: a reminder asked for now finds nobody to send to.
            _tick(person, anna, False)
            wait_for(lambda: set(_known(factory)) == {bad}, timeout=15)
            action = person.rest(
                "POST",
                "sobjects/Collection_Action__c",
                {"Account__c": account_id, "Type__c": "Reminder Requested",
                 "Source__c": "Salesforce"},
            )  # fmt: skip

            def answered():
                with factory() as session:
                    return session.get(Customer, customer_id).dunning_seen_action_id is not None

            wait_for(answered, timeout=15)
            assert action["success"]
            with factory() as session:
                assert session.scalar(select(func.count()).select_from(DunningMessage)) == 1
            assert len(server.received()) == 1

            # Ticked again: the next request reaches her (so the silence above was the untick).
            _tick(person, anna, True)
            wait_for(lambda: set(_known(factory)) == {anna, bad}, timeout=15)
            person.rest(
                "POST",
                "sobjects/Collection_Action__c",
                {"Account__c": account_id, "Type__c": "Reminder Requested",
                 "Source__c": "Salesforce"},
            )  # fmt: skip
            wait_for(lambda: len(server.received()) == 2, timeout=15)
            assert server.received()[-1]["To"] == "anna@e1.example"
        finally:
            worker.shutdown(timeout=5)


def test_reconciliation_runs_once_a_day_per_cluster_and_drops_what_is_no_longer_ticked(
    db, devorg, sync_settings, book,  # noqa: F811
):  # fmt: skip
    _engine, factory = db
    client, account_id, _customer_id = book
    person = person_client(sync_settings)
    ticked = _contact(person, account_id, "Weber", "anna@e1.example", True)
    stale = to18("003000000000042")  # held here, unticked in the org while nobody listened
    with transaction(factory) as session:
        session.add(BillingContact(contact_id=stale, account_id=account_id, email="x@e1.example"))
    stop = threading.Event()
    first, second = (
        billing_contacts.Reconciler(factory, client.query_all, ZoneInfo("UTC"), "02:00", stop)
        for _ in range(2)
    )
    today = datetime.now(UTC).date()
    assert first.run_due(today) is True
    assert second.run_due(today) is False  # another worker of the cluster did today's
    assert _known(factory) == {ticked: "anna@e1.example"}
    assert second.run_due(today + timedelta(days=1)) is True


def test_the_worker_reconciles_at_start(db, devorg, sync_settings, book):  # noqa: F811
    engine, factory = db
    _client, account_id, _customer_id = book
    ticked = _contact(person_client(sync_settings), account_id, "Weber", "anna@e1.example", True)
    seed_cursors(factory, devorg, sync_settings.channels)  # its change event is not replayed
    worker = Worker(engine, factory, sync_settings, push=False, assess=False).start()
    try:
        wait_for(lambda: _known(factory) == {ticked: "anna@e1.example"}, timeout=20)
        assert "billing-contacts" in {t.name for t in worker.threads}
    finally:
        worker.shutdown(timeout=5)

"""No echo: what the worker writes (Accounts, Collection_Action__c) never comes back to it.

The worker subscribes to the package's custom channel (``/data/CreditControlSync__chn``), whose
members (Account, Collection_Action__c, Bank_Credit_Review__c) each have a filter expression
that leaves out changes made by the service's own client. devorg implements the channel and the
filters from the package's metadata, so this runs the real pusher and subscriber against it: N
pushed Accounts or logged actions put N changes on the standard channels and none on the
worker's, while a person's edit or promise still reaches the worker and is applied.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from devorg.schema import load_schema
from sqlalchemy import func, select

from service import outbox
from service.config import DEFAULT_API_VERSION, ConfigError, SyncSettings, salesforce_settings
from service.db import transaction
from service.models import CollectionAction, Customer, InboxMessage
from service.salesforce.client import build_client
from service.salesforce.handlers import (
    ACCOUNT_CHANNEL,
    ACTION_CHANNEL,
    STANDARD_ACCOUNT_CHANNEL,
    SYNC_CHANNEL,
)
from service.worker import Worker
from tests.salesforce.sync_helpers import (
    create_accounts,
    person_client,
    read_account,
    seed_cursors,
    wait_for,
)

N = 40
SFDX = Path(__file__).resolve().parents[2] / "sfdx"


@pytest.fixture
def pushed_book(db, devorg, sync_settings):
    """N linked customers whose Accounts exist in the org, and a running worker."""
    engine, factory = db
    client = build_client(sync_settings)
    numbers = [f"NE{i:03}" for i in range(N)]
    accounts = create_accounts(client, numbers)
    with transaction(factory) as s:
        customers = [
            Customer(
                number=n,
                source="erp-main",
                name=f"{n} Ltd",
                currency="GBP",
                salesforce_account_id=accounts[n],
            )
            for n in numbers
        ]
        s.add_all(customers)
        s.flush()
        ids = [c.id for c in customers]
    seed_cursors(factory, devorg, sync_settings.channels)
    mark = devorg.bus.last_replay_id()  # the worker may push at once: count from here
    worker = Worker(engine, factory, sync_settings, schedule=False).start()
    yield client, accounts, ids, worker, mark
    worker.shutdown(timeout=5)


def _inbox_rows(factory, channel: str) -> int:
    with factory() as s:
        return s.scalar(
            select(func.count())
            .select_from(InboxMessage)
            .where(InboxMessage.external_id.like(f"cdc:{channel}:%"))
        )


def test_pushed_accounts_never_come_back_but_a_persons_edit_does(db, devorg, pushed_book):
    _engine, factory = db
    client, accounts, ids, worker, mark = pushed_book
    with transaction(factory) as s:
        worker.reassess(s, ids)
        outbox.queue_for_salesforce(s, ids)

    def pushed() -> set[str]:
        return {
            rid
            for e in devorg.bus.events_after(STANDARD_ACCOUNT_CHANNEL, mark)
            for rid in e.data["payload"]["ChangeEventHeader"]["recordIds"]
        }

    # Every push is a change event in the org (the event follows the commit by a moment)...
    wait_for(lambda: pushed() == set(accounts.values()), timeout=15)
    assert read_account(client, accounts["NE000"], "Credit_Currency__c") == {
        "Credit_Currency__c": "GBP"
    }
    assert devorg.bus.events_after(ACCOUNT_CHANNEL, mark) == []  # ...none on the worker's channel
    assert _inbox_rows(factory, ACCOUNT_CHANNEL) == 0

    # A person (any client but the service's) edits a credit limit: delivered and applied.
    person = build_client(salesforce_settings(devorg.env_settings()).with_(client_name="ui"))
    first = accounts["NE000"]
    person.rest("PATCH", f"sobjects/Account/{first}", {"Credit_Limit__c": 9000})
    wait_for(lambda: _limit(factory, "NE000") == Decimal("9000.00"), timeout=10)
    assert _inbox_rows(factory, ACCOUNT_CHANNEL) == 1


def _limit(factory, number: str) -> Decimal | None:
    with factory() as s:
        return s.scalars(select(Customer.credit_limit).where(Customer.number == number)).one()


def _entity_events(devorg, channel: str, mark: int, entity: str) -> list:
    return [
        e
        for e in devorg.bus.events_after(channel, mark)
        if e.data["payload"]["ChangeEventHeader"]["entityName"] == entity
    ]


def test_logged_actions_never_come_back_but_a_persons_promise_does(db, devorg, pushed_book):
    """The reminders and portal promises the service logs as Collection_Action__c are written
    by its own client: on the standard channel, not on the worker's; a person's promise is."""
    _engine, factory = db
    client, accounts, ids, _worker, mark = pushed_book
    with transaction(factory) as s:
        for cid in ids:
            action = CollectionAction(customer_id=cid, type="Reminder Sent", origin="Service")
            s.add(action)
            s.flush()
            outbox.enqueue(s, outbox.COLLECTION_ACTION, outbox.collection_action_target(action.id))

    def logged() -> int:
        with factory() as s:
            return s.scalar(
                select(func.count())
                .select_from(CollectionAction)
                .where(CollectionAction.salesforce_id.is_not(None))
            )

    wait_for(lambda: logged() == N, timeout=15)
    wait_for(lambda: len(devorg.bus.events_after(ACTION_CHANNEL, mark)) == N, timeout=5)
    assert _entity_events(devorg, SYNC_CHANNEL, mark, "Collection_Action__c") == []
    assert _inbox_rows(factory, SYNC_CHANNEL) == 0

    # A person logs a promise on the first Account: delivered on the worker's channel, stored.
    first = accounts["NE000"]
    promise = person_client(client.settings).rest(
        "POST",
        "sobjects/Collection_Action__c",
        {
            "Account__c": first,
            "Type__c": "Promise to Pay",
            "Promised_Amount__c": 250.0,
            "Promised_Date__c": "2031-01-15",
        },
    )["id"]

    def stored() -> CollectionAction | None:
        with factory() as s:
            return s.scalars(
                select(CollectionAction).where(
                    CollectionAction.salesforce_id.in_({promise, promise[:15]})
                )
            ).first()

    action = wait_for(stored, timeout=10)
    assert action.promised_amount == Decimal("250.00")
    assert action.customer_id == ids[0]
    assert len(_entity_events(devorg, SYNC_CHANNEL, mark, "Collection_Action__c")) == 1
    assert _inbox_rows(factory, SYNC_CHANNEL) == 1


def test_the_package_filters_name_the_services_client_and_api_version():
    """The filters are in the package; the service must call with the client and version they
    name. One member per object the worker reads changes of, each with the same filter."""
    schema = load_schema(SFDX)
    members = schema.channels[SYNC_CHANNEL.removeprefix("/data/")]
    assert sorted(m.entity for m in members) == [
        "Account",
        "Bank_Credit_Review__c",
        "Collection_Action__c",
    ]
    client = SyncSettings().client_name
    for member in members:
        for api in ("rest", "bulkapi"):
            assert f"'com/salesforce/api/{api}/{DEFAULT_API_VERSION};client={client}'" in (
                member.expression or ""
            )


def test_the_worker_subscribes_to_no_unfiltered_change_event_channel(devorg):
    """By default every change of a record the service writes comes through the filtered custom
    channel. Contacts (dunning's billing contacts) come on their own channel: the service never
    writes a Contact, so nothing of its own can come back there."""
    data = [c for c in salesforce_settings(devorg.env_settings()).channels if c[:6] == "/data/"]
    assert data == [SYNC_CHANNEL, "/data/ContactChangeEvent"]


def test_an_admin_may_name_the_standard_channels_instead(devorg):
    """Where the custom channel cannot be deployed, SALESFORCE_CHANNELS names others."""
    standard = "/data/AccountChangeEvent, /data/Collection_Action__ChangeEvent,/event/X__e"
    env = {**devorg.env_settings(), "SALESFORCE_CHANNELS": standard}
    assert salesforce_settings(env).channels == (
        STANDARD_ACCOUNT_CHANNEL,
        ACTION_CHANNEL,
        "/event/X__e",
    )


@pytest.mark.parametrize(
    "value", [",", "/data/Account ChangeEvent", "/topic/x", "/data/", "/event/../x", "x" * 9]
)
def test_a_malformed_channel_list_is_one_clear_error(devorg, value):
    env = {**devorg.env_settings(), "SALESFORCE_CHANNELS": value}
    with pytest.raises(ConfigError, match="SALESFORCE_CHANNELS"):
        salesforce_settings(env)

"""No echo: the Accounts the worker pushes never come back to it as change events.

The worker subscribes to the package's custom channel (``/data/CreditControlSync__chn``), whose
member's filter expression leaves out changes made by the service's own client. devorg
implements the channel and the filter from the package's metadata, so this runs the real
pusher and subscriber against it: N pushed Accounts put N changes on the standard channel and
none on the worker's, while a person's edit still reaches the worker and is applied.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from devorg.schema import load_schema
from sqlalchemy import func, select

from service import outbox
from service.config import DEFAULT_API_VERSION, SyncSettings, salesforce_settings
from service.db import transaction
from service.models import Customer, InboxMessage
from service.salesforce.client import build_client
from service.salesforce.handlers import ACCOUNT_CHANNEL, STANDARD_ACCOUNT_CHANNEL
from service.worker import Worker
from tests.salesforce.sync_helpers import create_accounts, read_account, seed_cursors, wait_for

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


def test_the_package_filter_names_the_services_client_and_api_version():
    """The filter is in the package; the service must call with the client and version it names."""
    schema = load_schema(SFDX)
    (member,) = schema.channels[ACCOUNT_CHANNEL.removeprefix("/data/")]
    assert member.entity == "Account"
    client = SyncSettings().client_name
    for api in ("rest", "bulkapi"):
        assert f"'com/salesforce/api/{api}/{DEFAULT_API_VERSION};client={client}'" in (
            member.expression or ""
        )

"""A customer on HOLD in the local org, with a running worker: where bank cash must lift it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from service import outbox
from service.assessments import reassess
from service.db import transaction
from service.models import Customer
from service.salesforce.client import build_client
from service.worker import Worker
from tests.cash_application.books import add_invoice
from tests.salesforce.sync_helpers import create_accounts, read_account, seed_cursors, wait_for

FIELDS = ("Credit_Status__c", "Balance_Outstanding__c", "In_Flight_Amount__c")


@contextmanager
def held_in_org(
    db, devorg, sync_settings, number: str, name: str, invoices: dict[str, str]
) -> Iterator[tuple[object, str, int]]:
    """``number`` owes ``invoices`` (number -> amount), 75 days overdue, pushed: HOLD in the
    org, a worker running; yields (org client, Account id, customer id)."""
    engine, factory = db
    client = build_client(sync_settings)
    account = create_accounts(client, [number])[number]
    today = datetime.now(UTC).date()
    with transaction(factory) as s:
        customer = Customer(
            number=number,
            source="erp-main",
            name=name,
            currency="EUR",
            salesforce_account_id=account,
        )
        s.add(customer)
        s.flush()
        due = today - timedelta(days=75)
        items = [add_invoice(s, customer, n, amount, due=due) for n, amount in invoices.items()]
        reassess(s, [customer.id], today)
        outbox.queue_for_salesforce(s, [customer.id], [i.id for i in items])
        customer_id = customer.id
    seed_cursors(factory, devorg, sync_settings.channels)
    worker = Worker(engine, factory, sync_settings, schedule=False).start()
    try:
        wait_for(lambda: read_account(client, account, *FIELDS)["Credit_Status__c"] == "HOLD", 10)
        yield client, account, customer_id
    finally:
        worker.shutdown(timeout=5)

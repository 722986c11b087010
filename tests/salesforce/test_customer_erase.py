"""``credit-control customer erase``: a customer's data removed here and what the service wrote
to the org (devorg over HTTPS), on SQLite and PostgreSQL; the other customers untouched."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from service import outbox
from service.cli import main
from service.db import transaction
from service.erasure import UnknownCustomer, erase_customer
from service.inbox import record_once
from service.models import (
    Allocation,
    AssessmentRequest,
    CollectionAction,
    Customer,
    Erasure,
    InboxMessage,
    OutboxMessage,
    Payment,
    Receivable,
)
from service.salesforce.client import build_client
from service.salesforce.erasure import SERVICE_FIELDS
from service.salesforce.push import Pusher
from tests.salesforce.sync_helpers import create_accounts, make_customer, read_account

NOTE = "Spoke to Jane Doe, private mobile 0170 1234567"


def _receivable(customer_id: int, item_id: str, source: str = "erp-main") -> Receivable:
    return Receivable(
        source=source,
        external_id=item_id,
        customer_id=customer_id,
        kind="invoice",
        number=item_id,
        issue_date=date(2026, 9, 1),
        due_date=date(2026, 10, 1),
        currency="EUR",
        amount=Decimal("100.00"),
        open_amount=Decimal("60.00"),
        source_updated_at=datetime.now(UTC),
    )


@pytest.fixture
def book(factory, sync_settings):
    """Customers ER-1 (to erase) and ER-10 (to keep), both pushed to the org."""
    client = build_client(sync_settings)
    accounts = create_accounts(client, ["ER-1", "ER-10"])
    with transaction(factory) as s:
        gone = make_customer(s, "ER-1", account_id=accounts["ER-1"], status="WATCH")
        kept = make_customer(s, "ER-10", account_id=accounts["ER-10"], status="WATCH")
        items = [
            _receivable(gone.id, "INV-1"),
            _receivable(gone.id, "INV-2", source="erp-eu"),
            _receivable(kept.id, "INV-1", source="erp-kept"),
        ]
        s.add_all(items)
        s.flush()
        payment = Payment(
            source="erp-main",
            external_id="PAY-1",
            customer_id=gone.id,
            amount=Decimal("40.00"),
            currency="EUR",
            received_at=datetime.now(UTC),
        )
        s.add(payment)
        s.flush()
        s.add(Allocation(payment_id=payment.id, receivable_id=items[0].id, amount=Decimal("40")))
        s.add(
            CollectionAction(
                customer_id=gone.id, salesforce_id="a01000000000001AAA", type="Call", notes=NOTE
            )
        )
        # What arrived over the stream: an event about each Account, one about an action.
        record_once(s, "salesforce", "cdc:1", "account", {"Id": accounts["ER-1"], "Name": "X"})
        record_once(s, "salesforce", "cdc:2", "account", {"Id": accounts["ER-10"][:15]})
        record_once(
            s, "salesforce", "cdc:3", "action", {"recordIds": ["a01000000000001"], "Notes__c": NOTE}
        )
        record_once(s, "salesforce", "pe:4", "payment", {"ERP_Customer_Number__c": "ER-10"})
        outbox.queue_for_salesforce(s, [gone.id, kept.id], [i.id for i in items])
    Pusher(factory, client, sync_settings).run_once()
    with transaction(factory) as s2:
        s2.add(AssessmentRequest(customer_id=gone.id))  # a re-assessment still queued
        outbox.queue_for_salesforce(s2, [gone.id], [])
    return client, accounts


def _receivable_records(client) -> list[str]:
    found = client.query_all("SELECT ERP_Item_Id__c FROM Receivable__c ORDER BY ERP_Item_Id__c")
    return [r["ERP_Item_Id__c"] for r in found]


def _count(factory, model, *where) -> int:
    with factory() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def test_erase__removes_the_customer_here_and_what_the_service_wrote_to_the_org(book, factory):
    client, accounts = book
    assert _receivable_records(client) == ["erp-eu:INV-2", "erp-kept:INV-1", "erp-main:INV-1"]
    assert read_account(client, accounts["ER-1"], "Credit_Status__c")["Credit_Status__c"] == "WATCH"

    report = erase_customer(factory, "ER-1", client)

    assert report.here == {
        "allocations": 1,
        "collection_actions": 1,
        "payments": 1,
        "receivables": 2,
        "assessments": 1,
        "assessment_requests": 1,
        "outbox": report.here["outbox"],
        "inbox payloads": 2,
        "customers": 1,
    }
    assert report.here["outbox"] >= 4
    assert report.salesforce.receivables_deleted == 2
    assert report.salesforce.account_fields_cleared == len(SERVICE_FIELDS)
    # In the org: its records gone, its Account kept with the credit fields empty.
    assert _receivable_records(client) == ["erp-kept:INV-1"]
    account = read_account(client, accounts["ER-1"])
    assert account["Name"] == "Account ER-1"
    assert all(account.get(f) is None for f in SERVICE_FIELDS)
    assert read_account(client, accounts["ER-10"], "Credit_Status__c") == {
        "Credit_Status__c": "WATCH"
    }
    # Here: nothing of ER-1 is left but the erasure record; the dedupe keys stay.
    with factory() as s:
        assert s.scalars(select(Customer.number)).all() == ["ER-10"]
        assert s.scalars(select(Receivable.external_id)).all() == ["INV-1"]
        payloads = dict(s.execute(select(InboxMessage.external_id, InboxMessage.payload)).all())
        outbox_targets = s.scalars(select(OutboxMessage.target)).all()
        erasure = s.get(Erasure, "ER-1")
        kept_id = s.scalar(select(Customer.id))
        kept_item = s.scalar(select(Receivable.id))
    assert payloads == {
        "cdc:1": None,
        "cdc:2": {"Id": accounts["ER-10"][:15]},
        "cdc:3": None,
        "pe:4": {"ERP_Customer_Number__c": "ER-10"},
    }
    assert NOTE not in repr(payloads)
    assert set(outbox_targets) == {f"Account:{kept_id}", f"Receivable__c:{kept_item}"}
    assert _count(factory, Payment) == _count(factory, CollectionAction) == 0
    assert erasure.org_done_at is not None and erasure.item_ids is None


def test_erase__a_second_run_finds_nothing_more_and_says_so(book, factory):
    client, _ = book
    erase_customer(factory, "ER-1", client)

    again = erase_customer(factory, "ER-1", client)

    assert again.already_erased and again.here == {}
    assert again.salesforce.receivables_deleted == 0
    assert _receivable_records(client) == ["erp-kept:INV-1"]


def test_erase__without_an_org_finishes_there_on_the_next_run_with_one(book, factory):
    client, _ = book
    erase_customer(factory, "ER-1", None)
    assert _receivable_records(client) == ["erp-eu:INV-2", "erp-kept:INV-1", "erp-main:INV-1"]

    later = erase_customer(factory, "ER-1", client)

    assert later.already_erased and later.salesforce.receivables_deleted == 2
    assert _receivable_records(client) == ["erp-kept:INV-1"]


def test_erase__an_unknown_number_is_refused_and_changes_nothing(book, factory, sync_settings):
    with pytest.raises(UnknownCustomer, match="ER-2"):
        erase_customer(factory, "ER-2", build_client(sync_settings))
    assert _count(factory, Customer) == 2


def test_cli_customer_erase__reports_here_and_there(book, devorg, runner, monkeypatch):
    for name, value in devorg.env_settings().items():
        monkeypatch.setenv(name, value)

    erased = runner.invoke(main, ["customer", "erase", "ER-1"])
    unknown = runner.invoke(main, ["customer", "erase", "NOPE"])

    assert erased.exit_code == 0, erased.output
    assert "removed 1 allocations, 1 collection_actions" in erased.output
    assert "deleted 2 Receivable__c" in erased.output
    assert unknown.exit_code == 1
    assert "no customer has the number 'NOPE'; nothing erased" in unknown.output

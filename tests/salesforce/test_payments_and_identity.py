"""A payment counted once in either order; Account ids compared exactly; no action lost.

Events go through the real subscriber and handlers and ERP batches through the real feed
function, on SQLite and PostgreSQL (the org is not needed: the end-to-end tests against devorg
are in test_sync_payments_e2e.py). The matching rule is service/payment_matching.py's.
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from service.config import SyncSettings
from service.db import transaction
from service.feeds.erp import body_digest, receive_erp_batch
from service.models import CollectionAction, Customer, InboxMessage, Payment
from service.salesforce.client import SalesforceClient
from service.salesforce.cometd import StreamEvent
from service.salesforce.handlers import (
    ACCOUNT_CHANNEL,
    ACTION_CHANNEL,
    PAYMENT_CHANNEL,
    Handlers,
)
from service.salesforce.subscriber import Subscriber
from tests.salesforce.sync_helpers import make_customer

ACCOUNT_1 = "001Dv0000000001IAA"
ACCOUNT_2 = "001Dv0000000002IAA"
UNLINKED = "001Dv0000000003IAA"
RECEIVED = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
_replay = itertools.count(100)


@pytest.fixture
def world(db):
    engine, factory = db
    reassessed: list[list[int]] = []
    with transaction(factory) as s:
        c1 = make_customer(s, "C1", account_id=ACCOUNT_1)
        c2 = make_customer(s, "C2", account_id=ACCOUNT_2)
        c3 = make_customer(s, "C3")  # its Account exists (UNLINKED) but is not linked yet
    handlers = Handlers(lambda session, ids: reassessed.append(ids), lambda obj, rid: None)
    settings = SyncSettings()
    sub = Subscriber(engine, factory, SalesforceClient(settings), settings, handlers)
    return sub, factory, {"C1": c1.id, "C2": c2.id, "C3": c3.id}, reassessed


def payment_event(account=ACCOUNT_1, amount=1000, reference="R-1", received=RECEIVED, uuid=None):
    payload = {
        "Account_Id__c": account,
        "Amount__c": amount,
        "Currency_Code__c": "EUR",
        "Reference__c": reference,
        "Received_At__c": received.isoformat().replace("+00:00", "Z"),
    }
    replay = next(_replay)
    event = {"replayId": replay, "EventUuid": uuid or f"uuid-{replay}"}
    return StreamEvent(PAYMENT_CHANNEL, replay, {"payload": payload, "event": event})


def change_event(channel, entity, record_id, change, fields):
    header = {"entityName": entity, "recordIds": [record_id], "changeType": change}
    replay = next(_replay)
    data = {"payload": {"ChangeEventHeader": header, **fields}, "event": {"replayId": replay}}
    return StreamEvent(channel, replay, data)


def erp_payment(factory, *, pid="P-1", amount="1000.00", reference="R-1", received=RECEIVED):
    row = {
        "id": pid,
        "customer": "C1",
        "amount": amount,
        "currency": "EUR",
        "received_at": received.isoformat(),
    }
    if reference is not None:
        row["reference"] = reference
    return erp_batch(factory, {"source": "erp-main", "payments": [row]})


def erp_batch(factory, doc):
    doc = {"customers": [], "receivables": [], "payments": [], **doc}
    body = json.dumps(doc).encode()
    return receive_erp_batch(
        factory, doc, digest=body_digest(body), now=datetime.now(UTC), max_rows=5000
    )


def payments(factory, customer_id):
    """(source, status, amount) of the customer's payments, and the sum that counts."""
    with factory() as s:
        rows = s.scalars(
            select(Payment).where(Payment.customer_id == customer_id).order_by(Payment.id)
        ).all()
    counted = sum((p.amount for p in rows if p.status != "superseded"), Decimal(0))
    return [(p.source, p.status, p.amount) for p in rows], counted


# -- nothing doubled -----------------------------------------------------------------------


def test_salesforce_first_then_erp__the_posting_supersedes_the_announcement(world):
    sub, factory, ids, _ = world
    assert sub._process_once(payment_event()) == "processed"
    erp_payment(factory)
    rows, counted = payments(factory, ids["C1"])
    assert rows == [
        ("salesforce", "superseded", Decimal("1000")),
        ("erp-main", "confirmed", Decimal("1000.00")),
    ]
    assert counted == Decimal("1000")
    with factory() as s:
        provisional, confirmed = s.scalars(select(Payment).order_by(Payment.id)).all()
        assert provisional.superseded_by_id == confirmed.id


def test_erp_first_then_salesforce__the_announcement_is_never_counted(world):
    sub, factory, ids, _ = world
    erp_payment(factory)
    assert sub._process_once(payment_event()) == "processed"
    rows, counted = payments(factory, ids["C1"])
    assert sorted(rows) == [
        ("erp-main", "confirmed", Decimal("1000.00")),
        ("salesforce", "superseded", Decimal("1000")),
    ]
    assert counted == Decimal("1000")


def test_references_compared_without_case_and_spaces(world):
    sub, factory, ids, _ = world
    sub._process_once(payment_event(reference=" r-1 "))
    erp_payment(factory, reference="R-1", received=RECEIVED + timedelta(days=40))
    assert payments(factory, ids["C1"])[1] == Decimal("1000.00")  # reference: any date


def test_no_reference__same_amount_within_10_days(world):
    sub, factory, ids, _ = world
    sub._process_once(payment_event(reference=None))
    erp_payment(factory, reference=None, received=RECEIVED + timedelta(days=9))
    assert payments(factory, ids["C1"])[1] == Decimal("1000.00")


def test_no_reference__more_than_10_days_apart_is_another_payment(world):
    sub, factory, ids, _ = world
    sub._process_once(payment_event(reference=None))
    erp_payment(factory, reference=None, received=RECEIVED + timedelta(days=11))
    assert payments(factory, ids["C1"])[1] == Decimal("2000.00")


def test_different_references_or_amounts__other_payments(world):
    sub, factory, ids, _ = world
    sub._process_once(payment_event(reference="R-1"))
    erp_payment(factory, pid="P-1", reference="R-2")
    erp_payment(factory, pid="P-2", reference="R-1", amount="999.99")
    assert payments(factory, ids["C1"])[1] == Decimal("2999.99")


def test_two_equal_instalments__one_posting_supersedes_one(world):
    sub, factory, ids, _ = world
    sub._process_once(payment_event(reference=None))
    sub._process_once(payment_event(reference=None, received=RECEIVED + timedelta(days=1)))
    erp_payment(factory, reference=None, received=RECEIVED + timedelta(days=1))
    statuses = sorted(status for _, status, _ in payments(factory, ids["C1"])[0])
    assert statuses == ["confirmed", "provisional", "superseded"]
    assert payments(factory, ids["C1"])[1] == Decimal("2000.00")


def test_replayed_event__changes_nothing(world):
    sub, factory, ids, reassessed = world
    event = payment_event()
    assert sub._process_once(event) == "processed"
    assert sub._process_once(event) == "duplicate"
    erp_payment(factory)
    erp_payment(factory)  # the same batch again
    assert payments(factory, ids["C1"])[1] == Decimal("1000.00")
    assert reassessed == [[ids["C1"]]]


def test_same_payment_announced_twice__counted_once(world):
    sub, factory, ids, _ = world
    assert sub._process_once(payment_event(uuid="a")) == "processed"
    assert sub._process_once(payment_event(uuid="b")) == "ignored"  # a Flow firing twice
    assert payments(factory, ids["C1"])[1] == Decimal("1000")
    erp_payment(factory)
    assert payments(factory, ids["C1"])[1] == Decimal("1000.00")


# -- identity ------------------------------------------------------------------------------


@pytest.mark.parametrize("account", ["001", "001Dv", "001Dv0000000001AAA", "001Dv00000000010"])
def test_malformed_account_id__rejected_nothing_changed(world, account):
    sub, factory, _, reassessed = world
    assert sub._process_once(payment_event(account=account)) == "failed"
    with factory() as s:
        assert s.scalars(select(Payment)).all() == []
        error = s.scalars(select(InboxMessage.error)).one()
    assert "Account_Id__c" in error and "Salesforce id" in error
    assert reassessed == []


@pytest.mark.parametrize(
    ("account", "customer"),
    [
        ("001Dv0000000001", "C1"),  # the 15-character form
        ("001Dv0000000001iaa", "C1"),  # the suffix without regard to case
        ("001Dv0000000002", "C2"),  # shares 14 characters with C1's: another Account
    ],
)
def test_either_form__exactly_that_account(world, account, customer):
    sub, factory, ids, _ = world
    assert sub._process_once(payment_event(account=account)) == "processed"
    with factory() as s:
        assert s.scalars(select(Payment.customer_id)).one() == ids[customer]


def test_erp_feed__a_15_character_account_id_is_stored_in_18(world):
    _, factory, _, _ = world
    erp_batch(
        factory,
        {
            "source": "erp-main",
            "customers": [
                {
                    "number": "C9",
                    "name": "C9",
                    "currency": "EUR",
                    "salesforce_account_id": "001D000000IRFma",
                }
            ],
        },
    )
    with factory() as s:
        stored = s.scalars(select(Customer.salesforce_account_id).where(Customer.number == "C9"))
        assert stored.one() == "001D000000IRFmaIAH"


# -- nothing lost --------------------------------------------------------------------------


def promise_on(account, record_id="a01Dv0000000009AAA"):
    return change_event(
        ACTION_CHANNEL,
        "Collection_Action__c",
        record_id,
        "CREATE",
        {
            "Account__c": account,
            "Type__c": "Promise to Pay",
            "Promised_Amount__c": 500.0,
            "Promised_Date__c": "2026-12-10",
            "CreatedDate": "2026-11-23T09:00:00.000Z",
        },
    )


def test_promise_on_an_unlinked_account__kept_and_attached_when_the_link_appears(world):
    sub, factory, ids, reassessed = world
    assert sub._process_once(promise_on(UNLINKED)) == "processed"
    with factory() as s:
        action = s.scalars(select(CollectionAction)).one()
        assert (action.customer_id, action.salesforce_account_id) == (None, UNLINKED)
    assert reassessed == []

    link = change_event(
        ACCOUNT_CHANNEL, "Account", UNLINKED, "UPDATE", {"ERP_Customer_Number__c": "C3"}
    )
    assert sub._process_once(link) == "processed"
    with factory() as s:
        assert s.scalars(select(CollectionAction.customer_id)).one() == ids["C3"]
        customer = s.get(Customer, ids["C3"])
        assert customer.salesforce_account_id == UNLINKED
    assert reassessed == [[ids["C3"]]]


def test_promise_and_link_in_one_batch__attached(world):
    sub, factory, ids, _ = world
    link = change_event(
        ACCOUNT_CHANNEL, "Account", UNLINKED, "UPDATE", {"ERP_Customer_Number__c": "C3"}
    )
    assert sub._process_once([promise_on(UNLINKED), link]) == ["processed", "processed"]
    with factory() as s:
        assert s.scalars(select(CollectionAction.customer_id)).one() == ids["C3"]


def test_promise_on_an_unlinked_account__attached_when_the_erp_names_the_account(world):
    sub, factory, ids, _ = world
    sub._process_once(promise_on(UNLINKED))
    outcome = erp_batch(
        factory,
        {
            "source": "erp-main",
            "customers": [
                {
                    "number": "C3",
                    "name": "C3",
                    "currency": "EUR",
                    "salesforce_account_id": UNLINKED[:15],
                }
            ],
        },
    )
    assert outcome.queued_for_assessment == 1
    with factory() as s:
        assert s.scalars(select(CollectionAction.customer_id)).one() == ids["C3"]


def test_action_with_a_malformed_account__rejected(world):
    sub, factory, _, _ = world
    assert sub._process_once(promise_on("001")) == "failed"
    with factory() as s:
        assert s.scalars(select(CollectionAction)).all() == []

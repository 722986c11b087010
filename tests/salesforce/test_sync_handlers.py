"""Event handling on a real database: inbox dedupe, cursor after commit, merge, rejection.

Events are real-shape CometD messages from tests/fixtures/salesforce; the org is not needed
here (the re-read path and the wire are covered by the devorg tests).
"""

from __future__ import annotations

import copy
import json
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from service.config import SyncSettings
from service.db import transaction
from service.models import (
    CollectionAction,
    Customer,
    InboxMessage,
    OutboxMessage,
    Payment,
    StreamCursor,
)
from service.salesforce.client import SalesforceClient
from service.salesforce.cometd import StreamEvent
from service.salesforce.handlers import Handlers
from service.salesforce.subscriber import Subscriber
from tests.conftest import FIXTURES as ALL_FIXTURES
from tests.salesforce.sync_helpers import make_customer

# Imported by name, not from ``conftest``: tests/devorg has a conftest module too, and pytest
# imports whichever comes first under that name when both folders run in one call.
FIXTURES = ALL_FIXTURES / "salesforce"

ACCOUNT = "001Dv0000000001IAA"
UNLINKED = "001Dv0000000777IAA"


def load(name: str) -> StreamEvent:
    msg = json.loads((FIXTURES / f"{name}.json").read_text())
    data = copy.deepcopy(msg["data"])
    return StreamEvent(msg["channel"], data["event"].get("replayId"), data)


@pytest.fixture
def world(db):
    engine, factory = db
    reassessed: list[list[int]] = []
    with transaction(factory) as s:
        customer = make_customer(s, "C1", account_id=ACCOUNT)
    handlers = Handlers(lambda session, ids: reassessed.append(ids), lambda obj, rid: None)
    settings = SyncSettings()
    sub = Subscriber(engine, factory, SalesforceClient(settings), settings, handlers)
    return sub, factory, customer.id, reassessed


def _cursor(factory, channel):
    with factory() as s:
        c = s.get(StreamCursor, channel)
        return c.replay_id if c else None


def test_promise_created_then_updated__merged_reassessed_and_queued(world):
    sub, factory, cid, reassessed = world
    assert sub._process_once(load("cdc_collection_action_create")) == "processed"
    assert sub._process_once(load("cdc_collection_action_update")) == "processed"
    with factory() as s:
        action = s.scalars(select(CollectionAction)).one()
        assert action.type == "Promise to Pay"
        assert action.promised_amount == Decimal("1500.5")
        assert action.promised_date == date(2026, 12, 5)  # merged from the UPDATE body
        assert action.customer_id == cid
        assert s.scalars(select(OutboxMessage.target)).all() == [f"Account:{cid}"]
    assert reassessed == [[cid], [cid]]
    assert _cursor(factory, "/data/Collection_Action__ChangeEvent") == 12


def test_same_event_twice__one_effect(world):
    sub, factory, _, reassessed = world
    event = load("pe_payment_received")
    assert sub._process_once(event) == "processed"
    assert sub._process_once(event) == "duplicate"
    with factory() as s:
        payment = s.scalars(select(Payment)).one()
        assert payment.status == "provisional"
        assert payment.amount == Decimal("250.0")
        assert payment.reference == "PAY-2026-0042"
    assert len(reassessed) == 1


def test_unlinked_account__event_waits_cursor_advances_nothing_else(world):
    sub, factory, _, reassessed = world
    assert sub._process_once(load("pe_credit_review_unknown_account")) == "waiting"
    with factory() as s:
        row = s.scalars(select(InboxMessage)).one()
        assert row.status == "waiting"
        assert "no customer is linked to this Account yet" in row.error
        assert row.payload["payload"]["Account_Id__c"] == "001Dv0000000999IAA"  # kept whole
        assert s.scalars(select(OutboxMessage)).all() == []
    assert reassessed == []
    assert _cursor(factory, "/event/Credit_Review_Request__e") == 4


def _unlinked_payment() -> StreamEvent:
    event = load("pe_payment_received")
    event.data["payload"]["Account_Id__c"] = UNLINKED
    event.data["event"]["EventUuid"] = "unlinked-payment-uuid"
    return event


def _link_event(number: str) -> StreamEvent:
    """The Account change that sets the Account's ERP number (as an admin does)."""
    event = load("cdc_account_update_own_fields")
    payload = event.data["payload"]
    header = payload["ChangeEventHeader"]
    header["recordIds"] = [UNLINKED]
    header["changedFields"] = ["ERP_Customer_Number__c", "LastModifiedDate"]
    event.data["payload"] = {"ChangeEventHeader": header, "ERP_Customer_Number__c": number}
    event.data["event"]["replayId"] = 41
    return event


def test_payment_for_an_unlinked_account__applied_when_the_account_change_links_it(world):
    sub, factory, _, reassessed = world
    with transaction(factory) as s:
        later = make_customer(s, "C-LATER").id
    assert sub._process_once(_unlinked_payment()) == "waiting"
    with factory() as s:
        assert s.scalars(select(Payment)).all() == []

    assert sub._process_once(_link_event("C-LATER")) == "processed"

    with factory() as s:
        [payment] = s.scalars(select(Payment)).all()
        assert (payment.customer_id, payment.status) == (later, "provisional")
        assert payment.amount == Decimal("250.0")
        statuses = sorted(s.scalars(select(InboxMessage.status)))
    assert statuses == ["processed", "processed"]
    assert reassessed[-1] == [later]  # re-assessed once, with the link and the payment


def test_payment_for_an_unlinked_account__applied_by_the_sweep_after_an_erp_link(world):
    sub, factory, _, _ = world
    with transaction(factory) as s:
        later = make_customer(s, "C-FEED").id
    assert sub._process_once(_unlinked_payment()) == "waiting"
    assert sub.apply_linked_waiting() == 0  # still nobody's Account
    with transaction(factory) as s:  # the ERP feed names the customer's Account
        s.get(Customer, later).salesforce_account_id = UNLINKED

    assert sub.apply_linked_waiting() == 1

    with factory() as s:
        assert s.scalars(select(Payment)).one().customer_id == later
        assert s.scalars(select(InboxMessage.status)).one() == "processed"
    assert sub.apply_linked_waiting() == 0  # applied once


def test_own_push_echo__ignored(world):
    sub, factory, _, reassessed = world
    assert sub._process_once(load("cdc_account_update_own_fields")) == "ignored"
    assert reassessed == []
    assert _cursor(factory, "/data/AccountChangeEvent") == 40


def test_malformed_amount__failed_not_raised(world):
    sub, _, _, _ = world
    event = load("pe_payment_received")
    event.data["payload"]["Amount__c"] = "lots"
    event.data["event"]["EventUuid"] = "other-uuid"
    assert sub._process_once(event) == "failed"


def test_cursor_never_moves_back(world):
    sub, factory, _, _ = world
    sub._process_once(load("cdc_collection_action_update"))  # replay 12
    older = load("cdc_collection_action_create")  # replay 11, replayed after a -2 fallback
    sub._process_once(older)
    assert _cursor(factory, "/data/Collection_Action__ChangeEvent") == 12


def test_batch_with_one_rejected_event__others_applied_rejected_recorded(world):
    sub, factory, cid, reassessed = world
    good = load("cdc_collection_action_create")
    bad = load("pe_credit_review_unknown_account")
    pay = load("pe_payment_received")
    assert sub._process_once([good, bad, pay]) == ["processed", "waiting", "processed"]
    with factory() as s:
        assert s.scalars(select(CollectionAction)).one().customer_id == cid
        assert s.scalars(select(Payment)).one().status == "provisional"
        statuses = dict(s.execute(select(InboxMessage.kind, InboxMessage.status)).all())
    assert statuses["/event/Credit_Review_Request__e"] == "waiting"
    assert reassessed == [[cid]]  # once for the batch, not once per event


def test_create_and_update_of_one_action_in_one_batch(world):
    sub, factory, _, _ = world
    assert sub._process_once(
        [load("cdc_collection_action_create"), load("cdc_collection_action_update")]
    ) == [
        "processed",
        "processed",
    ]
    with factory() as s:
        action = s.scalars(select(CollectionAction)).one()
    assert action.promised_date == date(2026, 12, 5)


def test_batch__reassessment_reads_the_batch_actions_even_without_the_orm(db):
    # The engine may read with plain SQL (no autoflush): the batch's new actions must be written
    # before it runs, or the promise would never reach the Account.
    engine, factory = db
    with transaction(factory) as s:
        customer = make_customer(s, "C1", account_id=ACCOUNT)
    seen: list[list[str]] = []

    def reassess(session, ids):
        table = CollectionAction.__table__
        seen.append(list(session.connection().execute(select(table.c.type)).scalars()))

    settings = SyncSettings()
    sub = Subscriber(
        engine,
        factory,
        SalesforceClient(settings),
        settings,
        Handlers(reassess, lambda obj, rid: None),
    )
    batch = [load("cdc_collection_action_create"), load("cdc_collection_action_update")]

    assert sub._process_once(batch) == ["processed", "processed"]
    assert seen == [["Promise to Pay"]]
    assert customer.id


def test_batch__a_repeat_inside_one_batch_is_a_duplicate(world):
    sub, factory, _, reassessed = world
    event = load("pe_payment_received")

    assert sub._process_once([event, event]) == ["processed", "duplicate"]
    with factory() as s:
        assert len(s.scalars(select(Payment)).all()) == 1
        assert s.scalars(select(InboxMessage.status)).all() == ["processed"]
    assert len(reassessed) == 1

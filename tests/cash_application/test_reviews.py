"""A person's choice on Bank_Credit_Review__c, as its change events reach the subscriber: the
candidate is applied once; echoes of our own pushes, hostile values and repeats change nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from service.cash_application import applying, reviews
from service.config import SyncSettings
from service.db import transaction
from service.models import CashApplication, InboxMessage, OutboxMessage, Payment
from service.salesforce.client import SalesforceClient
from service.salesforce.cometd import StreamEvent
from service.salesforce.handlers import Handlers
from service.salesforce.subscriber import Subscriber
from tests.cash_application.books import TODAY, credit, open_in_flight, seed
from tests.conftest import snapshot

CHANNEL = "/data/Bank_Credit_Review__ChangeEvent"
RECORD = "a0B000000000001AAA"
_replay = iter(range(1, 10_000))


def event(change: str = "UPDATE", record: str = RECORD, **fields) -> StreamEvent:
    payload = {
        "ChangeEventHeader": {
            "entityName": "Bank_Credit_Review__c",
            "changeType": change,
            "recordIds": [record],
            "changedFields": sorted(fields),
        },
        **fields,
    }
    replay = next(_replay)
    return StreamEvent(CHANNEL, replay, {"payload": payload, "event": {"replayId": replay}})


@pytest.fixture
def waiting(db):
    """A credit of 200.00 from "Beta AG" waiting for review (candidate 1: 2026-00077)."""
    engine, factory = db
    seed(factory)
    with transaction(factory) as s:
        applying.apply_credits(s, [credit("200.00", "Zahlung", payer_name="Beta AG")], as_of=TODAY)
        app = s.scalars(select(CashApplication)).one()
        assert app.status == "review"
        app_id = app.id
    reassessed: list[list[int]] = []
    fetched: dict[str, dict] = {}
    handlers = Handlers(
        lambda session, ids: reassessed.append(ids),
        lambda obj, rid: fetched.get(rid),
        reviews.decide,
    )
    settings = SyncSettings()
    sub = Subscriber(engine, factory, SalesforceClient(settings), settings, handlers)
    return sub, factory, app_id, reassessed, fetched


def test_choosing_a_candidate_applies_it_once(waiting):
    sub, factory, app_id, reassessed, _ = waiting
    choose = event(Cash_Application_Id__c=f"ca-{app_id}", Apply_Candidate__c="1")
    assert sub._process_once(choose) == "processed"
    assert open_in_flight(factory, "2026-00077") == Decimal("50.00")
    assert reassessed, "the customer is re-assessed in the subscriber's transaction"
    with factory() as s:
        app = s.get(CashApplication, app_id)
        assert app.status == "applied" and app.decided_by == "salesforce"
        assert f"Bank_Credit_Review__c:{app_id}" in set(
            s.scalars(select(OutboxMessage.target).where(OutboxMessage.status == "pending"))
        )
    # The same choice again (a second event, a GAP re-read): nothing more is paid.
    again = event(Cash_Application_Id__c=f"ca-{app_id}", Apply_Candidate__c="2")
    assert sub._process_once(again) == "ignored"
    with factory() as s:
        assert len(s.scalars(select(Payment)).all()) == 1


def test_echoes_of_our_own_pushes_are_ignored(waiting, db):
    sub, _factory, app_id, reassessed, _ = waiting
    before = snapshot(db[0])
    echo = event(Status__c="Needs Review", Outcome__c="x", Cash_Application_Id__c=f"ca-{app_id}")
    assert sub._process_once(echo) == "ignored"
    assert sub._process_once(event("CREATE", Cash_Application_Id__c=f"ca-{app_id}")) == "ignored"
    assert sub._process_once(event("DELETE")) == "ignored"
    after = snapshot(db[0])
    after.pop("inbox"), before.pop("inbox")
    after.pop("stream_cursors"), before.pop("stream_cursors")
    assert after == before and reassessed == []


def test_a_number_that_names_no_candidate_is_said_in_the_outcome(waiting):
    sub, factory, app_id, _, _ = waiting
    assert (
        sub._process_once(event(Cash_Application_Id__c=f"ca-{app_id}", Apply_Candidate__c="5"))
        == "ignored"
    )
    with factory() as s:
        app = s.get(CashApplication, app_id)
        assert app.status == "review" and "Candidate 5 does not exist" in app.reason
        assert s.scalars(select(Payment)).all() == []


@pytest.mark.parametrize(
    "fields",
    [
        {"Cash_Application_Id__c": "ca-1", "Apply_Candidate__c": "one"},
        {"Cash_Application_Id__c": "ca-1", "Apply_Candidate__c": "-1"},
        {"Cash_Application_Id__c": "ca-1", "Apply_Candidate__c": "1e9"},
        {"Cash_Application_Id__c": "not ours", "Apply_Candidate__c": "1"},
        {"Cash_Application_Id__c": "ca-", "Apply_Candidate__c": "1"},
    ],
)
def test_hostile_values_are_rejected_and_change_nothing(waiting, fields):
    sub, factory, _, _, _ = waiting
    assert sub._process_once(event(**fields)) == "failed"
    with factory() as s:
        assert s.scalars(select(Payment)).all() == []
        row = s.scalars(select(InboxMessage).where(InboxMessage.kind == CHANNEL)).one()
        assert row.status == "failed" and "EventRejected" in row.error


def test_a_change_without_our_key_is_read_back_from_the_org(waiting):
    sub, factory, app_id, _, fetched = waiting
    fetched[RECORD] = {"Cash_Application_Id__c": f"ca-{app_id}", "Apply_Candidate__c": "1"}
    assert sub._process_once(event(Apply_Candidate__c="1")) == "processed"
    assert open_in_flight(factory, "2026-00077") == Decimal("50.00")


def test_a_process_that_does_not_apply_reviews_rejects_the_choice(db):
    engine, factory = db
    handlers = Handlers(lambda session, ids: None, lambda obj, rid: None)
    settings = SyncSettings()
    sub = Subscriber(engine, factory, SalesforceClient(settings), settings, handlers)
    assert (
        sub._process_once(event(Cash_Application_Id__c="ca-1", Apply_Candidate__c="1")) == "failed"
    )

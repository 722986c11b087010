"""A poison event is parked with its error; the rest of its batch commits and the cursor moves.

Events are real-shape CometD messages from tests/fixtures/salesforce, handled on a real database
(SQLite and PostgreSQL) by the real subscriber and handlers; the org is not needed. The poison
is a re-assessment that raises ``OverflowError`` for one customer (a stand-in for a bug on that
customer's data: the engine itself no longer raises, see tests/assessments/
test_poison_customer.py), or a handler that raises: both are callables injected below the
subscriber, the way the worker injects the real ones.
"""

from __future__ import annotations

import copy
import json
import threading

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from service.config import SyncSettings
from service.db import transaction
from service.models import CollectionAction, InboxMessage, OutboxMessage, Payment, StreamCursor
from service.salesforce import parked
from service.salesforce.client import SalesforceClient
from service.salesforce.cometd import StreamEvent
from service.salesforce.errors import RetryableError
from service.salesforce.handlers import PAYMENT_CHANNEL, Handlers
from service.salesforce.subscriber import Subscriber
from tests.conftest import FIXTURES as ALL_FIXTURES
from tests.salesforce.sync_helpers import make_customer

FIXTURES = ALL_FIXTURES / "salesforce"
ACCOUNT = "001Dv0000000001IAA"
POISON_ACCOUNT = "001Dv0000000999IAA"  # the Account of the review request fixture


def load(name: str) -> StreamEvent:
    msg = json.loads((FIXTURES / f"{name}.json").read_text())
    data = copy.deepcopy(msg["data"])
    return StreamEvent(msg["channel"], data["event"].get("replayId"), data)


class PoisonReassess:
    """Re-assessment that raises for the poison customer while ``broken`` (until "the fix")."""

    def __init__(self) -> None:
        self.poison: int | None = None
        self.broken = True
        self.calls: list[list[int]] = []

    def __call__(self, session, ids) -> None:
        if self.broken and self.poison in ids:
            raise OverflowError("date value out of range")
        self.calls.append(list(ids))


@pytest.fixture
def world(db):
    engine, factory = db
    with transaction(factory) as s:
        good = make_customer(s, "C1", account_id=ACCOUNT).id
        poison = make_customer(s, "PX", account_id=POISON_ACCOUNT).id
    reassess = PoisonReassess()
    reassess.poison = poison
    handlers = Handlers(reassess, lambda obj, rid: None)
    settings = SyncSettings()
    sub = Subscriber(engine, factory, SalesforceClient(settings), settings, handlers)
    yield sub, factory, good, poison, reassess
    sub.stop.set()


def _within(fn, seconds: float = 10.0):
    """Run ``fn`` in a thread; fail (and stop the subscriber's retries) if it does not return."""
    result: list = []
    thread = threading.Thread(target=lambda: result.append(fn()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still retrying after {seconds}s"
    return result[0]


def _inbox(factory) -> dict[str, InboxMessage]:
    with factory() as s:
        rows = {r.kind: r for r in s.scalars(select(InboxMessage))}
        s.expunge_all()
    return rows


def _cursor(factory, channel):
    with factory() as s:
        c = s.get(StreamCursor, channel)
        return c.replay_id if c else None


def test_failing_reassessment__event_parked_rest_of_batch_committed_cursor_moves(world):
    sub, factory, good, _, _ = world
    review = load("pe_credit_review_unknown_account")  # for the poison customer's Account
    batch = [load("cdc_collection_action_create"), review, load("pe_payment_received")]

    outcomes = _within(lambda: sub.process_batch(batch))

    assert outcomes == ["processed", "parked", "processed"]
    rows = _inbox(factory)
    parked_row = rows["/event/Credit_Review_Request__e"]
    assert parked_row.status == "parked"
    assert parked_row.error == "OverflowError: date value out of range"
    assert parked_row.payload == review.data  # kept whole, for the replay
    with factory() as s:
        assert s.scalars(select(CollectionAction)).one().customer_id == good
        assert s.scalars(select(Payment)).one().customer_id == good
        targets = s.scalars(select(OutboxMessage.target)).all()
    assert targets == [f"Account:{good}"]
    for channel, replay_id in (
        ("/event/Credit_Review_Request__e", 4),
        ("/event/Payment_Received__e", 3),
        ("/data/Collection_Action__ChangeEvent", 11),
    ):
        assert _cursor(factory, channel) == replay_id


def test_failing_handler__parked_in_the_batch_others_applied(world):
    sub, factory, _, _, _ = world

    def broken(session, event):  # a bug in one handler
        raise ZeroDivisionError("division by zero")

    sub.handlers.table[PAYMENT_CHANNEL] = broken
    outcomes = _within(
        lambda: sub.process_batch(
            [load("cdc_collection_action_create"), load("pe_payment_received")]
        )
    )
    assert outcomes == ["processed", "parked"]
    assert _inbox(factory)["/event/Payment_Received__e"].error == (
        "ZeroDivisionError: division by zero"
    )
    assert _cursor(factory, "/event/Payment_Received__e") == 3


def test_rejected_event__still_failed_not_parked(world):
    sub, factory, _, _, _ = world
    event = load("pe_payment_received")
    event.data["payload"]["Amount__c"] = "lots"
    assert _within(lambda: sub.process_batch([event])) == ["failed"]
    assert _inbox(factory)["/event/Payment_Received__e"].status == "failed"


@pytest.mark.parametrize(
    "transient",
    [
        RetryableError("UNABLE_TO_LOCK_ROW", "UNABLE_TO_LOCK_ROW"),
        OperationalError("SELECT 1", {}, Exception("server closed the connection")),
    ],
    ids=["org", "database"],
)
def test_transient_failure__retried_never_parked(world, transient):
    sub, factory, good, _, reassess = world
    failures = [transient]
    real = sub.handlers.reassess

    def flaky(session, ids):
        if failures:
            raise failures.pop()
        real(session, ids)

    sub.handlers.reassess = flaky
    assert _within(lambda: sub.process_batch([load("pe_payment_received")])) == ["processed"]
    assert _inbox(factory)["/event/Payment_Received__e"].status == "processed"
    assert reassess.calls == [[good]]


def test_replay_after_the_fix__applied_and_no_longer_parked(world):
    sub, factory, _, poison, reassess = world
    _within(lambda: sub.process_batch([load("pe_credit_review_unknown_account")]))
    [row] = parked.replay(factory, sub.handlers)  # not fixed yet: stays parked, error renewed
    assert (row.status, row.error) == ("parked", "OverflowError: date value out of range")

    reassess.broken = False  # the fix is deployed
    [row] = parked.replay(factory, sub.handlers)
    assert row.status == "processed" and row.error is None
    stored = _inbox(factory)["/event/Credit_Review_Request__e"]
    assert (stored.status, stored.error) == ("processed", None)
    assert reassess.calls == [[poison]]
    with factory() as s:
        assert set(s.scalars(select(OutboxMessage.target))) == {f"Account:{poison}"}
    assert parked.replay(factory, sub.handlers) == []  # nothing left parked


def test_replay_by_id__only_those_events(world):
    sub, factory, _, _, reassess = world
    sub.handlers.table[PAYMENT_CHANNEL] = lambda session, event: 1 / 0
    _within(
        lambda: sub.process_batch(
            [load("pe_credit_review_unknown_account"), load("pe_payment_received")]
        )
    )
    with factory() as s:
        ids = dict(s.execute(select(InboxMessage.kind, InboxMessage.id)).all())
        assert len(parked.parked_rows(s)) == 2
    reassess.broken = False
    [row] = parked.replay(factory, sub.handlers, [ids["/event/Credit_Review_Request__e"]])
    assert row.status == "processed"
    with factory() as s:
        assert [r.kind for r in parked.parked_rows(s)] == ["/event/Payment_Received__e"]

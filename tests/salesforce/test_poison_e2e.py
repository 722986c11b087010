"""Issue 13's check, against devorg with a real worker: with a poison customer in the book, a
promise logged on another Account reaches that Account within 2 s, and the nightly run re-ages
everyone else.

The poison is a mock below the stand-in org: the credit engine's ``assess`` (as
``service.assessments.storing`` calls it) raises ``OverflowError`` for customer ``POISON`` only,
standing for a bug or an overflow on one customer's data. Everything else is real: devorg over
HTTPS, CometD, the worker's threads, the database (SQLite and PostgreSQL).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from devorg.cometd import streaming_for
from sqlalchemy import select, update

from service import outbox
from service.assessments import storing
from service.assessments.daily import DailyRoll
from service.credit import assess as real_assess
from service.db import transaction
from service.models import Assessment, Customer, InboxMessage, Receivable
from service.salesforce.client import build_client
from service.worker import Worker
from tests.salesforce.sync_helpers import (
    create_accounts,
    person_client,
    read_account,
    seed_cursors,
    wait_for,
)

TODAY = datetime.now(UTC).date()
POISON = "POISON"


@pytest.fixture
def poison(monkeypatch):
    def assess(inputs, policy, as_of):
        if inputs.number == POISON:
            raise OverflowError("date value out of range")
        return real_assess(inputs, policy, as_of)

    monkeypatch.setattr(storing, "assess", assess)


@pytest.fixture
def book(db, sync_settings):
    """E1 with an invoice 75 days overdue, and POISON; both linked to Accounts in the org."""
    _engine, factory = db
    client = build_client(sync_settings)
    accounts = create_accounts(client, ["E1", POISON])
    ids = {}
    with transaction(factory) as s:
        for number in ("E1", POISON):
            c = Customer(
                number=number,
                source="erp-main",
                name=f"{number} Ltd",
                currency="EUR",
                salesforce_account_id=accounts[number],
            )
            s.add(c)
            s.flush()
            s.add(
                Receivable(
                    source="erp-main",
                    external_id=f"INV-{number}",
                    customer_id=c.id,
                    kind="invoice",
                    number=f"INV-{number}",
                    issue_date=TODAY - timedelta(days=105),
                    due_date=TODAY - timedelta(days=75),
                    currency="EUR",
                    amount=Decimal("1000.00"),
                    open_amount=Decimal("1000.00"),
                    source_updated_at=datetime.now(UTC),
                )
            )
            ids[number] = c.id
    return client, accounts, ids


@pytest.fixture
def worker(db, devorg, sync_settings):
    engine, factory = db
    seed_cursors(factory, devorg, sync_settings.channels)
    w = Worker(engine, factory, sync_settings, schedule=False).start()
    yield w
    w.shutdown(timeout=5)


def _subscribed(devorg):
    return wait_for(
        lambda: (
            sum(
                len(c.get("subscriptions", {}))
                for c in streaming_for(devorg).snapshot().get("clients", [])
            )
            >= 4
        ),
        timeout=10,
    )


def _assessment(factory, customer_id) -> Assessment:
    with factory() as s:
        row = s.get(Assessment, customer_id)
        s.expunge_all()
    return row


def test_poison_customer__promise_on_another_account_within_2s_and_nightly_re_ages_the_rest(
    db, devorg, sync_settings, poison, book, worker
):
    _engine, factory = db
    client, accounts, ids = book
    with transaction(factory) as s:  # first push, so E1's Account starts from the ERP's truth
        worker.reassess(s, [ids["E1"]])
        outbox.queue_for_salesforce(s, [ids["E1"]])
    wait_for(
        lambda: (
            read_account(client, accounts["E1"], "Credit_Status__c")["Credit_Status__c"] == "HOLD"
        ),
        timeout=5,
    )
    _subscribed(devorg)

    # The poison customer's Account changes (its event re-assesses it: the first time, so its
    # row is stored as ERROR), then a promise is logged on E1.
    person_client(sync_settings).rest(
        "PATCH", f"sobjects/Account/{accounts[POISON]}", {"Credit_Limit__c": 5000}
    )
    started = time.monotonic()
    client.rest(
        "POST",
        "sobjects/Collection_Action__c",
        {
            "Account__c": accounts["E1"],
            "Type__c": "Promise to Pay",
            "Promised_Amount__c": 1000.0,
            "Promised_Date__c": (TODAY + timedelta(days=10)).isoformat(),
        },
    )
    promised = (TODAY + timedelta(days=10)).isoformat()
    wait_for(
        lambda: (
            read_account(client, accounts["E1"], "Promise_To_Pay_Date__c")["Promise_To_Pay_Date__c"]
            == promised
        ),
        timeout=2.0,
    )
    assert time.monotonic() - started < 2.0
    assert read_account(client, accounts["E1"], "Credit_Status__c")["Credit_Status__c"] == "WATCH"

    # The poison customer's own event was applied (its limit taken), its error kept, nothing
    # parked or retried: the engine's failure is that customer's, not the event's.
    def limit_taken():
        with factory() as s:
            return s.get(Customer, ids[POISON]).credit_limit == Decimal("5000")

    wait_for(limit_taken, timeout=5)
    with factory() as s:
        statuses = set(s.scalars(select(InboxMessage.status)))
    assert "parked" not in statuses and "processing" not in statuses
    bad = _assessment(factory, ids[POISON])
    assert bad.status == "ERROR" and "OverflowError: date value out of range" in bad.error

    # The nightly run: everyone assessed before today is re-assessed; the poison customer keeps
    # its error and does not stop the others.
    with transaction(factory) as s:
        s.execute(update(Assessment).values(as_of=TODAY - timedelta(days=1)))
    roll = DailyRoll(factory, sync_settings, worker.reassess, threading.Event())
    assert roll.run_due(TODAY) == 2
    e1 = _assessment(factory, ids["E1"])
    assert (e1.as_of, e1.error, e1.status) == (TODAY, None, "WATCH")
    bad = _assessment(factory, ids[POISON])
    assert bad.as_of == TODAY and "OverflowError" in bad.error

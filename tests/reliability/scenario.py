"""A small book in the database and the org, the inputs a fault test feeds it, and quiescence.

A fault test opens a book (customers with one overdue invoice each, their Accounts in devorg,
assessed but not pushed yet), arms a fault, lets a real worker push and take events, waits
until nothing is left to do, and measures (``tests/reliability/measure.py``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from devorg.cometd import streaming_for
from sqlalchemy import func, select

from service import outbox
from service.assessments import reassess
from service.config import SyncSettings
from service.db import transaction
from service.models import (
    AssessmentRequest,
    Customer,
    InboxMessage,
    OutboxMessage,
    Receivable,
)
from tests.reliability import measure
from tests.salesforce.sync_helpers import create_accounts, person_client, seed_cursors, wait_for

INVOICE = Decimal("1000.00")
TODAY = datetime.now(UTC).date()


@dataclass
class Book:
    """Customers by ERP number: their Account ids and customer ids; ``mark`` is the org's
    replay id before anything of the scenario happened (what the measure counts after)."""

    accounts: dict[str, str]
    ids: dict[str, int]
    mark: int
    writes_allowed: dict[str, int] = field(default_factory=dict)
    balances: dict[str, Decimal] = field(default_factory=dict)

    def allow_write(self, number: str, extra: int = 1) -> None:
        """One more Account write is legitimate for this customer (an event re-assessed it)."""
        rid = self.accounts[number][:15]
        self.writes_allowed[rid] = self.writes_allowed.get(rid, 1) + extra


def open_book(org, client, factory, channels, n: int, prefix: str = "R") -> Book:
    """n customers, each with a 1,000.00 invoice 75 days overdue, assessed, none pushed yet."""
    numbers = [f"{prefix}{i:04}" for i in range(n)]
    accounts = create_accounts(client, numbers)
    now = datetime.now(UTC)
    with transaction(factory) as s:
        ids: dict[str, int] = {}
        for number in numbers:
            c = Customer(
                number=number,
                source="erp-main",
                name=f"Customer {number}",
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
                    amount=INVOICE,
                    open_amount=INVOICE,
                    source_updated_at=now,
                )
            )
            ids[number] = c.id
        s.flush()
        reassess(s, list(ids.values()), TODAY)
    seed_cursors(factory, org, channels)
    book = Book(accounts, ids, org.bus.last_replay_id())
    book.balances = {accounts[n]: INVOICE for n in numbers}
    return book


def queue_all(factory, book: Book) -> None:
    with transaction(factory) as s:
        outbox.queue_for_salesforce(s, list(book.ids.values()))


def promise(client, book: Book, number: str, days: int = 10) -> str:
    """A promise to pay for the whole invoice, logged on the Account in Salesforce by a person
    (another client than the service's, whose own writes its channel filters out)."""
    book.allow_write(number)
    body = {
        "Account__c": book.accounts[number],
        "Type__c": "Promise to Pay",
        "Promised_Amount__c": float(INVOICE),
        "Promised_Date__c": (TODAY + timedelta(days=days)).isoformat(),
    }
    return person_client(client.settings).rest("POST", "sobjects/Collection_Action__c", body)["id"]


def payment(client, book: Book, number: str, amount: Decimal, reference: str) -> None:
    """A Payment_Received__e announced in Salesforce: the balance drops by ``amount`` once."""
    book.allow_write(number)
    account = book.accounts[number]
    book.balances[account] -= amount
    client.rest(
        "POST",
        "sobjects/Payment_Received__e",
        {
            "Account_Id__c": account,
            "Amount__c": float(amount),
            "Currency_Code__c": "EUR",
            "Reference__c": reference,
        },
    )


def subscribed(org, channels: int = len(SyncSettings().channels), timeout: float = 10.0) -> None:
    def count():
        clients = streaming_for(org).snapshot().get("clients", [])
        return sum(len(c.get("subscriptions", {})) for c in clients) >= channels

    wait_for(count, timeout=timeout)


def busy(factory) -> int:
    """Work still to do here: outbox rows not settled, events mid-handling, queued assessments."""
    with factory() as s:
        return (
            s.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status.in_((outbox.PENDING, outbox.IN_FLIGHT)))
            )
            + s.scalar(
                select(func.count())
                .select_from(InboxMessage)
                .where(InboxMessage.status == "processing")
            )
            + s.scalar(select(func.count()).select_from(AssessmentRequest))
        )


def settle(org, factory, since: int, timeout: float = 20.0) -> None:
    """Wait until every event published since ``since`` is stored and nothing is left to do.

    Quiet twice, 0.3 s apart, counts as settled. On timeout it returns anyway: the measure
    then reports what is missing, which says more than a timeout would.
    """
    deadline = time.monotonic() + timeout
    quiet = 0
    while time.monotonic() < deadline and quiet < 2:
        done = not measure.inbound(org, factory, since).lost and busy(factory) == 0
        quiet = quiet + 1 if done else 0
        time.sleep(0.3)


def measured(org, client, factory, book: Book) -> measure.Tally:
    return measure.everything(
        org,
        client,
        factory,
        book.mark,
        allowed_writes=book.writes_allowed,
        customer_ids=book.ids.values(),
        balances_expected=book.balances,
    )

"""Builders and waits shared by the Salesforce sync tests (imported by name, not a conftest)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

from service.db import transaction
from service.models import Assessment, Customer, StreamCursor


def make_customer(
    session, number: str, *, account_id: str | None = None, status: str = "OK", overdue="0.00"
):
    """A customer with a stored assessment document (the engine's JSON shape)."""
    customer = Customer(
        number=number,
        source="erp-main",
        name=f"Customer {number}",
        currency="EUR",
        salesforce_account_id=account_id,
    )
    session.add(customer)
    session.flush()
    session.add(
        Assessment(
            customer_id=customer.id,
            as_of=date(2026, 11, 23),
            status=status,
            balance_outstanding=Decimal(overdue),
            overdue_amount=Decimal(overdue),
            days_past_due=0,
            risk_score=10,
            collection_priority=0,
            document=document(status=status, overdue=overdue),
            computed_at=datetime(2026, 11, 23, 9, 0, tzinfo=UTC),
        )
    )
    session.flush()
    return customer


def document(*, status: str = "OK", overdue: str = "0.00", days: int = 0, risk: int = 10) -> dict:
    return {
        "status": status,
        "reason": f"{status}: test",
        "balance_outstanding": overdue,
        "overdue_amount": overdue,
        "disputed_amount": "0.00",
        "aging": {
            "current": "0.00",
            "1_30": overdue,
            "31_60": "0.00",
            "61_90": "0.00",
            "91_plus": "0.00",
        },
        "days_past_due": days,
        "risk_score": risk,
        "dunning_level": 0,
        "promise_to_pay_date": None,
        "last_payment_date": None,
        "last_payment_amount": None,
        "avg_days_to_pay": None,
        "collection_priority": 0,
        "next_action_date": None,
    }


def set_document(factory, customer_id: int, **kw) -> None:
    with transaction(factory) as session:
        a = session.get(Assessment, customer_id)
        a.document = document(**kw)
        a.status = a.document["status"]


def wait_for(predicate: Callable[[], object], timeout: float = 5.0, interval: float = 0.02):
    """Poll until ``predicate()`` is truthy; returns its value or fails with the last one."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {value!r})")


# -- devorg ------------------------------------------------------------------------------

ACCOUNT_CDC = "/data/AccountChangeEvent"


def person_client(settings):
    """A client of the org that is not the service (another Sforce-Call-Options client name):
    what a person's edit looks like to the package's channel filter, which drops only the
    service's own writes (``/data/CreditControlSync__chn``)."""
    from service.salesforce.client import build_client

    return build_client(settings.with_(client_name="salesforce-ui"))


def create_accounts(client, numbers, chunk: int = 200) -> dict[str, str]:
    """Accounts in the org with these ERP numbers (through REST); returns number -> Id."""
    ids: dict[str, str] = {}
    numbers = list(numbers)
    for start in range(0, len(numbers), chunk):
        batch = numbers[start : start + chunk]
        records = [
            {"attributes": {"type": "Account"}, "Name": f"Account {n}", "ERP_Customer_Number__c": n}
            for n in batch
        ]
        results = client.rest("POST", "composite/sobjects", {"allOrNone": True, "records": records})
        for n, result in zip(batch, results, strict=True):
            assert result["success"], result
            ids[n] = result["id"]
    return ids


def account_writes(org, account_id: str | None = None, since: int = 0) -> int:
    """Account updates the org applied after replay ``since``, counted per record.

    Counted from the org's change events; one event may carry several record ids (identical
    changes in one transaction are merged), so the ids are counted, not the events.
    """
    count = 0
    for event in org.bus.events_after(ACCOUNT_CDC, since):
        header = event.data["payload"]["ChangeEventHeader"]
        if header["changeType"] != "UPDATE":
            continue
        ids = {r[:15] for r in header["recordIds"]}
        count += len(ids) if account_id is None else int(account_id[:15] in ids)
    return count


def route_calls(org, needle: str) -> int:
    """Requests devorg answered on routes containing ``needle`` (e.g. 'composite/sobjects')."""
    return sum(n for route, n in org.stats.snapshot().items() if needle in route)


def seed_cursors(factory, org, channels) -> None:
    """Start a subscriber after everything already retained (as a worker that ran before would)."""
    with transaction(factory) as session:
        for channel in channels:
            events = org.bus.events_after(channel, 0)
            if events:
                last = events[-1].data["event"]["replayId"]
                session.merge(StreamCursor(channel=channel, replay_id=last))


def read_account(client, account_id: str, *fields: str) -> dict:
    record = client.rest("GET", f"sobjects/Account/{account_id}")
    return {f: record.get(f) for f in fields} if fields else record

"""Lost and doubled, measured from what the org and the database hold after a fault.

Every fault test (and ``bench/soak.py``) ends the same way: let the worker go quiet, then count

- **lost**: a change the org or the ERP accepted whose effect never arrived. A
  ``Collection_Action__c`` created in the org with no local action row; a
  ``Payment_Received__e`` published with no local payment; an Account whose fields in the org
  are not those of the customer's current assessment (a push that never landed); an ERP row
  whose newest version is not the one stored (an older row overwrote it); a balance higher
  than it should be.
- **doubled**: an effect applied more than its change requires. An Account written more often
  than allowed (counted per record from the org's change events); the same status change
  published twice in a row for one Account; one org record or platform event stored twice
  here; a payment counted twice (a balance lower than it should be).

``Tally`` prints as ``lost: 0, doubled: 0`` followed by the first few findings, so a failing
assertion says what went missing or came twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from service.models import Assessment, CollectionAction, Customer, Payment, Receivable
from service.salesforce.fields import ACCOUNT_FIELDS, canonical, pushed_account_fields

ACTION_CDC = "/data/Collection_Action__ChangeEvent"
ACCOUNT_CDC = "/data/AccountChangeEvent"
PAYMENT_EVENT = "/event/Payment_Received__e"
STATUS_EVENT = "/event/Credit_Status_Change__e"
PAYMENT_SOURCE = "salesforce"  # Payment.source of a Payment_Received__e (handlers.py)
SHOWN = 8


@dataclass
class Tally:
    """Findings of one measurement; ``str()`` is the line the assertions print."""

    lost: list[str] = field(default_factory=list)
    doubled: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return not self.lost and not self.doubled

    def __add__(self, other: Tally) -> Tally:
        return Tally(
            self.lost + other.lost, self.doubled + other.doubled, {**self.counts, **other.counts}
        )

    def __str__(self) -> str:
        line = f"lost: {len(self.lost)}, doubled: {len(self.doubled)}"
        shown = [f"lost {x}" for x in self.lost[:SHOWN]] + [
            f"doubled {x}" for x in self.doubled[:SHOWN]
        ]
        return line + ("".join(f"\n  {x}" for x in shown) if shown else "")


def org_events(org, channel: str, since: int = 0) -> list[Any]:
    """Every retained event of ``channel`` after replay id ``since`` (paged past the bus's cap)."""
    out: list[Any] = []
    while True:
        page = org.bus.events_after(channel, since)
        if not page:
            return out
        out.extend(page)
        since = page[-1].data["event"]["replayId"]


def writes_per_account(org, since: int = 0) -> Counter[str]:
    """Account updates the org applied after ``since``, per 15-character record id."""
    counts: Counter[str] = Counter()
    for event in org_events(org, ACCOUNT_CDC, since):
        header = event.data["payload"]["ChangeEventHeader"]
        if header["changeType"] == "UPDATE":
            counts.update({rid[:15] for rid in header["recordIds"]})
    return counts


def _org_accounts(client, account_ids: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for start in range(0, len(account_ids), 200):
        chunk = account_ids[start : start + 200]
        records = client.rest(
            "GET",
            "composite/sobjects/Account",
            ids=",".join(chunk),
            fields=",".join(["Id", *ACCOUNT_FIELDS]),
        )
        out.update({r["Id"][:15]: r for r in records if r})
    return out


def accounts(client, factory, customer_ids: Iterable[int] | None = None) -> Tally:
    """Each linked customer's Account carries its current assessment (else: lost)."""
    tally = Tally()
    with factory() as s:
        query = select(
            Customer.salesforce_account_id,
            Assessment.document,
            Customer.dunning_level_sent,
            Customer.next_reminder_date,
        ).join(Assessment, Assessment.customer_id == Customer.id)
        query = query.where(Customer.salesforce_account_id.is_not(None))
        if customer_ids is not None:
            query = query.where(Customer.id.in_(list(customer_ids)))
        rows = s.execute(query).all()
    in_org = _org_accounts(client, [account_id for account_id, *_ in rows])
    for account_id, document, level_sent, next_reminder in rows:
        desired = pushed_account_fields(
            document, pay_link=None, dunning_level_sent=level_sent, next_reminder_date=next_reminder
        )
        got = in_org.get(account_id[:15], {})
        wrong = [f for f in ACCOUNT_FIELDS if canonical(desired[f]) != canonical(got.get(f))]
        if wrong:
            f = wrong[0]
            tally.lost.append(
                f"Account {account_id}: {len(wrong)} field(s) differ, e.g. {f} is "
                f"{got.get(f)!r}, the assessment says {canonical(desired[f])!r}"
            )
    tally.counts["accounts checked"] = len(rows)
    return tally


def account_writes(org, since: int, allowed: int | Mapping[str, int] = 1) -> Tally:
    """Accounts written more often than ``allowed`` (per 15-character id) after ``since``."""
    tally = Tally()
    writes = writes_per_account(org, since)
    for rid, n in sorted(writes.items()):
        limit = allowed if isinstance(allowed, int) else allowed.get(rid, 1)
        tally.doubled.extend([f"Account {rid}: written {n} times, {limit} needed"] * (n - limit))
    tally.counts["account writes"] = sum(writes.values())
    return tally


def status_events(org, since: int) -> Tally:
    """The same status change published twice in a row for one Account: doubled."""
    tally = Tally()
    last: dict[str, tuple[Any, Any]] = {}
    events = org_events(org, STATUS_EVENT, since)
    for event in events:
        p = event.data["payload"]
        change = (p.get("Previous_Status__c"), p.get("New_Status__c"))
        account = (p.get("Account_Id__c") or "")[:15]
        if change[0] != change[1] and last.get(account) == change:
            tally.doubled.append(f"status event {change[0]} -> {change[1]} for {account} again")
        last[account] = change
    tally.counts["status events"] = len(events)
    return tally


def inbound(org, factory, since: int) -> Tally:
    """Actions created and payments announced in the org after ``since``, each stored once."""
    tally = Tally()
    created = [
        rid[:15]
        for event in org_events(org, ACTION_CDC, since)
        if event.data["payload"]["ChangeEventHeader"]["changeType"] == "CREATE"
        for rid in event.data["payload"]["ChangeEventHeader"]["recordIds"]
    ]
    payments = [e.data["event"]["EventUuid"] for e in org_events(org, PAYMENT_EVENT, since)]
    with factory() as s:
        stored = Counter(
            sf_id[:15] for sf_id in s.scalars(select(CollectionAction.salesforce_id)) if sf_id
        )
        paid = Counter(
            s.scalars(select(Payment.external_id).where(Payment.source == PAYMENT_SOURCE))
        )
    for rid in created:
        if not stored[rid]:
            tally.lost.append(f"Collection_Action__c {rid}: created in the org, not stored here")
        elif stored[rid] > 1:
            tally.doubled.append(f"Collection_Action__c {rid}: stored {stored[rid]} times")
    for uuid in payments:
        if not paid[uuid]:
            tally.lost.append(f"Payment_Received__e {uuid}: published, no payment here")
        elif paid[uuid] > 1:
            tally.doubled.append(f"Payment_Received__e {uuid}: stored {paid[uuid]} times")
    tally.counts["events in"] = len(created) + len(payments)
    tally.counts["events applied"] = sum(1 for r in created if stored[r]) + sum(
        1 for u in payments if paid[u]
    )
    return tally


def balances(client, expected: Mapping[str, Decimal]) -> Tally:
    """Each Account's Balance_Outstanding__c: lower than expected is a payment counted twice."""
    tally = Tally()
    got = _org_accounts(client, list(expected))
    for account_id, want in expected.items():
        have = got.get(account_id[:15], {}).get("Balance_Outstanding__c")
        have = None if have is None else Decimal(str(have))
        if have is None or have > want:
            tally.lost.append(f"Account {account_id}: balance {have}, expected {want}")
        elif have < want:
            tally.doubled.append(f"Account {account_id}: balance {have}, expected {want}")
    return tally


def feed_rows(factory, rows: Iterable[Mapping[str, Any]], source: str) -> Tally:
    """ERP receivable rows accepted in any order: the newest version of each is the one stored.

    ``rows`` are the feed's receivable objects (``id``, ``open_amount``, ``updated_at``);
    an older one that overwrote a newer one is a lost change.
    """
    tally = Tally()
    newest: dict[str, Mapping[str, Any]] = {}
    for row in rows:
        if row["id"] not in newest or row["updated_at"] > newest[row["id"]]["updated_at"]:
            newest[row["id"]] = row
    with factory() as s:
        stored = dict(
            s.execute(
                select(Receivable.external_id, Receivable.open_amount).where(
                    Receivable.source == source, Receivable.external_id.in_(list(newest))
                )
            ).all()
        )
        twice = s.scalar(
            select(func.count()).select_from(
                select(Receivable.external_id)
                .where(Receivable.source == source)
                .group_by(Receivable.external_id)
                .having(func.count() > 1)
                .subquery()
            )
        )
    for item, row in newest.items():
        want = Decimal(str(row["open_amount"]))
        if stored.get(item) != want:
            tally.lost.append(f"receivable {item}: open {stored.get(item)}, newest row says {want}")
    tally.doubled.extend([f"{twice} receivable(s) stored twice"] if twice else [])
    return tally


def everything(
    org,
    client,
    factory,
    since: int,
    *,
    allowed_writes: int | Mapping[str, int] = 1,
    customer_ids: Iterable[int] | None = None,
    balances_expected: Mapping[str, Decimal] | None = None,
) -> Tally:
    """All the checks above that need only the org and the database."""
    tally = (
        inbound(org, factory, since)
        + accounts(client, factory, customer_ids)
        + account_writes(org, since, allowed_writes)
        + status_events(org, since)
    )
    if balances_expected:
        tally = tally + balances(client, balances_expected)
    return tally

"""``credit-control customer erase NUMBER``: a customer's personal data removed, here and in
the org, with a report of what was removed where.

Here: the customer row (name, contacts, limits), its receivables, payments and their
allocations, its collection actions (with their notes), its assessment and queued requests, the
outbox rows about it, and the payloads of inbox messages that mention it (its number, its
Account's id, the ids of its actions or receivables). An inbox row keeps its dedupe key and
loses its payload, so a redelivered event is still recognised and dropped. One ``erasures`` row
keeps the number, so a second run says "already erased" and finishes what the first left in the
org; an unknown number is refused.

In Salesforce (``service.salesforce.erasure``): the customer's ``Receivable__c`` records are
deleted and its Account's service-owned fields cleared; the Account itself is the admin's.

Order: everything here goes first, in one transaction that also takes the customer's outbox
rows, so no pusher writes it to the org again; then the org. Should the org step fail, the keys
it needs stay in the ``erasures`` row and running the command again completes it.

The ERP must stop sending the customer: a later batch naming it stores it again as new.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import click
from sqlalchemy import Text, cast, delete, inspect, null, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from service import outbox
from service.bulk import chunks
from service.config import load_config
from service.db import make_engine, make_session_factory, transaction, utcnow
from service.models import (
    Allocation,
    Assessment,
    AssessmentRequest,
    CardPayment,
    CashApplicationPayment,
    CollectionAction,
    Customer,
    Erasure,
    InboxMessage,
    KnownPayer,
    OutboxMessage,
    Payment,
    Receivable,
)
from service.salesforce.client import SalesforceClient, build_client
from service.salesforce.erasure import OrgErasure, erase_from_org
from service.salesforce.keys import receivable_item_id


class UnknownCustomer(Exception):
    """No customer has this number and none was erased under it."""


@dataclass
class ErasureReport:
    number: str
    already_erased: bool = False
    # What was removed here: table (or "inbox payloads") -> rows.
    here: dict[str, int] = field(default_factory=dict)
    # What was removed in the org; None when no org is configured.
    salesforce: OrgErasure | None = None


def erase_customer(
    factory: sessionmaker[Session],
    number: str,
    client: SalesforceClient | None,
    now: datetime | None = None,
) -> ErasureReport:
    """Erase customer ``number`` here and, with a ``client``, in the org. Idempotent."""
    now = now or utcnow()
    report = ErasureReport(number)
    with transaction(factory) as session:
        customer = session.scalars(
            select(Customer).where(Customer.number == number).with_for_update()
        ).one_or_none()
        erasure = session.get(Erasure, number)
        if customer is None and erasure is None:
            raise UnknownCustomer(f"no customer has the number {number!r}")
        if customer is not None:
            report.here = _erase_here(session, customer)
            if erasure is None:
                erasure = Erasure(number=number, item_ids=[])
                session.add(erasure)
            erasure.erased_at = now
            erasure.org_done_at = None
            erasure.salesforce_account_id = (
                customer.salesforce_account_id or erasure.salesforce_account_id
            )
            erasure.item_ids = sorted(
                {*(erasure.item_ids or ()), *report.here.pop("_item_ids", ())}
            )
        else:
            report.already_erased = True
        account_id, item_ids = erasure.salesforce_account_id, list(erasure.item_ids or ())
    if client is None:
        return report
    report.salesforce = erase_from_org(client, number, account_id, item_ids)
    with transaction(factory) as session:
        session.execute(
            update(Erasure)
            .where(Erasure.number == number)
            .values(org_done_at=utcnow(), salesforce_account_id=None, item_ids=None)
        )
    return report


def _erase_here(session: Session, customer: Customer) -> dict[str, Any]:
    cid = customer.id
    items = session.execute(
        select(
            Receivable.id, Receivable.source, Receivable.external_id, Receivable.salesforce_id
        ).where(Receivable.customer_id == cid)
    ).all()
    receivable_ids = [r.id for r in items]
    actions = session.scalars(
        select(CollectionAction.salesforce_id).where(CollectionAction.customer_id == cid)
    ).all()
    own_items = select(Receivable.id).where(Receivable.customer_id == cid)
    own_payments = select(Payment.id).where(Payment.customer_id == cid)
    counts: dict[str, Any] = {}

    def remove(name: str, statement) -> None:
        counts[name] = counts.get(name, 0) + session.execute(statement).rowcount

    # Others' rows may point at this customer's (an action on its invoice, a provisional
    # payment superseded by its payment): they lose the link, not their own data.
    session.execute(
        update(CollectionAction)
        .where(CollectionAction.receivable_id.in_(own_items), CollectionAction.customer_id != cid)
        .values(receivable_id=None)
    )
    session.execute(
        update(Payment)
        .where(Payment.superseded_by_id.in_(own_payments))
        .values(superseded_by_id=None)
    )
    remove(
        "allocations",
        delete(Allocation).where(
            or_(Allocation.payment_id.in_(own_payments), Allocation.receivable_id.in_(own_items))
        ),
    )
    remove(
        "collection_actions", delete(CollectionAction).where(CollectionAction.customer_id == cid)
    )
    # What Stripe told about its card payments goes too (not counted: not a table people know).
    session.execute(delete(CardPayment).where(CardPayment.customer_id == cid))
    # Bank credits it was paid by keep their record (the bank's); the links to its payments and
    # the payers learned for it go.
    session.execute(delete(CashApplicationPayment).where(CashApplicationPayment.customer_id == cid))
    session.execute(delete(KnownPayer).where(KnownPayer.customer_id == cid))
    remove("payments", delete(Payment).where(Payment.customer_id == cid))
    remove("receivables", delete(Receivable).where(Receivable.customer_id == cid))
    remove("assessments", delete(Assessment).where(Assessment.customer_id == cid))
    remove(
        "assessment_requests", delete(AssessmentRequest).where(AssessmentRequest.customer_id == cid)
    )
    targets = [outbox.account_target(cid), *map(outbox.receivable_target, receivable_ids)]
    for part in chunks(targets, 500):
        remove("outbox", delete(OutboxMessage).where(OutboxMessage.target.in_(part)))
    ids = {
        i
        for i in (customer.salesforce_account_id, *actions, *(r.salesforce_id for r in items))
        if i
    }
    counts["inbox payloads"] = _drop_inbox_payloads(session, customer.number, ids)
    session.execute(delete(Customer).where(Customer.id == cid))
    counts["customers"] = 1
    counts["_item_ids"] = [receivable_item_id(r.source, r.external_id) for r in items]
    return counts


def _drop_inbox_payloads(session: Session, number: str, record_ids: Iterable[str]) -> int:
    """Drop the payload of every inbox message that mentions the customer; keep its key.

    A mention is a value equal to the customer number or naming one of ``record_ids`` (15 or
    18 characters: the 15 are the id, the 3 more a checksum). SQL narrows the candidates by
    text; each is then checked value by value, so "C-1" does not match "C-10".
    """
    ids15 = {i[:15] for i in record_ids}
    needles = {number, json.dumps(number)[1:-1], *ids15}
    mentions = _mentions(number, ids15)
    dropped = 0
    text = cast(InboxMessage.payload, Text)
    for part in chunks(sorted(needles), 100):
        candidates = session.execute(
            select(InboxMessage.id, InboxMessage.payload).where(
                InboxMessage.payload.is_not(None),
                or_(*(text.contains(needle, autoescape=True) for needle in part)),
            )
        ).all()
        found = [row.id for row in candidates if row.payload is not None and mentions(row.payload)]
        if found:
            dropped += session.execute(
                update(InboxMessage).where(InboxMessage.id.in_(found)).values(payload=null())
            ).rowcount
    return dropped


def _mentions(number: str, ids15: set[str]) -> Callable[[Any], bool]:
    def walk(value: Any) -> bool:
        if isinstance(value, dict):
            return any(walk(v) for v in value.values())
        if isinstance(value, list):
            return any(walk(v) for v in value)
        if isinstance(value, str):
            return value == number or (len(value) in (15, 18) and value[:15] in ids15)
        return False

    return walk


@click.group("customer")
def customer_command() -> None:
    """One customer's data."""


@customer_command.command("erase")
@click.argument("number")
def customer_erase(number: str) -> None:
    """Erase customer NUMBER's personal data here and what the service wrote to Salesforce."""
    config = load_config(require=())
    engine = make_engine(config.database_url)
    if not inspect(engine).has_table("erasures"):
        raise click.ClickException(
            "the database has no erasures table: run `credit-control db upgrade`"
        )
    client = build_client(config.salesforce) if config.salesforce else None
    try:
        report = erase_customer(make_session_factory(engine), number, client)
    except UnknownCustomer as error:
        raise click.ClickException(f"{error}; nothing erased") from None
    finally:
        engine.dispose()
    click.echo(_describe(report))


def _describe(report: ErasureReport) -> str:
    lines = [f"customer {report.number}:"]
    if report.already_erased:
        lines.append("  here: already erased, nothing left")
    else:
        removed = ", ".join(f"{n} {name}" for name, n in report.here.items())
        lines.append(f"  here: removed {removed}")
    org = report.salesforce
    if org is None:
        lines.append("  Salesforce: not configured (SALESFORCE_*), nothing removed there;")
        lines.append("  run this again with the org configured to finish there")
    elif org.account_id is None and not org.receivables_deleted:
        lines.append("  Salesforce: no Account has this ERP number, no Receivable__c found")
    else:
        lines.append(
            f"  Salesforce: deleted {org.receivables_deleted} Receivable__c; "
            f"cleared {org.account_fields_cleared} credit fields on Account {org.account_id or '-'}"
        )
    return "\n".join(lines)

"""The closed loop: what collectors log in Salesforce goes back to the ERP, once.

Two steps, each run after a pull (``credit-control sync`` and the worker's schedule):

1. ``queue_writes`` scans the collection actions changed since its cursor (``<erp>:actions``)
   on customers of the connector's source and queues the writes they call for in ``erp_writes``,
   keyed by the fact and its state (``dispute:<action>:open``, ``dispute:<action>:resolved``,
   ``promise:<action>:<date>:<amount>``, ``override:<customer>:<until>:<changed>``). The key
   is unique, so a fact scanned twice (the scan overlaps its last minute; a second run) is
   queued once. Only the kinds the connector takes (``write_kinds``) are queued.
   ``service.connectors.cash_writes`` does the same for cash applications (``<erp>:cash``).
2. ``send_writes`` sends due rows in id order through the connector (``Connector.write``), which
   is idempotent on the ERP's side too (it looks the case up by our reference first). A
   retryable failure (throttled, 5xx, the ERP not ready) puts the row back with a backoff; a
   permanent one marks it dead with the ERP's message (``erp_writes.last_error``).

What goes where, per ERP, is in docs/connectors.md. No write changes an amount in the ERP: the
connectors create and close cases, set the integration's own fields and the standard promise
and dispute fields, and add or remove unposted payment journal lines; nothing else.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from service.connectors import cursors
from service.connectors.base import Connector
from service.connectors.http import ErpError
from service.db import is_postgres, transaction
from service.feeds.currencies import minor_units
from service.models import CollectionAction, Customer, ErpWrite, Receivable
from service.outbox import backoff_delay

log = logging.getLogger(__name__)

PROMISE = "Promise to Pay"
DISPUTE = "Dispute"
HOLD_OVERRIDE = "Hold Override"
# ``superseded``: a write no longer owed (the cash it would record was posted or taken back).
PENDING, IN_FLIGHT, SENT, DEAD = "pending", "in_flight", "sent", "dead"
SUPERSEDED = "superseded"
OVERLAP = timedelta(minutes=1)
LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 12


@dataclass
class LoopReport:
    queued: int = 0
    sent: int = 0
    retried: int = 0
    dead: int = 0

    def line(self) -> str:
        return (
            f"closed loop: {self.queued} writes queued, {self.sent} sent, "
            f"{self.retried} to retry, {self.dead} failed"
        )


def _money(amount: Decimal, currency: str) -> str:
    return str(amount.quantize(Decimal(1).scaleb(-minor_units(currency))))


def _reference(action: CollectionAction) -> str:
    return f"CC-{action.salesforce_id or action.id}"


def writes_for(
    action: CollectionAction,
    customer: str,
    currency: str,
    item_id: str | None,
    item: Receivable | None = None,
) -> list[tuple[str, str, dict[str, Any]]]:
    """``(kind, key, payload)`` for the ERP writes an action calls for (none for most).

    Hold overrides are per customer, not per action: ``override_write``."""
    document: dict[str, str] = {}
    if item_id and item_id.count("/") == 2:
        company_code, fiscal_year, number = item_id.split("/")
        document = {"company_code": company_code, "fiscal_year": fiscal_year, "document": number}
    base: dict[str, Any] = {"customer": customer, "currency": currency, "item": item_id, **document}
    if item_id and item is not None:  # the document's own number and kind (Business Central)
        base.update(item_number=item.number, item_kind=item.kind)
    if action.type == DISPUTE and action.disputed_amount:
        status = (action.dispute_status or "Open").strip().lower()
        opened = (
            "dispute_open",
            f"dispute:{action.id}:open",
            {
                **base,
                "reference": _reference(action),
                "amount": _money(action.disputed_amount, currency),
                "reason": action.dispute_reason or "",
                "title": f"Dispute {item_id or customer}",
            },
        )
        if status.startswith("resolved"):
            resolved = (
                "dispute_resolved",
                f"dispute:{action.id}:resolved",
                {**base, "reference": _reference(action), "outcome": action.dispute_status},
            )
            return [opened, resolved]
        return [opened]
    if action.type == PROMISE and action.promised_amount and action.promised_date:
        day = action.promised_date.isoformat()
        amount = _money(action.promised_amount, currency)
        return [
            (
                "promise",
                f"promise:{action.id}:{day}:{amount}",
                {
                    **base,
                    "reference": f"{_reference(action)}-{day.replace('-', '')}",
                    "amount": amount,
                    "date": day,
                    "title": f"Promise to pay {amount} {currency} by {day}",
                },
            )
        ]
    return []


def override_write(
    session: Session, customer_id: int, number: str
) -> tuple[str, str, dict[str, Any]]:
    """The customer's hold override as the ERP should hold it: the date of the latest override
    logged (by when it was logged) that is not deleted, or none. The key names the date and the
    last change to any of the customer's overrides, so a date that goes back to an earlier value
    is written again. A date needs no write when it passes: it says itself that it is over."""
    actions = session.scalars(
        select(CollectionAction)
        .where(CollectionAction.customer_id == customer_id, CollectionAction.type == HOLD_OVERRIDE)
        .order_by(CollectionAction.occurred_at, CollectionAction.id)
    ).all()
    live = [a for a in actions if not a.is_deleted]
    until = live[-1].override_until.isoformat() if live and live[-1].override_until else None
    changed = max(a.updated_at for a in actions).isoformat()
    return (
        "hold_override",
        f"override:{customer_id}:{until or 'none'}:{changed}",
        {"customer": number, "until": until, "reference": f"CC-HOLD-{number}"},
    )


def new_row(connector: str, kind: str, key: str, payload: dict[str, Any], now: datetime) -> dict:
    return {
        "connector": connector,
        "key": key,
        "kind": kind,
        "payload": payload,
        "status": PENDING,
        "attempts": 0,
        "available_at": now,
        "created_at": now,
    }


def queue_writes(
    session: Session,
    connector: str,
    source: str,
    now: datetime,
    kinds: Collection[str] | None = None,
) -> int:
    """Queue the writes of actions changed since the last scan; returns the rows added.

    ``kinds``: the writes the connector takes (None: promises and disputes)."""
    kinds = set(kinds) if kinds is not None else {"promise", "dispute_open", "dispute_resolved"}
    name = f"{connector}:actions"
    since = (cursors.position(session, name) or {}).get("updated_at")
    query = (
        select(CollectionAction, Customer.number, Customer.currency, Receivable)
        .join(Customer, Customer.id == CollectionAction.customer_id)
        .outerjoin(Receivable, Receivable.id == CollectionAction.receivable_id)
        .where(
            Customer.source == source,
            CollectionAction.type.in_((PROMISE, DISPUTE, HOLD_OVERRIDE)),
            # A deleted override changes the customer's override; deleted others change nothing.
            or_(CollectionAction.is_deleted.is_(False), CollectionAction.type == HOLD_OVERRIDE),
        )
        .order_by(CollectionAction.updated_at, CollectionAction.id)
    )
    if since:
        query = query.where(CollectionAction.updated_at >= datetime.fromisoformat(since) - OVERLAP)
    rows: list[dict[str, Any]] = []
    overrides: dict[int, str] = {}
    latest = since
    for action, number, currency, item in session.execute(query):
        latest = action.updated_at.isoformat()
        if action.type == HOLD_OVERRIDE:
            overrides[action.customer_id] = number
            continue
        item_id = item.external_id if item is not None and item.source == source else None
        for kind, key, payload in writes_for(
            action, number, item.currency if item is not None else currency, item_id, item
        ):
            if kind in kinds:
                rows.append(new_row(connector, kind, key, payload, now))
    if "hold_override" in kinds:
        for customer_id, number in overrides.items():
            kind, key, payload = override_write(session, customer_id, number)
            rows.append(new_row(connector, kind, key, payload, now))
    added = insert_new(session, rows)
    if latest and latest != since:
        cursors.save(session, name, {"updated_at": latest}, now)
    return added


def insert_new(session: Session, rows: list[dict[str, Any]]) -> int:
    if not rows:
        return 0
    insert = postgresql.insert if is_postgres(session) else sqlite.insert
    table = ErpWrite.__table__
    added = 0
    for row in rows:  # few per scan: a collector's actions, not an import
        inserted = session.execute(
            insert(table)
            .values(**row)
            .on_conflict_do_nothing(index_elements=["connector", "key"])
            .returning(table.c.id)
        ).first()
        added += inserted is not None
    return added


def send_writes(
    sessions: sessionmaker[Session],
    connector: Connector,
    now: datetime,
    *,
    limit: int = 200,
) -> LoopReport:
    report = LoopReport()
    with transaction(sessions) as session:
        claimed = _claim(session, connector.name, now, limit)
    for row_id, kind, key, payload, attempts in claimed:
        try:
            reference = connector.write(kind, key, payload)
        except ErpError as error:
            permanent = not error.retryable or attempts >= MAX_ATTEMPTS
            _finish(sessions, row_id, DEAD if permanent else PENDING, now, str(error), attempts)
            if permanent:
                report.dead += 1
                log.warning("ERP write %s failed: %s", key, error)
            else:
                report.retried += 1
            continue
        except Exception as error:  # a bug or an unexpected answer: keep the row, say so
            log.exception("ERP write %s failed", key)
            _finish(sessions, row_id, PENDING, now, type(error).__name__, attempts)
            report.retried += 1
            continue
        _finish(sessions, row_id, SENT, now, None, attempts, reference)
        report.sent += 1
    return report


def _claim(
    session: Session, connector: str, now: datetime, limit: int
) -> list[tuple[int, str, str, dict, int]]:
    due = (
        select(ErpWrite)
        .where(
            ErpWrite.connector == connector,
            ErpWrite.status.in_((PENDING, IN_FLIGHT)),
            ErpWrite.available_at <= now,
        )
        .order_by(ErpWrite.id)
        .limit(limit)
    )
    if is_postgres(session):
        due = due.with_for_update(skip_locked=True)
    out = []
    for row in session.scalars(due):
        row.status = IN_FLIGHT
        row.available_at = now + LEASE
        row.attempts = (row.attempts or 0) + 1
        out.append((row.id, row.kind, row.key, dict(row.payload), row.attempts))
    return out


def _finish(
    sessions: sessionmaker[Session],
    row_id: int,
    status: str,
    now: datetime,
    error: str | None,
    attempts: int,
    reference: str | None = None,
) -> None:
    values: dict[str, Any] = {"status": status, "last_error": error}
    if status == SENT:
        values.update(sent_at=now, erp_reference=reference)
    elif status == PENDING:
        values["available_at"] = now + timedelta(seconds=backoff_delay(attempts))
    with transaction(sessions) as session:
        session.execute(update(ErpWrite).where(ErpWrite.id == row_id).values(**values))


def retry_dead(session: Session, connector: str, now: datetime) -> int:
    """Put the connector's dead writes back in the queue (after fixing what failed them)."""
    result = session.execute(
        update(ErpWrite)
        .where(ErpWrite.connector == connector, ErpWrite.status == DEAD)
        .values(status=PENDING, attempts=0, available_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def pending_writes(session: Session, connector: str) -> Iterable[ErpWrite]:
    return session.scalars(
        select(ErpWrite).where(ErpWrite.connector == connector).order_by(ErpWrite.id)
    )

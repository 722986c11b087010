"""Apply a validated ERP batch to the database: plain functions, no commit (the caller commits).

Throughput matters (a feed is up to 5,000 rows; the import a million), so each kind is applied
in a few set-based statements: one SELECT of the keys already stored, one executemany INSERT of
the new rows, one executemany UPDATE of the rows that are newer than what is stored. No ORM
objects are created per row.

Replays are harmless: a receivable (or a payment or customer carrying ``updated_at``) that is not
newer than the stored version is ignored. "Not newer" rather than "older": the same version
twice is the same fact, and writing it again would only move our own timestamps.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from service import payment_matching
from service.bulk import (
    bulk_insert,
    bulk_update,
    insert_with_ids,
    key_chunks,
    key_in,
    source_key_in,
)
from service.errors import FieldError
from service.models import CONFIRMED, Allocation, Customer, Payment, Receivable
from service.pending_actions import attach_pending_actions

_CUSTOMER_FIELDS = (
    "name",
    "currency",
    "credit_limit",
    "payment_terms_days",
    "salesforce_account_id",
    "language",
    "billing_email",
)


@dataclass
class Counts:
    accepted: int = 0
    ignored: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"accepted": self.accepted, "ignored": self.ignored}


@dataclass
class ApplyResult:
    """What a batch changed: counts per kind and the customers whose figures may have moved."""

    customers: Counts = field(default_factory=Counts)
    receivables: Counts = field(default_factory=Counts)
    payments: Counts = field(default_factory=Counts)
    customer_ids: set[int] = field(default_factory=set)
    # Receivables inserted or changed: their Receivable__c mirrors need pushing.
    receivable_ids: set[int] = field(default_factory=set)
    # The inserted ones among them (nothing can be queued for those yet).
    new_receivable_ids: set[int] = field(default_factory=set)

    def counts(self) -> dict[str, dict[str, int]]:
        return {
            "customers": self.customers.as_dict(),
            "receivables": self.receivables.as_dict(),
            "payments": self.payments.as_dict(),
        }


def customer_ids_by_number(session: Session, numbers: Iterable[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for part in key_chunks(session, sorted(set(numbers))):
        found.update(
            session.execute(
                select(Customer.number, Customer.id).where(key_in(session, Customer.number, part))
            ).all()
        )
    return found


def receivable_ids(session: Session, source: str, external_ids: Iterable[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for part in key_chunks(session, sorted(set(external_ids))):
        found.update(
            session.execute(
                select(Receivable.external_id, Receivable.id).where(
                    source_key_in(session, Receivable.source, source, Receivable.external_id, part)
                )
            ).all()
        )
    return found


def reference_errors(
    session: Session, batch: dict[str, Any], stored_customers: dict[str, int] | None = None
) -> list[FieldError]:
    """Row errors that need the database: unknown customers and receivables, duplicate ids.

    A reference is good when the row it names is in the same batch or already stored. The
    stored customers this looked up (number -> id) are added to ``stored_customers`` when given,
    so ``apply_batch`` in the same transaction need not look them up again.
    """
    errors: list[FieldError] = []
    source = batch["source"]
    _duplicates(batch["customers"], "customers", "number", errors)
    _duplicates(batch["receivables"], "receivables", "id", errors)
    _duplicates(batch["payments"], "payments", "id", errors)

    in_batch = {row["number"] for row in batch["customers"] if row}
    wanted = {
        row["customer"] for kind in ("receivables", "payments") for row in batch[kind] if row
    } - in_batch
    found = customer_ids_by_number(session, wanted) if wanted else {}
    if stored_customers is not None:
        stored_customers.update(found)
    known = set(found)
    for kind in ("receivables", "payments"):
        for i, row in enumerate(batch[kind]):
            if row and row["customer"] not in in_batch and row["customer"] not in known:
                errors.append(
                    FieldError(
                        f"{kind}[{i}].customer",
                        f"Unknown customer {row['customer']!r}: not in this batch and not stored.",
                    )
                )

    batch_items = {row["id"] for row in batch["receivables"] if row}
    referenced = {
        a["receivable"] for row in batch["payments"] if row for a in row.get("applied_to") or ()
    } - batch_items
    stored = set(receivable_ids(session, source, referenced)) if referenced else set()
    for i, row in enumerate(batch["payments"]):
        for j, allocation in enumerate((row or {}).get("applied_to") or ()):
            if (
                allocation["receivable"] not in batch_items
                and allocation["receivable"] not in stored
            ):
                errors.append(
                    FieldError(
                        f"payments[{i}].applied_to[{j}].receivable",
                        f"Unknown receivable {allocation['receivable']!r}: not in this batch and not stored.",
                    )
                )
    return errors


def _duplicates(rows: list, kind: str, key: str, errors: list[FieldError]) -> None:
    seen: dict[str, int] = {}
    for i, row in enumerate(rows):
        if not row:
            continue
        first = seen.setdefault(row[key], i)
        if first != i:
            errors.append(FieldError(f"{kind}[{i}].{key}", f"Same {key} as {kind}[{first}]."))


def apply_batch(
    session: Session,
    batch: dict[str, Any],
    now: datetime,
    stored_customers: dict[str, int] | None = None,
) -> ApplyResult:
    """Write a batch whose rows and references are all valid. Does not commit.

    ``stored_customers`` (number -> id, from ``reference_errors`` in the same transaction) saves
    looking those customers up again.
    """
    result = ApplyResult()
    source = batch["source"]
    if batch["payments"]:
        _lock_paying_customers(session, batch, stored_customers or {})
    customer_ids = _apply_customers(session, source, batch["customers"], now, result)
    numbers = {row["customer"] for kind in ("receivables", "payments") for row in batch[kind]}
    missing = numbers - customer_ids.keys()
    if stored_customers:
        customer_ids.update((n, stored_customers[n]) for n in missing & stored_customers.keys())
        missing -= stored_customers.keys()
    if missing:
        customer_ids.update(customer_ids_by_number(session, missing))
    _apply_receivables(session, source, batch["receivables"], customer_ids, now, result)
    _apply_payments(session, source, batch["payments"], customer_ids, now, result)
    return result


def _lock_paying_customers(session: Session, batch: dict[str, Any], known: dict[str, int]) -> None:
    """Lock the stored customers a batch with payments writes, in id order, before writing.

    Its payments may supersede provisional ones (``service.payment_matching``), which needs
    their customers locked; taking every lock of the batch at once, in id order, keeps it from
    deadlocking with re-assessment, which locks in id order too.
    """
    numbers = {row["number"] for row in batch["customers"]} | {
        row["customer"] for row in batch["payments"]
    }
    ids = {known[n] for n in numbers if n in known}
    missing = numbers - known.keys()
    if missing:
        ids.update(customer_ids_by_number(session, missing).values())
    payment_matching.lock_customers(session, ids)


def _apply_customers(
    session: Session, source: str, rows: list[dict], now: datetime, result: ApplyResult
) -> dict[str, int]:
    """Insert or update the batch's customers; returns number -> id for every one of them."""
    if not rows:
        return {}
    columns = (
        Customer.id,
        Customer.number,
        Customer.source_updated_at,
        *(getattr(Customer, name) for name in _CUSTOMER_FIELDS),
    )
    stored: dict[str, Any] = {}
    for part in key_chunks(session, [row["number"] for row in rows]):
        for found in session.execute(
            select(*columns).where(key_in(session, Customer.number, part))
        ):
            stored[found.number] = found

    inserts, updates = [], []
    for row in rows:
        old = stored.get(row["number"])
        version = row.get("updated_at")
        if old is None:
            inserts.append(
                {
                    "number": row["number"],
                    "source": source,
                    "name": row["name"],
                    "currency": row["currency"],
                    "credit_limit": row.get("credit_limit"),
                    "payment_terms_days": row.get("payment_terms_days"),
                    "salesforce_account_id": row.get("salesforce_account_id"),
                    "language": row.get("language"),
                    "billing_email": row.get("billing_email"),
                    "source_updated_at": version,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            continue
        if (
            version is not None
            and old.source_updated_at is not None
            and version <= old.source_updated_at
        ):
            result.customers.ignored += 1
            continue
        changes = {
            name: row[name]
            for name in _CUSTOMER_FIELDS
            if name in row and row[name] != getattr(old, name)
        }
        if version is not None and version != old.source_updated_at:
            changes["source_updated_at"] = version
        if not changes:
            result.customers.ignored += 1
            continue
        updates.append((old.id, version, changes))

    ids = {number: found.id for number, found in stored.items()}
    if inserts:
        new_ids = insert_with_ids(session, Customer.__table__, inserts)
        ids.update(zip((row["number"] for row in inserts), new_ids, strict=True))
        result.customer_ids.update(new_ids)
        result.customers.accepted += len(inserts)
    # In id order, the order in which re-assessment locks customers (service.assessments.queue):
    # two transactions that lock rows in one order cannot deadlock.
    table = Customer.__table__
    applied_links: dict[int, str] = {}
    for customer_id, version, changes in sorted(updates, key=lambda update: update[0]):
        # Customers change rarely and each may change different fields; one UPDATE each is fine.
        statement = update(table).where(table.c.id == customer_id)
        if version is not None:
            # Checked again by the UPDATE: a concurrent batch may have stored a newer version
            # since the read above (PostgreSQL re-reads the row once its lock is free).
            statement = statement.where(
                or_(table.c.source_updated_at.is_(None), table.c.source_updated_at < version)
            )
        if session.execute(statement.values(**changes, updated_at=now)).rowcount:
            result.customers.accepted += 1
            result.customer_ids.add(customer_id)
            if changes.get("salesforce_account_id"):
                applied_links[customer_id] = changes["salesforce_account_id"]
        else:
            result.customers.ignored += 1
    # Actions logged on these Accounts before they were linked now count (service.pending_actions).
    links = {ids[row["number"]]: row["salesforce_account_id"] for row in inserts}
    links.update(applied_links)
    attach_pending_actions(session, links)
    return ids


def _closed_on(row: dict, previous_closed_on: date | None) -> date | None:
    """When an item was settled: kept once known, else the day the ERP reported it settled."""
    if row["open_amount"] != 0:
        return None
    return previous_closed_on or row["updated_at"].astimezone(UTC).date()


def _stored_by_source_key(
    session: Session, model: Any, source: str, rows: list[dict], *columns: Any
) -> dict[str, Any]:
    """What is stored for these rows' ``(source, id)`` keys, read in chunks: external id -> row.

    Each row carries ``id``, ``source_updated_at`` (to ignore older versions) and ``columns``.
    """
    stored: dict[str, Any] = {}
    for part in key_chunks(session, [row["id"] for row in rows]):
        statement = select(model.external_id, model.id, model.source_updated_at, *columns).where(
            source_key_in(session, model.source, source, model.external_id, part)
        )
        for found in session.execute(statement):
            stored[found.external_id] = found
    return stored


def _apply_receivables(
    session: Session,
    source: str,
    rows: list[dict],
    customer_ids: dict[str, int],
    now: datetime,
    result: ApplyResult,
) -> None:
    if not rows:
        return
    stored = _stored_by_source_key(
        session, Receivable, source, rows, Receivable.customer_id, Receivable.closed_on
    )

    inserts, updates = [], []
    for row in rows:
        old = stored.get(row["id"])
        customer_id = customer_ids[row["customer"]]
        if old is not None and row["updated_at"] <= old.source_updated_at:
            result.receivables.ignored += 1
            continue
        values = {
            "customer_id": customer_id,
            "kind": row["type"],
            "number": row["number"],
            "issue_date": row["issue_date"],
            "due_date": row["due_date"],
            "currency": row["currency"],
            "amount": row["amount"],
            "open_amount": row["open_amount"],
            "is_open": row["open_amount"] != 0,
            "closed_on": _closed_on(row, old.closed_on if old is not None else None),
            "pay_link": row.get("pay_link"),
            "source_updated_at": row["updated_at"],
            "updated_at": now,
        }
        result.customer_ids.add(customer_id)
        if old is None:
            values.update(source=source, external_id=row["id"], created_at=now)
            inserts.append(values)
        else:
            values["b_id"] = old.id
            updates.append(values)
            result.customer_ids.add(old.customer_id)

    table = Receivable.__table__
    result.new_receivable_ids.update(insert_with_ids(session, table, inserts))
    result.receivable_ids.update(result.new_receivable_ids)
    result.receivable_ids.update(u["b_id"] for u in updates)
    bulk_update(session, table, updates)
    result.receivables.accepted += len(inserts) + len(updates)


def _apply_payments(
    session: Session,
    source: str,
    rows: list[dict],
    customer_ids: dict[str, int],
    now: datetime,
    result: ApplyResult,
) -> None:
    if not rows:
        return
    stored = _stored_by_source_key(session, Payment, source, rows, Payment.customer_id)

    inserts, updates = [], []
    written: dict[str, int] = {}  # the ERP's payment id -> ours, for the rows written
    for row in rows:
        old = stored.get(row["id"])
        version = row.get("updated_at")
        if old is not None and (
            version is None
            or (old.source_updated_at is not None and version <= old.source_updated_at)
        ):
            # A payment is a fact: it changes only when the ERP says, with a newer version, so.
            result.payments.ignored += 1
            continue
        customer_id = customer_ids[row["customer"]]
        values = {
            "customer_id": customer_id,
            "amount": row["amount"],
            "currency": row["currency"],
            "received_at": row["received_at"],
            "status": CONFIRMED,
            "reference": row.get("reference"),
            "source_updated_at": version,
        }
        result.customer_ids.add(customer_id)
        if old is None:
            values.update(source=source, external_id=row["id"], created_at=now)
            inserts.append(values)
        else:
            values["b_id"] = written[row["id"]] = old.id
            updates.append(values)
            result.customer_ids.add(old.customer_id)

    table = Payment.__table__
    new_ids = insert_with_ids(session, table, inserts)
    written.update(zip((row["external_id"] for row in inserts), new_ids, strict=True))
    bulk_update(session, table, updates)
    if updates:
        for part in key_chunks(session, [u["b_id"] for u in updates]):
            session.execute(delete(Allocation).where(key_in(session, Allocation.payment_id, part)))
    result.payments.accepted += len(inserts) + len(updates)
    # A posting of money already announced (Salesforce, Stripe, a bank file) replaces it.
    payment_matching.supersede_provisional(session, sorted(written.values()))

    applied = [row for row in rows if row.get("applied_to") and row["id"] in written]
    if not applied:
        return
    item_ids = receivable_ids(
        session, source, (a["receivable"] for row in applied for a in row["applied_to"])
    )
    allocations = [
        {
            "payment_id": written[row["id"]],
            "receivable_id": item_ids[a["receivable"]],
            "amount": a["amount"],
        }
        for row in applied
        for a in row["applied_to"]
    ]
    bulk_insert(session, Allocation.__table__, allocations)

"""Store a connector's page with the signed feed's validation and writes, record by record.

Each row goes through the feed's loader (``service.feeds.schemas.loader``: the one definition of
a valid row) and its reference checks (``service.feeds.ingest.reference_errors``); a row that
fails is left out and reported with the ERP's id for it, and the others are stored by
``apply_batch`` with their re-assessment requests and Receivable__c pushes, in the caller's
transaction, as the feed and the import do. A row left out can take others with it: the
receivables of a refused customer, the payments applied to a refused receivable; each of those
is reported too, naming what it referred to.

One mapping rule sits here rather than in each connector: a payment's allocation to a receivable
that is neither stored nor in the page (an invoice settled before the connector started) is
dropped, and the payment is stored without it; the report counts those.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.assessments import queue as assessment_queue
from service.connectors.base import Page, Problem, Record
from service.errors import FieldError
from service.feeds.currencies import minor_units
from service.feeds.ingest import apply_batch, receivable_ids, reference_errors
from service.feeds.schemas import KINDS, loader
from service.models import Customer, Receivable
from service.outbox import queue_for_salesforce

# A refusal can cascade (customer -> its receivables -> payments applied to them): at most this
# many rounds of reference checks, one per level.
_ROUNDS = 4


@dataclass
class StoreCounts:
    accepted: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    ignored: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    rejected: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    dropped_allocations: int = 0
    problems: list[Problem] = field(default_factory=list)

    def add(self, other: StoreCounts) -> None:
        for kind in KINDS:
            self.accepted[kind] += other.accepted[kind]
            self.ignored[kind] += other.ignored[kind]
            self.rejected[kind] += other.rejected[kind]
        self.dropped_allocations += other.dropped_allocations
        self.problems.extend(other.problems)


def store_page(session: Session, source: str, page: Page, now: datetime) -> StoreCounts:
    """Validate and write the page's records in ``session``'s transaction; returns what it did."""
    counts = StoreCounts()
    for problem in page.problems:
        counts.rejected[problem.kind] += 1
        counts.problems.append(problem)

    rows: dict[str, list[tuple[Record, dict]]] = {kind: [] for kind in KINDS}
    for record in page.records:
        errors: list[FieldError] = []
        loaded = loader(record.kind).load_one(record.row, record.kind, errors)
        if loaded is None:
            _refuse(counts, record, errors)
            continue
        rows[record.kind].append((record, loaded))

    counts.dropped_allocations = _drop_unknown_allocations(session, source, rows)

    stored_customers: dict[str, int] = {}
    for _ in range(_ROUNDS):
        batch: dict[str, Any] = {"source": source}
        for kind in KINDS:
            batch[kind] = [loaded for _, loaded in rows[kind]]
        errors = reference_errors(session, batch, stored_customers)
        if not errors:
            break
        refused: dict[str, dict[int, list[FieldError]]] = {kind: {} for kind in KINDS}
        for error in errors:
            kind, _, rest = error.path.partition("[")
            index = int(rest.split("]", 1)[0])
            refused[kind].setdefault(index, []).append(error)
        for kind in KINDS:
            for index, found in refused[kind].items():
                _refuse(counts, rows[kind][index][0], found)
            rows[kind] = [r for i, r in enumerate(rows[kind]) if i not in refused[kind]]
    else:  # pragma: no cover - a cascade deeper than customers -> receivables -> payments
        raise RuntimeError("reference checks did not settle")

    result = apply_batch(session, batch, now, stored_customers)
    for kind in KINDS:
        kind_counts = getattr(result, kind)
        counts.accepted[kind] += kind_counts.accepted
        counts.ignored[kind] += kind_counts.ignored
    assessment_queue.request(session, result.customer_ids, now)
    queue_for_salesforce(
        session, (), sorted(result.receivable_ids), new_receivables=result.new_receivable_ids
    )
    return counts


def _refuse(counts: StoreCounts, record: Record, errors: list[FieldError]) -> None:
    counts.rejected[record.kind] += 1
    for error in errors:
        _, _, path = error.path.partition("].") if "]." in error.path else ("", "", "")
        if not path:
            path = error.path.partition(".")[2]
        counts.problems.append(Problem(record.kind, record.source_id, path, error.message))


def _drop_unknown_allocations(
    session: Session, source: str, rows: dict[str, list[tuple[Record, dict]]]
) -> int:
    wanted = {a["receivable"] for _, row in rows["payments"] for a in row.get("applied_to") or ()}
    if not wanted:
        return 0
    known = {row["id"] for _, row in rows["receivables"]}
    known |= set(receivable_ids(session, source, wanted - known))
    dropped = 0
    for _, row in rows["payments"]:
        allocations = row.get("applied_to")
        if not allocations:
            continue
        kept = [a for a in allocations if a["receivable"] in known]
        dropped += len(allocations) - len(kept)
        row["applied_to"] = kept
    return dropped


def stored_customer_currencies(session: Session, numbers: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for start in range(0, len(numbers), 500):
        part = numbers[start : start + 500]
        found.update(
            session.execute(
                select(Customer.number, Customer.currency).where(Customer.number.in_(part))
            ).all()
        )
    return found


def money(amount: Decimal, currency: str) -> str:
    """A stored amount as the feed writes it: the currency's places, no more."""
    return str(amount.quantize(Decimal(1).scaleb(-minor_units(currency))))


def unseen_open_receivables(
    session: Session, source: str, before: datetime, limit: int, after_id: int = 0
) -> list[tuple[int, dict[str, Any]]]:
    """Open receivables of ``source`` not written since ``before``, as feed rows (for closing).

    A full reconciliation rewrites every open item the ERP still lists; what it did not rewrite
    is no longer open in the ERP.
    """
    query = (
        select(Receivable, Customer.number)
        .join(Customer, Customer.id == Receivable.customer_id)
        .where(
            Receivable.source == source,
            Receivable.is_open.is_(True),
            Receivable.source_updated_at < before,
            Receivable.id > after_id,
        )
        .order_by(Receivable.id)
        .limit(limit)
    )
    out = []
    for item, number in session.execute(query):
        out.append(
            (
                item.id,
                {
                    "id": item.external_id,
                    "customer": number,
                    "type": item.kind,
                    "number": item.number,
                    "issue_date": item.issue_date.isoformat(),
                    "due_date": item.due_date.isoformat(),
                    "currency": item.currency,
                    "amount": money(item.amount, item.currency),
                    "open_amount": "0",
                },
            )
        )
    return out

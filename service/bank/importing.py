"""Importing one statement file: read it, store each booked transaction once, hand on the news.

``import_statement`` is what the command line and the signed endpoint both call. The file is
read in full before the database is touched (a file that is not a statement changes nothing),
then one database transaction stores every new booking, links each reversal to what it undoes,
and calls the two hooks the caller passed in, inside that same transaction:

- ``on_credits(session, credits)``: the credits stored by this import, as ``BankCredit`` with
  ``transaction_id`` set; never a duplicate, never a debit, never a reversal;
- ``on_reversal(session, transaction_id)``: once per reversal that undoes a stored *credit*,
  with the id of that credit.

``on_credits`` may return lines for the report (what it matched, what waits for review); they
are printed under "cash application:" and returned as ``cash_application`` by the endpoint.

So cash application sees each credit exactly once, and if a hook fails, nothing of the file is
stored and it can simply be imported again. A concurrent import of an overlapping file makes one
of the two transactions fail on the unique key; it is retried, and then sees the other's rows as
duplicates.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, sessionmaker

from service.bank.reading import read_statement
from service.bank.statement import (
    Check,
    ParsedFile,
    Rejected,
    Transaction,
    canonical_amount,
    money,
    normalise_account,
)
from service.bulk import insert_with_ids
from service.cash_application.bulk_work import Clock, collector_paused, driver_errors_wrapped
from service.cash_application.credit import BankCredit
from service.db import background_writes, roomy_page_cache, settle_writes
from service.models import BankTransaction

log = logging.getLogger(__name__)

OnCredits = Callable[[Session, list[BankCredit]], "Iterable[str] | None"]
OnReversal = Callable[[Session, int], None]
_LOOKUP_CHUNK = 500
_ATTEMPTS = 3


def no_credits(session: Session, credits: list[BankCredit]) -> None:
    """The default ``on_credits``: the credits are stored and nothing else happens."""


def no_reversal(session: Session, transaction_id: int) -> None:
    """The default ``on_reversal``."""


@dataclass
class ImportReport:
    """What one file held and what became of it; ``lines()`` is the command line's report."""

    file: str
    format: str
    encoding: str = "utf-8"
    statements: int = 0
    read: int = 0
    credits: int = 0
    debits: int = 0
    duplicates: int = 0
    not_booked: int = 0
    reversals_linked: int = 0
    reversals_unlinked: list[str] = field(default_factory=list)
    credited: dict[str, Decimal] = field(default_factory=dict)
    rejected: list[Rejected] = field(default_factory=list)
    checks: list[tuple[str, Check]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cash_application: list[str] = field(default_factory=list)
    # Phase -> (wall seconds, CPU seconds of this process): parse, store, cash application.
    seconds: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def checks_failed(self) -> list[tuple[str, Check]]:
        return [(label, check) for label, check in self.checks if not check.ok]

    def lines(self) -> list[str]:
        money = ", ".join(f"{c} {a:,.2f}" for c, a in sorted(self.credited.items())) or "nothing"
        out = [
            f"{self.file}: {self.format} ({self.encoding}), {self.statements} statement(s), "
            f"{self.read} transaction(s) read",
            f"  stored: {self.credits} credit(s) ({money}), {self.debits} debit(s); "
            f"{self.duplicates} duplicate(s) skipped; {self.not_booked} not booked (pending); "
            f"{len(self.rejected)} rejected",
        ]
        if self.reversals_linked or self.reversals_unlinked:
            out.append(
                f"  reversals: {self.reversals_linked} linked to what they undo, "
                f"{len(self.reversals_unlinked)} undo nothing stored"
                + (
                    f" ({', '.join(self.reversals_unlinked[:5])})"
                    if self.reversals_unlinked
                    else ""
                )
            )
        for rejected in self.rejected[:50]:
            out.append(f"  rejected {rejected.position}: {rejected.message}")
        if len(self.rejected) > 50:
            out.append(f"  ... {len(self.rejected) - 50} more rejected")
        failed = self.checks_failed
        if not self.checks:
            out.append("  checks: the file carries no control totals or balances to check")
        elif not failed:
            out.append(f"  checks: all {len(self.checks)} control totals and balances add up")
        else:
            out.append(
                f"  checks: {len(failed)} of {len(self.checks)} do not add up "
                "(the file itself; nothing was guessed):"
            )
            for label, check in failed:
                where = f"{label}: " if label else ""
                out.append(
                    f"    {where}{check.label}: the file says {check.expected}, its transactions "
                    f"give {check.found} (difference {check.difference:+})"
                )
        out.extend(f"  note: {note}" for note in self.notes[:20])
        if self.cash_application:
            out.append("  cash application:")
            out.extend(f"    {line}" for line in self.cash_application)
        return out

    def as_dict(self) -> dict:
        return {
            "file": self.file,
            "format": self.format,
            "encoding": self.encoding,
            "statements": self.statements,
            "read": self.read,
            "stored": {"credits": self.credits, "debits": self.debits},
            "credited": {c: str(a) for c, a in sorted(self.credited.items())},
            "duplicates": self.duplicates,
            "not_booked": self.not_booked,
            "reversals": {
                "linked": self.reversals_linked,
                "unlinked": self.reversals_unlinked,
            },
            "rejected": [{"position": r.position, "message": r.message} for r in self.rejected],
            "checks": [
                {
                    "statement": label,
                    "check": c.label,
                    "expected": str(c.expected),
                    "found": str(c.found),
                    "difference": str(c.difference),
                    "ok": c.ok,
                }
                for label, c in self.checks
            ],
            "notes": self.notes,
            "cash_application": self.cash_application,
        }


def import_statement(
    sessions: sessionmaker,
    data: bytes,
    *,
    name: str,
    now: datetime,
    on_credits: OnCredits = no_credits,
    on_reversal: OnReversal = no_reversal,
) -> ImportReport:
    """Read ``data`` and store it in one transaction (``NotAStatement`` if it is not one)."""
    with collector_paused():
        return _import(sessions, data, name, now, on_credits, on_reversal)


def _import(sessions, data, name, now, on_credits, on_reversal) -> ImportReport:
    parse_clock = Clock()
    parsed = read_statement(data)
    parse_seconds = parse_clock.lap()
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            with (
                sessions.begin() as session,
                roomy_page_cache(session),
                background_writes(session),
            ):
                report = store_statement(
                    session,
                    parsed,
                    name=name,
                    now=now,
                    on_credits=on_credits,
                    on_reversal=on_reversal,
                )
            report.seconds = {"parse": parse_seconds, **report.seconds}
            log.info(
                "bank statement imported",
                extra={
                    "format": report.format,
                    "read": report.read,
                    "credits": report.credits,
                    "debits": report.debits,
                    "duplicates": report.duplicates,
                    "rejected": len(report.rejected),
                    "checks_failed": len(report.checks_failed),
                    "seconds": {
                        phase: round(wall, 3) for phase, (wall, _) in report.seconds.items()
                    },
                },
            )
            return report
        except IntegrityError:
            # Another import stored some of the same transactions first; ours rolled back
            # whole. Again, they are duplicates.
            if attempt == _ATTEMPTS:
                raise
            log.info("bank import raced another import; retrying", extra={"file": name})
    raise AssertionError("unreachable")  # pragma: no cover


def store_statement(
    session: Session,
    parsed: ParsedFile,
    *,
    name: str,
    now: datetime,
    on_credits: OnCredits = no_credits,
    on_reversal: OnReversal = no_reversal,
) -> ImportReport:
    """Store what ``parsed`` holds that is new; the caller commits (or rolls back)."""
    report = ImportReport(
        file=name,
        format=parsed.format,
        encoding=parsed.encoding,
        statements=len(parsed.statements),
        rejected=list(parsed.all_rejected),
        checks=parsed.all_checks,
        notes=[note for s in parsed.statements for note in s.notes],
    )
    clock = Clock()
    candidates: list[Transaction] = []
    for transaction in parsed.transactions:
        report.read += 1
        problem = transaction.problem()
        if problem:
            report.rejected.append(Rejected(transaction.position, problem))
        elif not transaction.booked:
            report.not_booked += 1
        else:
            candidates.append(transaction)
    keys = [t.dedupe_key() for t in candidates]
    known = _stored_keys(session, set(keys))
    new: list[tuple[Transaction, dict]] = []
    for transaction, key in zip(candidates, keys, strict=True):
        if key in known:
            report.duplicates += 1
            continue
        known.add(key)
        new.append((transaction, _values(transaction, key, parsed.format, now)))
    # Set-based, ids allocated first (``service.bulk.insert_with_ids``: ``COPY`` on
    # PostgreSQL, one executemany on SQLite): the unit of work's per-object bookkeeping, and even
    # an ``INSERT ... RETURNING`` whose batches SQLAlchemy splices together one by one, cost more
    # than the rows themselves at 100,000 bookings.
    with driver_errors_wrapped(session):
        ids = insert_with_ids(session, BankTransaction.__table__, [values for _, values in new])

    reversed_credits: list[int] = []
    for (transaction, _), row_id in zip(new, ids, strict=True):
        if not transaction.reversal:
            continue
        row = session.get(BankTransaction, row_id)
        original = _reversed_by(session, row)
        if original is None:
            report.reversals_unlinked.append(transaction.position)
            continue
        row.reverses_id = original.id
        session.flush()
        report.reversals_linked += 1
        if original.direction == "credit":
            reversed_credits.append(original.id)

    credits = []
    for (transaction, values), row_id in zip(new, ids, strict=True):
        if transaction.credit:
            report.credits += 1
            currency = values["currency"]
            report.credited[currency] = money(
                report.credited.get(currency, Decimal(0)) + values["amount"]
            )
            if not transaction.reversal:
                credits.append(_credit(row_id, values))
        else:
            report.debits += 1
    # The hooks hear only of transactions stored: a clash with another import's rows is
    # raised here, before anyone is told.
    settle_writes(session)
    report.seconds["store"] = clock.lap()
    if credits:
        said = on_credits(session, credits)
        report.cash_application = [str(line) for line in said or ()]
    for transaction_id in reversed_credits:
        on_reversal(session, transaction_id)
    if credits or reversed_credits:
        report.seconds["cash application"] = clock.lap()
    return report


def _stored_keys(session: Session, keys: Iterable[str]) -> set[str]:
    keys = sorted(keys)
    found: set[str] = set()
    for start in range(0, len(keys), _LOOKUP_CHUNK):
        chunk = keys[start : start + _LOOKUP_CHUNK]
        found.update(
            session.scalars(
                select(BankTransaction.dedupe_key).where(BankTransaction.dedupe_key.in_(chunk))
            )
        )
    return found


def _values(transaction: Transaction, key: str, source_format: str, now: datetime) -> dict:
    return dict(
        dedupe_key=key,
        account=normalise_account(transaction.account, transaction.currency),
        currency=transaction.currency,
        # One spelling per amount, so SQLite (which keeps money as text) compares them equal.
        amount=Decimal(canonical_amount(transaction.amount)),
        direction=transaction.direction,
        booking_date=transaction.booking_date,
        value_date=transaction.value_date,
        bank_reference=transaction.bank_reference,
        end_to_end_id=transaction.end_to_end_id,
        payer_name=transaction.payer_name,
        payer_iban=transaction.payer_iban,
        remittance=transaction.remittance,
        references=list(transaction.references),
        reversal=transaction.reversal,
        source_format=source_format[:40],
        position=transaction.position[:255],
        imported_at=now,
        reverses_id=None,
    )


def _reversed_by(session: Session, reversal: BankTransaction) -> BankTransaction | None:
    """What ``reversal`` undoes: same account, currency and amount, the other direction, booked
    on or before it, not a reversal itself and not undone already; one naming the same reference
    first, else the latest."""
    undone = aliased(BankTransaction)
    candidates = session.scalars(
        select(BankTransaction)
        .where(
            BankTransaction.account == reversal.account,
            BankTransaction.currency == reversal.currency,
            BankTransaction.amount == reversal.amount,
            BankTransaction.direction != reversal.direction,
            BankTransaction.reversal.is_(False),
            BankTransaction.booking_date <= reversal.booking_date,
            ~exists().where(undone.reverses_id == BankTransaction.id),
        )
        .order_by(BankTransaction.booking_date.desc(), BankTransaction.id.desc())
        .limit(50)
    ).all()
    references = {r for r in (reversal.bank_reference, reversal.end_to_end_id) if r}
    for candidate in candidates:
        if references & {candidate.bank_reference, candidate.end_to_end_id}:
            return candidate
    return candidates[0] if candidates else None


def _credit(transaction_id: int, values: dict) -> BankCredit:
    return BankCredit(
        transaction_id=transaction_id,
        account=values["account"],
        bank_reference=values["bank_reference"],
        end_to_end_id=values["end_to_end_id"],
        amount=money(values["amount"]),
        currency=values["currency"],
        booking_date=values["booking_date"],
        value_date=values["value_date"],
        payer_name=values["payer_name"],
        payer_iban=values["payer_iban"],
        remittance=values["remittance"],
        references=tuple(values["references"]),
    )

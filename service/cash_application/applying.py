"""Bank credits applied as in-flight cash, inside the caller's transaction.

``apply_credits`` matches each credit against the open book (``matching``) and records one
``CashApplication`` per bank transaction: a credit seen before changes nothing. An automatic
match, or a candidate a person chose in Salesforce (``apply_candidate``), becomes one
provisional ``Payment`` per customer paid (source ``bank``), allocated to the invoices, the
rest unapplied cash, exactly as a card payment (``service.card_payments.in_flight``):

* the customer is re-assessed in the same transaction and its Account queued for Salesforce;
* the ERP posting the same money supersedes it (``service.payment_matching``, from either side:
  a posting already there supersedes it at once). The provisional payment carries no reference,
  so the ERP's posting is recognised by customer, currency, amount and date whatever reference
  the ERP writes on it;
* ``reverse_credit`` (the bank took the credit back) reverses it: the customer is where it was.

Credits below the threshold wait for review (``IN_REVIEW``) with their candidates, queued to
Salesforce as ``Bank_Credit_Review__c``; credits with no candidate at all are ``unmatched``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import ARRAY, Integer, String, any_, bindparam, literal, select, text
from sqlalchemy.orm import Session

from service import outbox, payment_matching
from service.assessments import queue as assessment_queue
from service.assessments import reassess
from service.bulk import (
    allocate_ids,
    bulk_insert,
    insert_with_ids,
    key_chunks,
    key_in,
    sqlite_insert_rows,
)
from service.cash_application import matching
from service.cash_application import references as refs
from service.cash_application.bulk_work import Clock, collector_paused, driver_errors_wrapped
from service.cash_application.credit import BankCredit
from service.cash_application.matching import Allocation, Candidate, OpenBook, OpenItem
from service.credit import Policy
from service.credit.money import MAX_AMOUNT, cents
from service.db import utcnow
from service.models import (
    APPLIED,
    CONFIRMED,
    IN_REVIEW,
    INVOICE,
    PROVISIONAL,
    REVERSED,
    REVERSED_CREDIT,
    SUPERSEDED,
    UNMATCHED_CREDIT,
    CardPayment,
    CashApplication,
    CashApplicationPayment,
    Customer,
    KnownPayer,
    OutboxMessage,
    Payment,
    Receivable,
)
from service.models import Allocation as AllocationRow
from service.paylinks import PATH as PAY_PATH
from service.paylinks import link_id

SOURCE = "bank"
REVIEW_TARGET = "Bank_Credit_Review__c:"  # as service.salesforce.reviews.TARGET
REVIEW_KIND = "bank_credit_review"
AUTOMATIC = "automatic"
BY_PERSON = "salesforce"
ZERO = Decimal(0)
_DIGIT_RUNS = re.compile(r"[0-9]+")
# Up to this many customers paid by one batch are re-assessed in the import's own transaction
# (the HOLD lifts as it commits); more are queued for the worker's assessor, which re-assesses
# them within seconds of the commit instead of holding the import (and SQLite's write lock).
INLINE_REASSESS = 1_000


def review_target(application_id: int) -> str:
    return f"{REVIEW_TARGET}{application_id}"


@dataclass
class ApplyReport:
    """What ``apply_credits`` did, per credit (transaction id -> outcome) and in total."""

    outcomes: dict[int, str] = field(default_factory=dict)
    applied: int = 0
    review: int = 0
    unmatched: int = 0
    duplicate: int = 0
    customers: set[int] = field(default_factory=set)
    # Phase -> (wall seconds, CPU seconds): book (the open items read), match, write, reassess.
    seconds: dict[str, tuple[float, float]] = field(default_factory=dict)

    def count(self, transaction_id: int, outcome: str) -> None:
        self.outcomes[transaction_id] = outcome
        setattr(self, outcome, getattr(self, outcome) + 1)


# -- the open book, read once per batch ----------------------------------------------------------


def in_flight_by_item(
    session: Session, item_ids: Iterable[int] | None = None
) -> dict[int, Decimal]:
    """What provisional payments already allocate to each open item (counted off its open
    amount, as the credit engine does)."""
    query = (
        select(AllocationRow.receivable_id, AllocationRow.amount)
        .join(Payment, Payment.id == AllocationRow.payment_id)
        .where(Payment.status == PROVISIONAL)
    )
    if item_ids is not None:
        query = query.where(key_in(session, AllocationRow.receivable_id, sorted(set(item_ids))))
    out: dict[int, Decimal] = {}
    for rid, amount in session.execute(query):
        out[rid] = out.get(rid, ZERO) + amount
    return out


def pay_links(session: Session) -> list[tuple[str, int, list[int]]]:
    """(link id, customer, receivables) of the pay links we know: those card payments came
    through, and those on open receivables (the feed's ``pay_link``)."""
    found: dict[str, tuple[int, list[int]]] = {}
    cards = session.execute(
        select(CardPayment.pay_link, CardPayment.customer_id, CardPayment.receivables).where(
            CardPayment.pay_link.is_not(None), CardPayment.customer_id.is_not(None)
        )
    ).all()
    wanted = {ext for _, _, exts in cards for ext in exts or ()}
    ids: dict[tuple[int, str], int] = {}
    if wanted:
        for rid, cid, ext in session.execute(
            select(Receivable.id, Receivable.customer_id, Receivable.external_id).where(
                Receivable.external_id.in_(sorted(wanted))
            )
        ):
            ids[(cid, ext)] = rid
    for link, cid, exts in cards:
        items = [ids[(cid, e)] for e in exts or () if (cid, e) in ids]
        found.setdefault(link.lower(), (cid, []))[1].extend(items)
    for rid, cid, url in session.execute(
        select(Receivable.id, Receivable.customer_id, Receivable.pay_link).where(
            Receivable.is_open.is_(True), Receivable.pay_link.is_not(None)
        )
    ):
        token = url.rsplit(PAY_PATH, 1)[-1].split("?", 1)[0]
        if token:
            found.setdefault(link_id(token), (cid, []))[1].append(rid)
    return [(link, cid, items) for link, (cid, items) in found.items()]


def load_book(
    session: Session, currencies: Iterable[str], credits: Sequence[BankCredit] = ()
) -> OpenBook:
    """The open invoices in these currencies, less what is in flight, and the payers known.

    With ``credits``, only what they can pay is read in full: every open invoice's number is
    read (keys are not stored in the database) but only those the credits' words can name are
    indexed, and the items read are those of the customers named so and of the customers the
    payers and our references point at; any other customer's items are read when matching
    first asks for them (a payer's name like a customer's). Without, the whole open book.
    Pay links are read only when a credit names one.
    """
    currencies = sorted(set(currencies))
    customers = _plain_rows(session, select(Customer.id, Customer.number, Customer.name))
    payers = _plain_rows(session, select(KnownPayer.kind, KnownPayer.value, KnownPayer.customer_id))
    links = pay_links(session) if any(matching.names_a_pay_link(c) for c in credits) else []
    book = OpenBook().knowing(customers, payers, links)
    open_invoices = (
        Receivable.is_open.is_(True),
        Receivable.kind == INVOICE,
        Receivable.currency.in_(currencies),
    )
    if not credits:
        book.add_items(_open_items(session, open_invoices, in_flight_by_item(session)))
        return book
    wanted = matching.wanted_keys(credits, book.texts)
    named: set[int] = set()
    owners: set[int] = set()
    numbers = select(Receivable.id, Receivable.customer_id, Receivable.number).where(*open_invoices)
    last_parts = {key.rpartition(".")[2] for key in wanted}
    for rid, cid, number in _streamed_rows(session, numbers):
        if _may_be_named(number, last_parts, wanted):
            _full, digits, concat = refs.keys(number)
            if digits in wanted or concat in wanted:
                named.add(rid)
                owners.add(cid)
    owners |= matching.customers_pointed_at(credits, book)
    flying = in_flight_by_item(session)
    for part in key_chunks(session, sorted(owners)):
        # Not key_in: a batch's customers are a good share of the book, read best by one
        # filter over the rows (docs/adr/0021).
        where = (*open_invoices, _any_of(session, Receivable.customer_id, part))
        book.add_items(_open_items(session, where, flying), indexed=named)
    book.loaded = owners

    def loader(customer_ids: list[int]) -> list[OpenItem]:
        where = (*open_invoices, Receivable.customer_id.in_(customer_ids))
        return list(_open_items(session, where, flying))

    book.loader = loader
    return book


def _may_be_named(number: str, last_parts: set[str], wanted: set[str]) -> bool:
    """Whether a number's keys can be among ``wanted``, checked cheaper than keying it: its digit
    key ends in its last digit run (leading zeros dropped), its run-together key is all its
    digits (``references.keys``)."""
    runs = _DIGIT_RUNS.findall(number)
    if not runs:
        return False
    return (runs[-1].lstrip("0") or "0") in last_parts or "".join(runs).lstrip("0") in wanted


def _any_of(session: Session, column, values: list[int]):
    """``column IN (values)``: one array parameter on PostgreSQL (``= ANY``), a list on SQLite."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(literal(list(values), ARRAY(Integer)))
    return column.in_(values)


def _plain_rows(session: Session, statement) -> list[tuple]:
    """A query's rows as the driver gives them, for columns that need no conversion or are
    converted by the caller: a million rows through SQLAlchemy's result objects cost more than
    the query. The statement itself goes through SQLAlchemy (its compiled cache, parameters)."""
    result = session.connection().execute(statement)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


def _streamed_rows(session: Session, statement, size: int = 20_000) -> Iterator[tuple]:
    """``_plain_rows``, fetched ``size`` at a time: a scan of every open invoice is read once
    and mostly dropped, and a list of all its rows would be the import's largest object."""
    result = session.connection().execute(statement)
    try:
        while rows := result.cursor.fetchmany(size):
            yield from rows
    finally:
        result.close()


def _open_items(session: Session, where, flying: dict[int, Decimal]) -> list[OpenItem]:
    """Open items as matching sees them: the open amount less what is in flight."""
    statement = select(
        Receivable.id,
        Receivable.customer_id,
        Receivable.number,
        Receivable.currency,
        Receivable.open_amount,
        Receivable.due_date,
        Receivable.amount,
        Receivable.external_id,
    ).where(*where)
    if session.get_bind().dialect.name == "postgresql":
        rows: Iterable = session.execute(statement)
        as_decimal, as_date = _same, _same
    else:
        # SQLite keeps money and dates as text (``service.db.Money``, ISO dates): read plainly
        # and converted here, a fraction of SQLAlchemy's per-value processing.
        rows, as_decimal, as_date = _plain_rows(session, statement), Decimal, date.fromisoformat
    out = []
    # A book's items share a few currencies and due dates, and most are still open in full:
    # one object each for those (a book of half a million items is a large share of an
    # import's memory and time).
    currencies: dict[str, str] = {}
    dates: dict[Any, date] = {}
    for rid, cid, number, cur, open_amount, due, amount, external_id in rows:
        left = as_decimal(open_amount)
        whole = left if amount == open_amount else as_decimal(amount)
        if rid in flying:
            left -= flying[rid]
        if (due_date := dates.get(due)) is None:
            due_date = dates[due] = as_date(due)
        currency = currencies.setdefault(cur, cur)
        out.append(OpenItem(rid, cid, number, currency, left, due_date, whole, external_id))
    return out


def _same(value: Any) -> Any:
    return value


# -- applying ------------------------------------------------------------------------------------


def _received_at(day: date) -> datetime:
    # Noon UTC: the booking day in every time zone the ERP may post it in.
    return datetime.combine(day, time(12), UTC)


def _learn(
    session: Session,
    plans: Sequence[tuple[Any, Candidate]],
    texts: matching.TextReadings | None = None,
) -> None:
    """Remember each applied credit's payer IBAN and name for the customers it paid (compared
    through ``texts``, the batch's readings, where given)."""
    texts = texts or matching.TextReadings()
    seen: dict[tuple[str, str, int], int] = {}
    for app, candidate in plans:
        for kind, value in (
            ("iban", texts.iban(app.payer_iban)),
            ("name", texts.name(app.payer_name)),
        ):
            if value:
                for cid in candidate.customers:
                    key = (kind, value[:255], cid)
                    seen[key] = seen.get(key, 0) + 1
    if not seen:
        return
    now = utcnow()
    rows = [(kind, value, cid, count) for (kind, value, cid), count in sorted(seen.items())]
    table = KnownPayer.__table__
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        # SQLite: the same upsert as one executemany of plain tuples, the instant formatted
        # once (SQLAlchemy's per-row parameter handling cost more than the upserts).
        stamp = table.c.last_seen_at.type.dialect_impl(dialect).bind_processor(dialect)(now)
        sqlite_insert_rows(
            session,
            "INSERT INTO known_payers (kind, value, customer_id, seen, last_seen_at) VALUES",
            [(*row, stamp) for row in rows],
            " ON CONFLICT (kind, value, customer_id) DO UPDATE"
            " SET seen = seen + excluded.seen, last_seen_at = excluded.last_seen_at",
        )
        return
    # PostgreSQL: one statement over four arrays, whatever the number of payers (an executemany
    # is a statement per row for the server).
    statement = text(
        "INSERT INTO known_payers (kind, value, customer_id, seen, last_seen_at)"
        " SELECT k, v, c, n, :now FROM unnest(:kinds, :vals, :customers, :counts) AS p(k, v, c, n)"
        " ON CONFLICT (kind, value, customer_id) DO UPDATE"
        " SET seen = known_payers.seen + excluded.seen, last_seen_at = excluded.last_seen_at"
    ).bindparams(
        bindparam("kinds", [r[0] for r in rows], type_=ARRAY(String)),
        bindparam("vals", [r[1] for r in rows], type_=ARRAY(String)),
        bindparam("customers", [r[2] for r in rows], type_=ARRAY(Integer)),
        bindparam("counts", [r[3] for r in rows], type_=ARRAY(Integer)),
        bindparam("now", now, type_=table.c.last_seen_at.type),
    )
    session.execute(statement)


def _still_open(
    session: Session, plans: Sequence[tuple[CashApplication, Candidate]]
) -> list[tuple[CashApplication, Candidate]]:
    """Each allocation cut to what is open now, the rest unapplied on its customer.

    Read with the customers locked: a credit applied by another transaction since the book was
    read (two imports at once) is seen, and no invoice is paid twice.
    """
    ids = sorted({a.item_id for _, c in plans for a in c.allocations})
    if not ids:
        return list(plans)
    flying: dict[int, Decimal] = {}
    opens: dict[int, Decimal] = {}
    for part in key_chunks(session, ids):
        flying.update(in_flight_by_item(session, part))
        opens.update(
            session.execute(
                select(Receivable.id, Receivable.open_amount).where(
                    key_in(session, Receivable.id, part)
                )
            ).all()
        )
    left = {rid: amount - flying.get(rid, ZERO) for rid, amount in opens.items()}
    out = []
    for app, candidate in plans:
        kept: list[Allocation] = []
        extra: dict[int, Decimal] = {}
        for a in candidate.allocations:
            take = max(ZERO, min(a.amount, left.get(a.item_id, ZERO)))
            left[a.item_id] = left.get(a.item_id, ZERO) - take
            if take > 0:
                kept.append(Allocation(a.item_id, a.customer_id, take))
            if take < a.amount:
                extra[a.customer_id] = extra.get(a.customer_id, ZERO) + a.amount - take
        if extra:
            unapplied = dict(candidate.unapplied)
            for cid, amount in extra.items():
                unapplied[cid] = unapplied.get(cid, ZERO) + amount
            candidate = replace(
                candidate, allocations=tuple(kept), unapplied=tuple(unapplied.items())
            )
        out.append((app, candidate))
    return out


def _postings(
    session: Session, customers: Sequence[int], payments: Sequence[dict[str, Any]]
) -> dict[int, list[payment_matching.PaymentFacts]]:
    """The ERP payments not yet superseding anything that could be these payments' postings
    (``payment_matching.confirmation_of``, for a whole batch in one read per chunk)."""
    if not payments:
        return {}
    low = min(p["received_at"] for p in payments) - payment_matching.MATCH_WINDOW
    high = max(p["received_at"] for p in payments) + payment_matching.MATCH_WINDOW
    claimed = select(Payment.superseded_by_id).where(Payment.superseded_by_id.is_not(None))
    found: dict[int, list[payment_matching.PaymentFacts]] = {}
    for part in key_chunks(session, customers):
        for row in session.scalars(
            select(Payment).where(
                key_in(session, Payment.customer_id, part),
                Payment.status == CONFIRMED,
                Payment.id.not_in(claimed),
                Payment.received_at.between(low, high),
            )
        ):
            found.setdefault(row.customer_id, []).append(
                payment_matching.PaymentFacts(
                    row.id,
                    row.customer_id,
                    row.amount,
                    row.currency,
                    row.received_at,
                    row.reference,
                )
            )
    return found


def _write(session: Session, plans: Sequence[tuple[Any, Candidate]]) -> tuple[set[int], set[int]]:
    """One provisional payment per customer of each applied candidate, linked to its stored
    application; returns (customers, receivables) moved (``_write_payments``)."""
    customers, touched, links = _write_payments(session, plans)
    _insert_links(session, links)
    return customers, touched


def _insert_links(session: Session, links: list[dict[str, int]]) -> None:
    """The ``cash_application_payments`` rows ``_write_payments`` returned (their applications
    must be stored first)."""
    bulk_insert(session, CashApplicationPayment.__table__, links)


def _write_payments(
    session: Session,
    plans: Sequence[tuple[Any, Candidate]],
    numbers: dict[int, str] | None = None,
    *,
    book_current: bool = False,
    texts: matching.TextReadings | None = None,
) -> tuple[set[int], set[int], list[dict[str, int]]]:
    """One provisional payment per customer of each applied candidate, with its allocations,
    and the payers learned; returns (customers, receivables) moved and the rows linking each
    application to its payments, for ``_insert_links`` once the applications are stored.

    ``plans`` pair an application (its ``id``, ``currency``, ``booking_date``, ``payer_iban``
    and ``payer_name``; it need not be stored yet) with the candidate applied; ``numbers`` are
    customer numbers known already, ``texts`` the batch's readings of payers' names and IBANs.
    ``book_current``: the candidates were matched against a book read in this very transaction
    on SQLite, whose write lock it has held since its first statement, so nothing can have been
    paid since and the open amounts need no second read.

    Set-based (``service.bulk``): payments with their ids allocated first, then their
    allocations in one insert, not one ORM object each (docs/adr/0021).
    """
    customers = sorted({cid for _, c in plans for cid in c.customers})
    payment_matching.lock_customers(session, customers)
    if not book_current:
        plans = _still_open(session, plans)
    known = numbers or {}
    numbers = {cid: known[cid] for cid in customers if cid in known}
    numbers.update(customer_numbers(session, [cid for cid in customers if cid not in numbers]))
    now = utcnow()
    payments: list[dict[str, Any]] = []
    allocations: list[tuple[int, int, Decimal]] = []  # (payment's index, receivable, amount)
    links: list[tuple[int, int, int]] = []  # (application, customer, payment's index)
    touched: set[int] = set()
    for app, candidate in plans:
        for cid in candidate.customers:
            amount = candidate.amount_of(cid)
            if amount <= 0:
                continue
            index = len(payments)
            payments.append(
                {
                    "source": SOURCE,
                    "external_id": f"ca-{app.id}/{numbers[cid]}"[:120],
                    "customer_id": cid,
                    "amount": amount,
                    "currency": app.currency,
                    "received_at": _received_at(app.booking_date),
                    "status": PROVISIONAL,
                    "reference": None,
                    "superseded_by_id": None,
                    "created_at": now,
                }
            )
            for a in candidate.allocations:
                if a.customer_id == cid:
                    allocations.append((index, a.item_id, a.amount))
                    touched.add(a.item_id)
            links.append((app.id, cid, index))
    # The ERP may have posted some already: then they are recorded but never counted.
    postings = _postings(session, customers, payments)
    for payment in payments:
        facts = payment_matching.PaymentFacts(
            0,
            payment["customer_id"],
            payment["amount"],
            payment["currency"],
            payment["received_at"],
            None,
        )
        match = payment_matching.best_match(facts, postings.get(payment["customer_id"], ()))
        if match is not None:
            postings[payment["customer_id"]].remove(match)
            payment["status"], payment["superseded_by_id"] = SUPERSEDED, match.id
    # Pending ORM changes first (a person's choice updates its application): the rows below
    # go straight to the database.
    session.flush()
    ids = insert_with_ids(session, Payment.__table__, payments)
    bulk_insert(
        session,
        AllocationRow.__table__,
        [
            {"payment_id": ids[index], "receivable_id": rid, "amount": amount}
            for index, rid, amount in allocations
        ],
    )
    _learn(session, plans, texts)
    link_rows = [
        {"cash_application_id": app_id, "customer_id": cid, "payment_id": ids[index]}
        for app_id, cid, index in links
    ]
    return set(customers), touched, link_rows


# The stored payer's columns' sizes (``CashApplication``).
PAYER_NAME_SIZE = 255
PAYER_IBAN_SIZE = 64


def _text(value: str | None, size: int) -> str | None:
    """As stored: no NUL characters (PostgreSQL's text cannot hold them), at most ``size``."""
    text = (value or "").replace("\x00", "")[:size]
    return text or None


def _record(
    credit: BankCredit, match: matching.Match, described: list[dict], now: datetime
) -> dict[str, Any]:
    """The ``cash_applications`` row of one matched credit (every column: rows go in set-based)."""
    best = match.best
    return {
        "transaction_id": credit.transaction_id,
        "account": _text(credit.account, 80) or "",
        "bank_reference": _text(credit.bank_reference, 255),
        "end_to_end_id": _text(credit.end_to_end_id, 255),
        "amount": credit.amount,
        "currency": credit.currency.upper(),
        "booking_date": credit.booking_date,
        "payer_name": _text(credit.payer_name, PAYER_NAME_SIZE),
        "payer_iban": _text(credit.payer_iban, PAYER_IBAN_SIZE),
        "remittance": _text(credit.remittance, 100_000) or "",
        "references": [r for r in (_text(r, 255) for r in credit.references) if r],
        "status": APPLIED if match.automatic else (IN_REVIEW if best else UNMATCHED_CREDIT),
        "evidence": best.evidence if best else None,
        "confidence": best.confidence if best else None,
        "reason": best.reason if best else "no open item or known payer matches this credit",
        "candidates": described,
        "decided_by": AUTOMATIC if match.automatic else None,
        "salesforce_id": None,
        "created_at": now,
        "updated_at": now,
    }


@dataclass(frozen=True)
class _Stored:
    """What applying needs of a stored application (the ORM row serves as well)."""

    id: int
    currency: str
    booking_date: date
    payer_iban: str | None
    payer_name: str | None


def _queue_reviews(session: Session, application_ids: Sequence[int], now: datetime) -> None:
    """One ``Bank_Credit_Review__c`` push per application, as ``outbox.enqueue`` writes it."""
    bulk_insert(
        session,
        OutboxMessage.__table__,
        [
            {
                "kind": REVIEW_KIND,
                "target": review_target(app_id),
                "payload": {},
                "status": outbox.PENDING,
                "attempts": 0,
                "available_at": now,
                "created_at": now,
            }
            for app_id in application_ids
        ],
    )


def _kept_candidates(match: matching.Match) -> tuple[Candidate, ...]:
    """The candidates stored with a credit: all of them for one a person will see (review,
    unmatched), only the one applied for an automatic application. Nobody chooses among an
    applied credit's candidates (``apply_candidate`` takes only credits waiting for review, and
    no review record is made for it), and describing every reading of 90,000 applied credits
    would be a large share of writing a big statement (docs/adr/0021)."""
    if match.automatic and match.best is not None:
        return (match.best,)
    return match.candidates


def _names(
    session: Session, kept: Sequence[Sequence[Candidate]], book: OpenBook
) -> tuple[dict[int, tuple[str, str]], dict[int, str]]:
    """ERP id and number of every item, and number of every customer, the candidates name:
    from the book where it read them, else from the database."""
    items: dict[int, tuple[str, str]] = {}
    numbers: dict[int, str] = {}
    item_ids: set[int] = set()
    customer_ids: set[int] = set()
    for candidates in kept:
        for candidate in candidates:
            for a in candidate.allocations:
                item = book.items.get(a.item_id)
                if item is not None and item.external_id is not None:
                    items[a.item_id] = (item.external_id, item.number)
                else:
                    item_ids.add(a.item_id)
            for cid in candidate.customers:
                if (number := book.numbers.get(cid)) is not None:
                    numbers[cid] = number
                else:
                    customer_ids.add(cid)
    for part in key_chunks(session, sorted(item_ids)):
        for rid, ext, number in session.execute(
            select(Receivable.id, Receivable.external_id, Receivable.number).where(
                key_in(session, Receivable.id, part)
            )
        ):
            items[rid] = (ext, number)
    numbers.update(customer_numbers(session, customer_ids))
    return items, numbers


def customer_numbers(session: Session, customer_ids: Iterable[int]) -> dict[int, str]:
    numbers: dict[int, str] = {}
    for part in key_chunks(session, sorted(set(customer_ids))):
        query = select(Customer.id, Customer.number).where(key_in(session, Customer.id, part))
        numbers.update(session.execute(query).all())
    return numbers


def _describe(
    candidates: Sequence[Candidate], items: dict[int, tuple[str, str]], numbers: dict[int, str]
) -> list[dict[str, Any]]:
    """Candidates as stored and shown: customers by number, items by ERP id and number."""
    return [
        {
            "number": n,
            "evidence": c.evidence,
            "confidence": c.confidence,
            "reason": c.reason,
            "allocations": [
                {
                    "customer_id": a.customer_id,
                    "customer": numbers.get(a.customer_id),
                    "receivable_id": a.item_id,
                    "receivable": items.get(a.item_id, (None, None))[0],
                    "document_number": items.get(a.item_id, (None, None))[1],
                    "amount": str(cents(a.amount)),
                }
                for a in c.allocations
            ],
            "unapplied": [
                {"customer_id": cid, "customer": numbers.get(cid), "amount": str(cents(amount))}
                for cid, amount in c.unapplied
            ],
        }
        for n, c in enumerate(candidates, start=1)
    ]


class BadCredit(ValueError):
    """A credit that cannot be applied as given; nothing of its batch is written."""


def check(credit: BankCredit) -> None:
    """Refuse, with the transaction named, what no bank credit can be."""
    where = f"bank transaction {credit.transaction_id}"
    if credit.transaction_id is None:
        raise BadCredit("a credit is applied only once it is stored (transaction_id)")
    amount = credit.amount
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        raise BadCredit(f"{where}: the amount must be a positive decimal, not {amount!r}")
    if amount > MAX_AMOUNT or amount.as_tuple().exponent < -4:
        raise BadCredit(f"{where}: the amount {amount} is too large or too precise")
    currency = credit.currency or ""
    if not (len(currency) == 3 and currency.isascii() and currency.isalpha()):
        raise BadCredit(f"{where}: the currency must be an ISO 4217 code, not {currency!r}")


def apply_credits(
    session: Session,
    credits: Sequence[BankCredit],
    *,
    threshold: int = matching.DEFAULT_THRESHOLD,
    as_of: date | None = None,
    policy: Policy | None = None,
    book: OpenBook | None = None,
) -> ApplyReport:
    """Match and apply these credits in the caller's transaction; returns what happened.

    Each credit needs its stored ``transaction_id``, a positive amount and an ISO currency
    (``BadCredit`` otherwise, before anything is written). A transaction applied before is
    counted as ``duplicate`` and left alone. The customers paid are re-assessed once at the end and their
    Accounts (and the invoices' Receivable__c) queued for Salesforce.
    """
    with collector_paused():
        return _apply_credits(session, credits, threshold, as_of, policy, book)


def _apply_credits(session, credits, threshold, as_of, policy, book) -> ApplyReport:
    for credit in credits:
        check(credit)
    clock = Clock()
    report = ApplyReport()
    fresh: list[BankCredit] = []
    seen: set[int] = set()
    known: set[int] = set()
    ids = sorted({c.transaction_id for c in credits if c.transaction_id is not None})
    for part in key_chunks(session, ids):  # a parameter each would pass PostgreSQL's 65,535
        known.update(
            session.scalars(
                select(CashApplication.transaction_id).where(
                    key_in(session, CashApplication.transaction_id, part)
                )
            )
        )
    for credit in credits:
        if credit.transaction_id in known or credit.transaction_id in seen:
            report.count(credit.transaction_id, "duplicate")
            continue
        seen.add(credit.transaction_id)
        fresh.append(credit)
    if not fresh:
        return report
    # SQLite: this transaction has held the write lock since its first statement (BEGIN
    # IMMEDIATE, service.db), so a book it reads itself stays current to the end.
    book_current = book is None and session.get_bind().dialect.name == "sqlite"
    if book is None:
        book = load_book(session, {c.currency.upper() for c in fresh}, fresh)
    report.seconds["book"] = clock.lap()
    # Matched in memory first, each applied one booked off the book for the next credit.
    matches = []
    for credit in fresh:
        if not credit.currency.isupper():
            credit = replace(credit, currency=credit.currency.upper())
        found = matching.match(credit, book, threshold)
        if found.automatic and found.best is not None:
            book.take(found.best)
            for cid in found.best.customers:
                book.learn_payer(cid, credit)
        matches.append(found)
    report.seconds["match"] = clock.lap()
    session.flush()  # anything pending goes first: the rows below go straight to the database
    # Ids first, then the payments (queued on SQLite's background writer, when the import runs
    # one) while the applications' rows are described, then the applications and the links
    # to their payments (docs/adr/0021).
    app_ids = allocate_ids(session, CashApplication.__table__, len(matches))
    plans: list[tuple[Any, Candidate]] = []
    for app_id, found in zip(app_ids, matches, strict=True):
        if found.automatic and found.best is not None:
            credit = found.credit
            stored = _Stored(
                app_id,
                credit.currency.upper(),
                credit.booking_date,
                _text(credit.payer_iban, PAYER_IBAN_SIZE),
                _text(credit.payer_name, PAYER_NAME_SIZE),
            )
            plans.append((stored, found.best))
    customers, receivables, links = (
        _write_payments(session, plans, book.numbers, book_current=book_current, texts=book.texts)
        if plans
        else (set(), set(), [])
    )
    kept = [_kept_candidates(m) for m in matches]
    items, numbers = _names(session, kept, book)
    now = utcnow()
    rows = [
        _record(m.credit, m, _describe(candidates, items, numbers), now)
        for m, candidates in zip(matches, kept, strict=True)
    ]
    for row, app_id in zip(rows, app_ids, strict=True):
        row["id"] = app_id
    with driver_errors_wrapped(session):
        bulk_insert(session, CashApplication.__table__, rows)
    _insert_links(session, links)
    reviews: list[int] = []
    for row, found in zip(rows, matches, strict=True):
        if found.automatic and found.best is not None:
            report.count(row["transaction_id"], "applied")
        else:
            reviews.append(row["id"])
            outcome = "review" if row["status"] == IN_REVIEW else "unmatched"
            report.count(row["transaction_id"], outcome)
    _queue_reviews(session, reviews, now)
    report.customers |= customers
    report.seconds["write"] = clock.lap()
    if report.customers:
        ids = sorted(report.customers)
        if len(ids) <= INLINE_REASSESS:
            reassess(session, ids, as_of or utcnow().date(), policy)
            outbox.queue_for_salesforce(session, ids, sorted(receivables))
        else:
            # A big statement: the worker's assessor re-assesses them after the commit and
            # queues their Accounts (docs/adr/0003); the receivables are queued here.
            assessment_queue.request(session, ids, now)
            outbox.queue_for_salesforce(session, (), sorted(receivables))
    report.seconds["reassess"] = clock.lap()
    return report


# -- a person's choice, and the bank's reversal ----------------------------------------------------


class NotApplicable(Exception):
    """The application cannot take this decision (unknown, not waiting, no such candidate)."""


def apply_candidate(
    session: Session,
    application: CashApplication,
    number: int,
    *,
    as_of: date | None = None,
    policy: Policy | None = None,
    reassess_now: bool = True,
) -> tuple[set[int], set[int]]:
    """Apply candidate ``number`` (1-based) of a credit waiting for review, as a person chose.

    The candidate's invoices are paid up to what is open now (another credit may have paid some
    since), the rest is unapplied cash on its customers. Returns (customers, receivables) moved,
    re-assessed and queued unless ``reassess_now`` is false (the caller batches that).
    """
    if application.status != IN_REVIEW:
        raise NotApplicable(
            f"cash application {application.id} is {application.status}, not waiting for review"
        )
    chosen = next((c for c in application.candidates if c.get("number") == number), None)
    if chosen is None:
        raise NotApplicable(f"cash application {application.id} has no candidate {number}")
    wanted = [
        (int(a["receivable_id"]), int(a["customer_id"]), Decimal(a["amount"]))
        for a in chosen["allocations"]
    ]
    flying = in_flight_by_item(session, [rid for rid, _, _ in wanted])
    opens = dict(
        session.execute(
            select(Receivable.id, Receivable.open_amount).where(
                Receivable.id.in_([rid for rid, _, _ in wanted]), Receivable.is_open.is_(True)
            )
        ).all()
    )
    left = application.amount
    allocations: list[Allocation] = []
    for rid, cid, amount in wanted:
        take = min(amount, left, max(ZERO, opens.get(rid, ZERO) - flying.get(rid, ZERO)))
        if take > 0:
            allocations.append(Allocation(rid, cid, take))
            left -= take
    owners = [int(u["customer_id"]) for u in chosen["unapplied"]] or [c for _, c, _ in wanted]
    unapplied = ((owners[0], left),) if left > 0 and owners else ()
    candidate = Candidate(
        chosen["evidence"],
        int(chosen["confidence"]),
        chosen["reason"],
        tuple(allocations),
        unapplied,
    )
    customers, items = _write(session, [(application, candidate)])
    application.status = APPLIED
    application.decided_by = BY_PERSON
    application.evidence, application.confidence = candidate.evidence, candidate.confidence
    application.reason = f"candidate {number} chosen in Salesforce: {candidate.reason}"
    application.updated_at = utcnow()
    outbox.enqueue(session, REVIEW_KIND, review_target(application.id))
    session.flush()
    if reassess_now:
        reassess(session, sorted(customers), as_of or utcnow().date(), policy)
        outbox.queue_for_salesforce(session, sorted(customers), sorted(items))
    return customers, items


def reverse_credit(
    session: Session,
    transaction_id: int,
    *,
    as_of: date | None = None,
    policy: Policy | None = None,
) -> str:
    """The bank took a credit back: undo what it paid, in the caller's transaction.

    Returns ``reversed``, ``unknown`` (never applied here), ``already reversed``, or ``posted``
    when the ERP had posted the money already: then the ERP's books decide and it must post the
    reversal itself (the application is still marked reversed for the export).
    """
    app = session.scalars(
        select(CashApplication).where(CashApplication.transaction_id == transaction_id)
    ).first()
    if app is None:
        return "unknown"
    if app.status == REVERSED_CREDIT:
        return "already reversed"
    payment_ids = [p.payment_id for p in app.payments]
    customers = sorted({p.customer_id for p in app.payments})
    payment_matching.lock_customers(session, customers)
    payments = session.scalars(select(Payment).where(Payment.id.in_(payment_ids))).all()
    posted = any(p.status == SUPERSEDED for p in payments)
    receivables: set[int] = set()
    for payment in payments:
        if payment.status != PROVISIONAL:
            continue
        # Its allocations stay, for the export's reversed lines; a reversed payment counts no
        # more, allocations and all (the engine and ``in_flight_by_item`` skip it).
        receivables |= {a.receivable_id for a in payment.allocations}
        payment.status = REVERSED
    app.status = REVERSED_CREDIT
    app.reason = (
        f"reversed by the bank{' after the ERP posted it' if posted else ''}; was: {app.reason}"
    )
    app.updated_at = utcnow()
    if app.decided_by != AUTOMATIC:  # only credits a person saw have a review record
        outbox.enqueue(session, REVIEW_KIND, review_target(app.id))
    session.flush()
    if customers:
        reassess(session, customers, as_of or utcnow().date(), policy)
        outbox.queue_for_salesforce(session, customers, sorted(receivables))
    return "posted" if posted else "reversed"


def applications_since(
    session: Session, since: datetime | None, limit: int
) -> list[CashApplication]:
    query = select(CashApplication).where(CashApplication.status.in_((APPLIED, REVERSED_CREDIT)))
    if since is not None:
        query = query.where(CashApplication.updated_at >= since)
    return list(
        session.scalars(query.order_by(CashApplication.updated_at, CashApplication.id).limit(limit))
    )

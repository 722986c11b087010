"""Which open items a bank credit pays: candidates ranked by evidence, each with a confidence.

Pure: no I/O. ``OpenBook`` holds the open items the credits may pay (with what is already in
flight taken off) and what was learned about payers; ``match`` reads one ``BankCredit`` against
it and returns its candidates, best first. ``OpenBook.take`` books an applied candidate, so the
next credit of a batch sees what is left (two payers of one invoice, one invoice paid twice).

Evidence, strongest first (docs/cash-application.md has the table with the confidences):

1. structured references: an ISO 11649 RF reference or a Swiss QRR whose check digits hold
   (one whose check digits fail is ignored: it was mistyped, and its body might name another
   invoice), and referred document numbers;
2. our pay-link reference ``PL-<link id>`` and reminder reference ``CC-<customer number>``;
3. invoice numbers in the remittance text, by key (``references.digit_key``): separators,
   prefixes and leading zeros do not matter, a different digit always does;
4. the payer's IBAN, then its name, learned from earlier applied payments (and the customer's
   own name), each pointing at one customer;
5. the amount alone, among that customer's open items: one item of exactly that amount, or one
   set of items whose open amounts add up to it (a bounded search, ``SUBSET_*``).

A candidate is a list of allocations (item, amount) and unapplied cash per customer. Named
items are paid in the order they were named, each up to its open amount; what is left over is
unapplied cash on the customer (an overpayment). A candidate is automatic when its confidence
reaches the threshold and no other candidate comes near it (``AMBIGUITY_GAP``).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable, Container, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property

from service.cash_application import references as refs
from service.cash_application.credit import BankCredit

ZERO = Decimal(0)
CENT = Decimal("0.01")

# The bounded subset search: among at most SUBSET_ITEMS of the customer's oldest open items, sets
# of at most SUBSET_SIZE items, visiting at most SUBSET_STEPS nodes; more than one set that fits
# is no answer (the amount does not say which).
SUBSET_ITEMS = 24
SUBSET_SIZE = 6
SUBSET_STEPS = 20_000
# A second candidate within this many points of the best makes neither automatic.
AMBIGUITY_GAP = 10
DEFAULT_THRESHOLD = 90
NAME_SIMILARITY = 0.88
SIMILAR_POOL = 200
# A name shared by more customers than this says nothing about which one pays.
MAX_NAMESAKES = 3

PAY_LINK_PREFIX = "PL"
REMINDER_PREFIX = "CC"
_PAY_LINK = re.compile(r"\bPL[-/: ]?([0-9a-f]{16})\b", re.IGNORECASE)
_REMINDER = re.compile(r"\bCC[-/: ]?([A-Z0-9][A-Z0-9-]{0,78}[A-Z0-9]|[A-Z0-9])\b", re.IGNORECASE)
_RF_OR_QRR = re.compile(r"RF\d{2}(?:[ ]?[A-Z0-9]{1,4}){1,6}|(?:\d[ ]?){26}\d", re.IGNORECASE)
_NOT_ALNUM = re.compile(r"[^A-Z0-9]+")
_NAME_SPLIT = re.compile(r"[^a-z0-9]+")
_LEGAL_FORMS = frozenset(
    "gmbh ag kg ohg se sa sarl sas srl spa bv nv ltd limited llc inc corp co plc oy ab as aps "
    "und and the".split()
)

# Evidence kinds, as recorded with each application.
STRUCTURED = "structured_reference"
PAY_LINK = "pay_link"
REMINDER = "reminder_reference"
INVOICE_NUMBER = "invoice_number"
PAYER_IBAN = "payer_iban"
PAYER_NAME = "payer_name"
AMOUNT = "amount"


@dataclass(slots=True)
class OpenItem:
    """An open invoice as matching sees it; ``open_amount`` already less what is in flight."""

    id: int
    customer_id: int
    number: str
    currency: str
    open_amount: Decimal
    due_date: date
    # The invoice's own amount, as issued (None: the open amount is all that is known).
    amount: Decimal | None = None
    # Its id in the ERP, as shown with a candidate (None: not read with it).
    external_id: str | None = None


@dataclass(frozen=True)
class Allocation:
    item_id: int
    customer_id: int
    amount: Decimal


@dataclass(frozen=True)
class Candidate:
    """One way of applying a credit, with its confidence (0-100) and the reason for it."""

    evidence: str
    confidence: int
    reason: str
    allocations: tuple[Allocation, ...]
    # Overpayments: (customer id, amount) of cash left on the customer, unapplied.
    unapplied: tuple[tuple[int, Decimal], ...] = ()

    @cached_property
    def customers(self) -> tuple[int, ...]:
        """The customers paid, in the order of the allocations, then of unapplied cash (read
        many times while a batch is applied: kept once computed)."""
        seen = dict.fromkeys(a.customer_id for a in self.allocations)
        seen.update(dict.fromkeys(c for c, _ in self.unapplied))
        return tuple(seen)

    def amount_of(self, customer_id: int) -> Decimal:
        return sum(
            (a.amount for a in self.allocations if a.customer_id == customer_id), ZERO
        ) + sum((v for c, v in self.unapplied if c == customer_id), ZERO)

    def key(self) -> tuple:
        return (
            tuple(sorted((a.item_id, a.amount) for a in self.allocations)),
            tuple(sorted(self.unapplied)),
        )


@dataclass(frozen=True)
class Match:
    """A credit's candidates, best first; ``automatic`` says whether the best applies itself."""

    credit: BankCredit
    candidates: tuple[Candidate, ...]
    automatic: bool

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


def normal_iban(value: str | None) -> str | None:
    """An IBAN (or other account id) compared without case, spaces or punctuation."""
    if value and value.isascii() and value.isalnum() and value.isupper():
        return value  # as stored: known payers are kept compared
    text = _NOT_ALNUM.sub("", (value or "").upper())
    return text or None


def normal_name(value: str | None) -> str | None:
    """A payer name compared without case, accents, punctuation or legal form."""
    text = value or ""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    parts = [w for w in _NAME_SPLIT.split(text.casefold()) if w and w not in _LEGAL_FORMS]
    return " ".join(parts) or None


def normal_customer_number(value: str) -> str:
    """A customer number compared without case, spaces or punctuation."""
    if value.isascii():
        return _NOT_ALNUM.sub("", value.upper())
    return "".join(ch for ch in value.upper() if ch.isalnum())


class TextReadings:
    """The words of remittance texts and their number keys, and the payers' names and IBANs as
    compared, remembered for one batch: its texts are read more than once (``wanted_keys`` and
    ``customers_pointed_at``, then ``match``, then learning the payer) and repeat across
    credits."""

    def __init__(self) -> None:
        self._keys: dict[str, tuple[str | None, str | None, str | None]] = {}
        self._names: dict[str | None, str | None] = {}
        self._number_words: dict[str, list[str]] = {}
        self._structured: dict[str, list[str]] = {}
        self._ibans: dict[str | None, str | None] = {}

    def name(self, value: str | None) -> str | None:
        """``normal_name(value)``."""
        return _remembered(self._names, value, normal_name)

    def iban(self, value: str | None) -> str | None:
        """``normal_iban(value)``."""
        return _remembered(self._ibans, value, normal_iban)

    def keys(self, text: str) -> tuple[str | None, str | None, str | None]:
        """``references.keys(text)``."""
        return _remembered(self._keys, text, refs.keys)

    def number_words(self, remittance: str) -> list[str]:
        """The words of a remittance that may be invoice numbers: its text with the RF and QR
        references taken out (those are read as structured references)."""
        return _remembered(self._number_words, remittance, _number_words)

    def structured(self, remittance: str) -> list[str]:
        """``references.structured_in_text(remittance)``."""
        return _remembered(self._structured, remittance, refs.structured_in_text)


def _remembered(readings: dict, key, read: Callable):
    """``readings[key]``, read and kept the first time it is asked for (most keys are asked
    for the first time: a miss costs no exception)."""
    found = readings.get(key, _UNREAD)
    if found is _UNREAD:
        found = readings[key] = read(key)
    return found


_UNREAD = object()


def _number_words(remittance: str) -> list[str]:
    return refs.words(_RF_OR_QRR.sub(" ", remittance))


@dataclass
class OpenBook:
    """The open items and payer knowledge one batch of credits is matched against."""

    items: dict[int, OpenItem] = field(default_factory=dict)
    by_digits: dict[str, list[int]] = field(default_factory=dict)
    by_concat: dict[str, list[int]] = field(default_factory=dict)
    by_customer: dict[int, list[int]] = field(default_factory=dict)
    customer_numbers: dict[str, int] = field(default_factory=dict)
    # Customer id -> its number as the ERP writes it (shown with a candidate).
    numbers: dict[int, str] = field(default_factory=dict)
    names: dict[str, set[int]] = field(default_factory=dict)
    # Word -> the names it is in: a misspelt name is compared only with names sharing a word.
    # Built when first needed (few credits need it; a book knows hundreds of thousands of names).
    name_words: dict[str, set[str]] | None = None
    ibans: dict[str, set[int]] = field(default_factory=dict)
    pay_links: dict[str, tuple[int, tuple[int, ...]]] = field(default_factory=dict)
    # A book read for one batch holds the items of the customers its credits point at
    # (``loaded``); another customer's items are read on demand (``loader``, customer ids ->
    # their open items) the first time matching asks for them. None: every item is here.
    loaded: set[int] | None = None
    loader: Callable[[list[int]], Iterable[OpenItem]] | None = None
    texts: TextReadings = field(default_factory=TextReadings)

    @classmethod
    def build(
        cls,
        items: Iterable[OpenItem],
        customers: Iterable[tuple[int, str, str | None]] = (),
        payers: Iterable[tuple[str, str, int]] = (),
        pay_links: Iterable[tuple[str, int, Sequence[int]]] = (),
    ) -> OpenBook:
        """``customers``: (id, number, name); ``payers``: (``iban``/``name``, value, customer
        id) learned from applied payments; ``pay_links``: (link id, customer id, item ids)."""
        book = cls().knowing(customers, payers, pay_links)
        book.add_items(items)
        return book

    def knowing(
        self,
        customers: Iterable[tuple[int, str, str | None]] = (),
        payers: Iterable[tuple[str, str, int]] = (),
        pay_links: Iterable[tuple[str, int, Sequence[int]]] = (),
    ) -> OpenBook:
        """Learn the customers' numbers and names, the payers and the pay links (see ``build``)."""
        for cid, number, name in customers:
            self.customer_numbers[normal_customer_number(number)] = cid
            self.numbers[cid] = number
            self.learn(cid, None, name)
        for kind, value, cid in payers:
            if kind == "iban":
                self.learn(cid, value, None)
            else:
                self.learn(cid, None, value)
        for link, cid, ids in pay_links:
            self.pay_links[link.lower()] = (cid, tuple(ids))
        return self

    def add_items(self, items: Iterable[OpenItem], indexed: Container[int] | None = None) -> None:
        """Add items, each customer's oldest first. ``indexed``: only these are found by their
        numbers (a batch's book indexes the items its credits' words can name, ``wanted_keys``);
        None: all."""
        touched: set[int] = set()
        for item in items:
            self.add(item, indexed is None or item.id in indexed)
            touched.add(item.customer_id)
        for cid in touched:
            self.by_customer[cid].sort(key=lambda i: (self.items[i].due_date, i))

    def add(self, item: OpenItem, indexed: bool = True) -> None:
        self.items[item.id] = item
        if indexed:
            _full, digits, concat = refs.keys(item.number)
            if digits is not None:
                self.by_digits.setdefault(digits, []).append(item.id)
            if concat is not None and concat != digits:
                self.by_concat.setdefault(concat, []).append(item.id)
        self.by_customer.setdefault(item.customer_id, []).append(item.id)

    def _ensure(self, customer_id: int) -> None:
        """Read a customer's items on demand (a book read for a batch holds only some)."""
        if self.loaded is None or customer_id in self.loaded or self.loader is None:
            return
        self.loaded.add(customer_id)
        self.add_items(self.loader([customer_id]), indexed=())

    def take(self, candidate: Candidate) -> None:
        """Book an applied candidate: its allocations are no longer open to the next credit."""
        for a in candidate.allocations:
            item = self.items.get(a.item_id)
            if item is not None:
                item.open_amount = max(ZERO, item.open_amount - a.amount)

    def learn(self, customer_id: int, iban: str | None, name: str | None) -> None:
        self.learn_normal(customer_id, normal_iban(iban), normal_name(name))

    def learn_payer(self, customer_id: int, credit: BankCredit) -> None:
        """Learn a credit's payer for a customer it paid (its names read once a batch)."""
        self.learn_normal(
            customer_id, self.texts.iban(credit.payer_iban), self.texts.name(credit.payer_name)
        )

    def learn_normal(self, customer_id: int, iban: str | None, name: str | None) -> None:
        """Learn an IBAN and a name already compared as ``normal_iban`` and ``normal_name``."""
        if iban is not None:
            self.ibans.setdefault(iban, set()).add(customer_id)
        if name is not None:
            self.names.setdefault(name, set()).add(customer_id)
            if self.name_words is not None:
                self._index_words(name)

    def _index_words(self, name: str) -> None:
        for word in name.split():
            if len(word) >= 3:
                self.name_words.setdefault(word, set()).add(name)  # type: ignore[union-attr]

    def similar_names(self, name: str) -> list[str]:
        """Known names like this one (a typo or two), compared only with names sharing one of
        its rarer words (a word in hundreds of names says nothing)."""
        if self.name_words is None:
            self.name_words = {}
            for known in self.names:
                self._index_words(known)
        pool: set[str] = set()
        for word in name.split():
            names = self.name_words.get(word, ())
            if len(names) <= SIMILAR_POOL:
                pool.update(names)
        pool.discard(name)
        return difflib.get_close_matches(name, sorted(pool), n=3, cutoff=NAME_SIMILARITY)

    # -- lookups ---------------------------------------------------------------------------

    def named(self, text: str) -> list[int]:
        """Items a written number names: by its digits (the written prefix, when it is one of
        theirs, picks among items that share them), else by its digits run together."""
        full, digits, concat = self.texts.keys(text)
        found = self.by_digits.get(digits, ()) if digits is not None else ()
        if len(found) > 1 and full != digits:
            same = [i for i in found if refs.keys(self.items[i].number)[0] == full]
            if same:
                return same
        if found:
            return list(found)
        if concat is not None:
            return list(self.by_concat.get(concat, ()) or self.by_digits.get(concat, ()))
        return []

    def customer_items(self, customer_id: int, currency: str) -> list[OpenItem]:
        """The customer's items in this currency, open or paid off by this batch."""
        self._ensure(customer_id)
        return [
            item
            for i in self.by_customer.get(customer_id, ())
            if (item := self.items[i]).currency == currency
        ]

    def open_items(self, customer_id: int, currency: str) -> list[OpenItem]:
        self._ensure(customer_id)
        return [
            item
            for i in self.by_customer.get(customer_id, ())
            if (item := self.items[i]).currency == currency and item.open_amount > 0
        ]


# -- evidence ----------------------------------------------------------------------------------


@dataclass
class _Named:
    """Items named by one kind of evidence, in the order named, with the words that named them."""

    evidence: str
    base: int
    items: list[int] = field(default_factory=list)
    words: list[str] = field(default_factory=list)

    def add(self, ids: Iterable[int], word: str) -> None:
        for i in ids:
            if i not in self.items:
                self.items.append(i)
                self.words.append(word)


def _structured(credit: BankCredit, book: OpenBook) -> _Named:
    named = _Named(STRUCTURED, 95)
    written = [*credit.references, *book.texts.structured(credit.remittance)]
    for ref in written:
        text = ref.strip()
        compact = text.replace(" ", "").upper()
        if compact.startswith("RF") and compact[2:4].isdigit():
            if refs.is_valid_rf(compact):
                named.add(book.named(refs.rf_body(compact)), compact)
        elif len(compact) == refs.QRR_LENGTH and compact.isdigit():
            if refs.is_valid_qrr(compact):
                body = refs.qrr_body(compact)
                named.add(
                    book.by_concat.get(body) or book.by_digits.get(body) or book.named(body),
                    compact,
                )
        elif text:  # a referred document number
            named.add(book.named(text), text)
    return named


def _text_numbers(credit: BankCredit, book: OpenBook) -> _Named:
    named = _Named(INVOICE_NUMBER, 90)
    seen: set[int] = set()
    for word in book.texts.number_words(credit.remittance):
        ids = [i for i in book.named(word) if i not in seen]
        if ids:
            seen.update(ids)
            named.add(ids, word)
    return named


def _our_references(credit: BankCredit, book: OpenBook) -> tuple[_Named, set[int]]:
    """Pay-link references (items and customer) and reminder references (customers)."""
    named = _Named(PAY_LINK, 93)
    customers: set[int] = set()
    text = " ".join((credit.remittance, *credit.references))
    for m in _PAY_LINK.finditer(text):
        found = book.pay_links.get(m.group(1).lower())
        if found is not None:
            customers.add(found[0])
            named.add(found[1], m.group(0))
    for m in _REMINDER.finditer(text):
        cid = book.customer_numbers.get(normal_customer_number(m.group(1)))
        if cid is not None:
            customers.add(cid)
    return named, customers


def names_a_pay_link(credit: BankCredit) -> bool:
    return any(_PAY_LINK.search(text) for text in (credit.remittance, *credit.references))


def _payers(credit: BankCredit, book: OpenBook) -> tuple[set[int], set[int]]:
    """Customers the payer's IBAN and exact name point at."""
    by_iban = set(book.ibans.get(book.texts.iban(credit.payer_iban) or "", ()))
    name = book.texts.name(credit.payer_name)
    exact = set(book.names.get(name, ())) if name else set()
    return by_iban, exact


def _similar(credit: BankCredit, book: OpenBook) -> set[int]:
    """Customers whose name the payer's is like (a typo or two)."""
    name = book.texts.name(credit.payer_name)
    similar: set[int] = set()
    if name and len(name) >= 5:
        for other in book.similar_names(name):
            similar |= book.names[other]
    return similar


class _Recorder:
    """A key index that answers nothing and records each key asked for."""

    def __init__(self, keys: set[str]) -> None:
        self.keys = keys

    def get(self, key: str, default=()):
        self.keys.add(key)
        return default


class _Wanted:
    """Stands in for the book while the number lookups a batch will make are collected: it
    answers nothing and records every key asked for (``wanted_keys``)."""

    def __init__(self, texts: TextReadings) -> None:
        self.keys: set[str] = set()
        self.texts = texts
        # Not ``self``: a reference cycle would keep the batch's readings alive until the
        # paused cyclic collector runs again.
        self.by_digits = self.by_concat = _Recorder(self.keys)

    def named(self, text: str) -> list[int]:
        _full, digits, concat = self.texts.keys(text)
        if digits is not None:
            self.keys.add(digits)
        if concat is not None:
            self.keys.add(concat)
        return []


def wanted_keys(credits: Iterable[BankCredit], texts: TextReadings | None = None) -> set[str]:
    """Every number key matching these credits looks up (their references and the words of
    their remittance, read by the very functions matching reads them with): an item whose keys
    are none of these can never be named by them. ``texts``: the batch book's, so matching
    finds the texts read already."""
    wanted = _Wanted(texts or TextReadings())
    for credit in credits:
        _structured(credit, wanted)  # type: ignore[arg-type]
        _text_numbers(credit, wanted)  # type: ignore[arg-type]
    return wanted.keys


def customers_pointed_at(credits: Iterable[BankCredit], book: OpenBook) -> set[int]:
    """The customers these credits' payers (IBAN, name) and our references point at (the
    book's payer knowledge read already); their items are what the amount is matched with."""
    out: set[int] = set()
    for credit in credits:
        by_iban, by_name = _payers(credit, book)
        _linked, referenced = _our_references(credit, book)
        out |= by_iban | referenced
        if len(by_name) <= MAX_NAMESAKES:
            out |= by_name
    return out


# -- allocation ---------------------------------------------------------------------------------


def _allocate(
    items: Sequence[OpenItem], amount: Decimal, payer: int | None
) -> tuple[tuple[Allocation, ...], tuple[tuple[int, Decimal], ...]]:
    """Each item up to its open amount, in order; the rest unapplied on the payer's customer
    (or the last item's customer)."""
    left = amount
    out: list[Allocation] = []
    for item in items:
        if left <= 0:
            break
        take = min(left, item.open_amount)
        if take > 0:
            out.append(Allocation(item.id, item.customer_id, take))
            left -= take
    if left <= 0:
        return tuple(out), ()
    owner = payer if payer is not None else (items[-1].customer_id if items else None)
    return tuple(out), ((owner, left),) if owner is not None else ()


def subsets_adding_up(
    items: Sequence[OpenItem], amount: Decimal, limit: int = 2
) -> list[list[OpenItem]]:
    """Up to ``limit`` sets of the items whose open amounts add up to ``amount`` exactly.

    Bounded: the oldest ``SUBSET_ITEMS`` items, sets of up to ``SUBSET_SIZE``, ``SUBSET_STEPS``
    nodes; the caller treats more than one set as no answer.
    """
    pool = sorted(items[:SUBSET_ITEMS], key=lambda i: -i.open_amount)
    target = int(amount / CENT)
    search = _SubsetSearch([int(i.open_amount / CENT) for i in pool], limit)
    if target > 0:
        search.walk(0, target, ())
    return [[pool[k] for k in chosen] for chosen in search.found]


class _SubsetSearch:
    """The depth-first walk of ``subsets_adding_up`` over amounts in cents, largest first.

    A class rather than a recursive closure: a closure calling itself is a reference cycle,
    which only the cyclic collector frees, and a big batch runs with it paused
    (``bulk_work.collector_paused``).
    """

    def __init__(self, cents: list[int], limit: int) -> None:
        self.cents, self.limit = cents, limit
        # suffix[k]: what the amounts from k on add up to (no set from k on can reach more).
        self.suffix = [0] * (len(cents) + 1)
        for k in range(len(cents) - 1, -1, -1):
            self.suffix[k] = self.suffix[k + 1] + cents[k]
        self.found: list[tuple[int, ...]] = []
        self.steps = 0

    def walk(self, start: int, left: int, chosen: tuple[int, ...]) -> None:
        cents, suffix, found = self.cents, self.suffix, self.found
        for k in range(start, len(cents)):
            self.steps += 1
            if self.steps > SUBSET_STEPS or len(found) >= self.limit:
                return
            if suffix[k] < left:
                return
            value = cents[k]
            if value > left:
                continue
            if value == left:
                found.append((*chosen, k))
                continue
            if len(chosen) + 1 < SUBSET_SIZE:
                self.walk(k + 1, left - value, (*chosen, k))


def _by_amount(
    book: OpenBook, customer_id: int, credit: BankCredit
) -> tuple[list[OpenItem] | None, str]:
    """The one item or set of items of this customer the amount pays, and how it was found."""
    items = book.open_items(customer_id, credit.currency)
    exact = [i for i in items if i.open_amount == credit.amount]
    if len(exact) == 1:
        return exact, "one open item of exactly the amount"
    if len(exact) > 1:
        return None, f"{len(exact)} open items of exactly the amount"
    sets = subsets_adding_up(items, credit.amount)
    if len(sets) == 1:
        return sorted(sets[0], key=lambda i: (i.due_date, i.id)), (
            f"{len(sets[0])} open items adding up to the amount"
        )
    return (
        None,
        "several sets of open items add up to the amount"
        if sets
        else "no open items add up to the amount",
    )


# -- candidates ---------------------------------------------------------------------------------


def _numbers(book: OpenBook, ids: Sequence[int]) -> str:
    return ", ".join(book.items[i].number for i in ids)


def _from_named(
    named: _Named,
    credit: BankCredit,
    book: OpenBook,
    payer_customers: set[int],
    named_payer: set[int] = frozenset(),
) -> list[Candidate]:
    """The reading of the items ``named``; ``payer_customers`` are who the payer is known to be
    (IBAN, our reference: they corroborate or contradict), ``named_payer`` who its name says
    (only corroborates: names are shared and mistyped)."""
    items = [book.items[i] for i in named.items if book.items[i].currency == credit.currency]
    if not items:
        return []
    open_items = [i for i in items if i.open_amount > 0]
    customers = list(dict.fromkeys(i.customer_id for i in items))
    total = sum((i.open_amount for i in open_items), ZERO)
    what = f"{named.evidence.replace('_', ' ')} names {_numbers(book, [i.id for i in items])}"
    out: list[Candidate] = []
    confidence = named.base
    payer = customers[0] if len(customers) == 1 else None
    contradicted = bool(payer_customers) and not (payer_customers & set(customers))
    payers_named = [c for c in customers if c in payer_customers]
    if len(customers) > 1 and len(payers_named) == 1 and total != credit.amount:
        # A number of another customer's in the text (a customer or order number that happens
        # to be an invoice number too): the payer's own invoices alone may be what it pays.
        own = [i for i in open_items if i.customer_id == payers_named[0]]
        if sum((i.open_amount for i in own), ZERO) == credit.amount:
            open_items, customers, total = own, payers_named, credit.amount
            payer = payers_named[0]
            confidence -= 2
            what += f" (only the payer's own: {_numbers(book, [i.id for i in own])})"
    if total == credit.amount:
        confidence += 4
        fit = "the amount equals their open total"
    elif len(customers) > 1:
        # Several customers named and the amount is not theirs together: keep the customers'
        # items that do add up, if exactly one such set exists.
        sets = subsets_adding_up(open_items, credit.amount)
        if len(sets) == 1:
            chosen = {i.id for i in sets[0]}
            open_items = [i for i in open_items if i.id in chosen]
            customers = list(dict.fromkeys(i.customer_id for i in open_items))
            payer = customers[0] if len(customers) == 1 else None
            confidence -= 8
            fit = "of the items named, one set adds up to the amount"
        else:
            confidence -= 25
            fit = "the amount is not their open total"
    elif credit.amount < total:
        # A number read in free text might be a stray one: without the amount to confirm it,
        # only the payer's record makes a partial payment automatic.
        confidence -= (0 if named.evidence == STRUCTURED else 4) + (
            0 if len(open_items) == 1 else 2
        )
        fit = "a partial payment"
    else:
        confidence -= (0 if named.evidence == STRUCTURED else 4) + (0 if open_items else 15)
        fit = "an overpayment: the rest stays unapplied on the customer"
    if total != credit.amount and len(customers) == 1 and named.evidence != STRUCTURED:
        # A mistyped number can name the customer's other invoice: the amount then fits that one
        # (open, or paid already by an earlier credit of the batch: this may pay it twice).
        others = [
            i
            for i in book.customer_items(customers[0], credit.currency)
            if i.id not in named.items
            and (
                credit.amount == i.amount or (i.open_amount > 0 and credit.amount == i.open_amount)
            )
        ]
        if others:
            confidence -= 15
            fit += f"; but {_numbers(book, [i.id for i in others])} is for exactly the amount"
    if (payer_customers | named_payer) & set(customers):
        confidence += 4
        fit += "; the payer is known for this customer"
    elif contradicted:
        confidence -= 20
        fit += "; the payer is known for another customer"
    allocations, unapplied = _allocate(open_items, credit.amount, payer)
    if unapplied and payer is None:
        confidence = min(confidence, 70)  # whose is the rest? a person decides
    out.append(
        Candidate(named.evidence, min(confidence, 99), f"{what}; {fit}", allocations, unapplied)
    )
    return out


def one_digit_apart(a: str, b: str) -> bool:
    """Two keys of the same length that differ in one digit, or in two adjacent digits swapped:
    the typos a person makes copying a number (never a digit more or less)."""
    if len(a) != len(b) or a == b:
        return False
    diff = [k for k in range(len(a)) if a[k] != b[k]]
    if not all(a[k].isdigit() and b[k].isdigit() for k in diff):
        return False
    if len(diff) == 1:
        return True
    i, j = diff if len(diff) == 2 else (0, 0)
    return j == i + 1 and a[i] == b[j] and a[j] == b[i]


def _mistyped(
    readings: Sequence[_Named], credit: BankCredit, book: OpenBook, payer: int
) -> list[Candidate]:
    """A number in the text naming only other customers' invoices, from a payer known for
    ``payer`` (its IBAN or our reference), one of whose open invoices is one digit away from it
    and for exactly the amount: the number was mistyped. All three must agree - the payer, the
    amount to the cent and the number but for one digit - and exactly one invoice must fit."""
    text = [r for r in readings if r.evidence == INVOICE_NUMBER]
    if not text or any(book.items[i].customer_id == payer for r in text for i in r.items):
        return []
    exact = [i for i in book.open_items(payer, credit.currency) if i.open_amount == credit.amount]
    if not exact:
        return []
    written = {k: w for r in text for w in r.words for k in refs.keys(w)[1:] if k}
    found: dict[int, str] = {}
    for item in exact:
        for key in refs.keys(item.number)[1:]:
            for k, word in written.items():
                if key and one_digit_apart(k, key):
                    found[item.id] = word
    if len(found) != 1:
        return []
    ((item_id, word),) = found.items()
    number = book.items[item_id].number
    reason = (
        f"invoice number {word} names another customer's invoice; the payer's {number} is one "
        "digit away and for exactly the amount (a mistyped number); the payer is known for "
        "this customer"
    )
    allocations, unapplied = _allocate([book.items[item_id]], credit.amount, payer)
    # 90 for the number, +4 the amount equals, +4 the payer is known, -4 read as a typo.
    return [Candidate(INVOICE_NUMBER, 94, reason, allocations, unapplied)]


def _from_customer(
    customer_id: int, evidence: str, base: int, why: str, credit: BankCredit, book: OpenBook
) -> Candidate:
    items, how = _by_amount(book, customer_id, credit)
    if items is not None:
        allocations, unapplied = _allocate(items, credit.amount, customer_id)
        return Candidate(evidence, base + 5, f"{why}; {how}", allocations, unapplied)
    # The customer is known but not what is paid: oldest first, for a person to confirm.
    oldest = book.open_items(customer_id, credit.currency)
    allocations, unapplied = _allocate(oldest, credit.amount, customer_id)
    return Candidate(
        evidence, min(base - 15, 75), f"{why}; {how}, oldest first", allocations, unapplied
    )


_RANK = {
    STRUCTURED: 0,
    PAY_LINK: 1,
    REMINDER: 1,
    INVOICE_NUMBER: 2,
    PAYER_IBAN: 3,
    PAYER_NAME: 4,
    AMOUNT: 5,
}


def _items_of(candidate: Candidate) -> set[int]:
    return {a.item_id for a in candidate.allocations}


def _rival(best: Candidate, other: Candidate) -> bool:
    """Another reading that pays something the best does not (not merely less of the same)."""
    return not (_items_of(other) <= _items_of(best) and set(other.customers) <= set(best.customers))


def _automatic(ranked: Sequence[Candidate], threshold: int) -> bool:
    if not ranked or ranked[0].confidence < threshold:
        return False
    best = ranked[0]
    for other in ranked[1:]:
        if not _rival(best, other):
            continue
        if best.confidence - other.confidence < AMBIGUITY_GAP:
            return False
        if _RANK[other.evidence] < _RANK[best.evidence] and other.confidence >= 50:
            return False  # stronger evidence says otherwise: a person decides
    return True


def match(credit: BankCredit, book: OpenBook, threshold: int = DEFAULT_THRESHOLD) -> Match:
    """The candidates for one credit, best first, and whether the best is applied at once."""
    if credit.amount <= 0:
        return Match(credit, (), False)
    by_iban, by_name = _payers(credit, book)
    linked, referenced = _our_references(credit, book)
    # Who the payer is known to be: its IBAN or our reference, else its name if only one
    # customer has it. A number read in the text for that customer is corroborated.
    payer_customers = (by_iban if len(by_iban) == 1 else set()) | referenced
    named_payer = set(by_name) if not payer_customers and len(by_name) == 1 else set()
    candidates: list[Candidate] = []
    readings = [
        r for r in (_structured(credit, book), linked, _text_numbers(credit, book)) if r.items
    ]
    if len(readings) > 1:
        # Everything named together (a credit naming one invoice by reference, another in its
        # text), as the strongest kind among them; each kind alone is a lesser reading.
        union = _Named(readings[0].evidence, max(r.base for r in readings))
        for r in readings:
            for i, word in zip(r.items, r.words, strict=True):
                union.add([i], word)
        readings.insert(0, union)
    for named in readings:
        candidates += _from_named(named, credit, book, payer_customers, named_payer)
    if len(payer_customers) == 1 and readings:
        candidates += _mistyped(readings, credit, book, next(iter(payer_customers)))
    named_customers = {c for cand in candidates for c in cand.customers}
    customer_evidence = [
        (cid, REMINDER, 85, "our reminder reference names this customer")
        for cid in sorted(referenced)
    ]
    customer_evidence += [
        (
            cid,
            PAYER_IBAN,
            85 if len(by_iban) == 1 else 60,
            "the payer's IBAN paid this customer before",
        )
        for cid in sorted(by_iban)
    ]
    customer_evidence += [
        (cid, PAYER_NAME, 85 if len(by_name) == 1 else 55, "the payer's name is this customer's")
        for cid in sorted(by_name)
        if len(by_name) <= MAX_NAMESAKES
    ]
    if not candidates and not by_iban and not by_name and not referenced:
        # Only when nothing better points anywhere: comparing names costs the most.
        customer_evidence += [
            (cid, PAYER_NAME, 60, "the payer's name is like this customer's")
            for cid in sorted(_similar(credit, book))
        ]
    seen: set[int] = set(named_customers)
    for cid, evidence, base, why in customer_evidence:
        if cid in seen:
            continue
        seen.add(cid)
        agree = sum(cid in group for group in (referenced, by_iban, by_name) if len(group) == 1)
        candidates.append(
            _from_customer(cid, evidence, base + 5 * max(agree - 1, 0), why, credit, book)
        )
    # Best first (stronger evidence first among equals); one application found twice keeps
    # its best reason.
    unique: dict[tuple, Candidate] = {}
    for c in sorted(candidates, key=lambda c: (-c.confidence, _RANK[c.evidence])):
        unique.setdefault(c.key(), c)
    ranked = tuple(c for c in unique.values() if c.allocations or c.unapplied)
    return Match(credit, ranked, _automatic(ranked, threshold))

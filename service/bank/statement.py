"""What a statement file says, after its format has been read away: pure values, no I/O.

Every parser (``camt``, ``mt940``, ``bai2``) turns bytes into one ``ParsedFile``: the statements
in it, each with its transactions in file order, the transactions it could not read (with their
position, so the rest is kept), and the checks the file allows: its own control totals and
closing balances against what the transactions add up to. A check that fails is reported with
the difference; it never stops the import, because trimmed or odd bank files are common and the
transactions themselves may still be fine.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

# Money is NUMERIC(18, 4): anything bigger is not a real bank amount but hostile or broken input.
MAX_AMOUNT = Decimal("99999999999999")  # 14 integer digits
MAX_TEXT = 4000  # remittance text kept per transaction
MAX_FIELD = 255  # references, names

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"\s+")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_IBAN_WITH_CURRENCY = re.compile(r"^([A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}?)([A-Z]{3})$")


class NotAStatement(ValueError):
    """The file is not a bank statement we read (or not one at all); nothing is imported."""


class BadTransaction(ValueError):
    """One transaction cannot be read; it is reported with its position and the rest is kept."""


@dataclass(frozen=True)
class Transaction:
    """One booking on one of our accounts. ``amount`` is positive; ``credit`` says money came in.

    ``reversal`` marks a booking that undoes an earlier one of the other direction (camt
    ``RvslInd``, MT940 ``RC``/``RD``, a BAI2 return or reversal type code). ``statement_key`` and
    ``position`` identify it inside its statement when the bank gave it no reference at all.
    """

    position: str
    account: str
    currency: str
    amount: Decimal
    credit: bool
    booking_date: date
    value_date: date | None = None
    bank_reference: str | None = None
    end_to_end_id: str | None = None
    payer_name: str | None = None
    payer_iban: str | None = None
    remittance: str = ""
    references: tuple[str, ...] = ()
    reversal: bool = False
    booked: bool = True
    statement_key: str = ""

    @property
    def direction(self) -> str:
        return "credit" if self.credit else "debit"

    def problem(self) -> str | None:
        """Why this transaction cannot be stored as it is (None when it can).

        The parsers check as they read; this is the last guard before the database, so no
        value a column would refuse (and turn into a failed import) gets that far.
        """
        if not _CURRENCY.fullmatch(self.currency or ""):
            return f"currency {(self.currency or '')[:10]!r} is not a three-letter code"
        if not self.account or len(self.account) > 64:
            return "the account is missing or longer than 64 characters"
        try:
            check_amount(self.amount)
        except BadTransaction as error:
            return str(error)
        if not (1900 <= self.booking_date.year <= 2999):
            return f"booking date {self.booking_date} is out of range"
        return None

    def dedupe_key(self) -> str:
        """The rule by which one transaction is stored once, whichever report it came in.

        (account, reference, direction, amount, booking date), where the reference is the bank's
        own reference for the transaction, else the end-to-end id, else (no reference at all) the
        statement and the position in it. Hashed, so the key has a fixed length.
        """
        reference = self.bank_reference or self.end_to_end_id
        if reference:
            reference = "ref:" + _SPACES.sub("", reference).upper()
        else:
            reference = f"at:{self.statement_key}:{self.position}"
        parts = [
            normalise_account(self.account, self.currency),
            reference,
            self.direction,
            canonical_amount(self.amount),
            self.booking_date.isoformat(),
        ]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class Rejected:
    """A transaction (or statement) that could not be read: where, and why."""

    position: str
    message: str


@dataclass(frozen=True)
class Check:
    """One of the file's own figures against what its transactions add up to.

    ``difference`` is ``found - expected``: zero when the file adds up.
    """

    label: str
    expected: Decimal
    found: Decimal

    @property
    def ok(self) -> bool:
        return self.expected == self.found

    @property
    def difference(self) -> Decimal:
        return self.found - self.expected


@dataclass
class Statement:
    """One statement (or report, or notification) of one account."""

    label: str
    account: str
    currency: str | None
    transactions: list[Transaction] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class ParsedFile:
    """Everything one file holds; ``format`` names the dialect read (``camt.053.001.08``...)."""

    format: str
    statements: list[Statement] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)  # about the whole file (BAI2 98/99)
    encoding: str = "utf-8"

    @property
    def transactions(self) -> list[Transaction]:
        return [t for s in self.statements for t in s.transactions]

    @property
    def all_rejected(self) -> list[Rejected]:
        return self.rejected + [r for s in self.statements for r in s.rejected]

    @property
    def all_checks(self) -> list[tuple[str, Check]]:
        """Every check with the statement it is about ("" for the file)."""
        return [(s.label, c) for s in self.statements for c in s.checks] + [
            ("", c) for c in self.checks
        ]


def clean_text(value: str | None, limit: int = MAX_FIELD) -> str | None:
    """Text fit to store: no control characters (PostgreSQL refuses NUL), single spaces, capped."""
    if value is None:
        return None
    # Printable text holds no control character and no whitespace but the plain space, so it
    # needs the regular expressions only when spaces repeat (most values: neither).
    if not value.isprintable() or "  " in value:
        value = _SPACES.sub(" ", _CONTROL.sub("", value))
    return value.strip()[:limit] or None


def check_amount(amount: Decimal, where: str = "amount") -> Decimal:
    """A finite, non-negative amount that fits the money column, or ``BadTransaction``."""
    if not amount.is_finite():
        raise BadTransaction(f"{where} is not a number")
    if amount < 0:
        raise BadTransaction(f"{where} is negative")
    if amount > MAX_AMOUNT:
        raise BadTransaction(f"{where} {amount:.0f} is larger than any bank amount")
    if amount.as_tuple().exponent < -4:  # type: ignore[operator]
        raise BadTransaction(f"{where} {amount} has more than four decimals")
    return amount


def canonical_amount(amount: Decimal) -> str:
    """``Decimal("10")`` and ``Decimal("10.00")`` are one amount: two decimals at least."""
    return f"{amount.quantize(Decimal('0.0001')):f}".rstrip("0").rstrip(".") or "0"


def money(amount: Decimal) -> Decimal:
    """Two decimals, or more where the amount has them: how amounts are shown and handed on
    (the database gives ``1190`` on SQLite and ``1190.0000`` on PostgreSQL)."""
    exact = amount.normalize()
    if -exact.as_tuple().exponent <= 2:  # type: ignore[operator]
        return amount.quantize(Decimal("0.01"))
    return exact


def normalise_account(account: str, currency: str | None = None) -> str:
    """Upper case without spaces; an IBAN with its currency glued on (ING MT940) loses it."""
    account = _SPACES.sub("", account).upper()
    match = _IBAN_WITH_CURRENCY.match(account)
    if match and currency and match.group(2) == currency.upper():
        return match.group(1)
    return account

"""SAP journal-entry items -> the feed's rows: one receivable or payment per accounting document.

SAP keeps receivables as customer line items (``FinancialAccountType`` ``D``) of accounting
documents, keyed by company code, fiscal year and document number. The rules:

- Amounts are signed: debit items (``DebitCreditCode`` ``S``) are positive, credit items
  (``H``) negative. The feed's amounts are never negative, so signs decide the kind instead.
- A document is a **payment** when its type is a payment type (``DZ`` by default), an
  **invoice** when its customer items net to a debit, a **credit note** when they net to a
  credit. Its id is ``<company code>/<fiscal year>/<document>`` (company codes keep documents
  with the same number apart).
- Several items of one document (installments) are **netted** into one receivable: its amount is
  the sum of its items, its due date the earliest net due date, its open amount the sum of its
  items not yet cleared, less the open partial payments that reference it (``InvoiceReference``):
  SAP leaves a partly paid invoice open at its full amount and posts the partial payment as an
  open credit item pointing at it.
- A **clearing document** settles items: a payment document's allocations are the invoices it
  cleared (items whose ``ClearingAccountingDocument`` is the payment) and the invoices its
  partial-payment items reference.
- SAP marks changes by day only (``LastChangeDate``), so every row carries the instant it was
  read as its ``updated_at``: what was read later is newer.

A document that breaks these rules (items of two customers or currencies, a payment netting to a
debit, an unreadable amount or date) becomes a ``Problem`` naming its id; the rest go on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from service.connectors.base import Problem, Record
from service.feeds.currencies import minor_units

Key = tuple[str, str, str]  # company code, fiscal year, accounting document
ZERO = Decimal(0)
_DATE = re.compile(r"/Date\((-?\d+)(?:[+-]\d{4})?\)/")

# What the connector asks for ($select): the properties the mapping reads.
SELECT = (
    "CompanyCode",
    "FiscalYear",
    "AccountingDocument",
    "AccountingDocumentItem",
    "AccountingDocumentType",
    "Customer",
    "CustomerName",
    "DocumentReferenceID",
    "BillingDocument",
    "AssignmentReference",
    "PaymentReference",
    "PostingDate",
    "DocumentDate",
    "NetDueDate",
    "DebitCreditCode",
    "TransactionCurrency",
    "AmountInTransactionCurrency",
    "CompanyCodeCurrency",
    "ClearingAccountingDocument",
    "ClearingDocFiscalYear",
    "IsCleared",
    "InvoiceReference",
    "InvoiceReferenceFiscalYear",
    "LastChangeDate",
)


class MappingError(ValueError):
    """A document the rules above cannot turn into a row; the message says why."""


def key_of(item: dict[str, Any]) -> Key:
    return (item["CompanyCode"], item["FiscalYear"], item["AccountingDocument"])


def reference_of(item: dict[str, Any]) -> Key | None:
    """The invoice a partial-payment item points at, if any."""
    if item.get("InvoiceReference"):
        return (
            item["CompanyCode"],
            item.get("InvoiceReferenceFiscalYear") or item["FiscalYear"],
            item["InvoiceReference"],
        )
    return None


def clearing_of(item: dict[str, Any]) -> Key | None:
    """The clearing document that settled this item, if another document did."""
    document = item.get("ClearingAccountingDocument")
    if not document or document == item["AccountingDocument"]:
        return None
    return (item["CompanyCode"], item.get("ClearingDocFiscalYear") or item["FiscalYear"], document)


def item_id(key: Key) -> str:
    return "/".join(key)


_DATES: dict[str, date] = {}  # a book has few distinct days: each is parsed once


def sap_date(value: Any) -> date | None:
    """``/Date(1782864000000)/`` (OData V2 JSON, milliseconds since 1970 UTC) -> a date."""
    if value in (None, ""):
        return None
    found = _DATES.get(value) if isinstance(value, str) else None
    if found is not None:
        return found
    match = _DATE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise MappingError(f"not an OData date: {str(value)[:40]!r}")
    try:
        day = datetime.fromtimestamp(int(match.group(1)) / 1000, UTC).date()
    except (OverflowError, OSError, ValueError):
        raise MappingError(f"not an OData date: {value[:40]!r}") from None
    if len(_DATES) < 100_000:
        _DATES[value] = day
    return day


def signed_amount(item: dict[str, Any]) -> Decimal:
    try:
        amount = Decimal(item["AmountInTransactionCurrency"])
    except (InvalidOperation, TypeError, KeyError):
        raise MappingError(
            f"item {item.get('AccountingDocumentItem')}: AmountInTransactionCurrency is not "
            "a decimal"
        ) from None
    if not amount.is_finite():
        raise MappingError("AmountInTransactionCurrency is not a number")
    code = item.get("DebitCreditCode")
    if code == "H":
        return -abs(amount)
    if code == "S":
        return abs(amount)
    raise MappingError(f"DebitCreditCode must be S or H, not {code!r}")


_ISO: dict[str, str] = {}


def iso_date(value: Any) -> str | None:
    """``sap_date`` as ``YYYY-MM-DD`` (the feed's form), each distinct day formatted once."""
    if isinstance(value, str):
        found = _ISO.get(value)
        if found is not None:
            return found
    day = sap_date(value)
    if day is None:
        return None
    if len(_ISO) < 100_000:
        _ISO[value] = day.isoformat()
    return day.isoformat()


_QUANTUM: dict[str, Decimal] = {}


def money(amount: Decimal, currency: str) -> str:
    """An amount with the currency's places when that loses nothing (SAP sends three places);
    otherwise as it is, for the feed's validation to refuse."""
    quantum = _QUANTUM.get(currency)
    if quantum is None:
        places = minor_units(currency) if len(currency) == 3 else 2
        quantum = _QUANTUM.setdefault(currency, Decimal(1).scaleb(-places))
    if amount.adjusted() >= 20:
        return str(amount)
    exact = amount.quantize(quantum)
    return str(exact if exact == amount else amount)


@dataclass
class Documents:
    """Items grouped for mapping: each document's own items, and what points at it."""

    own: dict[Key, list[dict]] = field(default_factory=dict)
    # Open partial-payment items, by the invoice they reference.
    referencing: dict[Key, list[dict]] = field(default_factory=dict)
    # Items cleared by another document, by that clearing document.
    cleared_by: dict[Key, list[dict]] = field(default_factory=dict)

    def add_own(self, items: Iterable[dict]) -> None:
        for item in items:
            self.own.setdefault(key_of(item), []).append(item)

    def add_links(self, items: Iterable[dict]) -> None:
        """Index items by what they point at (call once per item)."""
        for item in items:
            reference = reference_of(item)
            if reference is not None and not item.get("IsCleared"):
                self.referencing.setdefault(reference, []).append(item)
            clearing = clearing_of(item)
            if clearing is not None:
                self.cleared_by.setdefault(clearing, []).append(item)


@dataclass(frozen=True)
class Rules:
    payment_types: frozenset[str]


def map_documents(
    documents: Documents, keys: Iterable[Key], rules: Rules, read_at: datetime
) -> tuple[list[Record], list[Problem]]:
    """Rows for the documents ``keys`` (each must have its own items in ``documents.own``)."""
    records: list[Record] = []
    problems: list[Problem] = []
    stamp = read_at.isoformat()
    for key in keys:
        items = documents.own.get(key)
        if not items:
            continue
        kind = "payments" if items[0].get("AccountingDocumentType") in rules.payment_types else None
        try:
            if kind == "payments":
                row = _payment(key, items, documents, stamp)
            else:
                row = _receivable(key, items, documents, stamp)
                kind = "receivables"
        except (MappingError, KeyError, TypeError) as error:
            message = str(error) if isinstance(error, MappingError) else f"missing {error}"
            problems.append(Problem(kind or "receivables", item_id(key), "", message))
            continue
        if row is not None:
            records.append(Record(kind, item_id(key), row))
    return records, problems


def _common(key: Key, items: list[dict]) -> tuple[str, str]:
    if len(items) == 1:
        customer, currency = items[0].get("Customer"), items[0].get("TransactionCurrency")
        if not customer or not isinstance(customer, str):
            raise MappingError(f"document {item_id(key)} has no customer")
        if not currency or not isinstance(currency, str):
            raise MappingError(f"document {item_id(key)} has no currency")
        return customer, currency
    customers = {item.get("Customer") for item in items}
    currencies = {item.get("TransactionCurrency") for item in items}
    if len(customers) != 1 or None in customers or "" in customers:
        raise MappingError(f"document {item_id(key)} has items of {len(customers)} customers")
    if len(currencies) != 1 or None in currencies:
        raise MappingError(f"document {item_id(key)} has items in {len(currencies)} currencies")
    return customers.pop(), currencies.pop()


def _receivable(key: Key, items: list[dict], documents: Documents, stamp: str) -> dict | None:
    customer, currency = _common(key, items)
    amounts = [signed_amount(item) for item in items]
    if len(items) == 1:
        total = amounts[0]
        open_own = ZERO if items[0].get("IsCleared") else total
    else:
        total = sum(amounts, ZERO)
        open_own = sum(
            (a for a, i in zip(amounts, items, strict=True) if not i.get("IsCleared")), ZERO
        )
    if total == 0:
        return None  # a document netting to nothing owes nothing (a reversal pair)
    kind = "invoice" if total > 0 else "credit_note"
    amount = abs(total)
    if kind == "invoice":
        pointing = documents.referencing.get(key)
        partial = sum((-signed_amount(i) for i in pointing), ZERO) if pointing else ZERO
        open_amount = min(amount, max(ZERO, open_own - partial))
    else:
        open_amount = min(amount, max(ZERO, -open_own))
    first = items[0]
    issued = iso_date(first.get("DocumentDate")) or iso_date(first.get("PostingDate"))
    if issued is None:
        raise MappingError(f"document {item_id(key)} has neither DocumentDate nor PostingDate")
    if len(items) == 1:
        due = iso_date(first.get("NetDueDate")) or issued
    else:
        due_dates = [d for d in (sap_date(item.get("NetDueDate")) for item in items) if d]
        due = min(due_dates).isoformat() if due_dates else issued
    amount_text = money(amount, currency)
    return {
        "id": item_id(key),
        "customer": customer,
        "type": kind,
        "number": first.get("DocumentReferenceID")
        or first.get("BillingDocument")
        or first["AccountingDocument"],
        "issue_date": issued,
        "due_date": due,
        "currency": currency,
        "amount": amount_text,
        "open_amount": amount_text if open_amount == amount else money(open_amount, currency),
        "updated_at": stamp,
    }


def _payment(key: Key, items: list[dict], documents: Documents, stamp: str) -> dict:
    customer, currency = _common(key, items)
    total = sum((signed_amount(item) for item in items), ZERO)
    if total >= 0:
        raise MappingError(f"payment document {item_id(key)} does not credit the customer")
    amount = -total
    applied: dict[str, Decimal] = {}
    for item in items:
        reference = reference_of(item)
        if reference is not None:
            applied[item_id(reference)] = applied.get(item_id(reference), ZERO) - signed_amount(
                item
            )
    for cleared in documents.cleared_by.get(key, ()):
        value = signed_amount(cleared)
        if value > 0 and cleared.get("Customer") == customer:
            target = item_id(key_of(cleared))
            applied[target] = applied.get(target, ZERO) + value
    allocations, left = [], amount
    for receivable, value in sorted(applied.items()):
        value = min(value, left)
        if value <= 0:
            continue
        allocations.append({"receivable": receivable, "amount": money(value, currency)})
        left -= value
    first = items[0]
    posted = sap_date(first.get("PostingDate"))
    if posted is None:
        raise MappingError(f"payment document {item_id(key)} has no PostingDate")
    return {
        "id": item_id(key),
        "customer": customer,
        "amount": money(amount, currency),
        "currency": currency,
        "received_at": datetime(posted.year, posted.month, posted.day, tzinfo=UTC).isoformat(),
        "reference": first.get("PaymentReference") or first.get("AssignmentReference") or None,
        "applied_to": allocations,
        "updated_at": stamp,
    }

"""The ERP feed's contract (design.md, "The service's own HTTP contract"), as marshmallow schemas.

Input and output schemas are separate. The input schemas are the single definition of a valid
row: ``RowLoader`` runs them fast for the feed and the import (see ``service.feeds.fields``), the
OpenAPI document is generated from them, and ``Schema.load`` agrees with ``RowLoader`` (a test
holds the two to the same answers).

Rules that need more than one field (places for the row's currency, due date after issue date,
allocations within the payment) are plain ``check_*`` functions, called by both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validates_schema

from service.errors import FieldError
from service.feeds.currencies import minor_units
from service.feeds.fields import (
    Amount,
    Choice,
    Count,
    CurrencyCode,
    EmailAddress,
    HttpsUrl,
    Instant,
    IsoDate,
    LanguageTag,
    SalesforceId,
    Text,
)

KINDS = ("customers", "receivables", "payments")

RowCheck = Callable[[Mapping[str, Any]], list[tuple[str, str]]]
_ABSENT = object()


def _places(amount: Decimal) -> int:
    exponent = amount.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _too_many_places(amount: Decimal | None, currency: str) -> str | None:
    if amount is None:
        return None
    allowed = minor_units(currency)
    if _places(amount) > allowed:
        return f"{currency} amounts have at most {allowed} decimal places."
    return None


def check_customer(row: Mapping[str, Any]) -> list[tuple[str, str]]:
    problem = _too_many_places(row.get("credit_limit"), row["currency"])
    return [("credit_limit", problem)] if problem else []


def check_receivable(row: Mapping[str, Any]) -> list[tuple[str, str]]:
    problems = []
    for name in ("amount", "open_amount"):
        problem = _too_many_places(row[name], row["currency"])
        if problem:
            problems.append((name, problem))
    if row["open_amount"] > row["amount"]:
        problems.append(("open_amount", "Must not exceed amount."))
    if row["due_date"] < row["issue_date"]:
        problems.append(("due_date", "Must not be before issue_date."))
    return problems


def check_payment(row: Mapping[str, Any]) -> list[tuple[str, str]]:
    problems = []
    problem = _too_many_places(row["amount"], row["currency"])
    if problem:
        problems.append(("amount", problem))
    allocations = row.get("applied_to") or []
    seen: set[str] = set()
    for i, allocation in enumerate(allocations):
        problem = _too_many_places(allocation["amount"], row["currency"])
        if problem:
            problems.append((f"applied_to[{i}].amount", problem))
        if allocation["receivable"] in seen:
            problems.append((f"applied_to[{i}].receivable", "Applied to this receivable twice."))
        seen.add(allocation["receivable"])
    applied = sum((a["amount"] for a in allocations), Decimal(0))
    if not problems and applied > row["amount"]:
        problems.append(("applied_to", "Applied amounts add up to more than the payment."))
    return problems


class _Checked(Schema):
    """A row schema whose cross-field rule is ``row_check``; unknown fields are refused."""

    row_check: RowCheck | None = None

    class Meta:
        unknown = RAISE

    @validates_schema
    def _cross_field(self, data, **kwargs):
        check = type(self).row_check
        if check is None:
            return
        problems = check(data)
        if problems:
            raise ValidationError(_nest(problems))


def _nest(problems: list[tuple[str, str]]) -> dict:
    """``[("applied_to[0].amount", m)]`` -> ``{"applied_to": {0: {"amount": [m]}}}``."""
    out: dict = {}
    for path, message in problems:
        node = out
        keys: list[str | int] = []
        for part in path.split("."):
            name, _, index = part.partition("[")
            keys.append(name)
            if index:
                keys.append(int(index.rstrip("]")))
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node.setdefault(keys[-1], []).append(message)
    return out


class CustomerIn(_Checked):
    row_check = staticmethod(check_customer)

    number = Text(max_length=80, required=True, metadata={"description": "ERP customer number"})
    name = Text(max_length=255, required=True)
    currency = CurrencyCode(required=True)
    credit_limit = Amount(allow_none=True)
    payment_terms_days = Count(maximum=3650, allow_none=True)
    salesforce_account_id = SalesforceId(allow_none=True)
    language = LanguageTag(
        allow_none=True, metadata={"description": "the pay page's language, e.g. de"}
    )
    billing_email = EmailAddress(
        allow_none=True, metadata={"description": "where payment reminders are sent"}
    )
    updated_at = Instant(metadata={"description": "optional; an older version is ignored"})


# Lengths of what is pushed to Salesforce are its fields' (sfdx/main/default/objects): a customer
# number is Account.ERP_Customer_Number__c (80), a receivable's id Receivable__c.ERP_Item_Id__c
# (80) and its number Receivable__c.Name (80). A longer value could be stored but never pushed.


class ReceivableIn(_Checked):
    row_check = staticmethod(check_receivable)

    id = Text(
        max_length=80,
        required=True,
        metadata={"description": "the ERP's item id (Receivable__c.ERP_Item_Id__c)"},
    )
    customer = Text(max_length=80, required=True, metadata={"description": "customer number"})
    type = Choice(("invoice", "credit_note"), required=True)
    number = Text(max_length=80, required=True, metadata={"description": "document number"})
    issue_date = IsoDate(required=True)
    due_date = IsoDate(required=True)
    currency = CurrencyCode(required=True)
    amount = Amount(required=True)
    open_amount = Amount(required=True)
    pay_link = HttpsUrl(
        max_length=255,
        allow_none=True,
        metadata={"description": "the ERP's own pay link; wins over the service's pay page"},
    )
    updated_at = Instant(required=True)


class AllocationIn(_Checked):
    receivable = Text(max_length=80, required=True, metadata={"description": "receivable id"})
    amount = Amount(positive=True, required=True)


class PaymentIn(_Checked):
    row_check = staticmethod(check_payment)

    id = Text(max_length=120, required=True)
    customer = Text(max_length=80, required=True)
    amount = Amount(positive=True, required=True)
    currency = CurrencyCode(required=True)
    received_at = Instant(required=True)
    reference = Text(max_length=255, allow_none=True)
    applied_to = fields.List(fields.Nested(AllocationIn))
    updated_at = Instant(
        metadata={"description": "optional; a stored payment changes only when newer"}
    )


class ErpBatchIn(Schema):
    """``POST /api/v1/feeds/erp``: at most 5,000 rows in all, stored in one transaction."""

    class Meta:
        unknown = RAISE

    source = Text(max_length=60, required=True, metadata={"example": "erp-main"})
    customers = fields.List(fields.Nested(CustomerIn))
    receivables = fields.List(fields.Nested(ReceivableIn))
    payments = fields.List(fields.Nested(PaymentIn))


class RowCountsOut(Schema):
    accepted = fields.Integer(metadata={"description": "rows inserted or changed"})
    ignored = fields.Integer(metadata={"description": "rows not newer than what is stored"})


class ErpBatchOut(Schema):
    source = fields.String()
    duplicate = fields.Boolean(metadata={"description": "the same batch was already applied"})
    customers = fields.Nested(RowCountsOut)
    receivables = fields.Nested(RowCountsOut)
    payments = fields.Nested(RowCountsOut)
    queued_for_assessment = fields.Integer(
        metadata={
            "description": "customers whose credit assessment this batch changed: queued in the "
            "same transaction and re-assessed by the worker within moments (a credit read "
            "re-assesses a waiting customer on the spot)"
        }
    )


class ErrorOut(Schema):
    code = fields.String(
        required=True,
        metadata={"description": "stable, e.g. invalid, unauthorized, not_found, too_large"},
    )
    path = fields.String(
        metadata={"description": "where in the request body, e.g. receivables[3].due_date"}
    )
    message = fields.String(required=True, metadata={"description": "for people, in English"})


class ErrorsOut(Schema):
    """The body of every error answer (4xx and 5xx), whatever the endpoint: always a list."""

    errors = fields.List(fields.Nested(ErrorOut), required=True)


# --- the fast path ------------------------------------------------------------------------------


class RowLoader:
    """Load rows with a schema's own fields and checks, minus marshmallow's per-row overhead."""

    def __init__(self, schema_cls: type[Schema]) -> None:
        schema = schema_cls()
        self.fields = []
        for name, field in schema.load_fields.items():
            nested = None
            if isinstance(field, fields.List) and isinstance(field.inner, fields.Nested):
                nested = RowLoader(type(field.inner.schema))
            self.fields.append(
                (field.data_key or name, name, field, field.required, field.allow_none, nested)
            )
        self.known = frozenset(key for key, *_ in self.fields)
        self.check: RowCheck | None = getattr(schema_cls, "row_check", None)
        self.unknown_message = schema.error_messages.get("unknown", "Unknown field.")
        self.type_message = schema.error_messages.get("type", "Invalid input type.")
        self.list_message = fields.List.default_error_messages["invalid"]

    def load_many(
        self, rows: Any, prefix: str, errors: list[FieldError], first_index: int = 0
    ) -> list[dict | None]:
        """Loaded rows, ``None`` where a row is invalid (its errors appended to ``errors``)."""
        if not isinstance(rows, list):
            errors.append(FieldError(prefix, self.list_message))
            return []
        return [
            self.load_one(row, f"{prefix}[{i}]", errors) for i, row in enumerate(rows, first_index)
        ]

    def load_one(self, row: Any, path: str, errors: list[FieldError]) -> dict | None:
        if not isinstance(row, dict):
            errors.append(FieldError(path, self.type_message))
            return None
        before = len(errors)
        out: dict[str, Any] = {}
        seen = 0
        for key, name, field, required, allow_none, nested in self.fields:
            value = row.get(key, _ABSENT)
            if value is _ABSENT:
                if required:
                    errors.append(FieldError(f"{path}.{key}", field.error_messages["required"]))
                continue
            seen += 1
            if value is None:
                if allow_none:
                    out[name] = None
                else:
                    errors.append(FieldError(f"{path}.{key}", field.error_messages["null"]))
                continue
            if nested is not None:
                out[name] = nested.load_many(value, f"{path}.{key}", errors)
                continue
            try:
                out[name] = field.parse(value)
            except ValueError as exc:
                errors.append(FieldError(f"{path}.{key}", str(exc)))
        if seen != len(row):
            for key in row:
                if key not in self.known:
                    errors.append(FieldError(f"{path}.{key}", self.unknown_message))
        if len(errors) > before:
            return None
        if self.check is not None:
            for where, message in self.check(out):
                errors.append(FieldError(f"{path}.{where}", message))
            if len(errors) > before:
                return None
        return out


_LOADERS: dict[str, RowLoader] = {}


def loader(kind: str) -> RowLoader:
    """The shared loader for ``customers``, ``receivables`` or ``payments`` (built once)."""
    if kind not in _LOADERS:
        schema = {"customers": CustomerIn, "receivables": ReceivableIn, "payments": PaymentIn}[kind]
        _LOADERS[kind] = RowLoader(schema)
    return _LOADERS[kind]


_SOURCE = ErpBatchIn().fields["source"]
_BATCH_KEYS = frozenset(("source", *KINDS))


def load_batch(doc: Any) -> tuple[dict[str, Any], list[FieldError]]:
    """Validate a whole feed document field by field; ``errors`` empty means every row is good."""
    errors: list[FieldError] = []
    if not isinstance(doc, dict):
        return {}, [FieldError("", "The body must be a JSON object.")]
    batch: dict[str, Any] = {}
    if "source" not in doc:
        errors.append(FieldError("source", _SOURCE.error_messages["required"]))
    else:
        try:
            batch["source"] = _SOURCE.parse(doc["source"])
        except ValueError as exc:
            errors.append(FieldError("source", str(exc)))
    for kind in KINDS:
        batch[kind] = loader(kind).load_many(doc.get(kind, []), kind, errors)
    for key in doc:
        if key not in _BATCH_KEYS:
            errors.append(FieldError(key, "Unknown field."))
    return batch, errors


def row_count(doc: Any) -> int:
    """Rows in a document, counted before validating it (for the 413 limit)."""
    if not isinstance(doc, dict):
        return 0
    return sum(len(v) for k in KINDS if isinstance(v := doc.get(k), list))


def flatten_messages(messages: Mapping | Iterable, path: str = "") -> list[FieldError]:
    """Turn marshmallow's nested error dict into ``FieldError``s with ``a[3].b`` paths."""
    if isinstance(messages, Mapping):
        out = []
        for key, value in messages.items():
            if isinstance(key, int):
                child = f"{path}[{key}]"
            elif key == "_schema":
                child = path
            else:
                child = f"{path}.{key}" if path else str(key)
            out.extend(flatten_messages(value, child))
        return out
    return [FieldError(path, str(message)) for message in messages]


__all__ = [
    "KINDS",
    "ErpBatchIn",
    "ErpBatchOut",
    "ErrorsOut",
    "RowLoader",
    "flatten_messages",
    "load_batch",
    "loader",
    "row_count",
]

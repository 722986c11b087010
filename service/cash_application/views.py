"""``GET /api/v1/cash-applications?since=&limit=``: applied bank credits for the ERP to post.

Bearer token, like every read (``service.api.auth`` denies by default). ``since`` is an ISO 8601
instant with its time zone (``2026-03-15T00:00:00Z``); anything else is a 400 naming the
parameter, and so is a ``limit`` outside 1 to ``MAX_LIMIT``. See ``export`` for the lines' ids
and states.
"""

from __future__ import annotations

from datetime import datetime

from flask import request
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from service.cash_application import export
from service.errors import FieldError, ValidationFailed
from service.extensions import services

blp = Blueprint(
    "cash_applications",
    __name__,
    url_prefix="/api/v1",
    description="Bank credits applied to invoices, for the ERP to post",
)

DEFAULT_LIMIT = 500
MAX_LIMIT = 5000
PARAMETERS = [
    {
        "in": "query",
        "name": "since",
        "required": False,
        "description": "only applications changed at or after this instant (ISO 8601, with zone)",
        "schema": {"type": "string", "format": "date-time"},
    },
    {
        "in": "query",
        "name": "limit",
        "required": False,
        "description": f"at most this many applications (default {DEFAULT_LIMIT})",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
    },
]


def parse_since(text: str | None) -> datetime | None:
    """An ISO 8601 instant with a zone, or None; ``ValueError`` with the reason otherwise."""
    if text is None or text == "":
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise ValueError("must be an ISO 8601 date-time such as 2026-03-15T00:00:00Z") from None
    if value.tzinfo is None:
        raise ValueError("must carry a time zone (Z or +01:00)")
    return value


def _limit() -> int:
    text = request.args.get("limit")
    if text is None:
        return DEFAULT_LIMIT
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_LIMIT:
        raise ValidationFailed([FieldError("limit", f"must be a whole number, 1 to {MAX_LIMIT}")])
    return int(text)


class LineOut(Schema):
    id = fields.String(metadata={"description": "stable: post each line once by it"})
    customer = fields.String(metadata={"description": "the ERP customer number"})
    invoice = fields.String(
        allow_none=True, metadata={"description": "the receivable's ERP id; null: unapplied cash"}
    )
    document_number = fields.String(allow_none=True)
    amount = fields.String(metadata={"description": "decimal string"})
    currency = fields.String()
    status = fields.String(metadata={"enum": ["applied", "posted", "reversed"]})


class CashApplicationOut(Schema):
    id = fields.String(metadata={"example": "ca-17"})
    status = fields.String(metadata={"enum": ["applied", "reversed"]})
    bank_transaction_id = fields.Integer()
    bank_account = fields.String()
    bank_reference = fields.String(allow_none=True)
    end_to_end_id = fields.String(allow_none=True)
    booking_date = fields.String(metadata={"format": "date"})
    amount = fields.String(metadata={"description": "decimal string"})
    currency = fields.String()
    payer_name = fields.String(allow_none=True)
    evidence = fields.String(allow_none=True)
    confidence = fields.Integer(allow_none=True)
    reason = fields.String(allow_none=True)
    decided_by = fields.String(allow_none=True, metadata={"enum": ["automatic", "salesforce"]})
    updated_at = fields.String(metadata={"format": "date-time"})
    lines = fields.List(fields.Nested(LineOut))


class CashApplicationsOut(Schema):
    count = fields.Integer()
    next_since = fields.String(
        allow_none=True, metadata={"description": "pass as since for the next page; null: done"}
    )
    cash_applications = fields.List(fields.Nested(CashApplicationOut))


@blp.route("/cash-applications", methods=["GET"])
@blp.doc(parameters=PARAMETERS)
@blp.response(200, CashApplicationsOut)
@blp.alt_response(400, schema="Errors", description="Invalid since or limit")
@blp.alt_response(401, schema="Errors", description="No or wrong bearer token")
def cash_applications():
    """Bank credits applied to invoices (and reversed), oldest change first."""
    try:
        since = parse_since(request.args.get("since"))
    except ValueError as exc:
        raise ValidationFailed([FieldError("since", str(exc))]) from None
    limit = _limit()
    with services().sessions() as session:
        docs = export.documents(session, since, limit)
    full = len(docs) == limit
    return {
        "count": len(docs),
        "next_since": docs[-1]["updated_at"] if full else None,
        "cash_applications": docs,
    }

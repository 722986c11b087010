"""``GET /api/v1/operations/parked`` and ``/dead``: what the service could not handle or push.

For operators (bearer token, like every endpoint): parked inbound events with their error and
payload (``credit-control events replay`` handles them again after a fix), and outbox rows that
could not be pushed to Salesforce — ``dead`` (the org refused them for good) and ``unmatched``
(no Account carries the customer's ERP number) — which ``credit-control outbox retry`` queues
again. Oldest parked event first (replay order); newest outbox row first.
"""

from __future__ import annotations

from flask import request
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from service import inbox, outbox
from service.errors import FieldError, ValidationFailed
from service.extensions import services

blp = Blueprint(
    "operations",
    __name__,
    url_prefix="/api/v1/operations",
    description="Parked events and dead outbox rows",
)

DEFAULT_LIMIT = 200
MAX_LIMIT = 1000
LIMIT_PARAMETER = {
    "in": "query",
    "name": "limit",
    "required": False,
    "description": f"at most this many rows (default {DEFAULT_LIMIT})",
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
}


def _limit() -> int:
    """``?limit=``, 1 to ``MAX_LIMIT``; anything else is a 400 with the path ``limit``."""
    text = request.args.get("limit")
    if text is None:
        return DEFAULT_LIMIT
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_LIMIT:
        raise ValidationFailed([FieldError("limit", f"must be a whole number, 1 to {MAX_LIMIT}")])
    return int(text)


class ParkedEventOut(Schema):
    id = fields.Integer(metadata={"description": "inbox id, for `credit-control events replay`"})
    source = fields.String(metadata={"example": "salesforce"})
    kind = fields.String(
        metadata={"description": "the channel", "example": "/event/Payment_Received__e"}
    )
    external_id = fields.String(metadata={"description": "the dedupe key of the event"})
    error = fields.String(allow_none=True, metadata={"description": "why its handling failed"})
    received_at = fields.DateTime()
    payload = fields.Dict(allow_none=True, metadata={"description": "the event as delivered"})


class ParkedOut(Schema):
    count = fields.Integer(metadata={"description": "rows in this answer"})
    events = fields.List(fields.Nested(ParkedEventOut))


class DeadRowOut(Schema):
    id = fields.Integer(metadata={"description": "outbox id, for `credit-control outbox retry`"})
    status = fields.String(metadata={"enum": list(outbox.FAILED_STATES)})
    kind = fields.String()
    target = fields.String(metadata={"example": "Account:42"})
    attempts = fields.Integer()
    error_code = fields.String(allow_none=True, metadata={"example": "ENTITY_IS_DELETED"})
    error = fields.String(allow_none=True, attribute="last_error")
    created_at = fields.DateTime()


class DeadOut(Schema):
    count = fields.Integer(metadata={"description": "rows in this answer"})
    rows = fields.List(fields.Nested(DeadRowOut))


@blp.route("/parked", methods=["GET"])
@blp.doc(parameters=[LIMIT_PARAMETER])
@blp.response(200, ParkedOut)
@blp.alt_response(400, schema="Errors", description="Invalid limit")
@blp.alt_response(401, schema="Errors", description="No or wrong bearer token")
def parked():
    """Inbound events whose handling failed, kept with their error for a replay."""
    limit = _limit()
    with services().sessions() as session:
        rows = inbox.parked_rows(session, limit)
        return {"count": len(rows), "events": rows}


@blp.route("/dead", methods=["GET"])
@blp.doc(parameters=[LIMIT_PARAMETER])
@blp.response(200, DeadOut)
@blp.alt_response(400, schema="Errors", description="Invalid limit")
@blp.alt_response(401, schema="Errors", description="No or wrong bearer token")
def dead():
    """Outbox rows Salesforce refused for good (dead) or that have no Account (unmatched)."""
    limit = _limit()
    with services().sessions() as session:
        rows = outbox.failed_rows(session, limit)
        return {"count": len(rows), "rows": rows}

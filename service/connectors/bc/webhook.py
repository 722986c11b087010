"""``POST /api/v1/webhooks/business-central``: Business Central's webhook endpoint.

Two kinds of request reach it:

- the **validation handshake**: when a subscription is created or renewed, Business Central
  calls the notification URL with ``?validationToken=...`` and expects the token back as plain
  text within seconds;
- **notifications**: ``{"value": [{"subscriptionId", "clientState", "resource", "changeType",
  "lastModifiedDateTime", ...}]}``. Every notification must carry our client state
  (``BC_WEBHOOK_CLIENT_STATE``, compared in constant time); a body that does not is refused
  whole and nothing is recorded.

A notification only says that something changed: it is recorded (``connector_cursors`` row
``bc:notified``) and the worker's connector loop runs an incremental pull at once instead of
waiting for its next slot. Nothing in it is trusted as data.
"""

from __future__ import annotations

import hmac
import json

from flask import Response, request
from flask_smorest import Blueprint

from service.api.auth import public
from service.connectors import cursors
from service.db import transaction, utcnow
from service.errors import ServiceError
from service.extensions import services

NOTIFIED = "bc:notified"
MAX_NOTIFICATIONS = 1_000
MAX_TOKEN = 1_024

blp = Blueprint(
    "business-central-webhooks",
    __name__,
    url_prefix="/api/v1/webhooks",
    description="Business Central's webhook notifications",
)


class NotOurs(ServiceError):
    """A notification without our client state (or webhooks not configured here)."""

    status = 401
    code = "unauthorized"
    public_message = "The notification does not carry this service's client state."


class BadNotification(ServiceError):
    status = 400
    code = "invalid"
    public_message = 'The body must be {"value": [notification, ...]}.'


@blp.route("/business-central", methods=["POST"])
@blp.doc(
    security=[],
    parameters=[
        {
            "name": "validationToken",
            "in": "query",
            "required": False,
            "schema": {"type": "string", "maxLength": MAX_TOKEN},
            "description": "the subscription handshake: answered with the token as text/plain",
        }
    ],
    requestBody={
        "required": False,
        "content": {"application/json": {"schema": {"type": "object"}}},
        "description": "Business Central's notifications (absent during the handshake)",
    },
)
@blp.alt_response(200, description="The handshake's token, as plain text")
@blp.alt_response(202, description="Recorded: an incremental pull follows")
@blp.alt_response(400, schema="Errors", description="Not a notification body")
@blp.alt_response(401, schema="Errors", description="Not carrying our client state")
@public
def business_central_webhook():
    """The subscription handshake, or notifications that trigger an incremental pull."""
    state = services().config.bc_webhook_client_state
    if state is None:
        raise NotOurs("Business Central webhooks are not configured (BC_WEBHOOK_CLIENT_STATE).")
    token = request.args.get("validationToken")
    if token is not None:
        if not token or len(token) > MAX_TOKEN:
            raise BadNotification("validationToken must be 1 to 1024 characters.")
        return Response(token, 200, mimetype="text/plain")
    try:
        body = json.loads(request.get_data(cache=False) or b"null")
    except (ValueError, RecursionError):
        raise BadNotification() from None
    notes = body.get("value") if isinstance(body, dict) else None
    if not isinstance(notes, list) or not notes or len(notes) > MAX_NOTIFICATIONS:
        raise BadNotification()
    for note in notes:
        given = note.get("clientState") if isinstance(note, dict) else None
        if not isinstance(given, str) or not hmac.compare_digest(given.encode(), state.encode()):
            raise NotOurs()
    svc = services()
    now = utcnow()  # compared with the pulls' own instants, not the app's business clock
    with transaction(svc.sessions) as session:
        cursors.save(session, NOTIFIED, {"at": now.isoformat(), "count": len(notes)}, now)
    return Response(status=202)

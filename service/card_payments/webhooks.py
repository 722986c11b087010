"""``POST /api/v1/webhooks/stripe``: Stripe's events, verified, recorded once, applied.

The raw body is verified with ``stripe.Webhook.construct_event`` against each configured secret
(``STRIPE_WEBHOOK_SECRET``, comma-separated while an endpoint's secret is rolled); a body no
secret verifies is refused with 400 before anything is read or written. A verified event is
recorded in the inbox under its id in the same transaction as its effect, so a redelivery is
answered 200 and changes nothing. Events of types this product does not use are recorded and
acknowledged (Stripe would otherwise retry them for days).
"""

from __future__ import annotations

import json
import logging

import stripe
from flask import request
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy.exc import IntegrityError

from service.api.auth import public
from service.card_payments import in_flight
from service.card_payments.events import facts_of
from service.db import transaction
from service.errors import Conflict, ServiceError
from service.extensions import services
from service.inbox import record_once

log = logging.getLogger(__name__)

SOURCE = "stripe"
SIGNATURE_HEADER = "Stripe-Signature"

blp = Blueprint(
    "webhooks", __name__, url_prefix="/api/v1/webhooks", description="Signed inbound webhooks"
)


class BadSignature(ServiceError):
    """The body is not signed by any configured Stripe webhook secret (or is not an event)."""

    status = 400
    code = "bad_signature"
    public_message = "The Stripe-Signature header does not verify this body."


class WebhookOut(Schema):
    received = fields.Boolean(metadata={"description": "always true: Stripe need not retry"})
    outcome = fields.String(
        metadata={
            "description": "duplicate (seen before), ignored (a type or payment not ours), "
            "recorded, in flight, reversed or posted (the ERP has it)"
        }
    )


def _verified(body: bytes) -> dict:
    secrets = services().config.stripe_webhook_secrets
    header = request.headers.get(SIGNATURE_HEADER)
    if not secrets:
        raise BadSignature("Stripe webhooks are not configured here (STRIPE_WEBHOOK_SECRET).")
    for secret in secrets:
        try:
            stripe.Webhook.construct_event(body, header, secret)
        except stripe.SignatureVerificationError:
            continue
        except (ValueError, RecursionError):  # signed, but not JSON: not an event either
            break
        event = json.loads(body)
        if isinstance(event, dict) and isinstance(event.get("id"), str) and event["id"]:
            return event
        break
    raise BadSignature()


@blp.route("/stripe", methods=["POST"])
@blp.doc(
    security=[{"stripeSignature": []}],
    requestBody={
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
        "description": "A Stripe Event, as Stripe sends it (any API version)",
    },
)
@blp.response(200, WebhookOut)
@blp.alt_response(400, schema="Errors", description="Not signed by a configured secret")
@blp.alt_response(409, schema="Errors", description="Another event of the same payment; retry")
@public
def stripe_webhook():
    """Checkout, PaymentIntent, refund and dispute events: in-flight cash within a second."""
    body = request.get_data(cache=False)
    event = _verified(body)
    svc = services()
    try:
        with transaction(svc.sessions) as session:
            facts = facts_of(event)
            status = "processed" if facts is not None else "ignored"
            kind = str(event.get("type") or "")[:80]
            if not record_once(session, SOURCE, event["id"][:255], kind, event, status=status):
                return {"received": True, "outcome": "duplicate"}
            if facts is None:
                return {"received": True, "outcome": "ignored"}
            outcome = in_flight.apply(session, facts, svc.clock().date(), svc.policy)
    except IntegrityError:
        # Two events of one new payment at the same moment: the loser rolled back whole and
        # Stripe delivers it again.
        raise Conflict() from None
    log.info("stripe event %s (%s): %s", event["id"], kind, outcome)
    return {"received": True, "outcome": outcome}

"""The stand-in's state: objects by id, idempotent requests, and the webhooks it sends.

Test-mode actions (``pay``, ``settle``, ``dispute``, ``close_dispute``, ``refund``) change the
objects the way Stripe does and send the events Stripe would, in Stripe's order, each signed
with the real library's signer (``stripe.WebhookSignature.generate_signature_header``) so the
receiver verifies it with ``stripe.Webhook.construct_event`` exactly as in production.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

import requests
import stripe

from devstripe import objects


class StripeError(Exception):
    """An API error in Stripe's shape (``{"error": {"type", "message", "code"}}``)."""

    def __init__(self, status: int, message: str, kind: str = "invalid_request_error", code=None):
        super().__init__(message)
        self.status, self.kind, self.code = status, kind, code

    def body(self) -> dict[str, Any]:
        return {"error": {"type": self.kind, "message": str(self), "code": self.code}}


@dataclass
class Delivery:
    """One webhook sent: the event, the receiver's answer (None: unreachable)."""

    event: dict[str, Any]
    status: int | None


@dataclass
class Ledger:
    webhook_url: str | None = None
    webhook_secret: str | None = None
    hosted_url: str = ""
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    idempotent: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    deliveries: list[Delivery] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)

    # -- API -----------------------------------------------------------------------------

    def get(self, prefix: str, oid: str) -> dict[str, Any]:
        obj = self.objects.get(oid)
        if obj is None or not oid.startswith(prefix):
            raise StripeError(404, f"No such object: '{oid}'", code="resource_missing")
        return obj

    def once(self, key: str | None, params: dict[str, Any], make) -> dict[str, Any]:
        """Stripe's idempotency: the same key with the same parameters answers the first result."""
        if not key:
            return make()
        fingerprint = json.dumps(params, sort_keys=True)
        with self.lock:
            seen = self.idempotent.get(key)
            if seen is not None:
                if seen[0] != fingerprint:
                    raise StripeError(
                        400,
                        "Keys for idempotent requests can only be used with the same parameters "
                        "they were first used with.",
                        kind="idempotency_error",
                    )
                return seen[1]
            result = make()
            self.idempotent[key] = (fingerprint, result)
            return result

    def create_session(self, params: dict[str, Any]) -> dict[str, Any]:
        items = params.get("line_items") or []
        if params.get("mode", "payment") != "payment" or not items:
            raise StripeError(400, "The stand-in supports mode=payment with line_items.")
        amount, currency = 0, None
        for item in items:
            price = item.get("price_data") or {}
            try:
                unit, quantity = int(price["unit_amount"]), int(item.get("quantity", 1))
            except (KeyError, ValueError):
                raise StripeError(400, "line_items need price_data[unit_amount]") from None
            if unit < 1 or quantity < 1:
                raise StripeError(400, "Amounts must be positive.", code="amount_too_small")
            amount += unit * quantity
            currency = currency or str(price.get("currency", "")).lower()
        if not currency or len(currency) != 3:
            raise StripeError(400, "Missing required param: currency.", code="parameter_missing")
        session = objects.checkout_session(params, amount, currency, self.hosted_url)
        session["_intent_metadata"] = dict(
            (params.get("payment_intent_data") or {}).get("metadata") or {}
        )
        with self.lock:
            self.objects[session["id"]] = session
        return session

    def refund(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            if params.get("payment_intent"):
                intent = self.get("pi_", params["payment_intent"])
                ch = self.get("ch_", intent["latest_charge"] or "")
            else:
                ch = self.get("ch_", params.get("charge") or "")
            left = ch["amount_captured"] - ch["amount_refunded"]
            amount = int(params.get("amount") or left)
            if amount < 1 or amount > left:
                raise StripeError(400, "Refund amount is greater than unrefunded amount.")
            refund = objects.refund(ch, amount, params.get("reason"))
            self.objects[refund["id"]] = refund
            previous = {"amount_refunded": ch["amount_refunded"], "refunded": ch["refunded"]}
            ch["amount_refunded"] += amount
            ch["refunded"] = ch["amount_refunded"] == ch["amount_captured"]
            events = [
                objects.event("charge.refunded", public(ch), previous),
                objects.event("refund.created", public(refund)),
            ]
        self.send(events)
        return refund

    # -- test-mode actions ---------------------------------------------------------------

    def pay(self, session_id: str, *, delayed: bool = False) -> dict[str, Any]:
        """The customer pays: by card (paid at once) or a delayed method (``unpaid`` until
        ``settle``). Sends ``payment_intent.succeeded`` (card) and ``checkout.session.completed``."""
        with self.lock:
            session = self.get("cs_", session_id)
            if session["status"] != "open":
                raise StripeError(400, "This Checkout Session is no longer open.")
            intent = objects.payment_intent(
                session["amount_total"], session["currency"], session["_intent_metadata"]
            )
            self.objects[intent["id"]] = intent
            session.update(status="complete", payment_intent=intent["id"])
            events = []
            if delayed:
                intent["status"] = "processing"
            else:
                events.append(self._succeed(intent))
                session["payment_status"] = "paid"
            events.insert(0, objects.event("checkout.session.completed", public(session)))
        self.send(events)
        return public(session)

    def _succeed(self, intent: dict[str, Any]) -> dict[str, Any]:
        ch = objects.charge(intent)
        self.objects[ch["id"]] = ch
        intent.update(status="succeeded", amount_received=intent["amount"], latest_charge=ch["id"])
        return objects.event("payment_intent.succeeded", public(intent))

    def settle(self, session_id: str, *, succeeded: bool) -> dict[str, Any]:
        """A delayed payment method clears (or fails) days later."""
        with self.lock:
            session = self.get("cs_", session_id)
            intent = self.get("pi_", session["payment_intent"] or "")
            if session["payment_status"] != "unpaid" or intent["status"] != "processing":
                raise StripeError(400, "This session has no payment awaiting settlement.")
            if succeeded:
                events = [self._succeed(intent)]
                session["payment_status"] = "paid"
                events.append(
                    objects.event("checkout.session.async_payment_succeeded", public(session))
                )
            else:
                intent["status"] = "requires_payment_method"
                events = [
                    objects.event("payment_intent.payment_failed", public(intent)),
                    objects.event("checkout.session.async_payment_failed", public(session)),
                ]
        self.send(events)
        return public(session)

    def dispute(self, charge_id: str, reason: str = "fraudulent") -> dict[str, Any]:
        with self.lock:
            ch = self.get("ch_", charge_id)
            dp = objects.dispute(ch, reason)
            self.objects[dp["id"]] = dp
            ch["disputed"] = True
            events = [objects.event("charge.dispute.created", public(dp))]
        self.send(events)
        return dp

    def close_dispute(self, dispute_id: str, status: str) -> dict[str, Any]:
        if status not in ("won", "lost"):
            raise StripeError(400, "status is won or lost")
        with self.lock:
            dp = self.get("dp_", dispute_id)
            previous = {"status": dp["status"]}
            dp["status"] = status
            events = [objects.event("charge.dispute.closed", public(dp), previous)]
        self.send(events)
        return dp

    # -- webhooks ------------------------------------------------------------------------

    def send(self, events: list[dict[str, Any]]) -> None:
        """Deliver each event to the endpoint, signed; the answers are kept in ``deliveries``."""
        for event in events:
            status = None
            if self.webhook_url and self.webhook_secret:
                body = json.dumps(event, indent=2)
                header = stripe.WebhookSignature.generate_signature_header(
                    body, self.webhook_secret
                )
                try:
                    status = requests.post(
                        self.webhook_url,
                        data=body.encode(),
                        headers={
                            "Content-Type": "application/json; charset=utf-8",
                            "Stripe-Signature": header,
                            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                        },
                        timeout=10,
                    ).status_code
                except requests.RequestException:
                    status = None
            with self.lock:
                self.deliveries.append(Delivery(event, status))


def public(obj: dict[str, Any]) -> dict[str, Any]:
    """The object as the API shows it (without the stand-in's own bookkeeping keys)."""
    return {k: v for k, v in obj.items() if not k.startswith("_")}

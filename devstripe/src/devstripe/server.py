"""The stand-in over real HTTP: Stripe's API paths for this product, a hosted test pay page,
and test-mode actions under ``/_devstripe/``.

``DevStripe`` runs it on a local port in a thread; point the service at it with
``STRIPE_API_BASE`` and the real ``stripe`` library talks to it unmodified
(``StripeClient(key, base_addresses={"api": base_url})``).

* ``POST /v1/checkout/sessions``, ``GET /v1/checkout/sessions/<id>``
* ``GET /v1/payment_intents/<id>``, ``GET /v1/charges/<id>``, ``POST /v1/refunds``
* ``GET /c/pay/<session id>``: the hosted page with the test card; ``POST`` pays and redirects
  to the session's ``success_url``.
* ``POST /_devstripe/checkout/sessions/<id>/pay`` (``{"delayed": true}`` for a delayed
  method), ``.../settle`` (``{"succeeded": bool}``), ``/_devstripe/charges/<id>/dispute``,
  ``/_devstripe/disputes/<id>/close`` (``{"status": "lost"}``), ``GET /_devstripe/deliveries``.
"""

from __future__ import annotations

import html
import threading
from typing import Any

from flask import Flask, jsonify, redirect, request
from werkzeug.serving import WSGIRequestHandler, make_server

from devstripe.forms import decode
from devstripe.ledger import Ledger, StripeError, public

TEST_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0002"


def _params() -> dict[str, Any]:
    if request.method == "GET":
        return decode(request.args.items(multi=True))
    return decode(request.form.items(multi=True))


def create_app(ledger: Ledger) -> Flask:
    app = Flask("devstripe")

    @app.errorhandler(StripeError)
    def stripe_error(exc: StripeError):
        return jsonify(exc.body()), exc.status

    @app.before_request
    def authenticate():
        if not request.path.startswith("/v1/"):
            return None
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer sk_"):
            error = StripeError(401, "Invalid API Key provided.", kind="invalid_request_error")
            return jsonify(error.body()), 401
        return None

    @app.post("/v1/checkout/sessions")
    def create_session():
        params = _params()
        key = request.headers.get("Idempotency-Key")
        return jsonify(public(ledger.once(key, params, lambda: ledger.create_session(params))))

    @app.get("/v1/checkout/sessions/<sid>")
    def get_session(sid: str):
        return jsonify(public(ledger.get("cs_", sid)))

    @app.get("/v1/payment_intents/<pid>")
    def get_intent(pid: str):
        return jsonify(public(ledger.get("pi_", pid)))

    @app.get("/v1/charges/<cid>")
    def get_charge(cid: str):
        return jsonify(public(ledger.get("ch_", cid)))

    @app.post("/v1/refunds")
    def create_refund():
        params = _params()
        key = request.headers.get("Idempotency-Key")
        return jsonify(ledger.once(key, params, lambda: ledger.refund(params)))

    @app.get("/c/pay/<sid>")
    def hosted_page(sid: str):
        session = ledger.get("cs_", sid)
        return _page(session)

    @app.post("/c/pay/<sid>")
    def hosted_pay(sid: str):
        session = ledger.get("cs_", sid)
        card = request.form.get("card", "").replace(" ", "")
        if card != TEST_CARD.replace(" ", ""):
            return _page(session, "Your card was declined. Use the test card."), 402
        ledger.pay(sid)
        target = (session.get("success_url") or "/").replace("{CHECKOUT_SESSION_ID}", sid)
        return redirect(target, 303)

    @app.post("/_devstripe/checkout/sessions/<sid>/pay")
    def test_pay(sid: str):
        body = request.get_json(silent=True) or {}
        return jsonify(ledger.pay(sid, delayed=bool(body.get("delayed"))))

    @app.post("/_devstripe/checkout/sessions/<sid>/settle")
    def test_settle(sid: str):
        body = request.get_json(silent=True) or {}
        return jsonify(ledger.settle(sid, succeeded=bool(body.get("succeeded", True))))

    @app.post("/_devstripe/charges/<cid>/dispute")
    def test_dispute(cid: str):
        body = request.get_json(silent=True) or {}
        return jsonify(ledger.dispute(cid, body.get("reason", "fraudulent")))

    @app.post("/_devstripe/disputes/<did>/close")
    def test_close(did: str):
        body = request.get_json(silent=True) or {}
        return jsonify(ledger.close_dispute(did, str(body.get("status", ""))))

    @app.get("/_devstripe/deliveries")
    def deliveries():
        with ledger.lock:
            rows = [
                {"event": d.event["id"], "type": d.event["type"], "status": d.status}
                for d in ledger.deliveries
            ]
        return jsonify(rows)

    return app


def _page(session: dict[str, Any], problem: str | None = None) -> str:
    amount = f"{session['amount_total'] / 100:,.2f} {session['currency'].upper()}"
    cancel = html.escape(session.get("cancel_url") or "/")
    error = f'<p role="alert">{html.escape(problem)}</p>' if problem else ""
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Pay {html.escape(amount)} (test mode)</title></head><body>
<main><h1>Pay {html.escape(amount)}</h1><p>Test mode: use the card {TEST_CARD}.</p>{error}
<form method="post"><label for="card">Card number</label>
<input id="card" name="card" inputmode="numeric" value="{TEST_CARD}" autocomplete="cc-number">
<button type="submit">Pay {html.escape(amount)}</button></form>
<p><a href="{cancel}">Cancel</a></p></main></body></html>"""


class _QuietHandler(WSGIRequestHandler):
    """No access log line per request (the tests and the demo print their own story)."""

    def log_request(self, *args: object, **kwargs: object) -> None:
        pass


class DevStripe:
    """The stand-in on ``127.0.0.1:<port>`` in a thread; ``with DevStripe(...) as stripe:``."""

    def __init__(
        self,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.ledger = Ledger(webhook_url=webhook_url, webhook_secret=webhook_secret)
        self._server = make_server(
            host, port, create_app(self.ledger), threaded=True, request_handler=_QuietHandler
        )
        self.base_url = f"http://{host}:{self._server.server_port}"
        self.ledger.hosted_url = f"{self.base_url}/c/pay"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> DevStripe:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> DevStripe:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def configure_webhooks(self, url: str, secret: str) -> None:
        self.ledger.webhook_url, self.ledger.webhook_secret = url, secret

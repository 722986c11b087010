"""HTTP side of the devorg Streaming API: ``POST /cometd/<version>`` plus fault switches.

The endpoint checks what Salesforce's front door checks before Bayeux sees a message (API
version in the URI, 32,768-byte body limit, the OAuth header), hands the message batch to the
:class:`~devorg.streaming_server.StreamingServer` and sets Salesforce's cookies on a
successful handshake.  Admin routes under ``/_devorg/streaming`` switch faults on and off
for tests and demos.

Cookies are host-only and never ``Secure`` (faye's tough-cookie and aiohttp reject
mismatching domains or secure cookies over plain http); the emulator advertises ``localhost``.
"""

from __future__ import annotations

import hmac
import json
import re
import secrets
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, request

from devorg import streaming_messages as m
from devorg.streaming_server import Context, StreamingServer

MAX_BODY_BYTES = 32_768
MIN_VERSION = 37.0
_VERSION = re.compile(r"^\d+\.\d$")
_JSON = "application/json;charset=UTF-8"


def streaming_for(org: Any) -> StreamingServer:
    """The org's :class:`StreamingServer`, created on first use if the org has none.

    ``DevOrg`` may build ``org.streaming`` itself; otherwise it is made here from
    ``org.bus`` and ``org.auth`` and attached, so faults and ``limits()`` are reachable as
    ``org.streaming`` either way.
    """
    server = getattr(org, "streaming", None)
    if server is None:
        server = StreamingServer(org.bus, token_valid=token_checker(org.auth))
        org.streaming = server
    return server


def token_checker(auth: Any) -> Callable[[str], bool]:
    """``token -> bool`` over ``org.auth``: valid unless unknown, revoked or expired.

    ``Auth.session_for`` extends a session each time it is used, and the server asks on every
    connect and about once a second while a connect is held, so a streaming client's session
    keeps living as Salesforce's does ("the session never expires in a CometD client").
    """
    return lambda token: auth.session_for(token) is not None


def make_cometd_blueprint(org: Any) -> Blueprint:
    """Blueprint serving ``POST /cometd/<version>[/<suffix>]`` and ``/_devorg/streaming/*``."""
    bp = Blueprint("devorg_cometd", __name__)
    streaming_for(org)  # so org.streaming (and the bus's limits/fault hooks) exist from now on

    @bp.post("/cometd")
    @bp.post("/cometd/")
    @bp.post("/cometd/<path:rest>")
    def cometd(rest: str = "") -> Response:
        server = streaming_for(org)
        length = request.content_length
        if length is not None and length > MAX_BODY_BYTES:
            return _too_large()
        body = request.stream.read(MAX_BODY_BYTES + 1) if length is None else request.get_data()
        if len(body) > MAX_BODY_BYTES:
            return _too_large()
        try:
            parsed = json.loads(body or b"null")
        except ValueError:
            return Response("[]", status=400, content_type=_JSON)
        messages = parsed if isinstance(parsed, list) else [parsed] if parsed else []
        version = rest.split("/", 1)[0]
        if not _VERSION.match(version):
            return _bayeux_error(messages, m.VERSION_MISSING)
        if float(version) < MIN_VERSION:
            return _bayeux_error(messages, m.VERSION_UNSUPPORTED)
        ctx = Context(
            token=_token(request.headers.get("Authorization", "")),
            has_browser_cookie=bool(request.cookies.get("BAYEUX_BROWSER")),
        )
        replies = server.process(messages, ctx)
        resp = Response("[" + ",".join(replies) + "]", status=200, content_type=_JSON)
        if any(_handshake_succeeded(r) for r in replies):
            _set_cookies(resp)
        return resp

    # -- faults ---------------------------------------------------------------------------
    # Guarded like devorg's other /_devorg routes: ``X-Devorg-Admin: <org.admin_token>``
    # (no guard for an org that has no admin token, e.g. a bare test assembly).

    @bp.before_request
    def _admin_guard() -> Response | None:
        token = getattr(org, "admin_token", None)
        if not request.path.startswith("/_devorg/") or not token:
            return None
        supplied = request.headers.get("X-Devorg-Admin", "")
        if supplied and hmac.compare_digest(supplied, token):
            return None
        body = {"error": "devorg admin token required (X-Devorg-Admin)", "devorg": True}
        return _admin_json(body, 403)

    @bp.get("/_devorg/streaming")
    def streaming_state() -> Response:
        return _admin_json(streaming_for(org).snapshot())

    @bp.post("/_devorg/streaming/drop-clients")
    def drop_clients() -> Response:
        return _admin_json({"dropped": streaming_for(org).drop_clients()})

    @bp.post("/_devorg/streaming/disconnect")
    def disconnect() -> Response:
        client_id = (request.get_json(silent=True) or {}).get("clientId")
        return _admin_json({"disconnected": streaming_for(org).send_disconnect(client_id)})

    @bp.post("/_devorg/streaming/faults")
    def set_faults() -> Response:
        try:
            done = streaming_for(org).apply_faults(request.get_json(silent=True) or {})
        except (TypeError, ValueError) as exc:
            return _admin_json({"error": str(exc), "devorg": True}, 400)
        return _admin_json(done)

    @bp.post("/_devorg/streaming/config")
    def set_config() -> Response:
        try:
            config = streaming_for(org).configure(**(request.get_json(silent=True) or {}))
        except TypeError as exc:
            return _admin_json({"error": str(exc), "devorg": True}, 400)
        return _admin_json(vars(config))

    @bp.post("/_devorg/streaming/reset")
    def reset() -> Response:
        streaming_for(org).reset_faults()
        return _admin_json({"reset": True})

    return bp


def _token(header: str) -> str | None:
    """``Bearer <token>`` (Salesforce docs) or ``OAuth <token>`` (jsforce/faye)."""
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() in ("bearer", "oauth") and token.strip():
        return token.strip()
    return None


def _handshake_succeeded(reply: str) -> bool:
    return (
        reply.startswith('{"ext"')
        and '"channel":"/meta/handshake"' in reply
        and ('"successful":true' in reply)
    )


def _set_cookies(resp: Response) -> None:
    """Salesforce's handshake cookies, host-only (no Domain) and not Secure."""
    resp.set_cookie("BrowserId", _cookie_value(), path="/")
    resp.set_cookie("force-stream", _cookie_value(), path="/")
    resp.set_cookie("t", _cookie_value(), path="/cometd/")
    resp.set_cookie("BAYEUX_BROWSER", _cookie_value(), path="/cometd/", httponly=True)


def _cookie_value() -> str:
    return secrets.token_urlsafe(16)


def _too_large() -> Response:
    # Salesforce answers the status line "413 Maximum Request Size Exceeded".
    return Response(
        "Maximum Request Size Exceeded",
        status="413 Maximum Request Size Exceeded",
        content_type="text/plain;charset=UTF-8",
    )


def _bayeux_error(messages: list[Any], error: str) -> Response:
    """A front-door 400 (API version): one failed reply per message, HTTP 400 [inf]."""
    replies = []
    for msg in messages or [{}]:
        msg = msg if isinstance(msg, dict) else {}
        reply: dict[str, Any] = {"channel": msg.get("channel")}
        if "id" in msg:
            reply["id"] = msg["id"]
        reply.update({"error": error, "successful": False})
        replies.append(reply)
    return Response(json.dumps(replies, separators=(",", ":")), status=400, content_type=_JSON)


def _admin_json(body: dict[str, Any], status: int = 200) -> Response:
    resp = Response(json.dumps(body), status=status, content_type="application/json")
    resp.headers["X-Devorg"] = "admin"
    return resp

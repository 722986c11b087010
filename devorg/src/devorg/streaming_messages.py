"""The exact Bayeux replies Salesforce's Streaming API sends (wire facts §1.3-§1.6).

Kept apart from the session logic so the JSON shapes can be read (and reviewed against the
wire facts) in one place.  Key order follows the recorded Salesforce traces; ``id`` is echoed
verbatim, with its JSON type, and left out when the request had none (aiocometd matches
replies by ``id`` including its type).
"""

from __future__ import annotations

from typing import Any

HANDSHAKE_EXT = {"replay": True, "payload.format": True}
CONNECTION_TYPES = ["long-polling"]

# failureReason / error texts.  Note the two spaces after full stops: clients match on them.
REQUIRES_AUTH = "401::Request requires authentication"
AUTH_INVALID = "401::Authentication invalid"
HANDSHAKE_DENIED = "403::Handshake denied"
UNKNOWN_CLIENT = "403::Unknown client"
SERVER_BUSY = "503::Server is too busy.  Please try your request again later."
TOO_MANY_CONNECTIONS = (
    "403::To protect all customers from excessive use and Denial of Service attacks, we limit "
    "the number of simultaneous connections per server.  Your request has been denied because "
    "this limit has been exceeded.  Please try your request again later."
)
NOT_HANDSHAKEN = "403::Client has not completed handshake"
CONCURRENT_LIMIT = "403::Organization concurrent user limit exceeded"
DAILY_LIMIT = "403::Organization total events daily limit exceeded"
VERSION_MISSING = "400::API version in the URI is mandatory. URI format: '/cometd/66.0'"
VERSION_UNSUPPORTED = (
    "400::Unsupported API version. Only API versions '37.0' and later are supported. "
    "URI format: '/cometd/66.0'"
)
# Braces are literal on the wire, as in the channel and replayId texts.
INVALID_CONNECTION_TYPE = "400::Invalid connection type {{{type}}}"
NO_CHANNEL = "400::Channel name not specified"
NO_LEADING_SLASH = "400::Channel subscriptions must start with a leading '/'"
UNKNOWN_CHANNEL = "400::The channel you requested to subscribe to does not exist {{{channel}}}"
INVALID_REPLAY = (
    "400::The replayId {{{replay}}} you provided was invalid.  Please provide a valid ID, "
    "-2 to replay all events, or -1 to replay only new events."
)
NO_BROWSER_COOKIE = (
    "400::Client {client_id} has established a session, but no BAYEUX_BROWSER cookie present"
)
# A subscription refused for one channel (wire facts §1.5): the rest of the session goes on.
RESTRICTED_CHANNEL = "403::Restricted channel"
CDC_PERMISSION = "403::User not allowed to subscribe CDC without View All Data permissions"
SUBSCRIBE_REFUSALS = {
    "restricted": RESTRICTED_CHANNEL,
    "cdc_permission": CDC_PERMISSION,
    "concurrent_limit": CONCURRENT_LIMIT,
}
PUBLISH_DENIED = "403::Publish not allowed"  # [inf] clients never publish over CometD here


def _with_id(msg: dict[str, Any], reply: dict[str, Any], after: str) -> dict[str, Any]:
    """Insert the request's ``id`` right after key ``after`` (Salesforce's key order)."""
    if "id" not in msg:
        return reply
    out: dict[str, Any] = {}
    for key, value in reply.items():
        out[key] = value
        if key == after:
            out["id"] = msg["id"]
    return out


def handshake_ok(msg: dict[str, Any], client_id: str) -> dict[str, Any]:
    """Success: no ``advice`` at all, ``ext.replay`` true (jsforce/EMP enable replay on it)."""
    return _with_id(
        msg,
        {
            "ext": dict(HANDSHAKE_EXT),
            "minimumVersion": "1.0",
            "clientId": client_id,
            "supportedConnectionTypes": list(CONNECTION_TYPES),
            "channel": "/meta/handshake",
            "version": "1.0",
            "successful": True,
        },
        after="channel",
    )


def handshake_denied(msg: dict[str, Any], reason: str) -> dict[str, Any]:
    return _with_id(
        msg,
        {
            "ext": {"sfdc": {"failureReason": reason}, **HANDSHAKE_EXT},
            "advice": {"reconnect": "none"},
            "channel": "/meta/handshake",
            "error": HANDSHAKE_DENIED,
            "successful": False,
        },
        after="channel",
    )


def connect_ok(msg: dict[str, Any], client_id: str, *, timeout_ms: int | None) -> dict[str, Any]:
    """The first connect carries ``advice`` (timeout 110000); later ones carry none."""
    reply: dict[str, Any] = {"clientId": client_id}
    if timeout_ms is not None:
        reply["advice"] = {"interval": 0, "timeout": timeout_ms, "reconnect": "retry"}
    reply.update({"channel": "/meta/connect", "successful": True})
    return _with_id(msg, reply, after="channel")


def unknown_client(msg: dict[str, Any]) -> dict[str, Any]:
    """No ``clientId``; ``reconnect: handshake`` makes CometD clients start over."""
    reply: dict[str, Any] = {
        "advice": {"interval": 0, "reconnect": "handshake"},
        "channel": msg.get("channel") or "/meta/connect",
    }
    if "subscription" in msg:
        reply["subscription"] = msg["subscription"]
    reply.update({"error": UNKNOWN_CLIENT, "successful": False})
    return _with_id(msg, reply, after="channel")


def auth_invalid(msg: dict[str, Any], client_id: str, *, busy: bool = False) -> dict[str, Any]:
    """Revoked token on /meta/connect; with ``busy`` the 503 variant Salesforce documents."""
    reply: dict[str, Any] = {
        "clientId": client_id,
        "advice": {"reconnect": "none", "interval": 0},
        "channel": "/meta/connect",
        "error": AUTH_INVALID,
    }
    if busy:
        reply["ext"] = {"sfdc": {"failureReason": SERVER_BUSY}}
    reply["successful"] = False
    return _with_id(msg, reply, after="channel")


def channel_error(msg: dict[str, Any], client_id: str | None, error: str) -> dict[str, Any]:
    """A failed /meta/subscribe, /meta/connect, ...: ``error`` plus the echoed subscription."""
    reply: dict[str, Any] = {}
    if client_id:
        reply["clientId"] = client_id
    reply["channel"] = msg.get("channel")
    if "subscription" in msg:
        reply["subscription"] = msg["subscription"]
    reply.update({"error": error, "successful": False})
    return _with_id(msg, reply, after="channel")


def subscription_ok(msg: dict[str, Any], client_id: str) -> dict[str, Any]:
    return _with_id(
        msg,
        {
            "clientId": client_id,
            "channel": msg["channel"],
            "subscription": msg.get("subscription"),
            "successful": True,
        },
        after="channel",
    )


def disconnect_ok(msg: dict[str, Any], client_id: str) -> dict[str, Any]:
    return _with_id(
        msg,
        {"clientId": client_id, "channel": "/meta/disconnect", "successful": True},
        after="channel",
    )


def server_disconnect(client_id: str) -> dict[str, Any]:
    """Unsolicited /meta/disconnect (API 64.0+, Hyperforce scaling) [inf: CometD 3 shape]."""
    return {"clientId": client_id, "channel": "/meta/disconnect", "successful": True}


def connect_after_server_disconnect(msg: dict[str, Any], client_id: str) -> dict[str, Any]:
    """The held connect that carries a server-sent disconnect: the session is gone [inf]."""
    return _with_id(
        msg,
        {
            "clientId": client_id,
            "advice": {"reconnect": "none", "interval": 0},
            "channel": "/meta/connect",
            "successful": True,
        },
        after="channel",
    )

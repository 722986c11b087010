"""Small helpers every route shares: Salesforce's JSON responses and the request's context."""

from __future__ import annotations

import json

from flask import Response, current_app, g, request

from .errors import SalesforceError

JSON_TYPE = "application/json;charset=UTF-8"


def sf_json(body, status: int = 200, headers: dict | None = None) -> Response:
    """JSON the way Salesforce sends it: compact, UTF-8, ``application/json;charset=UTF-8``."""
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    response = Response(text.encode("utf-8"), status=status, content_type=JSON_TYPE)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def no_content() -> Response:
    response = Response(b"", status=204)
    response.headers.pop("Content-Type", None)
    return response


def error_response(err: SalesforceError) -> Response:
    return sf_json(err.rest_body(), err.status)


def org():
    """The DevOrg serving this request."""
    return current_app.config["DEVORG"]


def bearer_token() -> str | None:
    """The OAuth access token of the request (``Authorization: Bearer|OAuth <token>``)."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() in ("bearer", "oauth") and token.strip():
        return token.strip()
    return None


def json_body(allow_empty: bool = False):
    """The request JSON, or a JSON_PARSER_ERROR as Salesforce words it."""
    raw = request.get_data(as_text=True)
    g.raw_body = raw
    if not raw.strip():
        if allow_empty:
            return None
        raise SalesforceError(
            "JSON_PARSER_ERROR",
            "The HTTP entity body is required, but this request has no entity body.",
            400,
            include_fields=False,
        )
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise SalesforceError(
            "JSON_PARSER_ERROR",
            f"Unexpected character ('{raw[exc.pos : exc.pos + 1]}' (code {ord(raw[exc.pos]) if exc.pos < len(raw) else 0})): "
            f"was expecting double-quote to start field name at [line:{exc.lineno}, column:{exc.colno}]",
            400,
            include_fields=False,
        ) from None

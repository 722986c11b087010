"""Bearer-token access: every endpoint needs a token unless it is marked ``@public``.

Deny by default: a new endpoint is protected without anyone remembering to protect it. The two
public ones are ``/healthz`` (a load balancer has no token) and the signed feeds, which prove
themselves by their signature instead. Unknown paths also need a token, so an anonymous caller
cannot even map the API.
"""

from __future__ import annotations

from flask import Flask, current_app, request

from service.errors import MethodNotAllowed, Unauthorized
from service.extensions import services
from service.security import bearer_token_ok


def public(view):
    """Mark a view as callable without a bearer token (it must check the caller itself)."""
    view.is_public = True
    return view


def _is_public(endpoint: str | None) -> bool:
    if endpoint is None:
        return False
    view = current_app.view_functions.get(endpoint)
    return bool(
        getattr(view, "is_public", False)
        or getattr(getattr(view, "view_class", None), "is_public", False)
    )


def init_app(app: Flask) -> None:
    @app.before_request
    def require_token():
        if not _is_public(request.endpoint) and not bearer_token_ok(
            request.headers.get("Authorization"), services().config.service_api_tokens
        ):
            raise Unauthorized()
        if request.method == "OPTIONS" and request.url_rule is not None:
            # Flask answers OPTIONS itself, 200 with an Allow header listing the route's
            # methods: a map of the API for anyone. Nothing here serves browsers across origins
            # (no CORS), so OPTIONS is refused like any method a route does not take, after the
            # token check (an anonymous caller learns no more than from a GET).
            raise MethodNotAllowed()
        return None

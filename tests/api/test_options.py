"""``OPTIONS`` tells nobody anything: no 200, no ``Allow`` header listing a route's methods.

Flask answers OPTIONS on every route by itself (200 and ``Allow: GET, HEAD, OPTIONS``), which
let an anonymous caller map the API. The service serves no browser across origins (no CORS), so
OPTIONS is refused: 401 without a token on protected routes (and unknown paths, as for GET),
405 on public ones and for a caller with a token, always in the usual error envelope.
"""

from __future__ import annotations

import re

import pytest

from service.api.auth import _is_public


def _routes(app) -> list[tuple[str, bool]]:
    """Every route as a concrete path (``<number>`` -> ``x``) and whether it is public."""
    with app.test_request_context():
        return sorted(
            (re.sub(r"<[^>]+>", "x", rule.rule), _is_public(rule.endpoint))
            for rule in app.url_map.iter_rules()
        )


def test_options__every_route_is_refused_without_listing_methods(app, client, auth):
    routes = _routes(app)
    assert ("/api/v1/accounts/x/credit", False) in routes
    assert ("/api/v1/feeds/erp", True) in routes

    for path, public in routes:
        anonymous = client.open(path, method="OPTIONS")
        with_token = client.open(path, method="OPTIONS", headers=auth)

        assert anonymous.status_code == (405 if public else 401), path
        assert with_token.status_code == 405, path
        for response in (anonymous, with_token):
            assert "Allow" not in response.headers, path
            assert response.json["errors"][0]["code"] in ("unauthorized", "method_not_allowed")


@pytest.mark.parametrize("path", ["/nope", "/api/v1/nope", "/api/v1/accounts"])
def test_options__an_unknown_path_answers_as_a_get_would(client, auth, path):
    assert client.open(path, method="OPTIONS").status_code == 401
    assert client.get(path).status_code == 401
    assert client.open(path, method="OPTIONS", headers=auth).status_code == 404


def test_options__other_methods_keep_working(client, auth):
    assert client.get("/healthz").status_code == 200
    assert client.head("/healthz").status_code == 200
    assert client.get("/openapi.json", headers=auth).status_code == 200
    # A method a route does not take: 401 without a token, 405 with one, never an Allow list.
    assert client.delete("/api/v1/accounts/C-1/credit").status_code == 401
    refused = client.delete("/api/v1/accounts/C-1/credit", headers=auth)
    assert refused.status_code == 405 and "Allow" not in refused.headers

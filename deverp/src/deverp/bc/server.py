"""The local Business Central over HTTPS (a trustme CA), with the Entra ID endpoints msal uses.

* ``GET /<tenant>/v2.0/.well-known/openid-configuration``: tenant discovery
* ``POST /<tenant>/oauth2/v2.0/token``: client credentials (client id and secret in the form)
* ``GET /v2.0/<tenant>/<environment>/api/v2.0/companies(<id>)/<entity>``: ``customers``,
  ``salesInvoices``, ``salesCreditMemos``, ``customerPayments``; ``$filter=lastModifiedDateTime
  gt <instant>``, ``$top``, server paging with ``@odata.nextLink`` (``$skiptoken``)

Faults (``deverp.serving.Faults``): ``throttle(n, retry_after, status=429)`` answers 429 (or
503) (Business Central documents no ``Retry-After`` on a 429; ``retry_after=None`` leaves it out);
``expire_tokens()`` makes every token issued so far answer 401 as an expired one does;
``conflicts = n`` has the next n writes find their record changed meanwhile (412).

The closed loop's endpoints (payment journals, the Credit Control extension's pages) are in
``deverp.bc.closed_loop``.
"""

from __future__ import annotations

import secrets
import ssl
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
import trustme
from flask import Flask, Response, request

from deverp.bc import closed_loop
from deverp.bc.book import BcBook
from deverp.serving import Faults, Served
from deverp.serving import json_response as _json

PAGE = 100  # BC's server page is 20,000; small here so paging is exercised


def _error(status: int, code: str, message: str, headers: dict | None = None) -> Response:
    return _json({"error": {"code": code, "message": message}}, status, headers)


class DevBc(Faults, Served):
    TENANT = "cc-tenant"
    ENVIRONMENT = "production"
    CLIENT_ID = "11111111-2222-3333-4444-555555555555"
    CLIENT_SECRET = "dev-bc-secret-0123456789"  # noqa: S105 - the stand-in's test credential

    def __init__(self, book: BcBook | None = None, *, token_ttl: int = 3600) -> None:
        super().__init__(token_ttl)
        self.book = book or BcBook()
        self.throttle_status = 429
        self.page_size = PAGE
        self.extension_installed = True  # the Credit Control extension's API pages
        self.conflicts = 0  # writes that find their record changed by someone else first (412)
        self.discovery_requests = 0
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.subscription_writes: list[tuple[str, str]] = []
        self.subscription_days = 3.0
        self.filters: list[str] = []  # every $filter asked, in order
        ca = trustme.CA(organization_name="credit-control deverp")
        cert = ca.issue_cert("127.0.0.1", "localhost")
        self._dir = tempfile.TemporaryDirectory(prefix="deverp-bc-")
        self.ca_path = str(Path(self._dir.name) / "ca.pem")
        ca.cert_pem.write_to_path(self.ca_path)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert.configure_cert(context)
        self._serve(self._app(), ssl_context=context)

    def stop(self) -> None:
        super().stop()
        self._dir.cleanup()

    def throttle(self, requests: int = 1, retry_after: str | None = "1", status: int = 429) -> None:
        """The next ``requests`` API requests answer ``status`` (429, or 503 as in maintenance)."""
        super().throttle(requests, retry_after)
        self.throttle_status = status

    def gate(self) -> Response | None:
        """What every API request meets first: the delay, throttling, the bearer token."""
        self.slow_down()
        throttled = self.throttled_now()
        if throttled is not None:
            if self.throttle_status == 503:
                return _error(
                    503, "ServiceUnavailable", "The service is temporarily unavailable.", throttled
                )
            return _error(429, "Application_TooManyRequests", "Too many requests.", throttled)
        return self.authorized()

    def authorized(self) -> Response | None:
        """None for a live bearer token, else Business Central's 401."""
        header = request.headers.get("Authorization", "")
        if not (header.startswith("Bearer ") and self.token_alive(header[7:])):
            return _error(401, "Unauthorized", "The credentials provided are incorrect")
        return None

    def notify(self, entity: str, change: str = "updated") -> list[int]:
        """Send a notification to every subscription on ``entity``; their answers' statuses."""
        statuses = []
        for row in list(self.subscriptions.values()):
            if not row["resource"].endswith(f"/{entity}"):
                continue
            note = {
                "subscriptionId": row["subscriptionId"],
                "clientState": row["clientState"],
                "expirationDateTime": row["expirationDateTime"],
                "resource": row["resource"],
                "changeType": change,
                "lastModifiedDateTime": stamp_in(0),
            }
            answer = requests.post(row["notificationUrl"], json={"value": [note]}, timeout=5)
            statuses.append(answer.status_code)
        return statuses

    def env(self) -> dict[str, str]:
        return {
            "BC_BASE_URL": self.base_url,
            "BC_AUTHORITY_HOST": self.base_url,
            "BC_TENANT_ID": self.TENANT,
            "BC_ENVIRONMENT": self.ENVIRONMENT,
            "BC_COMPANY_ID": self.book.company_id,
            "BC_CLIENT_ID": self.CLIENT_ID,
            "BC_CLIENT_SECRET": self.CLIENT_SECRET,
        }

    def _app(self) -> Flask:
        app = Flask("deverp.bc")
        tenant = self.TENANT

        @app.get(f"/{tenant}/v2.0/.well-known/openid-configuration")
        def discovery():
            self.discovery_requests += 1
            base = f"{self.base_url}/{tenant}"
            return _json(
                {
                    "token_endpoint": f"{base}/oauth2/v2.0/token",
                    "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                    "issuer": f"{self.base_url}/{tenant}/v2.0",
                    "token_endpoint_auth_methods_supported": ["client_secret_post"],
                }
            )

        @app.post(f"/{tenant}/oauth2/v2.0/token")
        def token():
            form = request.form
            if form.get("grant_type") != "client_credentials":
                return _json({"error": "unsupported_grant_type"}, 400)
            if (
                form.get("client_id") != self.CLIENT_ID
                or form.get("client_secret") != self.CLIENT_SECRET
            ):
                return _json(
                    {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."},
                    401,
                )  # fmt: skip
            if "api.businesscentral.dynamics.com/.default" not in form.get("scope", ""):
                return _json({"error": "invalid_scope"}, 400)
            value = self.issue_token()
            return _json(
                {"token_type": "Bearer", "expires_in": self.token_ttl, "access_token": value}
            )

        api = f"/v2.0/{tenant}/<environment>/api/v2.0"

        @app.post(f"{api}/subscriptions")
        def subscribe(environment: str):
            refused = self.authorized()
            if refused:
                return refused
            body = request.get_json(silent=True) or {}
            url, resource = body.get("notificationUrl"), body.get("resource")
            if not isinstance(url, str) or not isinstance(resource, str):
                return _error(400, "BadRequest", "notificationUrl and resource are required")
            token = secrets.token_urlsafe(16)
            try:  # the handshake: the subscriber echoes the token, or there is no subscription
                echo = requests.post(url, params={"validationToken": token}, timeout=5)
            except requests.RequestException:
                echo = None
            if echo is None or echo.status_code != 200 or echo.text != token:
                return _error(400, "BadRequest_InvalidNotificationUrl", "The handshake failed")
            row = {
                "subscriptionId": secrets.token_hex(16),
                "notificationUrl": url,
                "resource": resource,
                "clientState": body.get("clientState") or "",
                "expirationDateTime": stamp_in(self.subscription_days),
                "@odata.etag": f'W/"{secrets.token_hex(8)}"',
            }
            self.subscriptions[row["subscriptionId"]] = row
            self.subscription_writes.append(("POST", row["resource"]))
            return _json(row, 201)

        @app.route(f"{api}/subscriptions('<sid>')", methods=["PATCH"])
        def renew(environment: str, sid: str):
            refused = self.authorized()
            if refused:
                return refused
            row = self.subscriptions.get(sid)
            if row is None:
                return _error(404, "BadRequest_NotFound", "The subscription does not exist.")
            if request.headers.get("If-Match") not in (row["@odata.etag"], "*"):
                return _error(412, "Request_EntityChanged", "The etag does not match.")
            row["expirationDateTime"] = stamp_in(self.subscription_days)
            row["@odata.etag"] = f'W/"{secrets.token_hex(8)}"'
            self.subscription_writes.append(("PATCH", row["resource"]))
            return _json(row)

        closed_loop.register(app, self, _json, _error)
        prefix = f"/v2.0/{tenant}/<environment>/api/v2.0/companies(<company>)/<entity>"

        @app.get(prefix)
        def collection(environment: str, company: str, entity: str):
            self.filters.append(f"{entity}?{request.args.get('$filter', '')}")
            refused = self.gate()
            if refused:
                return refused
            if environment != self.ENVIRONMENT or company != self.book.company_id:
                return _error(404, "BadRequest_NotFound", "The company does not exist.")
            if entity not in self.book.ENTITIES:
                return _error(404, "BadRequest_NotFound", f"Resource {entity} not found.")
            since = None
            op = ""
            text = request.args.get("$filter")
            if text:
                field, op, value = [*text.split(" ", 2), "", ""][:3]
                try:
                    since = datetime.fromisoformat(value.replace("Z", "+00:00"))
                except ValueError:
                    since = None
                if field != "lastModifiedDateTime" or op not in ("gt", "ge") or since is None:
                    return _error(400, "BadRequest", f"Invalid filter: {text[:80]}")
            try:
                skip = int(request.args.get("$skiptoken", "0"))
            except ValueError:
                return _error(400, "BadRequest", "Invalid $skiptoken")
            with self.book.lock:
                rows = [
                    r for r in self.book.rows[entity]
                    if since is None
                    or _after(r["lastModifiedDateTime"], since, inclusive=op == "ge")
                ]  # fmt: skip
                rows.sort(key=lambda r: (r["lastModifiedDateTime"], r["id"]))
            page = rows[skip : skip + PAGE]
            body: dict[str, Any] = {
                "@odata.context": f"{self.base_url}/v2.0/{tenant}/{environment}/api/v2.0/$metadata#companies({company})/{entity}",
                "value": page,
            }  # fmt: skip
            if skip + PAGE < len(rows):
                query = {k: v for k, v in request.args.items() if k != "$skiptoken"}
                query["$skiptoken"] = str(skip + PAGE)
                from urllib.parse import urlencode

                body["@odata.nextLink"] = request.base_url + "?" + urlencode(query)
            return _json(body)

        return app


def stamp_in(days: float) -> str:
    at = datetime.now(UTC) + timedelta(days=days)
    return at.isoformat(timespec="seconds").replace("+00:00", "Z")


def _after(value: str, since: datetime, *, inclusive: bool) -> bool:
    at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return at >= since if inclusive else at > since

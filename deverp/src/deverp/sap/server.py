"""The local SAP over real HTTP, OData V2 JSON, as S/4HANA Cloud answers it.

* ``GET /sap/opu/odata/sap/API_OPLACCTGDOCITEMCUBE_SRV/A_OperationalAcctgDocItemCube``
* ``GET /sap/opu/odata/sap/API_BUSINESS_PARTNER/A_Customer``
* ``GET|POST /sap/opu/odata/sap/<case service>/A_DisputeCase``,
  ``PATCH .../A_DisputeCase(guid'<uuid>')`` (CSRF token required, as for every SAP write)
* ``POST /oauth/token``: client credentials (the client in HTTP basic auth), bearer tokens

Query options: ``$filter``, ``$orderby``, ``$select``, ``$top``, ``$skip``, ``$format=json``;
without ``$top`` a collection is paged by the server (``__next`` with ``$skiptoken``).

Auth: a communication user (basic) or a bearer token from ``/oauth/token``. Faults for tests:
``throttle(n, retry_after)`` answers the next n requests 429 with ``Retry-After``;
``expire_tokens()`` makes every token issued so far answer 401, as an expired one does.
"""

from __future__ import annotations

import base64
import secrets
from typing import Any

import orjson
from flask import Flask, Response, request

from deverp.odata import QueryError, date_ms
from deverp.sap.book import CASE_STATUSES, SapBook
from deverp.serving import Faults, Served
from deverp.serving import json_response as _json

ROOT = "/sap/opu/odata/sap"
SERVER_PAGE = 1_000
MAX_TOP = 50_000


ITEM_TYPE = "A_OperationalAcctgDocItemCubeType"


def item_metadata(row: dict) -> dict[str, str]:
    """What S/4HANA puts on every item: its URI (its key) and its type."""
    uri = (
        f"{ROOT}/API_OPLACCTGDOCITEMCUBE_SRV/A_OperationalAcctgDocItemCube("
        f"CompanyCode='{row['CompanyCode']}',FiscalYear='{row['FiscalYear']}',"
        f"AccountingDocument='{row['AccountingDocument']}',"
        f"AccountingDocumentItem='{row['AccountingDocumentItem']}')"
    )
    return {"id": uri, "uri": uri, "type": f"API_OPLACCTGDOCITEMCUBE_SRV.{ITEM_TYPE}"}


def _error(status: int, code: str, message: str, headers: dict | None = None) -> Response:
    body = {"error": {"code": code, "message": {"lang": "en", "value": message}}}
    return Response(orjson.dumps(body), status, headers or {}, mimetype="application/json")


class Gate(Faults):
    """Credentials, tokens, CSRF tokens and injected faults."""

    def __init__(self, user: str, password: str, client_id: str, client_secret: str, ttl: int):
        super().__init__(ttl)
        self.basic = {user: password}
        self.clients = {client_id: client_secret}
        self.csrf: set[str] = set()
        self.requests = 0
        self.filters: list[str] = []  # every $filter asked of the items, in order

    def _basic(self, header: str) -> tuple[str, str] | None:
        if not header.startswith("Basic "):
            return None
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        return user, password

    def issue(self, header: str) -> Response:
        pair = self._basic(header)
        if pair is None or self.clients.get(pair[0]) != pair[1] or pair[1] == "":
            return _json({"error": "invalid_client"}, 401)
        if request.form.get("grant_type") != "client_credentials":
            return _json({"error": "unsupported_grant_type"}, 400)
        token = self.issue_token()
        return _json({"access_token": token, "token_type": "bearer", "expires_in": self.token_ttl})

    def check(self, header: str) -> Response | None:
        self.slow_down()
        with self.lock:
            self.requests += 1
        throttled = self.throttled_now()
        if throttled is not None:
            return _error(429, "TOO_MANY_REQUESTS", "Rate limit exceeded", throttled)
        if header.startswith("Bearer "):
            if self.token_alive(header[7:]):
                return None
            return _error(401, "UNAUTHORIZED", "Token expired or invalid")
        pair = self._basic(header)
        if pair is not None and self.basic.get(pair[0]) == pair[1]:
            return None
        return _error(
            401, "UNAUTHORIZED", "Logon failed", {"WWW-Authenticate": 'Basic realm="SAP"'}
        )


def create_app(book: SapBook, gate: Gate, case_service: str) -> Flask:
    app = Flask("deverp.sap")

    @app.post("/_deverp/sap/changes")
    def changes():
        """Test control (no auth: the stand-in listens on this machine only)."""
        from datetime import date

        body = request.get_json(silent=True) or {}
        try:
            documents = int(body.get("documents", 0))
            on = date.fromisoformat(body.get("on") or book.today.isoformat())
        except (TypeError, ValueError):
            return _error(400, "CONTROL", "documents: a number, on: YYYY-MM-DD")
        changed = book.change_many(documents, on)
        with book.lock:
            book.items.build()
        return _json({"items": changed})

    @app.post("/oauth/token")
    def token():
        return gate.issue(request.headers.get("Authorization", ""))

    @app.before_request
    def authenticate():
        if not request.path.startswith(ROOT):
            return None
        return gate.check(request.headers.get("Authorization", ""))

    def collection(table, entity_type: str):
        args = request.args
        if args.get("$format", "json") != "json":
            return _error(400, "FORMAT", "Only $format=json is served here")
        try:
            top = int(args["$top"]) if "$top" in args else None
            skip = int(args.get("$skip") or args.get("$skiptoken") or 0)
        except ValueError:
            return _error(400, "SY/530", "$top, $skip and $skiptoken must be whole numbers")
        if (top is not None and not 0 <= top <= MAX_TOP) or skip < 0:
            return _error(400, "SY/530", f"$top must be 0 to {MAX_TOP}")
        orderby = [
            p.strip().split(" ")[0] for p in args.get("$orderby", "").split(",") if p.strip()
        ]
        select = [p.strip() for p in args.get("$select", "").split(",") if p.strip()]
        for name in select:
            if name not in table.fields:
                return _error(400, "SY/530", f"Property {name} not found in $select")
        page = top if top is not None else SERVER_PAGE
        try:
            with book.lock:
                rows = table.select(args.get("$filter"), orderby, page + 1, skip)
        except QueryError as error:
            return _error(400, "SY/530", str(error))
        more = len(rows) > page
        rows = rows[:page]
        if select:
            keep = ["__metadata", *select]
            rows = [{k: row[k] for k in keep if k in row} for row in rows]
        if entity_type == ITEM_TYPE:
            rows = [
                row if "__metadata" in row else {"__metadata": item_metadata(row), **row}
                for row in rows
            ]
        body: dict[str, Any] = {"results": rows}
        if more and top is None:
            base = request.base_url
            query = {k: v for k, v in args.items() if k not in ("$skiptoken", "$skip")}
            query["$skiptoken"] = str(skip + page)
            body["__next"] = base + "?" + "&".join(f"{k}={_quote(v)}" for k, v in query.items())
        return _json({"d": body})

    items_path = f"{ROOT}/API_OPLACCTGDOCITEMCUBE_SRV/A_OperationalAcctgDocItemCube"

    @app.get(items_path)
    def items():
        gate.filters.append(request.args.get("$filter", ""))
        return collection(book.items, ITEM_TYPE)

    @app.get(f"{items_path}/$count")
    def count_items():
        try:
            with book.lock:
                found = book.items.select(request.args.get("$filter"), [], None, 0)
        except QueryError as error:
            return _error(400, "SY/530", str(error))
        return Response(str(len(found)), mimetype="text/plain")

    @app.get(f"{ROOT}/API_BUSINESS_PARTNER/A_Customer")
    def customers():
        return collection(book.customers, "A_CustomerType")

    cases_path = f"{ROOT}/{case_service}"

    @app.get(f"{cases_path}/")
    def case_service_root():
        headers = {}
        if request.headers.get("X-CSRF-Token", "").lower() == "fetch":
            token = secrets.token_urlsafe(16)
            gate.csrf.add(token)
            headers["X-CSRF-Token"] = token
        return _json({"d": {"EntitySets": ["A_DisputeCase"]}}, headers=headers)

    def write_body() -> tuple[Any, Response | None]:
        """A write's JSON body, once its CSRF token is one this server issued."""
        if request.headers.get("X-CSRF-Token") not in gate.csrf:
            return None, _error(
                403, "CSRF", "CSRF token validation failed", {"X-CSRF-Token": "Required"}
            )
        try:
            return orjson.loads(request.get_data()), None
        except orjson.JSONDecodeError:
            return None, _error(400, "JSON", "The body is not JSON")

    @app.get(f"{cases_path}/A_DisputeCase")
    def cases():
        return collection(book.cases, "A_DisputeCaseType")

    @app.post(f"{cases_path}/A_DisputeCase")
    def create_case():
        body, refused = write_body()
        if refused:
            return refused
        if not isinstance(body, dict) or set(body) - book.cases.fields:
            return _error(400, "PROPERTY", "Unknown properties in the body")
        if body.get("CaseStatus", "10") not in CASE_STATUSES:
            return _error(400, "STATUS", f"Status {body['CaseStatus']!r} is not in the profile")
        if not body.get("CaseExternalReference") or not body.get("Customer"):
            return _error(400, "MANDATORY", "CaseExternalReference and Customer are mandatory")
        with book.lock:
            row = {name: body.get(name, "") for name in sorted(book.cases.fields)}
            row["DisputeCaseUUID"] = body.get("DisputeCaseUUID") or str(secrets.token_hex(16))
            row["CaseStatus"] = body.get("CaseStatus") or "10"  # the profile's first status
            book.cases.rows.append(row)
            book.cases.changed()
            book.case_writes.append(("POST", body))
        return _json({"d": row}, 201)

    @app.route(f"{cases_path}/A_DisputeCase(guid'<uuid>')", methods=["PATCH", "MERGE"])
    def update_case(uuid: str):
        body, refused = write_body()
        if refused:
            return refused
        allowed = {"CaseStatus", "CaseTitle", "CaseReason"}
        if not isinstance(body, dict) or set(body) - allowed:
            return _error(400, "READ_ONLY", "Only status, reason and title can change")
        if "CaseStatus" in body and body["CaseStatus"] not in CASE_STATUSES:
            return _error(400, "STATUS", f"Status {body['CaseStatus']!r} is not in the profile")
        with book.lock:
            for row in book.cases.rows:
                if row["DisputeCaseUUID"] == uuid:
                    row.update(body)
                    book.cases.changed()
                    book.case_writes.append(("PATCH", body))
                    return Response(status=204)
        return _error(404, "NOT_FOUND", f"Dispute case {uuid} not found")

    return app


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


class DevSap(Served):
    """The local SAP on ``127.0.0.1:<port>`` in a thread; ``with DevSap(book) as sap:``."""

    USER, PASSWORD = "CC_COMM_USER", "dev-sap-password-0123456789"
    CLIENT_ID, CLIENT_SECRET = "cc-client", "dev-sap-secret-0123456789"

    def __init__(
        self,
        book: SapBook | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token_ttl: int = 3600,
        case_service: str = "API_DISPUTECASE",
    ) -> None:
        self.book = book or SapBook()
        self.gate = Gate(self.USER, self.PASSWORD, self.CLIENT_ID, self.CLIENT_SECRET, token_ttl)
        self._serve(create_app(self.book, self.gate, case_service), host=host, port=port)
        self.token_url = f"{self.base_url}/oauth/token"

    def throttle(self, requests: int = 1, retry_after: str | None = "1") -> None:
        self.gate.throttle(requests, retry_after)

    def expire_tokens(self) -> None:
        self.gate.expire_tokens()

    def basic_env(self) -> dict[str, str]:
        """The service's settings for this stand-in, with the communication user."""
        return {"SAP_BASE_URL": self.base_url, "SAP_USER": self.USER, "SAP_PASSWORD": self.PASSWORD}

    def oauth_env(self) -> dict[str, str]:
        return {
            "SAP_BASE_URL": self.base_url,
            "SAP_CLIENT_ID": self.CLIENT_ID,
            "SAP_CLIENT_SECRET": self.CLIENT_SECRET,
            "SAP_TOKEN_URL": self.token_url,
        }


__all__ = ["DevSap", "date_ms"]

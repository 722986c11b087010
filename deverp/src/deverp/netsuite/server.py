"""The local NetSuite over real HTTP.

* ``POST /services/rest/auth/oauth2/v1/token``: client credentials with a JWT client assertion
  (``PS256``), checked against the registered certificate's public key, ``kid``, ``iss``,
  ``aud`` and ``exp``.
* ``POST /services/rest/query/v1/suiteql?limit=&offset=``: ``{"q": "<SuiteQL>"}``, answered
  ``{"links", "count", "hasMore", "offset", "totalResults", "items"}`` with every value a string
  (shared/fixtures/erp/netsuite-suiteql-open-ar.json). Bearer tokens, or OAuth 1.0a headers
  signed with HMAC-SHA256 (checked by recomputing the signature).

The stand-in is not a SQL engine: it answers the shapes of query the connector sends (customers,
transactions of some types changed since a day after an id, payment links for some payments)
and refuses anything else with NetSuite's error body (400 ``INVALID_PARAMETER``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import threading
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import quote, unquote

import jwt
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, Response, request

from deverp.serving import Faults, Served
from deverp.serving import json_response as _json


def _error(status: int, code: str, detail: str, headers: dict | None = None) -> Response:
    return _json(
        {
            "type": "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.1",
            "title": "Bad Request" if status == 400 else "Error",
            "status": status,
            "o:errorDetails": [{"detail": detail, "o:errorCode": code}],
        },
        status,
        headers,
    )


@dataclass
class NsBook:
    customers: list[dict[str, Any]] = field(default_factory=list)
    transactions: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)
    writes: list[tuple[str, str, dict]] = field(default_factory=list)  # PATCHes received
    # The custom fields created in the account (Customization > ... Fields) for the loop.
    custom_fields: set[str] = field(
        default_factory=lambda: {
            "custbody_cc_dispute_status", "custbody_cc_disputed_amount",
            "custbody_cc_dispute_reason", "custbody_cc_promised_amount",
            "custbody_cc_promise_date", "custentity_cc_promised_amount",
            "custentity_cc_promise_date", "custentity_cc_hold_override_until",
        }
    )  # fmt: skip
    next_id: int = 1000
    lock: threading.RLock = field(default_factory=threading.RLock)

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id

    def customer(
        self, entityid: str, name: str, currency: str = "USD", changed: str = "2026-03-01"
    ) -> int:
        row = {"id": self._id(), "entityid": entityid, "companyname": name, "creditlimit": "",
               "currency": currency, "lastmodified": changed}  # fmt: skip
        self.customers.append(row)
        return row["id"]

    def transaction(
        self, kind: str, tranid: str, customer: str, total: str, unpaid: str, *,
        currency: str = "USD", trandate: str = "2026-03-01", duedate: str = "2026-03-31",
        changed: str = "2026-03-01",
    ) -> int:  # fmt: skip
        row = {"id": self._id(), "tranid": tranid, "type": kind, "customer": customer,
               "trandate": trandate, "duedate": duedate, "currency": currency,
               "foreigntotal": total, "foreignamountunpaid": unpaid, "lastmodified": changed}  # fmt: skip
        self.transactions.append(row)
        return row["id"]

    def apply(self, payment: int, invoice: int, amount: str) -> None:
        self.links.append({"payment": payment, "invoice": invoice, "amount": amount})


_CUSTOMERS = re.compile(r"FROM customer c JOIN currency cur ON cur\.id = c\.currency WHERE ")
_TRANSACTIONS = re.compile(r"FROM transaction t JOIN customer c .* WHERE t\.type IN \(([^)]*)\)")
_LINKS = re.compile(
    r"FROM NextTransactionLineLink l WHERE l\.linktype = 'Payment' AND l\.nextdoc IN \(([\d, ]+)\)$"
)
_SINCE = re.compile(r"lastmodifieddate >= TO_DATE\('(\d{4}-\d{2}-\d{2})', 'YYYY-MM-DD'\)")
_AFTER = re.compile(r"\.id > (\d+) ORDER BY \w\.id$")


def _enc(value: str) -> str:
    return quote(value, safe="~-._")


class DevNetSuite(Faults, Served):
    ACCOUNT = "1234567_SB1"
    CLIENT_ID = "cc-netsuite-client"
    CERTIFICATE_ID = "cc-certificate-1"
    CONSUMER_KEY, CONSUMER_SECRET = "cc-consumer-key", "cc-consumer-secret-0123"
    TOKEN_ID, TOKEN_SECRET = "cc-token-id", "cc-token-secret-0123"

    def __init__(self, book: NsBook | None = None) -> None:
        super().__init__(token_ttl=3600)
        self.book = book or NsBook()
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.private_pem = self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()  # fmt: skip
        self.queries: list[str] = []
        self._serve(self._app())

    def m2m_env(self, key_file: str) -> dict[str, str]:
        return {"NS_ACCOUNT_ID": self.ACCOUNT, "NS_BASE_URL": self.base_url,
                "NS_CLIENT_ID": self.CLIENT_ID, "NS_CERTIFICATE_ID": self.CERTIFICATE_ID,
                "NS_PRIVATE_KEY_FILE": key_file}  # fmt: skip

    def tba_env(self) -> dict[str, str]:
        return {"NS_ACCOUNT_ID": self.ACCOUNT, "NS_BASE_URL": self.base_url,
                "NS_CONSUMER_KEY": self.CONSUMER_KEY, "NS_CONSUMER_SECRET": self.CONSUMER_SECRET,
                "NS_TOKEN_ID": self.TOKEN_ID, "NS_TOKEN_SECRET": self.TOKEN_SECRET}  # fmt: skip

    # --- auth -------------------------------------------------------------------------------

    def _token(self) -> Response:
        form = request.form
        if (
            form.get("grant_type") != "client_credentials"
            or form.get("client_assertion_type")
            != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        ):
            return _json({"error": "invalid_request"}, 400)
        assertion = form.get("client_assertion", "")
        try:
            if jwt.get_unverified_header(assertion).get("kid") != self.CERTIFICATE_ID:
                raise jwt.InvalidTokenError("kid")
            claims = jwt.decode(
                assertion, self.key.public_key(), algorithms=["PS256", "RS256", "ES256"],
                audience=request.base_url, issuer=self.CLIENT_ID,
                options={"require": ["exp", "iat", "iss", "aud"]},
            )  # fmt: skip
        except jwt.InvalidTokenError:
            return _json({"error": "invalid_client"}, 401)
        if claims["exp"] - claims["iat"] > 3600 or "rest_webservices" not in claims.get(
            "scope", []
        ):
            return _json({"error": "invalid_scope"}, 400)
        value = self.issue_token()
        return _json(
            {"access_token": value, "expires_in": str(self.token_ttl), "token_type": "Bearer"}
        )

    def _oauth1_ok(self, header: str) -> bool:
        fields = dict((k, unquote(v)) for k, v in re.findall(r'(\w+)="([^"]*)"', header))
        if fields.get("realm") != self.ACCOUNT or fields.get("oauth_token") != self.TOKEN_ID:
            return False
        if fields.get("oauth_consumer_key") != self.CONSUMER_KEY:
            return False
        signature = fields.pop("oauth_signature", "")
        fields.pop("realm", None)
        params = [*request.args.items(), *fields.items()]
        normalized = "&".join(f"{k}={v}" for k, v in sorted((_enc(k), _enc(v)) for k, v in params))
        base = "&".join(("POST", _enc(request.base_url), _enc(normalized)))
        key = f"{_enc(self.CONSUMER_SECRET)}&{_enc(self.TOKEN_SECRET)}"
        expected = base64.b64encode(hmac.new(key.encode(), base.encode(), hashlib.sha256).digest())
        return hmac.compare_digest(expected.decode(), signature)

    def _authorized(self) -> Response | None:
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            if self.token_alive(header[7:]):
                return None
        elif header.startswith("OAuth ") and self._oauth1_ok(header):
            return None
        return _error(401, "INVALID_LOGIN", "Invalid login attempt.")

    def _gate(self) -> Response | None:
        """What every API request meets first: the delay, throttling, the credentials."""
        self.slow_down()
        throttled = self.throttled_now()
        if throttled is not None:
            return _error(429, "CONCURRENCY_LIMIT_EXCEEDED", "Too many requests.", throttled)
        return self._authorized()

    # --- SuiteQL ----------------------------------------------------------------------------

    def _suiteql(self) -> Response:
        refused = self._gate()
        if refused:
            return refused
        if request.headers.get("Prefer") != "transient":
            return _error(400, "INVALID_HEADER", "SuiteQL needs Prefer: transient.")
        body = request.get_json(silent=True)
        query = body.get("q") if isinstance(body, dict) else None
        try:
            limit = int(request.args.get("limit", "1000"))
            offset = int(request.args.get("offset", "0"))
        except ValueError:
            return _error(400, "INVALID_PARAMETER", "limit and offset are numbers.")
        if not isinstance(query, str) or not 1 <= limit <= 1000 or offset < 0:
            return _error(400, "INVALID_PARAMETER", "Invalid search query.")
        self.queries.append(query)
        rows = self._rows(query)
        if rows is None:
            return _error(400, "INVALID_PARAMETER", "Invalid search query.")
        page = rows[offset : offset + limit]
        return _json({
            "links": [{"rel": "self", "href": f"{request.base_url}?limit={limit}&offset={offset}"}],
            "count": len(page), "hasMore": offset + limit < len(rows), "offset": offset,
            "totalResults": len(rows),
            "items": [{"links": [], **{k: str(v) for k, v in r.items() if k not in ("lastmodified", "custom")}} for r in page],
        })  # fmt: skip

    def _rows(self, query: str) -> list[dict] | None:
        since = _SINCE.search(query)
        day = date.fromisoformat(since.group(1)) if since else None
        changed = (
            (lambda r: date.fromisoformat(r["lastmodified"]) >= day) if day else (lambda r: True)
        )
        lookup = re.fullmatch(
            r"SELECT c\.id FROM customer c WHERE c\.entityid = '((?:[^']|'')*)' AND c\.id > 0 ORDER BY c\.id",
            query,
        )
        if lookup:
            number = lookup.group(1).replace("''", "'")
            return [{"id": r["id"]} for r in self.book.customers if r["entityid"] == number]
        links = _LINKS.search(query)
        if links:
            wanted = {int(i) for i in links.group(1).split(",")}
            return [r for r in self.book.links if r["payment"] in wanted]
        after = _AFTER.search(query)
        if after is None:
            return None
        start = int(after.group(1))
        if _CUSTOMERS.search(query):
            source = self.book.customers
            wanted_rows = [r for r in source if r["id"] > start and changed(r)]
        elif match := _TRANSACTIONS.search(query):
            types = {t.strip().strip("'") for t in match.group(1).split(",")}
            open_only = "t.foreignamountunpaid <> 0" in query
            wanted_rows = [
                r for r in self.book.transactions
                if r["type"] in types and r["id"] > start and changed(r)
                and (not open_only or r["foreignamountunpaid"] not in ("0", "0.00"))
            ]  # fmt: skip
        else:
            return None
        return sorted(wanted_rows, key=lambda r: r["id"])

    def _patch(self, record: str, internal_id: str) -> Response:
        refused = self._gate()
        if refused:
            return refused
        table = {"invoice": self.book.transactions, "customer": self.book.customers}.get(record)
        row = next((r for r in table or () if str(r["id"]) == internal_id), None)
        if row is None:
            return _error(404, "NONEXISTENT_ID", f"Record {record} {internal_id} not found.")
        try:
            body = orjson.loads(request.get_data())
        except orjson.JSONDecodeError:
            return _error(400, "INVALID_CONTENT", "The body is not JSON.")
        prefix = "custbody_" if record == "invoice" else "custentity_"
        if not isinstance(body, dict) or not all(k.startswith(prefix) for k in body):
            # This stand-in takes the integration's custom fields only: never an amount.
            return _error(400, "INVALID_FIELD", "Only the integration's custom fields.")
        unknown = sorted(set(body) - self.book.custom_fields)
        if unknown:
            return _error(
                400, "INVALID_KEY_OR_REF",
                f"Invalid field: {unknown[0]}. The field does not exist on the {record} record.",
            )  # fmt: skip
        row.setdefault("custom", {}).update(body)
        self.book.writes.append((record, internal_id, body))
        return Response(status=204)

    def _app(self) -> Flask:
        app = Flask("deverp.netsuite")
        app.post("/services/rest/auth/oauth2/v1/token")(self._token)
        app.post("/services/rest/query/v1/suiteql")(self._suiteql)
        app.route("/services/rest/record/v1/<record>/<internal_id>", methods=["PATCH"])(self._patch)
        return app

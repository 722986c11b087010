"""The OData V2 we need, over ``ErpHttp``: filters, keyset paging, CSRF-protected writes.

Paging is by key ("keyset"): each page asks for ``$top`` rows ordered by the key, after the last
row of the page before (``after``), so a page's position can be stored and a pull resumed there,
and rows that change while a pull runs do not shift the pages after them (as ``$skip`` would).

Writes need a CSRF token: fetched with ``X-CSRF-Token: Fetch`` on a GET of the service root
(the session keeps the cookie it belongs to), sent with each write, fetched again once when the
service answers 403 ``X-CSRF-Token: Required``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

import orjson
import requests

from service.connectors.http import ErpError, ErpHttp
from service.connectors.sap.mapping import sap_date


def literal(value: Any) -> str:
    """An OData V2 literal: strings quoted (quotes doubled), dates as ``datetime'...'``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.startswith("/Date("):
        value = sap_date(value)
    if isinstance(value, date):
        return f"datetime'{value.isoformat()}T00:00:00'"
    return "'" + str(value).replace("'", "''") + "'"


def eq(name: str, value: Any) -> str:
    return f"{name} eq {literal(value)}"


def any_of(clauses: Sequence[str]) -> str:
    return "(" + " or ".join(clauses) + ")" if len(clauses) > 1 else clauses[0]


def all_of(clauses: Sequence[str]) -> str:
    clauses = [c for c in clauses if c]
    return " and ".join(f"({c})" if " or " in c else c for c in clauses)


def after(columns: Sequence[str], values: Sequence[Any]) -> str:
    """Rows whose ``columns`` come after ``values`` in that order (lexicographic ``gt``)."""
    name, value = columns[0], values[0]
    if len(columns) == 1:
        return f"{name} gt {literal(value)}"
    rest = after(columns[1:], values[1:])
    return f"({name} gt {literal(value)} or ({name} eq {literal(value)} and {rest}))"


def describe(response: requests.Response) -> str:
    """SAP's error message (``{"error": {"message": {"value": ...}}}``), else the body's start."""
    try:
        error = response.json().get("error") or {}
        message = error.get("message")
        text = message.get("value") if isinstance(message, dict) else message
        if text:
            return f"{error.get('code', '')}: {text}"[:300]
    except (ValueError, AttributeError):
        pass
    return response.text[:200].replace("\n", " ")


class ODataService:
    def __init__(self, http: ErpHttp, base_url: str, service: str) -> None:
        self.http = http
        self.root = f"{base_url}/sap/opu/odata/sap/{service}"
        self._csrf: str | None = None

    def results(self, entity: str, params: dict[str, str]) -> list[dict[str, Any]]:
        """One request's rows (and any server-driven ``__next`` pages it links to)."""
        url: str | None = f"{self.root}/{entity}"
        query: dict[str, str] | None = {**params, "$format": "json"}
        out: list[dict[str, Any]] = []
        while url:
            response = self.http.request(
                "GET", url, params=query, headers={"Accept": "application/json"}
            )
            try:
                body = orjson.loads(response.content)
                data = body["d"]
                rows = data["results"] if isinstance(data, dict) else data
            except (orjson.JSONDecodeError, KeyError, TypeError):
                raise ErpError(f"GET {self.root}/{entity}: not an OData V2 JSON answer") from None
            if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
                raise ErpError(f"GET {self.root}/{entity}: not an OData V2 collection")
            out.extend(rows)
            following = data.get("__next") if isinstance(data, dict) else None
            if following and not str(following).startswith(self.root + "/"):
                raise ErpError(f"GET {self.root}/{entity}: __next leads off the service")
            url, query = following, None
        return out

    def count(self, entity: str, where: str) -> int:
        """``<entity>/$count``: how many rows match ``where``."""
        response = self.http.request(
            "GET", f"{self.root}/{entity}/$count", params={"$filter": where} if where else None
        )
        text = response.text.strip()
        if not text.isdigit():
            raise ErpError(f"GET {self.root}/{entity}/$count: not a number")
        return int(text)

    def keyset(
        self,
        entity: str,
        *,
        where: str,
        order: Sequence[str],
        select: Sequence[str],
        top: int,
        start: Sequence[Any] | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Pages of rows matching ``where``, ordered by ``order``, after ``start`` if given."""
        last = list(start) if start is not None else None
        while True:
            clause = all_of([where, after(order, last) if last is not None else ""])
            params = {"$orderby": ",".join(order), "$select": ",".join(select), "$top": str(top)}
            if clause:
                params["$filter"] = clause
            rows = self.results(entity, params)
            if not rows:
                return
            yield rows
            if len(rows) < top:
                return
            last = [rows[-1].get(name) for name in order]
            if any(value in (None, "") for value in last):
                raise ErpError(f"{entity}: a row without its {', '.join(order)}")

    def write(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict:
        for attempt in (1, 2):
            if self._csrf is None:
                fetched = self.http.request(
                    "GET", f"{self.root}/", headers={"X-CSRF-Token": "Fetch"}
                )
                self._csrf = fetched.headers.get("X-CSRF-Token") or ""
            try:
                response = self.http.request(
                    method,
                    f"{self.root}/{path}",
                    data=orjson.dumps(body) if body is not None else None,
                    headers={
                        "X-CSRF-Token": self._csrf,
                        "Content-Type": "application/json",
                        "Accept": "application/json",
                    },
                )
            except ErpError as error:
                if error.status == 403 and attempt == 1:
                    self._csrf = None
                    continue
                raise
            if not response.content:
                return {}
            return orjson.loads(response.content).get("d", {})
        raise AssertionError("unreachable")

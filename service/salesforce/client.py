"""The one place that builds simple-salesforce clients (CumulusCI habit).

Every request to the org goes through ``service.salesforce.http.make_http_session`` (CA bundle,
retries on 502/503/504, the ``Sforce-Call-Options`` client header) and every REST call through
``SalesforceClient.call``
(one re-login on 401 INVALID_SESSION_ID, errors mapped to Retryable/Permanent by errorCode).
A second constructor elsewhere would silently lose one of these; don't add one.

simple-salesforce runs in direct-session mode: we fetch the token ourselves (see auth.py) and
give it ``instance_url`` + ``session_id``. In that mode it never re-logs in by itself, which is
what we want: the re-login happens here, once, and is shared with the CometD client.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError, SalesforceExpiredSession

from service.config import SyncSettings
from service.salesforce.auth import Authenticator, Token
from service.salesforce.errors import (
    PermanentError,
    RetryableError,
    SessionExpired,
    error_from_response,
)
from service.salesforce.http import dumps, make_http_session

log = logging.getLogger(__name__)

T = TypeVar("T")


def _is_invalid_session(exc: SalesforceError) -> bool:
    content = exc.content
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return content[0].get("errorCode") == "INVALID_SESSION_ID"
    return exc.status == 401


class SalesforceClient:
    """simple-salesforce in direct-session mode, with one re-login and error classification."""

    def __init__(
        self,
        settings: SyncSettings,
        authenticator: Authenticator | None = None,
        http: requests.Session | None = None,
    ):
        self.settings = settings
        self.http = http or make_http_session(settings)
        self.auth = authenticator or Authenticator(settings, make_http_session(settings))
        self._lock = threading.Lock()
        self._sf: Salesforce | None = None
        self._token: Token | None = None
        self.calls = 0

    def _build(self, token: Token) -> Salesforce:
        self._token = token
        self._sf = Salesforce(
            instance_url=token.instance_url,
            session_id=token.access_token,
            session=self.http,
            version=self.settings.api_version,
        )
        return self._sf

    @property
    def sf(self) -> Salesforce:
        with self._lock:
            if self._sf is None or self._token is not self.auth.token():
                self._build(self.auth.token())
            return self._sf

    @property
    def instance_url(self) -> str:
        self.sf  # noqa: B018 - make sure a token exists
        assert self._token is not None
        return self._token.instance_url

    def reauthenticate(self) -> None:
        """Replace a token the org no longer accepts (shared with other threads)."""
        with self._lock:
            self._build(self.auth.refresh(self._token))

    def call(self, fn: Callable[[Salesforce], T]) -> T:
        """Run ``fn(sf)``; re-login once on INVALID_SESSION_ID; classify every failure."""
        for attempt in (1, 2):
            sf = self.sf
            try:
                self.calls += 1
                return fn(sf)
            except SalesforceExpiredSession as exc:
                if attempt == 2 or not _is_invalid_session(exc):
                    raise SessionExpired(
                        "session refused after a fresh login", "INVALID_SESSION_ID"
                    ) from None
                log.info("salesforce session expired; logging in again")
                self.reauthenticate()
            except SalesforceError as exc:
                raise error_from_response(exc.status, exc.content) from None
            except requests.Timeout:
                raise RetryableError("request to Salesforce timed out", "TIMEOUT") from None
            except requests.ConnectionError as exc:
                raise RetryableError(
                    f"cannot reach Salesforce: {type(exc).__name__}", "CONNECTION_ERROR"
                ) from None
        raise AssertionError("unreachable")

    # -- conveniences over call() ----------------------------------------------------------

    def rest(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        """A REST call relative to /services/data/vXX.X/ with a JSON body (Decimal-safe)."""
        kwargs: dict[str, Any] = {"timeout": self.settings.request_timeout}
        if body is not None:
            kwargs["data"] = dumps(body)
        return self.call(
            lambda sf: sf.restful(path, params=params or None, method=method, **kwargs)
        )

    def query_all(self, soql: str, *, include_deleted: bool = False) -> list[dict]:
        """Every record of a SOQL query (follows nextRecordsUrl); build soql with format_soql.

        ``include_deleted`` runs it as ``queryAll``: records in the recycle bin come too, with
        ``IsDeleted`` true (until they are purged from it).
        """
        result = self.call(
            lambda sf: sf.query(
                soql, include_deleted=include_deleted, timeout=self.settings.request_timeout
            )
        )
        records = list(result.get("records", []))
        while not result.get("done", True) and result.get("nextRecordsUrl"):
            url = result["nextRecordsUrl"]
            result = self.call(
                lambda sf, url=url: sf.query_more(url, True, timeout=self.settings.request_timeout)
            )
            records.extend(result.get("records", []))
        return records

    def api_usage(self) -> tuple[int, int] | None:
        """Requests used and the daily allowance, from the last Sforce-Limit-Info seen."""
        if self._sf is None:
            return None
        usage = self._sf.api_usage.get("api-usage")
        if usage is None or not usage.total:
            return None
        return usage.used, usage.total

    def api_usage_share(self) -> float | None:
        """Share of the daily API allowance used, from the last Sforce-Limit-Info seen."""
        usage = self.api_usage()
        return None if usage is None else usage[0] / usage[1]


def build_client(
    settings: SyncSettings, authenticator: Authenticator | None = None
) -> SalesforceClient:
    """The factory every caller uses (worker threads share one Authenticator)."""
    return SalesforceClient(settings, authenticator)


def read_record_with(client: SalesforceClient) -> Callable[[str, str], dict | None]:
    """A record by Id through REST, or None when it is gone (deleted, never existed): what the
    event handlers re-read a record with (the worker's subscriber, ``events replay``)."""

    def read(sobject: str, record_id: str) -> dict | None:
        try:
            record = client.rest("GET", f"sobjects/{sobject}/{record_id}")
        except PermanentError as exc:
            if exc.code in ("NOT_FOUND", "ENTITY_IS_DELETED"):
                return None
            raise
        if record:
            record.pop("attributes", None)
        return record

    return read

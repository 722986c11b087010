"""HTTP to an ERP: one ``requests`` session per connector, with the rules every ERP needs.

- Throttling: a 429 (or 503) is waited out for its ``Retry-After`` (seconds or an HTTP date;
  capped at ``max_wait``), then the request is sent again, up to ``attempts`` times in all.
- Expired tokens: a 401 asks the authenticator for a fresh token (``Auth.refresh``) and the
  request is sent once more; a second 401 is an ``ErpError``.
- Other 4xx/5xx answers become ``ErpError`` with the status and the ERP's own message, never the
  request's credentials (``retryable`` for 5xx and network errors).
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import requests

from service.errors import ServiceError


class ErpError(ServiceError):
    """The ERP refused or failed a request; ``retryable`` says whether trying later may help."""

    code = "erp"

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False):
        super().__init__(message)
        self.status = status
        self.retryable = retryable


class Auth:
    """Puts credentials on a request. ``refresh`` is called after a 401 (a token that expired)."""

    def apply(self, session: requests.Session, headers: dict[str, str]) -> None:
        raise NotImplementedError

    def refresh(self, session: requests.Session) -> bool:
        """Get new credentials; False when there is nothing to refresh (basic auth)."""
        return False

    def sign(
        self,
        session: requests.Session,
        headers: dict[str, str],
        method: str,
        url: str,
        params: dict[str, str] | None,
    ) -> None:
        """Credentials that depend on the request (OAuth 1.0a signatures); ``apply`` else."""
        self.apply(session, headers)


class ErpHttp:
    def __init__(
        self,
        auth: Auth,
        *,
        timeout: float = 60.0,
        attempts: int = 5,
        max_wait: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
        describe: Callable[[requests.Response], str] | None = None,
    ) -> None:
        self.session = requests.Session()
        self.auth = auth
        self.timeout = timeout
        self.attempts = attempts
        self.max_wait = max_wait
        self.sleep = sleep
        self.describe = describe or _describe
        self.throttled = 0  # answers waited out, for the report
        self.refreshed = 0  # tokens renewed after a 401

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        refreshed = False
        for attempt in range(1, self.attempts + 1):
            headers = dict(kwargs.pop("headers", None) or {})
            self.auth.sign(self.session, headers, method, url, kwargs.get("params"))
            try:
                response = self.session.request(
                    method, url, headers=headers, timeout=self.timeout, **kwargs
                )
            except requests.RequestException as error:
                if attempt == self.attempts:
                    raise ErpError(
                        f"{method} {_path(url)}: {type(error).__name__}", retryable=True
                    ) from None
                self.sleep(min(self.max_wait, 2.0**attempt))
                kwargs["headers"] = headers
                continue
            kwargs["headers"] = headers
            if response.status_code == 401 and not refreshed and self.auth.refresh(self.session):
                refreshed = True
                self.refreshed += 1
                continue
            if response.status_code in (429, 503) and attempt < self.attempts:
                self.throttled += 1
                self.sleep(retry_after(response.headers.get("Retry-After"), self.max_wait, attempt))
                continue
            if response.status_code >= 400:
                raise ErpError(
                    f"{method} {_path(url)}: {response.status_code} {self.describe(response)}",
                    status=response.status_code,
                    retryable=response.status_code in (408, 429) or response.status_code >= 500,
                )
            return response
        raise ErpError(
            f"{method} {_path(url)}: gave up after {self.attempts} attempts", retryable=True
        )

    def get_json(self, url: str, **kwargs: Any) -> Any:
        response = self.request("GET", url, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise ErpError(f"GET {_path(url)}: the answer is not JSON") from None


def retry_after(value: str | None, cap: float, attempt: int) -> float:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date); backoff if none."""
    if value:
        value = value.strip()
        if value.isdigit():
            return min(cap, float(value))
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            return min(cap, max(0.0, (when - datetime.now(UTC)).total_seconds()))
    return min(cap, 2.0**attempt)


def _path(url: str) -> str:
    """A URL without its query (filters may hold customer numbers; never credentials)."""
    return url.split("?", 1)[0]


def _describe(response: requests.Response) -> str:
    return response.text[:300].replace("\n", " ")

"""OAuth 2.0 client credentials for an ERP: a bearer token from the ERP's token endpoint.

The token is kept until a minute before it expires (``expires_in``, an hour when the answer does
not say), and dropped when the API answers 401 (it expired early or was revoked; ``ErpHttp``
calls ``refresh`` and sends the request again), so the next request fetches a fresh one. A
refused or failed token request is one ``ErpError`` with the status and the endpoint's ``error``
code, never the credentials; 429 and 5xx are retryable.

How the client proves itself differs per ERP and is the subclass's ``grant``: SAP's token service
takes HTTP basic auth (``service.connectors.sap.auth``), NetSuite a signed JWT client assertion
(``service.connectors.netsuite.auth``).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import requests

from service.connectors.http import Auth, ErpError

EARLY = 60.0  # seconds before its expiry a token is replaced


class ClientCredentialsToken(Auth):
    """A bearer token fetched with ``grant_type=client_credentials`` and kept while it lasts."""

    def __init__(
        self,
        token_url: str,
        *,
        label: str = "token endpoint",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token_url = token_url
        self.label = label  # how errors name the endpoint
        self.clock = clock
        self._token: str | None = None
        self._expires = 0.0

    def grant(self) -> tuple[dict[str, str], dict[str, str]]:
        """The token request's form fields and headers: the client's proof of itself."""
        raise NotImplementedError

    def apply(self, session: requests.Session, headers: dict[str, str]) -> None:
        if self._token is None or self.clock() >= self._expires - EARLY:
            self._fetch(session)
        headers["Authorization"] = f"Bearer {self._token}"

    def refresh(self, session: requests.Session) -> bool:
        self._token = None
        return True

    def _fetch(self, session: requests.Session) -> None:
        form, headers = self.grant()
        try:
            response = session.post(
                self.token_url,
                data={"grant_type": "client_credentials", **form},
                headers=headers,
                timeout=30,
            )
        except requests.RequestException as error:
            raise ErpError(f"{self.label}: {type(error).__name__}", retryable=True) from None
        if response.status_code != 200:
            try:
                reason = response.json().get("error", "")
            except (ValueError, AttributeError):
                reason = ""
            raise ErpError(
                f"{self.label}: {response.status_code} {reason}".rstrip(),
                status=response.status_code,
                retryable=response.status_code >= 500 or response.status_code == 429,
            )
        try:
            body = response.json()
        except ValueError:
            body = None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise ErpError(f"{self.label}: no access_token in the answer")
        self._token = token
        self._expires = self.clock() + float(body.get("expires_in") or 3600)

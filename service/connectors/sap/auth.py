"""SAP authentication: a communication user (basic auth) or OAuth 2.0 client credentials.

With OAuth the token is fetched from ``SAP_TOKEN_URL`` (``grant_type=client_credentials``, the
client authenticating with HTTP basic auth, as SAP BTP's token service expects), kept until a
minute before it expires, and fetched again when the API answers 401 (it expired early or was
revoked).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import requests
from requests.auth import _basic_auth_str

from service.connectors.http import Auth, ErpError

EARLY = 60.0  # seconds before its expiry a token is replaced


class BasicAuth(Auth):
    def __init__(self, user: str, password: str) -> None:
        self._header = _basic_auth_str(user, password)

    def apply(self, session: requests.Session, headers: dict[str, str]) -> None:
        headers["Authorization"] = self._header


class ClientCredentials(Auth):
    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token_url = token_url
        self._client = _basic_auth_str(client_id, client_secret)
        self.clock = clock
        self._token: str | None = None
        self._expires = 0.0
        self.fetched = 0

    def apply(self, session: requests.Session, headers: dict[str, str]) -> None:
        if self._token is None or self.clock() >= self._expires - EARLY:
            self._fetch(session)
        headers["Authorization"] = f"Bearer {self._token}"

    def refresh(self, session: requests.Session) -> bool:
        self._token = None
        return True

    def _fetch(self, session: requests.Session) -> None:
        try:
            response = session.post(
                self.token_url,
                data={"grant_type": "client_credentials"},
                headers={"Authorization": self._client, "Accept": "application/json"},
                timeout=30,
            )
        except requests.RequestException as error:
            raise ErpError(f"token endpoint: {type(error).__name__}", retryable=True) from None
        if response.status_code != 200:
            try:
                reason = response.json().get("error", "")
            except ValueError:
                reason = ""
            raise ErpError(
                f"token endpoint: {response.status_code} {reason}".rstrip(),
                status=response.status_code,
                retryable=response.status_code >= 500 or response.status_code == 429,
            )
        body = response.json()
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise ErpError("token endpoint: no access_token in the answer")
        self._token = token
        self._expires = self.clock() + float(body.get("expires_in") or 3600)
        self.fetched += 1

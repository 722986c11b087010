"""SAP authentication: a communication user (basic auth) or OAuth 2.0 client credentials.

With OAuth the token comes from ``SAP_TOKEN_URL``, the client authenticating with HTTP basic
auth as SAP BTP's token service expects; keeping and renewing it is
``service.connectors.oauth``'s.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import requests
from requests.auth import _basic_auth_str

from service.connectors.http import Auth
from service.connectors.oauth import ClientCredentialsToken


class BasicAuth(Auth):
    def __init__(self, user: str, password: str) -> None:
        self._header = _basic_auth_str(user, password)

    def apply(self, session: requests.Session, headers: dict[str, str]) -> None:
        headers["Authorization"] = self._header


class ClientCredentials(ClientCredentialsToken):
    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(token_url, clock=clock)
        self._client = _basic_auth_str(client_id, client_secret)

    def grant(self) -> tuple[dict[str, str], dict[str, str]]:
        return {}, {"Authorization": self._client, "Accept": "application/json"}

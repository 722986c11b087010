"""NetSuite authentication: OAuth 2.0 machine-to-machine, or token-based (OAuth 1.0a).

Machine-to-machine: a JWT client assertion (``PS256``, ``kid`` the certificate's id in NetSuite,
``iss`` the client id, ``scope`` ``rest_webservices``, ``aud`` the token endpoint, an hour at
most) signed with the certificate's private key (``pyjwt``), exchanged at
``/services/rest/auth/oauth2/v1/token`` for an access token kept and renewed by
``service.connectors.oauth``.

Token-based: each request carries an OAuth 1.0a ``Authorization`` header, ``realm`` the account,
signed with HMAC-SHA256 over the method, the URL and every query and OAuth parameter, keyed by
the consumer and token secrets (RFC 5849). Written here: it is forty lines, and the
oauthlib/requests-oauthlib pair would be two dependencies for it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from urllib.parse import quote, urlsplit, urlunsplit

import jwt
import requests

from service.config import NetSuiteSettings
from service.connectors.http import Auth
from service.connectors.oauth import ClientCredentialsToken


def token_url(settings: NetSuiteSettings) -> str:
    return f"{settings.base_url}/services/rest/auth/oauth2/v1/token"


class MachineToMachine(ClientCredentialsToken):
    def __init__(self, settings: NetSuiteSettings) -> None:
        super().__init__(token_url(settings), label="NetSuite token endpoint")
        self.settings = settings

    def grant(self) -> tuple[dict[str, str], dict[str, str]]:
        settings = self.settings
        now = int(time.time())
        assertion = jwt.encode(
            {
                "iss": settings.client_id,
                "scope": ["rest_webservices"],
                "aud": self.token_url,
                "iat": now,
                "exp": now + 3600,
            },
            settings.private_key,
            algorithm="PS256",
            headers={"kid": settings.certificate_id},
        )
        form = {
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
        }
        return form, {}


def _enc(value: str) -> str:
    return quote(value, safe="~-._")


def oauth1_header(
    settings: NetSuiteSettings,
    method: str,
    url: str,
    params: dict[str, str] | None,
    *,
    nonce: str | None = None,
    timestamp: int | None = None,
) -> str:
    oauth = {
        "oauth_consumer_key": settings.consumer_key or "",
        "oauth_token": settings.token_id or "",
        "oauth_signature_method": "HMAC-SHA256",
        "oauth_timestamp": str(timestamp or int(time.time())),
        "oauth_nonce": nonce or secrets.token_hex(16),
        "oauth_version": "1.0",
    }
    parts = urlsplit(url)
    base_url = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    pairs = sorted((_enc(k), _enc(str(v))) for k, v in [*(params or {}).items(), *oauth.items()])
    normalized = "&".join(f"{k}={v}" for k, v in pairs)
    base = "&".join((method.upper(), _enc(base_url), _enc(normalized)))
    key = f"{_enc(settings.consumer_secret or '')}&{_enc(settings.token_secret or '')}"
    signature = base64.b64encode(
        hmac.new(key.encode(), base.encode(), hashlib.sha256).digest()
    ).decode()
    fields = {**oauth, "oauth_signature": signature}
    return f'OAuth realm="{settings.account_id}", ' + ", ".join(
        f'{k}="{_enc(v)}"' for k, v in fields.items()
    )


class TokenBased(Auth):
    def __init__(self, settings: NetSuiteSettings) -> None:
        self.settings = settings

    def apply(self, session: requests.Session, headers: dict[str, str]) -> None:
        raise AssertionError("token-based auth signs each request (sign)")

    def sign(self, session, headers, method, url, params) -> None:
        headers["Authorization"] = oauth1_header(self.settings, method, url, params)

"""Getting an access token from Salesforce's OAuth token endpoint.

The service asks for its own token and hands simple-salesforce the session, because
simple-salesforce hard-codes ``https://{login,test}.salesforce.com`` as token URLs and could not
reach a My Domain host, a sandbox alias or devorg. Three flows, chosen by the settings:

* JWT bearer (recommended in production: no secret leaves the server, only a signed assertion),
* client credentials (must go to the My Domain host, see salesforce-wire.md §3.1),
* username-password (blocked by default since Summer '23; kept for old orgs and devorg).

Tokens and keys are never logged: ``Token.__repr__`` hides them and log lines name only the
flow, the host and the outcome.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

import jwt
import requests

from service.config import SyncSettings
from service.salesforce.errors import AuthenticationError, RetryableError
from service.salesforce.http import make_http_session

log = logging.getLogger(__name__)

TOKEN_PATH = "/services/oauth2/token"  # noqa: S105 - a URL path, not a secret
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass(frozen=True)
class Token:
    """An access token and where to use it. The token itself never shows in repr or logs."""

    access_token: str = field(repr=False)
    instance_url: str
    token_type: str = "Bearer"  # noqa: S105 - the scheme name
    identity: str | None = None
    obtained_at: float = field(default_factory=time.monotonic)


def _private_key_text(value: str) -> str:
    """SALESFORCE_PRIVATE_KEY holds either the PEM itself or the path of a PEM file."""
    if value.lstrip().startswith("-----BEGIN"):
        return value.replace("\\n", "\n")
    path = Path(value)
    if not path.is_file():
        raise AuthenticationError("SALESFORCE_PRIVATE_KEY is neither a PEM nor a readable file")
    return path.read_text()


def jwt_audience(login_url: str) -> str:
    """The ``aud`` claim: Salesforce wants login/test.salesforce.com even for My Domain logins."""
    host = urlparse(login_url).hostname or ""
    if host.endswith(".salesforce.com") or host.endswith(".force.com"):
        if "sandbox" in host or host.startswith("test."):
            return "https://test.salesforce.com"
        return "https://login.salesforce.com"
    return login_url


class Authenticator:
    """Fetches and caches one token; ``refresh()`` replaces it after an INVALID_SESSION_ID.

    Thread-safe: the pusher and the subscriber share one authenticator, and a token refreshed by
    one is reused by the other instead of both logging in.
    """

    def __init__(self, settings: SyncSettings, session: requests.Session | None = None):
        self.settings = settings
        if session is None:
            session = make_http_session(settings)
        self._http = session
        self._lock = threading.Lock()
        self._token: Token | None = None
        self.logins = 0
        # The outcome of the last login, for the worker's heartbeat (``/readyz``'s salesforce).
        self.login_state = "unknown"
        self.login_error: str | None = None

    def token(self) -> Token:
        with self._lock:
            if self._token is None:
                self._token = self._request()
            return self._token

    def refresh(self, stale: Token | None = None) -> Token:
        """A new token, unless another thread already replaced ``stale`` with a fresh one."""
        with self._lock:
            if self._token is None or stale is None or self._token is stale:
                self._token = self._request()
            return self._token

    # -- the three flows ------------------------------------------------------------------

    def _form(self) -> dict[str, str]:
        s = self.settings
        if s.flow == "jwt":
            now = datetime.now(UTC)
            claims = {
                "iss": s.client_id,
                "sub": s.username,
                "aud": jwt_audience(s.login_url),
                "exp": int((now + timedelta(minutes=3)).timestamp()),
            }
            assertion = jwt.encode(claims, _private_key_text(s.private_key or ""), "RS256")
            return {"grant_type": JWT_GRANT, "assertion": assertion}
        if s.flow == "password":
            form = {"grant_type": "password", "username": s.username, "password": s.password}
            if s.client_id:
                form["client_id"] = s.client_id
            if s.client_secret:
                form["client_secret"] = s.client_secret
            return form
        return {
            "grant_type": "client_credentials",
            "client_id": s.client_id or "",
            "client_secret": s.client_secret or "",
        }

    def _request(self) -> Token:
        try:
            token = self._login()
        except (RetryableError, AuthenticationError) as exc:
            self.login_state, self.login_error = "failing", str(exc)
            raise
        except Exception as exc:  # e.g. a key the JWT library refuses: its type, never its text
            self.login_state, self.login_error = "failing", type(exc).__name__
            raise
        self.login_state, self.login_error = "ok", None
        return token

    def _login(self) -> Token:
        s = self.settings
        url = s.login_url + TOKEN_PATH
        host = urlparse(url).netloc
        try:
            response = self._http.post(url, data=self._form(), timeout=s.request_timeout)
        except requests.RequestException as exc:
            log.warning(
                "salesforce login failed: flow=%s host=%s (%s)", s.flow, host, type(exc).__name__
            )
            raise RetryableError(
                f"token endpoint unreachable: {type(exc).__name__}", "CONNECTION_ERROR"
            ) from None
        if response.status_code >= 500:
            log.warning(
                "salesforce login failed: flow=%s host=%s status=%s",
                s.flow,
                host,
                response.status_code,
            )
            raise RetryableError(f"token endpoint answered {response.status_code}", "HTTP_5XX")
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code != 200 or "access_token" not in body:
            error = str(body.get("error", "unknown"))
            description = str(body.get("error_description", ""))
            log.warning(
                "salesforce login refused: flow=%s host=%s status=%s error=%s",
                s.flow,
                host,
                response.status_code,
                error,
            )
            raise AuthenticationError(
                f"Salesforce login refused ({s.flow}): {error} {description}".strip(), error
            )
        self.logins += 1
        log.info(
            "salesforce login ok: flow=%s host=%s instance=%s",
            s.flow,
            host,
            body.get("instance_url"),
        )
        return Token(
            access_token=body["access_token"],
            instance_url=body.get("instance_url") or s.login_url,
            token_type=body.get("token_type", "Bearer"),
            identity=body.get("id"),
        )

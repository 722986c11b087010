"""Users, the connected app and OAuth sessions of the org.

Three grants are served at ``/services/oauth2/token`` as Salesforce serves them: JWT bearer
(RS256, verified against the certificate registered on the connected app), client credentials
(only on the My Domain host) and username-password. Sessions expire after ``token_ttl`` seconds
of inactivity (Salesforce extends a session that is in use) and can be revoked; both give
``401 INVALID_SESSION_ID``. Sessions are kept in the ``--state`` file so a restarted devorg still
accepts the tokens the service holds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass, field

import jwt
from cryptography import x509

from .ids import checksum

# Salesforce's login hosts would be login.salesforce.com / test.salesforce.com. devorg treats the
# request Host ``127.0.0.1`` and ``login.localhost`` as "login" hosts and ``localhost`` as the
# org's My Domain host (see docs/devorg.md).
DEFAULT_LOGIN_HOSTS = frozenset({"127.0.0.1", "login.localhost"})
_JWT_LEEWAY_S = 0  # Salesforce allows no leeway beyond the 3-minute exp cap clients use


class OAuthError(Exception):
    """A 400 ``{"error", "error_description"}`` from the token endpoint."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict:
        return {"error": self.error, "error_description": self.description}


@dataclass
class User:
    id: str
    username: str
    password: str
    last_name: str
    permissions: set[str] = field(default_factory=set)
    active: bool = True


@dataclass
class ConnectedApp:
    client_id: str
    client_secret: str
    certificate_pem: bytes | None
    run_as_username: str  # the client_credentials "Run As" user
    name: str = "Credit_Control_Integration"


@dataclass
class Session:
    token: str
    user_id: str
    username: str
    issued_at: float
    last_used: float
    client_id: str | None = None
    revoked: bool = False


class Auth:
    """Users, the connected app, sessions. Thread-safe."""

    def __init__(self, org_id: str, token_ttl: float, store=None) -> None:
        self.org_id = org_id
        self.token_ttl = token_ttl
        self.users: dict[str, User] = {}
        self.apps: dict[str, ConnectedApp] = {}
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()
        self._store = store  # for persistence of sessions (Store.meta_*)
        self._load_sessions()

    # -- directory ------------------------------------------------------------------------

    def add_user(self, user: User) -> None:
        self.users[user.username.lower()] = user

    def user(self, username: str) -> User | None:
        return self.users.get((username or "").lower())

    def user_by_id(self, user_id: str) -> User | None:
        for user in self.users.values():
            if user.id == user_id:
                return user
        return None

    def grant_permission(self, username: str, permission: str) -> None:
        """Give a user a custom permission (as a permission set would), e.g. Credit_Hold_Override."""
        user = self.user(username)
        if user is None:
            raise KeyError(username)
        user.permissions.add(permission)

    def add_app(self, app: ConnectedApp) -> None:
        self.apps[app.client_id] = app

    # -- sessions ---------------------------------------------------------------------------

    def _new_token(self) -> str:
        org15 = self.org_id[:15]
        return f"{org15}!AR" + secrets.token_urlsafe(72).replace("-", "A").replace("_", "z")[:94]

    def issue(self, user: User, client_id: str | None = None) -> Session:
        now = time.time()
        session = Session(self._new_token(), user.id, user.username, now, now, client_id)
        with self._lock:
            self._sessions[session.token] = session
        self._save_sessions()
        return session

    def session_for(self, token: str | None) -> Session | None:
        """The live session for a bearer token, or None (unknown, revoked or expired).

        A session in use is extended, as Salesforce extends an active session's timeout.
        """
        if not token:
            return None
        with self._lock:
            session = self._sessions.get(token)
            if session is None or session.revoked:
                return None
            now = time.time()
            if now - session.last_used >= self.token_ttl:
                return None
            session.last_used = now
            return session

    def revoke(self, token: str) -> bool:
        with self._lock:
            session = self._sessions.get(token)
            if session is None:
                return False
            session.revoked = True
        self._save_sessions()
        return True

    def revoke_all(self) -> int:
        with self._lock:
            sessions = [s for s in self._sessions.values() if not s.revoked]
            for session in sessions:
                session.revoked = True
        self._save_sessions()
        return len(sessions)

    def expire_all(self) -> int:
        """Make every session time out now (as an idle timeout would)."""
        with self._lock:
            count = 0
            for session in self._sessions.values():
                if not session.revoked:
                    session.last_used = 0.0
                    count += 1
        self._save_sessions()
        return count

    def expire(self, token: str) -> bool:
        with self._lock:
            session = self._sessions.get(token)
            if session is None:
                return False
            session.last_used = 0.0
        self._save_sessions()
        return True

    def active_sessions(self) -> list[Session]:
        now = time.time()
        with self._lock:
            return [
                s
                for s in self._sessions.values()
                if not s.revoked and now - s.last_used < self.token_ttl
            ]

    def _save_sessions(self) -> None:
        if self._store is None or self._store.db is None:
            return
        with self._lock:
            rows = [
                [s.token, s.user_id, s.username, s.issued_at, s.last_used, s.client_id, s.revoked]
                for s in self._sessions.values()
            ]
        self._store.meta_set("sessions", json.dumps(rows))

    def _load_sessions(self) -> None:
        if self._store is None:
            return
        raw = self._store.meta_get("sessions")
        if not raw:
            return
        for token, user_id, username, issued, last, client_id, revoked in json.loads(raw):
            self._sessions[token] = Session(
                token, user_id, username, issued, last, client_id, revoked
            )

    # -- grants -----------------------------------------------------------------------------

    def _client_from(self, form: dict, authorization: str | None) -> tuple[str | None, str | None]:
        client_id = form.get("client_id")
        client_secret = form.get("client_secret")
        if authorization and authorization.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(authorization[6:].strip()).decode()
                client_id, _, client_secret = decoded.partition(":")
            except (ValueError, UnicodeDecodeError):
                raise OAuthError("invalid_client", "invalid client credentials") from None
        return client_id, client_secret

    def _check_secret(self, client_id: str | None, client_secret: str | None) -> ConnectedApp:
        app = self.apps.get(client_id or "")
        if app is None:
            raise OAuthError("invalid_client_id", "client identifier invalid")
        if not client_secret or not hmac.compare_digest(app.client_secret, client_secret):
            raise OAuthError("invalid_client", "invalid client credentials")
        return app

    def grant_password(self, form: dict, authorization: str | None) -> Session:
        client_id, client_secret = self._client_from(form, authorization)
        self._check_secret(client_id, client_secret)
        user = self.user(form.get("username", ""))
        # Salesforce appends the security token to the password; devorg needs none.
        if (
            user is None
            or not user.active
            or not hmac.compare_digest(user.password, form.get("password", ""))
        ):
            raise OAuthError("invalid_grant", "authentication failure")
        return self.issue(user, client_id)

    def grant_client_credentials(
        self, form: dict, authorization: str | None, login_host: bool
    ) -> Session:
        if login_host:
            raise OAuthError("invalid_grant", "request not supported on this domain")
        client_id, client_secret = self._client_from(form, authorization)
        app = self._check_secret(client_id, client_secret)
        user = self.user(app.run_as_username)
        if user is None or not user.active:
            raise OAuthError("invalid_grant", "no client credentials user enabled")
        return self.issue(user, client_id)

    def grant_jwt(self, assertion: str | None, audiences: set[str]) -> Session:
        if not assertion:
            raise OAuthError("invalid_grant", "invalid assertion")
        try:
            header = jwt.get_unverified_header(assertion)
            claims = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise OAuthError("invalid_grant", "invalid assertion") from None
        if header.get("alg") != "RS256":
            raise OAuthError("invalid_grant", "invalid assertion")
        app = self.apps.get(str(claims.get("iss", "")))
        if app is None:
            raise OAuthError("invalid_client_id", "client identifier invalid")
        if app.certificate_pem is None:
            raise OAuthError("invalid_grant", "invalid assertion")
        try:
            public_key = x509.load_pem_x509_certificate(app.certificate_pem).public_key()
            jwt.decode(
                assertion,
                public_key,
                algorithms=["RS256"],
                options={"verify_aud": False, "verify_exp": False, "require": []},
            )
        except (jwt.PyJWTError, ValueError):
            raise OAuthError("invalid_grant", "invalid assertion") from None
        aud = claims.get("aud")
        aud_values = aud if isinstance(aud, list) else [aud]
        if not any(isinstance(a, str) and a.rstrip("/") in audiences for a in aud_values):
            raise OAuthError("invalid_grant", "audience is invalid")
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or exp + _JWT_LEEWAY_S < time.time():
            raise OAuthError("invalid_grant", "expired authorization code")
        user = self.user(str(claims.get("sub", "")))
        if user is None or not user.active:
            raise OAuthError("invalid_grant", "user hasn't approved this consumer")
        return self.issue(user, app.client_id)

    # -- responses --------------------------------------------------------------------------

    def signature(self, session: Session, instance_url: str, secret: str) -> str:
        """HMAC-SHA256 of id + issued_at, base64, as Salesforce signs token responses."""
        message = (
            self.identity_url(session, instance_url) + str(int(session.issued_at * 1000))
        ).encode()
        return base64.b64encode(
            hmac.new(secret.encode(), message, hashlib.sha256).digest()
        ).decode()

    def identity_url(self, session: Session, instance_url: str) -> str:
        return f"{instance_url}/id/{self.org_id}/{session.user_id}"


def make_org_id(seed: int = 1) -> str:
    id15 = "00D" + "Dv" + "0" + str(seed).rjust(9, "0")
    return id15 + checksum(id15)

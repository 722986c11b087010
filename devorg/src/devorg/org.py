"""``DevOrg``: one in-process Salesforce org — schema, records, users, sessions, event bus, servers.

Tests construct it directly and call ``start()``; ``credit-control devorg`` does the same and
prints what a client needs. Everything an HTTP route does is reachable here too (``records``,
``auth``, ``faults``, ``bus``), so tests can arrange and inspect state without the wire.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import ssl
import tempfile
import threading
from pathlib import Path

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from .auth import DEFAULT_LOGIN_HOSTS, Auth, ConnectedApp, User, make_org_id
from .bulk import BulkJobs
from .events import EventBus
from .faults import Faults
from .httpserver import KeepAliveWSGIServer
from .limits import ApiLimits
from .records import Records, WriteContext
from .schema import load_schema
from .server import create_devorg_app
from .stats import Stats
from .store import Store, Transaction
from .values import now_stamp

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_SFDX_ROOT = REPO_ROOT / "sfdx"
ADMIN_USERNAME = "admin@credit-control.devorg"
INTEGRATION_USERNAME = "integration@credit-control.devorg"


def _generate_keypair() -> tuple[bytes, bytes]:
    """RSA key + self-signed certificate for the connected app's JWT bearer flow."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "credit-control-devorg-jwt")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


def _write_secret(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_bytes(data)


class DevOrg:
    """A local org. ``key_dir`` keeps the JWT key pair and CA across restarts (the CLI uses
    ``var/devorg``); without it everything lives in a temporary directory."""

    def __init__(
        self,
        sfdx_root: Path | str = DEFAULT_SFDX_ROOT,
        state_path: Path | str | None = None,
        *,
        token_ttl: float = 7200.0,
        api_version_max: str = "66.0",  # Spring '26, the newest version in the wire facts
        daily_api_max: int = 15000,
        hourly_publish_max: int = 250_000,
        key_dir: Path | str | None = None,
        login_hosts: frozenset[str] = DEFAULT_LOGIN_HOSTS,
    ) -> None:
        self.sfdx_root = Path(sfdx_root)
        self.state_path = Path(state_path) if state_path else None
        self.api_version_max = api_version_max
        self.login_hosts = login_hosts
        self._tmp = tempfile.TemporaryDirectory(prefix="devorg-")
        self.key_dir = Path(key_dir) if key_dir else Path(self._tmp.name)
        self.key_dir.mkdir(parents=True, exist_ok=True)

        self.schema = load_schema(self.sfdx_root)
        self.store = Store(self.schema, self.state_path)
        self.org_id = make_org_id()
        self.faults = Faults()
        self.stats = Stats()
        self.limits = ApiLimits(daily_api_max)
        self.auth = Auth(self.org_id, token_ttl, self.store)
        self.records = Records(self.schema, self.store, self.faults)
        self._bootstrap_identity()
        self.bus = EventBus(
            self.schema, state_path=self.state_path, hourly_publish_limit=hourly_publish_max
        )
        self.bulk = BulkJobs(self)
        self.admin_token = secrets.token_urlsafe(24)
        self.subrequest_secret = secrets.token_urlsafe(24)
        self._ambient = threading.local()
        self._servers: list = []
        self._threads: list[threading.Thread] = []
        self.url = ""
        self.http_url: str | None = None
        self.ca_path: Path | None = None
        self.host = "localhost"

    # -- identity ---------------------------------------------------------------------------

    def _secret(self, key: str, factory) -> str:
        value = self.store.meta_get(key)
        if value is None:
            value = factory()
            self.store.meta_set(key, value)
        return value

    def _bootstrap_identity(self) -> None:
        self.client_id = self._secret(
            "client_id",
            lambda: "3MVG9devorg" + secrets.token_urlsafe(60).replace("-", "A").replace("_", "z"),
        )
        self.client_secret = self._secret("client_secret", lambda: secrets.token_hex(32).upper())
        password = self._secret("password", lambda: secrets.token_urlsafe(18))
        key_path = self.key_dir / "jwt-private-key.pem"
        cert_path = self.key_dir / "jwt-certificate.pem"
        if key_path.exists() and cert_path.exists():
            self.private_key_pem, self.certificate_pem = (
                key_path.read_bytes(),
                cert_path.read_bytes(),
            )
        else:
            self.private_key_pem, self.certificate_pem = _generate_keypair()
            _write_secret(key_path, self.private_key_pem)
            cert_path.write_bytes(self.certificate_pem)
        self.private_key_path = key_path
        self.certificate_path = cert_path
        self.admin_user = self._ensure_user(ADMIN_USERNAME, "Admin", password)
        self.integration_user = self._ensure_user(INTEGRATION_USERNAME, "Integration", password)
        self.auth.add_app(
            ConnectedApp(
                self.client_id, self.client_secret, self.certificate_pem, INTEGRATION_USERNAME
            )
        )

    def _ensure_user(self, username: str, last_name: str, password: str) -> User:
        user_obj = self.schema.objects["User"]
        with self.store.lock:
            existing = self.store.find_by(user_obj, "Username", username)
            if existing:
                rid = existing[0]
            else:
                # Users are bootstrapped directly: the first user has no one to be created by.
                rid = self.store.ids.new(user_obj.key_prefix)
                stamp = now_stamp()
                rec = {
                    f.name: f.default_value for f in user_obj.fields.values() if f.formula is None
                }
                rec.update(
                    Id=rid,
                    IsDeleted=False,
                    Username=username,
                    LastName=last_name,
                    Name=last_name,
                    Email=username,
                    Alias=last_name[:8],
                    IsActive=True,
                    CreatedDate=stamp,
                    LastModifiedDate=stamp,
                    SystemModstamp=stamp,
                    CreatedById=rid,
                    LastModifiedById=rid,
                )
                tx = self.store.begin()
                tx.insert("User", rec)
                tx.commit()
        user = User(id=rid, username=username, password=password, last_name=last_name)
        self.auth.add_user(user)
        return user

    # -- writes -----------------------------------------------------------------------------

    def context(self, user: User | None = None, **kw) -> WriteContext:
        kw.setdefault("api_version", self.api_version_max)
        return WriteContext(user=user or self.integration_user, **kw)

    def commit(self, tx: Transaction, *, user_id: str, change_origin: str) -> None:
        """Commit and hand the transaction's changes to the bus (one call per transaction).

        Called with ``store.lock`` held, so CDC events follow commit order.
        """
        changes = tx.commit()
        if changes:
            self.bus.record_transaction(changes, user_id=user_id, change_origin=change_origin)

    def ambient_transaction(self) -> Transaction | None:
        """The transaction of an allOrNone composite request running on this thread, if any."""
        return getattr(self._ambient, "tx", None)

    def set_ambient_transaction(self, tx: Transaction | None) -> None:
        self._ambient.tx = tx

    # -- in-process conveniences ------------------------------------------------------------

    def token_for(self, username: str = INTEGRATION_USERNAME) -> str:
        """Issue a session without the token endpoint (tests)."""
        user = self.auth.user(username)
        if user is None:
            raise KeyError(username)
        return self.auth.issue(user, self.client_id).token

    def expire_sessions(self) -> int:
        return self.auth.expire_all()

    def revoke_sessions(self) -> int:
        return self.auth.revoke_all()

    @property
    def hourly_publish_max(self) -> int:
        """HourlyPublishedPlatformEvents: platform events publishable per rolling hour; over it
        a publish fails with ``LIMIT_EXCEEDED``. Settable (``org.hourly_publish_max = 10``)."""
        getter = getattr(self.bus, "hourly_publish_max", None)
        return getter() if getter is not None else 0

    @hourly_publish_max.setter
    def hourly_publish_max(self, limit: int) -> None:
        setter = getattr(self.bus, "set_hourly_publish_max", None)
        if setter is None:
            raise RuntimeError("this event bus has no publish allowance")
        setter(limit)

    def reset(self) -> None:
        """Drop all records but the users, clear faults, stats and the API counter."""
        with self.store.lock:
            users = list(self.store.iter_object("User", include_deleted=True))
            self.store.reset()
            tx = self.store.begin()
            for rec in users:
                tx.insert("User", rec)
            tx.commit()
        self.faults.clear()
        self.stats.reset()
        self.limits.reset()
        self.bulk.reset()

    # -- servers ----------------------------------------------------------------------------

    @property
    def login_url(self) -> str:
        """The "login.salesforce.com" of this org: the same server reached as 127.0.0.1."""
        return self.url.replace("://localhost", "://127.0.0.1")

    def start(
        self, host: str = "localhost", https_port: int = 0, http_port: int | None = None
    ) -> DevOrg:
        self.host = host
        # ECDSA: cheap TLS handshakes for each new connection.
        ca = trustme.CA(organization_name="credit-control devorg", key_type=trustme.KeyType.ECDSA)
        cert = ca.issue_cert(
            "localhost", "127.0.0.1", "login.localhost", key_type=trustme.KeyType.ECDSA
        )
        self.ca_path = self.key_dir / "devorg-ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_path))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert.configure_cert(context)
        app = create_devorg_app(self)
        bind = "127.0.0.1" if host == "localhost" else host
        https = KeepAliveWSGIServer(bind, https_port, app, ssl_context=context)
        self._servers.append(https)
        self.url = f"https://{host}:{https.server_port}"
        if http_port is not None:
            http = KeepAliveWSGIServer(bind, http_port, app)
            self._servers.append(http)
            self.http_url = f"http://{host}:{http.server_port}"
        for server in self._servers:
            thread = threading.Thread(target=server.serve_forever, name="devorg-http", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers.clear()
        self._threads.clear()
        self.bulk.stop()
        close = getattr(self.bus, "close", None)
        if close is not None:
            close()
        if self.store.db is not None:
            self.store.db.close()
            self.store.db = None

    def __enter__(self) -> DevOrg:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def env_settings(self) -> dict[str, str]:
        """The SALESFORCE_* settings a client needs (secrets included: write them 0600)."""
        return {
            "SALESFORCE_LOGIN_URL": self.url,
            "SALESFORCE_CLIENT_ID": self.client_id,
            "SALESFORCE_CLIENT_SECRET": self.client_secret,
            "SALESFORCE_USERNAME": INTEGRATION_USERNAME,
            "SALESFORCE_CA_BUNDLE": str(self.ca_path) if self.ca_path else "",
            "SALESFORCE_PRIVATE_KEY": str(self.private_key_path),
        }

"""The service's settings, read from the environment once, inside ``create_app`` or a command.

This is the one place that reads the environment: ``load_config`` for the web process and the
commands, with the Salesforce sync's settings (``SyncSettings``) as its ``salesforce`` part,
also readable alone with ``salesforce_settings(mapping)``, and each configured ERP connector's
(``SapSettings``, ``BcSettings``, ``NetSuiteSettings``) as its ``sap``, ``bc`` and ``netsuite``
parts, readable alone with ``sap_settings(mapping)`` and its kin. Nothing here runs at import time:
tests build as many configurations as they like by passing a mapping. Every problem is reported
as one ``ConfigError`` line naming the variable and what it expects, so an admin reading a
Heroku release log knows exactly what to fix. Secrets never show in ``repr`` (and so never in a
log line or a traceback).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from service.errors import ConfigError
from service.paylinks import DEFAULT_TTL_DAYS, PayLinks

# Where the embedded default database lives, relative to the working directory.
DEFAULT_DATA_DIR = Path("var")
DEFAULT_DATABASE_FILE = "credit-control.sqlite3"

MIN_SECRET_LENGTH = 16
# HS256 keys shorter than the hash (32 bytes) are weaker than the signature (RFC 7518 3.2).
PAY_LINK_MIN_SECRET_LENGTH = 32
DEFAULT_FEED_MAX_BYTES = 16 * 1024 * 1024
FEED_MAX_ROWS = 5_000
SIGNATURE_TOLERANCE_SECONDS = 300
# A worker beats every 15 s (WORKER_HEARTBEAT_SECONDS); eight missed beats mean it is gone.
DEFAULT_WORKER_SILENT_SECONDS = 120.0
DEFAULT_WORKER_HEARTBEAT_SECONDS = 15.0
DEFAULT_STRIPE_API_BASE = "https://api.stripe.com"
DEFAULT_CASH_APPLICATION_THRESHOLD = 90

SECRET_FIELDS = frozenset(
    {
        "feed_signing_secret",
        "service_api_tokens",
        "stripe_api_key",
        "stripe_webhook_secrets",
        "pay_link_secrets",
        "bc_webhook_client_state",
        "rate_limit_storage_url",  # a redis:// URL may carry a password
        "mail",
    }
)

# The variables the web process cannot run without; commands that only touch the database
# (``db upgrade``, ``import``) do not need them.
WEB_REQUIRED = ("FEED_SIGNING_SECRET", "SERVICE_API_TOKENS")

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@dataclass(frozen=True)
class Config:
    """Validated settings. Build with ``load_config``; never mutate."""

    database_url: str
    feed_signing_secret: str | None = field(default=None, repr=False)
    service_api_tokens: tuple[str, ...] = field(default=(), repr=False)
    salesforce: SyncSettings | None = None
    stripe_api_key: str | None = field(default=None, repr=False)
    # Stripe's API; a local stand-in (devstripe) in the demo and the tests.
    stripe_api_base: str = DEFAULT_STRIPE_API_BASE
    # Webhook signing secrets: any one verifies (several while an endpoint's secret is rolled).
    stripe_webhook_secrets: tuple[str, ...] = field(default=(), repr=False)
    # The customer pay page: the first secret signs links, all verify (rotation).
    pay_link_secrets: tuple[str, ...] = field(default=(), repr=False)
    public_base_url: str | None = None
    pay_link_ttl_days: int = DEFAULT_TTL_DAYS
    credit_policy_file: str | None = None
    feed_max_bytes: int = DEFAULT_FEED_MAX_BYTES
    feed_max_rows: int = FEED_MAX_ROWS
    signature_tolerance_seconds: int = SIGNATURE_TOLERANCE_SECONDS
    log_level: str = "INFO"
    # Dunning: where reminders are sent from and through, and who the company is.
    mail: MailSettings | None = field(default=None, repr=False)
    company_name: str = "Credit Control"
    company_address: str = ""
    company_logo_url: str | None = None
    dunning_at: str = "08:00"
    # Where every web process keeps its counters (gunicorn.conf.py sets it; None: one process).
    metrics_multiprocess_dir: str | None = None
    # Per client address on the public endpoints (service.rate_limits), ``limits`` notation.
    rate_limit_feeds: str = "6000 per minute"
    rate_limit_webhooks: str = "6000 per minute"
    rate_limit_pay_page: str = "120 per minute"
    rate_limit_storage_url: str = "memory://"
    # Proxies in front whose X-Forwarded-For is trusted (Heroku's router, nginx: 1).
    trusted_proxy_hops: int = 0
    # /readyz fails when no worker has written a heartbeat for this long (service.worker_status).
    worker_silent_seconds: float = DEFAULT_WORKER_SILENT_SECONDS
    testing: bool = False
    # Business Central's webhook notifications carry it back (service/connectors/bc/).
    bc_webhook_client_state: str | None = field(default=None, repr=False)
    # Cash application: a bank credit matched with at least this confidence (percent) is
    # applied at once; below it, it waits for review in Salesforce.
    cash_application_threshold: int = DEFAULT_CASH_APPLICATION_THRESHOLD
    # The ERP connectors (``credit-control sync <erp>``, the worker): None when not configured.
    sap: SapSettings | None = None
    bc: BcSettings | None = None
    netsuite: NetSuiteSettings | None = None

    def __repr__(self) -> str:
        shown = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in SECRET_FIELDS:
                value = "***" if value else None
            elif f.name in ("salesforce", *ERP_KEYS):
                value = "configured" if value else None
            elif f.name == "database_url":
                value = safe_database_url(value)
            shown.append(f"{f.name}={value!r}")
        return f"Config({', '.join(shown)})"

    __str__ = __repr__

    @property
    def salesforce_configured(self) -> bool:
        """The sync needs an org to talk to; without one the service still takes feeds."""
        return self.salesforce is not None

    @property
    def erps(self) -> dict[str, ErpSettings]:
        """The configured ERPs' settings, by the name ``credit-control sync <erp>`` takes."""
        return {name: found for name in ERP_KEYS if (found := getattr(self, name)) is not None}

    def erp(self, name: str) -> ErpSettings:
        """One ERP's settings; ``ConfigError`` naming its key variable when it is not set."""
        found = self.erps.get(name)
        if found is None:
            raise ConfigError(ERP_KEYS[name], _EXPECTS[ERP_KEYS[name]], missing=True)
        return found

    @property
    def pay_links(self) -> PayLinks | None:
        """The pay-link signer, or None when ``PAY_LINK_SECRET`` is not set (no pay links)."""
        if not self.pay_link_secrets or not self.public_base_url:
            return None
        return PayLinks(self.pay_link_secrets, self.public_base_url, self.pay_link_ttl_days)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@dataclass(frozen=True)
class MailSettings:
    """``SMTP_URL`` and ``MAIL_FROM``: ``smtp://user:password@host:587?starttls=true`` for
    STARTTLS, ``smtps://...:465`` for implicit TLS, plain ``smtp://`` only for a local server."""

    host: str
    port: int
    mail_from: str
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    starttls: bool = False
    implicit_tls: bool = False
    ca_bundle: str | None = None
    timeout: float = 30.0

    @property
    def domain(self) -> str:
        """The sender's domain, for Message-IDs."""
        return self.mail_from.rsplit("@", 1)[-1].rstrip(">").strip() or "localhost"


def safe_database_url(url: str) -> str:
    """The URL with its password replaced, for logs and ``/readyz``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable>"


def load_config(
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, object] | None = None,
    *,
    require: tuple[str, ...] = WEB_REQUIRED,
) -> Config:
    """Read and validate settings; raise ``ConfigError`` (one line) on the first problem.

    ``environ`` defaults to ``os.environ``; ``overrides`` (same variable names) win over it, which
    is how tests and the demo configure an app without touching the process environment.
    """
    env: dict[str, object] = dict(os.environ if environ is None else environ)
    env.update(overrides or {})

    def text(name: str) -> str | None:
        value = env.get(name)
        if value is None:
            return None
        value = str(value).strip()
        return value or None

    for name in require:
        if text(name) is None:
            raise ConfigError(name, _EXPECTS[name], missing=True)

    return Config(
        database_url=_database_url(text("DATABASE_URL"), _flag(text("CREDIT_CONTROL_SQLITE"))),
        feed_signing_secret=_secret("FEED_SIGNING_SECRET", text("FEED_SIGNING_SECRET")),
        service_api_tokens=_tokens(text("SERVICE_API_TOKENS")),
        salesforce=salesforce_settings(env) if _names_an_org(env) else None,
        stripe_api_key=text("STRIPE_API_KEY"),
        stripe_api_base=_url("STRIPE_API_BASE", text("STRIPE_API_BASE")) or DEFAULT_STRIPE_API_BASE,
        stripe_webhook_secrets=_stripe_webhook_secrets(text("STRIPE_WEBHOOK_SECRET")),
        bc_webhook_client_state=_bc_client_state(text("BC_WEBHOOK_CLIENT_STATE")),
        pay_link_secrets=_pay_link_secrets(text("PAY_LINK_SECRET")),
        public_base_url=_public_base_url(text("PAY_LINK_SECRET"), text("PUBLIC_BASE_URL")),
        pay_link_ttl_days=_positive_int(
            "PAY_LINK_TTL_DAYS", text("PAY_LINK_TTL_DAYS"), DEFAULT_TTL_DAYS
        ),
        credit_policy_file=_existing_file("CREDIT_POLICY_FILE", text("CREDIT_POLICY_FILE")),
        feed_max_bytes=_positive_int(
            "FEED_MAX_BYTES", text("FEED_MAX_BYTES"), DEFAULT_FEED_MAX_BYTES
        ),
        log_level=_choice("LOG_LEVEL", text("LOG_LEVEL"), LOG_LEVELS, "INFO"),
        mail=_mail(text("SMTP_URL"), text("MAIL_FROM"), text("SMTP_CA_BUNDLE")),
        company_name=text("COMPANY_NAME") or "Credit Control",
        company_address=text("COMPANY_ADDRESS") or "",
        company_logo_url=_https("COMPANY_LOGO_URL", text("COMPANY_LOGO_URL")),
        dunning_at=_time_of_day("DUNNING_AT", text("DUNNING_AT"), "08:00"),
        metrics_multiprocess_dir=_directory(
            "PROMETHEUS_MULTIPROC_DIR", text("PROMETHEUS_MULTIPROC_DIR")
        ),
        rate_limit_feeds=_rate_limit(
            "RATE_LIMIT_FEEDS", text("RATE_LIMIT_FEEDS"), "6000 per minute"
        ),
        rate_limit_webhooks=_rate_limit(
            "RATE_LIMIT_WEBHOOKS", text("RATE_LIMIT_WEBHOOKS"), "6000 per minute"
        ),
        rate_limit_pay_page=_rate_limit(
            "RATE_LIMIT_PAY_PAGE", text("RATE_LIMIT_PAY_PAGE"), "120 per minute"
        ),
        rate_limit_storage_url=_rate_limit_storage(text("RATE_LIMIT_STORAGE_URL")),
        trusted_proxy_hops=_whole_number("TRUSTED_PROXY_HOPS", text("TRUSTED_PROXY_HOPS"), 0),
        worker_silent_seconds=_positive_number(
            "WORKER_SILENT_SECONDS", text("WORKER_SILENT_SECONDS"), DEFAULT_WORKER_SILENT_SECONDS
        ),
        testing=bool(env.get("TESTING")),
        cash_application_threshold=_percent(
            "CASH_APPLICATION_AUTO_THRESHOLD",
            text("CASH_APPLICATION_AUTO_THRESHOLD"),
            DEFAULT_CASH_APPLICATION_THRESHOLD,
        ),
        sap=sap_settings(env) if text(ERP_KEYS["sap"]) else None,
        bc=bc_settings(env) if text(ERP_KEYS["bc"]) else None,
        netsuite=netsuite_settings(env) if text(ERP_KEYS["netsuite"]) else None,
    )


_EXPECTS = {
    "DATABASE_URL": "a SQLAlchemy URL such as postgresql+psycopg://user@host/db or sqlite:///var/cc.db",
    "DATABASE_URL_OR_SQLITE": (
        "a SQLAlchemy URL such as postgresql+psycopg://user@host/db, or CREDIT_CONTROL_SQLITE=1 "
        "for a SQLite file under var/ on this one machine"
    ),
    "CREDIT_CONTROL_SQLITE": "1 (or true/yes) to use a SQLite file under var/ when DATABASE_URL is not set",
    "PROMETHEUS_MULTIPROC_DIR": "an existing directory where the web processes keep their metrics",
    "FEED_SIGNING_SECRET": f"a random secret of at least {MIN_SECRET_LENGTH} characters shared with the ERP",
    "SERVICE_API_TOKENS": f"comma-separated bearer tokens of at least {MIN_SECRET_LENGTH} characters each",
    "SALESFORCE_LOGIN_URL": "an https:// URL such as https://login.salesforce.com",
    "SALESFORCE_CA_BUNDLE": "the path of a readable PEM file",
    "SALESFORCE_CLIENT_ID": "the consumer key of the connected app (or external client app)",
    "SALESFORCE_CLIENT_SECRET": "the consumer secret (the client credentials flow needs it)",
    "SALESFORCE_USERNAME": "the integration user's username (the JWT bearer flow needs it)",
    "SALESFORCE_PRIVATE_KEY": "the PEM private key of the connected app's certificate (JWT bearer)",
    "SALESFORCE_AUTH_FLOW": "one of jwt, password, client_credentials",
    "SALESFORCE_PUSH_BATCH_SIZE": "a whole number from 1 to 200",
    "SALESFORCE_CHANNELS": (
        "comma-separated streaming channels such as /data/CreditControlSync__chn, "
        "/event/Credit_Review_Request__e, /event/Payment_Received__e"
    ),
    "SALESFORCE_API_USAGE_SLOWDOWN": "a share of the daily API allowance, greater than 0 and at most 1",
    "CREDIT_CONTROL_TIMEZONE": "an IANA time zone such as Europe/Berlin",
    "CREDIT_CONTROL_REASSESS_AT": "a time of day as HH:MM",
    "RETENTION_INBOX_DAYS": "a whole number of days, at least 3 (the CometD replay window)",
    "RETENTION_PARKED_DAYS": "a whole number of days, at least 3 (the CometD replay window)",
    "RETENTION_OUTBOX_SENT_DAYS": "a whole number of days, at least 1",
    "RETENTION_OUTBOX_DEAD_DAYS": "a whole number of days, at least 1",
    "CREDIT_POLICY_FILE": "the path of a JSON credit policy file",
    "FEED_MAX_BYTES": "a whole number of bytes greater than 0",
    "RATE_LIMIT": 'a rate limit such as "100 per minute" or "10/second;1000/hour"',
    "RATE_LIMIT_STORAGE_URL": "memory:// (per process) or a redis:// URL shared by every process",
    "TRUSTED_PROXY_HOPS": "a whole number of proxies in front of the service (0, or 1 on Heroku)",
    "WORKER_SILENT_SECONDS": "a number of seconds greater than 0 (default 120)",
    "WORKER_HEARTBEAT_SECONDS": "a number of seconds greater than 0 (default 15)",
    "LOG_LEVEL": "one of " + ", ".join(LOG_LEVELS),
    "PAY_LINK_SECRET": f"comma-separated secrets of at least {PAY_LINK_MIN_SECRET_LENGTH} characters each (the first signs pay links, all verify)",
    "PUBLIC_BASE_URL": "the https:// URL where customers reach this service (pay links start with it)",
    "PAY_LINK_TTL_DAYS": "a whole number of days greater than 0",
    "STRIPE_API_BASE": "an https:// URL (http:// only for a local stand-in), default https://api.stripe.com",
    "STRIPE_WEBHOOK_SECRET": "comma-separated webhook signing secrets (whsec_...), any one of which verifies",
    "BC_WEBHOOK_CLIENT_STATE": "a secret of 16 to 128 characters that Business Central sends back with each notification",
    "CASH_APPLICATION_AUTO_THRESHOLD": "a whole number from 1 to 100: the confidence (percent) from which a bank credit is applied without review, default 90",
    "SMTP_URL": "smtp://user:password@host:587?starttls=true, smtps://user:password@host:465, or smtp://localhost:port for a local server",
    "MAIL_FROM": "the sender's address, e.g. billing@example.com or Example Ltd <billing@example.com>",
    "SMTP_CA_BUNDLE": "the path of a readable PEM file",
    "COMPANY_LOGO_URL": "an https:// URL of the logo shown in reminders",
    "DUNNING_AT": "a time of day as HH:MM",
}


def _mail(url: str | None, mail_from: str | None, ca_bundle: str | None) -> MailSettings | None:
    """SMTP settings; without ``SMTP_URL`` no mail is sent (runs store reminders only)."""
    if url is None:
        return None
    if mail_from is None:
        raise ConfigError("MAIL_FROM", _EXPECTS["MAIL_FROM"], missing=True)
    _, address = parseaddr(mail_from)
    if "@" not in address or "\n" in mail_from or "\r" in mail_from:
        raise ConfigError("MAIL_FROM", _EXPECTS["MAIL_FROM"])
    try:
        parts = urlsplit(url)
        port = parts.port
        query = parse_qs(parts.query, strict_parsing=False)
    except ValueError:
        raise ConfigError("SMTP_URL", _EXPECTS["SMTP_URL"]) from None
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ConfigError("SMTP_URL", _EXPECTS["SMTP_URL"])
    starttls = query.get("starttls", ["false"])[-1].lower() in ("1", "true", "yes")
    implicit = parts.scheme == "smtps"
    local = parts.hostname in ("localhost", "127.0.0.1", "::1")
    # Credentials never cross the network in the clear.
    if not (starttls or implicit) and (parts.password or not local):
        raise ConfigError("SMTP_URL", _EXPECTS["SMTP_URL"])
    return MailSettings(
        host=parts.hostname,
        port=port or (465 if implicit else 587 if starttls else 25),
        mail_from=mail_from,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        starttls=starttls and not implicit,
        implicit_tls=implicit,
        ca_bundle=_existing_file("SMTP_CA_BUNDLE", ca_bundle),
    )


def _https(name: str, value: str | None) -> str | None:
    if value is not None and not value.startswith("https://"):
        raise ConfigError(name, _EXPECTS[name])
    return value


def _time_of_day(name: str, value: str | None, default: str) -> str:
    if value is None:
        return default
    hour, _, minute = value.partition(":")
    if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60):
        raise ConfigError(name, _EXPECTS[name])
    return f"{int(hour):02d}:{int(minute):02d}"


def _database_url(value: str | None, sqlite_opt_in: bool) -> str:
    """The database URL; without one, SQLite under var/ only when asked for by name.

    A platform that forgets ``DATABASE_URL`` (or loses the add-on) would otherwise give each dyno
    a throwaway file of its own: feeds taken by one web process invisible to the others and gone
    at the next restart. Only the developer who says ``CREDIT_CONTROL_SQLITE=1`` gets the file.
    """
    if value is None:
        if not sqlite_opt_in:
            raise ConfigError("DATABASE_URL", _EXPECTS["DATABASE_URL_OR_SQLITE"], missing=True)
        DEFAULT_DATA_DIR.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{DEFAULT_DATA_DIR / DEFAULT_DATABASE_FILE}"
    # Heroku hands out postgres:// URLs; SQLAlchemy wants the driver spelled out.
    if value.startswith("postgres://"):
        value = "postgresql+psycopg://" + value[len("postgres://") :]
    elif value.startswith("postgresql://"):
        value = "postgresql+psycopg://" + value[len("postgresql://") :]
    try:
        url = make_url(value)
    except ArgumentError:
        raise ConfigError("DATABASE_URL", _EXPECTS["DATABASE_URL"]) from None
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError("DATABASE_URL", _EXPECTS["DATABASE_URL"])
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    return value


def _flag(value: str | None) -> bool:
    if value is None:
        return False
    if value.lower() in ("1", "true", "yes"):
        return True
    if value.lower() in ("0", "false", "no"):
        return False
    raise ConfigError("CREDIT_CONTROL_SQLITE", _EXPECTS["CREDIT_CONTROL_SQLITE"])


def _directory(name: str, value: str | None) -> str | None:
    if value is not None and not Path(value).is_dir():
        raise ConfigError(name, _EXPECTS[name])
    return value


def _secret(name: str, value: str | None) -> str | None:
    if value is not None and len(value) < MIN_SECRET_LENGTH:
        raise ConfigError(name, _EXPECTS[name])
    return value


def _tokens(value: str | None) -> tuple[str, ...]:
    if value is None:
        return ()
    tokens = tuple(t.strip() for t in value.split(","))
    if any(len(t) < MIN_SECRET_LENGTH for t in tokens):
        raise ConfigError("SERVICE_API_TOKENS", _EXPECTS["SERVICE_API_TOKENS"])
    return tokens


def _pay_link_secrets(value: str | None) -> tuple[str, ...]:
    if value is None:
        return ()
    secrets = tuple(s.strip() for s in value.split(","))
    if any(len(s) < PAY_LINK_MIN_SECRET_LENGTH for s in secrets):
        raise ConfigError("PAY_LINK_SECRET", _EXPECTS["PAY_LINK_SECRET"])
    return secrets


def _bc_client_state(value: str | None) -> str | None:
    if value is not None and (len(value) < MIN_SECRET_LENGTH or len(value) > 128):
        raise ConfigError("BC_WEBHOOK_CLIENT_STATE", _EXPECTS["BC_WEBHOOK_CLIENT_STATE"])
    return value


def _stripe_webhook_secrets(value: str | None) -> tuple[str, ...]:
    if value is None:
        return ()
    secrets = tuple(s.strip() for s in value.split(","))
    if any(len(s) < MIN_SECRET_LENGTH for s in secrets):
        raise ConfigError("STRIPE_WEBHOOK_SECRET", _EXPECTS["STRIPE_WEBHOOK_SECRET"])
    return secrets


def _public_base_url(secret: str | None, value: str | None) -> str | None:
    """Where pay links point; required once pay links are signed at all."""
    if secret is not None and value is None:
        raise ConfigError("PUBLIC_BASE_URL", _EXPECTS["PUBLIC_BASE_URL"], missing=True)
    return _url("PUBLIC_BASE_URL", value)


def _url(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    local = parts.hostname in ("localhost", "127.0.0.1", "::1")
    # Plain http is accepted only for a local org (devorg); real orgs are always https.
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigError(name, _EXPECTS[name])
    if parts.scheme == "http" and not local:
        raise ConfigError(name, _EXPECTS[name])
    return value.rstrip("/")


def _existing_file(name: str, value: str | None) -> str | None:
    if value is not None and not Path(value).is_file():
        raise ConfigError(name, _EXPECTS[name])
    return value


def _positive_int(name: str, value: str | None, default: int) -> int:
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(name, _EXPECTS[name]) from None
    if number <= 0:
        raise ConfigError(name, _EXPECTS[name])
    return number


def _rate_limit(name: str, value: str | None, default: str) -> str:
    """A limit in the ``limits`` notation ("100 per minute", "10/second;1000/hour")."""
    if value is None:
        return default
    # Only when set: every command loads this module, most never serve a request.
    from limits import parse_many

    try:
        parse_many(value)
    except ValueError:
        raise ConfigError(name, _EXPECTS["RATE_LIMIT"]) from None
    return value


def _rate_limit_storage(value: str | None) -> str:
    if value is None:
        return "memory://"
    scheme = value.split("://", 1)[0].lower() if "://" in value else ""
    if scheme not in ("memory", "redis", "rediss", "redis+sentinel", "redis+cluster"):
        raise ConfigError("RATE_LIMIT_STORAGE_URL", _EXPECTS["RATE_LIMIT_STORAGE_URL"])
    return value


def _whole_number(name: str, value: str | None, default: int) -> int:
    if value is None:
        return default
    if not value.isdecimal():
        raise ConfigError(name, _EXPECTS[name])
    return int(value)


def _positive_number(name: str, value: str | None, default: float) -> float:
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(name, _EXPECTS[name]) from None
    if not number > 0 or number == float("inf"):
        raise ConfigError(name, _EXPECTS[name])
    return number


def _percent(name: str, value: str | None, default: int) -> int:
    number = _positive_int(name, value, default)
    if number > 100:
        raise ConfigError(name, _EXPECTS[name])
    return number


def _choice(name: str, value: str | None, choices: tuple[str, ...], default: str) -> str:
    if value is None:
        return default
    if value.upper() not in choices:
        raise ConfigError(name, _EXPECTS[name])
    return value.upper()


# --- the Salesforce sync -------------------------------------------------------------------------

DEFAULT_API_VERSION = "62.0"  # the package's version: every org in service supports it

# Account, Collection_Action__c and Bank_Credit_Review__c changes come on the package's custom
# channel, whose members' filters drop the changes this service's own client makes (no echo of
# our writes; docs/streaming.md, "No echo"). SALESFORCE_CHANNELS may name the standard
# single-entity channels instead (/data/AccountChangeEvent, ...), where no channel can be made.
CHANNELS = (
    "/data/CreditControlSync__chn",
    "/event/Credit_Review_Request__e",
    "/event/Payment_Received__e",
    # Dunning's billing contacts (Contact.Billing_Contact__c): service.salesforce.billing_contacts.
    "/data/ContactChangeEvent",
)
_CHANNEL_NAME = re.compile(r"/(data|event)/[A-Za-z][A-Za-z0-9_]*")
AUTH_FLOWS = ("jwt", "password", "client_credentials")
INBOX_MIN_DAYS = 3  # the CometD replay window is 72 hours


@dataclass(frozen=True)
class SyncSettings:
    """Everything the Salesforce client, pusher, subscriber and scheduler need.

    Built by ``salesforce_settings`` from the environment, or directly in tests; ``validate``
    checks the combination and raises ``ConfigError``.
    """

    login_url: str = "https://login.salesforce.com"
    client_id: str | None = field(default=None, repr=False)
    client_secret: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    private_key: str | None = field(default=None, repr=False)
    auth_flow: str | None = None
    ca_bundle: str | None = None
    api_version: str = DEFAULT_API_VERSION
    client_name: str = "credit-control"
    # Pusher
    push_batch_size: int = 200
    push_threads: int = 2
    push_claim_limit: int = 2000
    bulk_threshold: int = 20_000
    bulk_claim_limit: int = 150_000
    api_usage_slowdown: float = 0.8
    api_usage_pause_seconds: float = 5.0
    retry_base_seconds: float = 2.0
    retry_max_seconds: float = 900.0
    claim_lease_seconds: float = 120.0
    push_idle_seconds: float = 0.5
    # Subscriber
    channels: tuple[str, ...] = CHANNELS
    initial_replay_id: int = -2
    lease_seconds: float = 30.0
    cometd_backoff_max: float = 30.0
    # Scheduler
    timezone: str = "UTC"
    reassess_at: str = "02:00"
    request_timeout: float = 30.0
    # Retention (days), pruned by the daily roll; see docs/reliability.md
    retention_inbox_days: int = 30
    retention_outbox_sent_days: int = 7
    retention_outbox_dead_days: int = 90
    retention_parked_days: int = 90
    # How often the worker writes its heartbeat (service.worker_status).
    heartbeat_seconds: float = DEFAULT_WORKER_HEARTBEAT_SECONDS

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def flow(self) -> str:
        """Which OAuth flow the credentials call for (an explicit choice wins)."""
        if self.auth_flow:
            return self.auth_flow
        if self.private_key:
            return "jwt"
        if self.username and self.password:
            return "password"
        return "client_credentials"

    @property
    def verify(self) -> str | bool:
        return self.ca_bundle or True

    def with_(self, **changes) -> SyncSettings:
        return replace(self, **changes)

    def validate(self) -> None:
        """Raise ``ConfigError`` naming the first variable that is missing or malformed."""
        if self.flow not in AUTH_FLOWS:
            raise ConfigError("SALESFORCE_AUTH_FLOW", _EXPECTS["SALESFORCE_AUTH_FLOW"])
        if not self.client_id and self.flow != "password":
            raise ConfigError(
                "SALESFORCE_CLIENT_ID", _EXPECTS["SALESFORCE_CLIENT_ID"], missing=True
            )
        if self.flow == "jwt" and not self.username:
            raise ConfigError("SALESFORCE_USERNAME", _EXPECTS["SALESFORCE_USERNAME"], missing=True)
        if self.flow == "jwt" and not self.private_key:
            raise ConfigError(
                "SALESFORCE_PRIVATE_KEY", _EXPECTS["SALESFORCE_PRIVATE_KEY"], missing=True
            )
        if self.flow == "client_credentials" and not self.client_secret:
            raise ConfigError(
                "SALESFORCE_CLIENT_SECRET", _EXPECTS["SALESFORCE_CLIENT_SECRET"], missing=True
            )
        if not 1 <= self.push_batch_size <= 200:
            raise ConfigError("SALESFORCE_PUSH_BATCH_SIZE", _EXPECTS["SALESFORCE_PUSH_BATCH_SIZE"])
        if not 0 < self.api_usage_slowdown <= 1:
            raise ConfigError(
                "SALESFORCE_API_USAGE_SLOWDOWN", _EXPECTS["SALESFORCE_API_USAGE_SLOWDOWN"]
            )
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                "CREDIT_CONTROL_TIMEZONE", _EXPECTS["CREDIT_CONTROL_TIMEZONE"]
            ) from None
        hour, _, minute = self.reassess_at.partition(":")
        if not (hour.isdecimal() and minute.isdecimal() and int(hour) < 24 and int(minute) < 60):
            raise ConfigError("CREDIT_CONTROL_REASSESS_AT", _EXPECTS["CREDIT_CONTROL_REASSESS_AT"])
        # Inbox rows (parked ones included) are the dedupe of redelivered events: never pruned
        # inside the CometD replay window (72 hours).
        for name, days, least in (
            ("RETENTION_INBOX_DAYS", self.retention_inbox_days, INBOX_MIN_DAYS),
            ("RETENTION_PARKED_DAYS", self.retention_parked_days, INBOX_MIN_DAYS),
            ("RETENTION_OUTBOX_SENT_DAYS", self.retention_outbox_sent_days, 1),
            ("RETENTION_OUTBOX_DEAD_DAYS", self.retention_outbox_dead_days, 1),
        ):
            if days < least:
                raise ConfigError(name, _EXPECTS[name])


def _names_an_org(env: Mapping[str, object]) -> bool:
    """Whether any ``SALESFORCE_*`` setting is given (the web process runs without an org)."""
    return any(
        name.startswith("SALESFORCE_") and str(value or "").strip() for name, value in env.items()
    )


def _channels(name: str, value: str | None) -> tuple[str, ...] | None:
    """A comma-separated list of streaming channels, each named once, or None when unset."""
    if value is None:
        return None
    channels = tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
    if not channels or not all(_CHANNEL_NAME.fullmatch(c) for c in channels):
        raise ConfigError(name, _EXPECTS[name])
    return channels


def salesforce_settings(environ: Mapping[str, object] | None = None) -> SyncSettings:
    """The Salesforce sync's settings from ``environ`` (default ``os.environ``), validated."""
    env = os.environ if environ is None else environ

    def text(name: str, default: str | None = None) -> str | None:
        value = str(env.get(name) or "").strip()
        return value or default

    def number(name: str, default, kind=float):
        raw = text(name)
        if raw is None:
            return default
        try:
            return kind(raw)
        except ValueError:
            raise ConfigError(name, _EXPECTS.get(name, "a number")) from None

    defaults = SyncSettings()
    settings = SyncSettings(
        login_url=_url("SALESFORCE_LOGIN_URL", text("SALESFORCE_LOGIN_URL")) or defaults.login_url,
        client_id=text("SALESFORCE_CLIENT_ID"),
        client_secret=text("SALESFORCE_CLIENT_SECRET"),
        username=text("SALESFORCE_USERNAME"),
        password=text("SALESFORCE_PASSWORD"),
        private_key=text("SALESFORCE_PRIVATE_KEY"),
        auth_flow=text("SALESFORCE_AUTH_FLOW"),
        ca_bundle=_existing_file("SALESFORCE_CA_BUNDLE", text("SALESFORCE_CA_BUNDLE")),
        api_version=text("SALESFORCE_API_VERSION", DEFAULT_API_VERSION),
        client_name=text("SALESFORCE_CLIENT_NAME", defaults.client_name),
        push_batch_size=number("SALESFORCE_PUSH_BATCH_SIZE", defaults.push_batch_size, int),
        push_threads=number("SALESFORCE_PUSH_THREADS", defaults.push_threads, int),
        bulk_threshold=number("SALESFORCE_BULK_THRESHOLD", defaults.bulk_threshold, int),
        api_usage_slowdown=number("SALESFORCE_API_USAGE_SLOWDOWN", defaults.api_usage_slowdown),
        initial_replay_id=number("SALESFORCE_INITIAL_REPLAY_ID", defaults.initial_replay_id, int),
        channels=_channels("SALESFORCE_CHANNELS", text("SALESFORCE_CHANNELS")) or defaults.channels,
        claim_lease_seconds=number("SALESFORCE_CLAIM_LEASE_SECONDS", defaults.claim_lease_seconds),
        lease_seconds=number("SALESFORCE_SUBSCRIBER_LEASE_SECONDS", defaults.lease_seconds),
        retry_base_seconds=number("SALESFORCE_RETRY_BASE_SECONDS", defaults.retry_base_seconds),
        retry_max_seconds=number("SALESFORCE_RETRY_MAX_SECONDS", defaults.retry_max_seconds),
        timezone=text("CREDIT_CONTROL_TIMEZONE", defaults.timezone),
        reassess_at=text("CREDIT_CONTROL_REASSESS_AT", defaults.reassess_at),
        retention_inbox_days=number("RETENTION_INBOX_DAYS", defaults.retention_inbox_days, int),
        retention_outbox_sent_days=number(
            "RETENTION_OUTBOX_SENT_DAYS", defaults.retention_outbox_sent_days, int
        ),
        retention_outbox_dead_days=number(
            "RETENTION_OUTBOX_DEAD_DAYS", defaults.retention_outbox_dead_days, int
        ),
        retention_parked_days=number("RETENTION_PARKED_DAYS", defaults.retention_parked_days, int),
        heartbeat_seconds=_positive_number(
            "WORKER_HEARTBEAT_SECONDS",
            text("WORKER_HEARTBEAT_SECONDS"),
            defaults.heartbeat_seconds,
        ),
    )
    settings.validate()
    return settings


# --- the ERP connectors --------------------------------------------------------------------------

# An ERP is configured when its key variable is set; every other setting of it is then read and
# checked at start-up like the rest (docs/connectors.md lists them).
ERP_KEYS = {"sap": "SAP_BASE_URL", "bc": "BC_TENANT_ID", "netsuite": "NS_ACCOUNT_ID"}

_ERP_EXPECTS = {
    "SAP_BASE_URL": "an https:// URL such as https://my000000-api.s4hana.cloud.sap (http:// only on this machine)",
    "SAP_USER": "a communication user (with SAP_PASSWORD) or SAP_CLIENT_ID",
    "SAP_PASSWORD": "the communication user's password",
    "SAP_CLIENT_SECRET": "the OAuth client's secret",
    "SAP_TOKEN_URL": "the OAuth token endpoint, an https:// URL",
    "SAP_SOURCE": "a feed source name of at most 60 characters",
    "SAP_COMPANY_CODES": "company codes of up to 4 characters, e.g. 1010,1710",
    "SAP_CASE_CLOSED_STATUS": "the two-digit status (CaseStatus) that closes a dispute case in its case type's status profile, e.g. 30",
    "BC_TENANT_ID": "the Entra ID tenant (a GUID or domain)",
    "BC_CLIENT_ID": "the app registration's client id",
    "BC_CLIENT_SECRET": "the app registration's client secret",
    "BC_COMPANY_ID": "the company's id (a GUID)",
    "BC_BASE_URL": "an https:// URL",
    "BC_AUTHORITY_HOST": "an https:// URL",
    "BC_LOCAL_CURRENCY": "an ISO 4217 code such as EUR",
    "BC_WEBHOOK_URL": "this service's https:// URL ending /api/v1/webhooks/business-central",
    "BC_DISPUTE_STATUS": "a Business Central code of 10 characters at most",
    "BC_PAYMENT_JOURNAL": "a Business Central code of 10 characters at most",
    "NS_ACCOUNT_ID": "the NetSuite account id, e.g. 1234567 or 1234567_SB1",
    "NS_BASE_URL": "an https:// URL (http:// only on this machine)",
    "NS_CLIENT_ID": "an OAuth 2.0 client (or NS_CONSUMER_KEY for token-based auth)",
    "NS_CERTIFICATE_ID": "the certificate's id in NetSuite",
    "NS_PRIVATE_KEY_FILE": "the certificate's private key (PEM file)",
    "NS_CONSUMER_KEY": "the integration's consumer key",
    "NS_CONSUMER_SECRET": "the integration's consumer secret",
    "NS_TOKEN_ID": "the access token's id",
    "NS_TOKEN_SECRET": "the access token's secret",
}
_EXPECTS.update(_ERP_EXPECTS)


@dataclass(frozen=True)
class SapSettings:
    """``SAP_*``: the S/4HANA API host, a communication user or an OAuth client, and the pull."""

    base_url: str
    user: str | None = None
    password: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    token_url: str | None = None
    company_codes: tuple[str, ...] = ()
    source: str = "sap"
    page_size: int = 5_000
    attempts: int = 5
    sync_minutes: int = 15
    payment_types: tuple[str, ...] = ("DZ",)
    case_service: str = "API_DISPUTECASE"
    dispute_case_type: str = "F_DM"
    promise_case_type: str = "F_PP"
    # CaseStatus is a status number of the case type's status profile (customizing): no default.
    case_closed_status: str | None = None

    def __repr__(self) -> str:  # never the password or the client secret
        return f"SapSettings(base_url={self.base_url!r}, source={self.source!r})"


@dataclass(frozen=True)
class BcSettings:
    """``BC_*``: the Entra ID app registration, the company, and the webhooks."""

    tenant_id: str
    client_id: str
    client_secret: str
    company_id: str
    environment: str = "production"
    base_url: str = "https://api.businesscentral.dynamics.com"
    authority_host: str = "https://login.microsoftonline.com"
    local_currency: str = "EUR"
    source: str = "bc"
    sync_minutes: int = 15
    attempts: int = 5
    # Webhooks: where Business Central notifies us, and the secret it sends back.
    webhook_url: str | None = None
    webhook_client_state: str | None = None
    # The closed loop: the Dispute Status code an open dispute gets, and the customer payment
    # journal (batch) bank cash is written to for the accountant to post.
    dispute_status: str = "DISPUTE"
    payment_journal: str = "CCBANK"

    def __repr__(self) -> str:  # never the client secret
        return f"BcSettings(tenant_id={self.tenant_id!r}, company_id={self.company_id!r})"


@dataclass(frozen=True)
class NetSuiteSettings:
    """``NS_*``: the account, and OAuth 2.0 machine-to-machine or token-based credentials."""

    account_id: str
    base_url: str
    # OAuth 2.0 machine-to-machine: the integration's client id, the certificate's id in
    # NetSuite and the private key (PEM) of that certificate ...
    client_id: str | None = None
    certificate_id: str | None = None
    private_key: str | None = None
    # ... or token-based authentication (OAuth 1.0a, HMAC-SHA256).
    consumer_key: str | None = None
    consumer_secret: str | None = None
    token_id: str | None = None
    token_secret: str | None = None
    source: str = "netsuite"
    page_size: int = 1_000
    sync_minutes: int = 15
    attempts: int = 5

    def __repr__(self) -> str:  # never a key or a secret
        return f"NetSuiteSettings(account_id={self.account_id!r})"


ErpSettings = SapSettings | BcSettings | NetSuiteSettings


class _Env:
    """The environment, read one variable at a time: blanks are absent."""

    def __init__(self, environ: Mapping[str, object]) -> None:
        self.environ = environ

    def text(self, name: str) -> str | None:
        value = self.environ.get(name)
        if value is None:
            return None
        return str(value).strip() or None

    def required(self, name: str) -> str:
        value = self.text(name)
        if value is None:
            raise ConfigError(name, _EXPECTS[name], missing=True)
        return value

    def url(self, name: str, *, required: bool = False) -> str | None:
        """https, or plain http for a stand-in on this machine."""
        return _url(name, self.required(name) if required else self.text(name))

    def integer(self, name: str, default: int, *, low: int = 1, high: int = 1_000_000) -> int:
        value = self.text(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            number = low - 1
        if not low <= number <= high:
            raise ConfigError(name, f"a whole number from {low} to {high}")
        return number

    def words(self, name: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        value = self.text(name)
        if value is None:
            return default
        return tuple(part.strip() for part in value.split(",") if part.strip())


def sap_settings(environ: Mapping[str, object]) -> SapSettings:
    """``SAP_*``, validated: a communication user (basic auth) or OAuth client credentials."""
    env = _Env(environ)
    base_url = env.url("SAP_BASE_URL", required=True)
    assert base_url is not None
    client_id = env.text("SAP_CLIENT_ID")
    user = env.text("SAP_USER")
    if client_id is None and user is None:
        raise ConfigError("SAP_USER", _EXPECTS["SAP_USER"], missing=True)
    if client_id is not None:
        credentials = {
            "client_id": client_id,
            "client_secret": env.required("SAP_CLIENT_SECRET"),
            "token_url": env.url("SAP_TOKEN_URL", required=True),
        }
    else:
        credentials = {"user": user, "password": env.required("SAP_PASSWORD")}
    source = env.text("SAP_SOURCE") or "sap"
    if len(source) > 60:
        raise ConfigError("SAP_SOURCE", _EXPECTS["SAP_SOURCE"])
    codes = env.words("SAP_COMPANY_CODES")
    if any(len(code) > 4 for code in codes):
        raise ConfigError("SAP_COMPANY_CODES", _EXPECTS["SAP_COMPANY_CODES"])
    closed = env.text("SAP_CASE_CLOSED_STATUS")
    if closed is not None and not (len(closed) == 2 and closed.isdecimal()):
        raise ConfigError("SAP_CASE_CLOSED_STATUS", _EXPECTS["SAP_CASE_CLOSED_STATUS"])
    return SapSettings(
        base_url=base_url,
        company_codes=codes,
        source=source,
        page_size=env.integer("SAP_PAGE_SIZE", 5_000, high=50_000),
        attempts=env.integer("SAP_ATTEMPTS", 5, high=10),
        sync_minutes=env.integer("SAP_SYNC_MINUTES", 15, high=24 * 60),
        payment_types=env.words("SAP_PAYMENT_DOCUMENT_TYPES", ("DZ",)),
        case_service=env.text("SAP_CASE_SERVICE") or "API_DISPUTECASE",
        dispute_case_type=env.text("SAP_DISPUTE_CASE_TYPE") or "F_DM",
        promise_case_type=env.text("SAP_PROMISE_CASE_TYPE") or "F_PP",
        case_closed_status=closed,
        **credentials,
    )


def bc_settings(environ: Mapping[str, object]) -> BcSettings:
    """``BC_*``, validated; msal and Business Central speak https only."""
    env = _Env(environ)
    tenant = env.required("BC_TENANT_ID")
    base_url = env.url("BC_BASE_URL") or BcSettings.base_url
    authority = env.url("BC_AUTHORITY_HOST") or BcSettings.authority_host
    for name, value in (("BC_BASE_URL", base_url), ("BC_AUTHORITY_HOST", authority)):
        if not value.startswith("https://"):
            raise ConfigError(name, _EXPECTS[name])
    currency = env.text("BC_LOCAL_CURRENCY") or "EUR"
    if len(currency) != 3 or not currency.isalpha():
        raise ConfigError("BC_LOCAL_CURRENCY", _EXPECTS["BC_LOCAL_CURRENCY"])
    return BcSettings(
        tenant_id=tenant,
        client_id=env.required("BC_CLIENT_ID"),
        client_secret=env.required("BC_CLIENT_SECRET"),
        company_id=env.required("BC_COMPANY_ID"),
        environment=env.text("BC_ENVIRONMENT") or "production",
        base_url=base_url,
        authority_host=authority,
        local_currency=currency.upper(),
        source=env.text("BC_SOURCE") or "bc",
        sync_minutes=env.integer("BC_SYNC_MINUTES", 15, high=24 * 60),
        attempts=env.integer("BC_ATTEMPTS", 5, high=10),
        webhook_url=env.url("BC_WEBHOOK_URL"),
        # The same check as the web process's (``Config.bc_webhook_client_state``).
        webhook_client_state=_bc_client_state(env.text("BC_WEBHOOK_CLIENT_STATE")),
        dispute_status=_bc_code(env, "BC_DISPUTE_STATUS", "DISPUTE"),
        payment_journal=_bc_code(env, "BC_PAYMENT_JOURNAL", "CCBANK"),
    )


def _bc_code(env: _Env, name: str, default: str) -> str:
    """A Business Central code: 10 characters at most, kept as BC keeps codes (upper case)."""
    value = (env.text(name) or default).upper()
    if len(value) > 10 or not value.isprintable() or "'" in value:
        raise ConfigError(name, _EXPECTS[name])
    return value


def netsuite_settings(environ: Mapping[str, object]) -> NetSuiteSettings:
    """``NS_*``, validated: machine-to-machine when ``NS_CLIENT_ID`` is set, else token-based."""
    env = _Env(environ)
    account = env.required("NS_ACCOUNT_ID")
    host = account.lower().replace("_", "-")
    common = {
        "account_id": account,
        "base_url": env.url("NS_BASE_URL") or f"https://{host}.suitetalk.api.netsuite.com",
        "source": env.text("NS_SOURCE") or "netsuite",
        "page_size": env.integer("NS_PAGE_SIZE", 1_000, high=1_000),
        "sync_minutes": env.integer("NS_SYNC_MINUTES", 15, high=24 * 60),
        "attempts": env.integer("NS_ATTEMPTS", 5, high=10),
    }
    if env.text("NS_CLIENT_ID"):
        key_file = env.required("NS_PRIVATE_KEY_FILE")
        try:
            key = Path(key_file).read_text()
        except (OSError, UnicodeDecodeError):
            raise ConfigError("NS_PRIVATE_KEY_FILE", "a readable PEM file") from None
        if "PRIVATE KEY" not in key:
            raise ConfigError("NS_PRIVATE_KEY_FILE", "a PEM private key")
        return NetSuiteSettings(
            client_id=env.required("NS_CLIENT_ID"),
            certificate_id=env.required("NS_CERTIFICATE_ID"),
            private_key=key,
            **common,
        )
    if env.text("NS_CONSUMER_KEY") is None:
        raise ConfigError("NS_CLIENT_ID", _EXPECTS["NS_CLIENT_ID"], missing=True)
    return NetSuiteSettings(
        consumer_key=env.required("NS_CONSUMER_KEY"),
        consumer_secret=env.required("NS_CONSUMER_SECRET"),
        token_id=env.required("NS_TOKEN_ID"),
        token_secret=env.required("NS_TOKEN_SECRET"),
        **common,
    )

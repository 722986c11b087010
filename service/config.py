"""The service's settings, read from the environment once, inside ``create_app`` or a command.

Nothing here runs at import time: tests build as many configurations as they like by passing a
mapping. Every problem is reported as one ``ConfigError`` line naming the variable and what it
expects, so an admin reading a Heroku release log knows exactly what to fix. Secrets never show
in ``repr`` (and so never in a log line or a traceback).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from service.errors import ConfigError

# Where the embedded default database lives, relative to the working directory.
DEFAULT_DATA_DIR = Path("var")
DEFAULT_DATABASE_FILE = "credit-control.sqlite3"

MIN_SECRET_LENGTH = 16
DEFAULT_FEED_MAX_BYTES = 16 * 1024 * 1024
FEED_MAX_ROWS = 5_000
SIGNATURE_TOLERANCE_SECONDS = 300

SECRET_FIELDS = frozenset(
    {
        "feed_signing_secret",
        "service_api_tokens",
        "salesforce_client_secret",
        "salesforce_private_key",
        "stripe_api_key",
        "stripe_webhook_secret",
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
    salesforce_login_url: str | None = None
    salesforce_client_id: str | None = None
    salesforce_client_secret: str | None = field(default=None, repr=False)
    salesforce_username: str | None = None
    salesforce_private_key: str | None = field(default=None, repr=False)
    salesforce_ca_bundle: str | None = None
    stripe_api_key: str | None = field(default=None, repr=False)
    stripe_webhook_secret: str | None = field(default=None, repr=False)
    credit_policy_file: str | None = None
    feed_max_bytes: int = DEFAULT_FEED_MAX_BYTES
    feed_max_rows: int = FEED_MAX_ROWS
    signature_tolerance_seconds: int = SIGNATURE_TOLERANCE_SECONDS
    log_level: str = "INFO"
    testing: bool = False

    def __repr__(self) -> str:
        shown = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in SECRET_FIELDS:
                value = "***" if value else None
            elif f.name == "database_url":
                value = safe_database_url(value)
            shown.append(f"{f.name}={value!r}")
        return f"Config({', '.join(shown)})"

    __str__ = __repr__

    @property
    def salesforce_configured(self) -> bool:
        """The sync needs an org to talk to; without one the service still takes feeds."""
        return bool(self.salesforce_login_url and self.salesforce_client_id)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


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
        database_url=_database_url(text("DATABASE_URL")),
        feed_signing_secret=_secret("FEED_SIGNING_SECRET", text("FEED_SIGNING_SECRET")),
        service_api_tokens=_tokens(text("SERVICE_API_TOKENS")),
        salesforce_login_url=_url("SALESFORCE_LOGIN_URL", text("SALESFORCE_LOGIN_URL")),
        salesforce_client_id=text("SALESFORCE_CLIENT_ID"),
        salesforce_client_secret=text("SALESFORCE_CLIENT_SECRET"),
        salesforce_username=text("SALESFORCE_USERNAME"),
        salesforce_private_key=text("SALESFORCE_PRIVATE_KEY"),
        salesforce_ca_bundle=_existing_file("SALESFORCE_CA_BUNDLE", text("SALESFORCE_CA_BUNDLE")),
        stripe_api_key=text("STRIPE_API_KEY"),
        stripe_webhook_secret=text("STRIPE_WEBHOOK_SECRET"),
        credit_policy_file=_existing_file("CREDIT_POLICY_FILE", text("CREDIT_POLICY_FILE")),
        feed_max_bytes=_positive_int(
            "FEED_MAX_BYTES", text("FEED_MAX_BYTES"), DEFAULT_FEED_MAX_BYTES
        ),
        log_level=_choice("LOG_LEVEL", text("LOG_LEVEL"), LOG_LEVELS, "INFO"),
        testing=bool(env.get("TESTING")),
    )


_EXPECTS = {
    "DATABASE_URL": "a SQLAlchemy URL such as postgresql+psycopg://user@host/db or sqlite:///var/cc.db",
    "FEED_SIGNING_SECRET": f"a random secret of at least {MIN_SECRET_LENGTH} characters shared with the ERP",
    "SERVICE_API_TOKENS": f"comma-separated bearer tokens of at least {MIN_SECRET_LENGTH} characters each",
    "SALESFORCE_LOGIN_URL": "an https:// URL such as https://login.salesforce.com",
    "SALESFORCE_CA_BUNDLE": "the path of a readable PEM file",
    "CREDIT_POLICY_FILE": "the path of a JSON credit policy file",
    "FEED_MAX_BYTES": "a whole number of bytes greater than 0",
    "LOG_LEVEL": "one of " + ", ".join(LOG_LEVELS),
}


def _database_url(value: str | None) -> str:
    if value is None:
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


def _choice(name: str, value: str | None, choices: tuple[str, ...], default: str) -> str:
    if value is None:
        return default
    if value.upper() not in choices:
        raise ConfigError(name, _EXPECTS[name])
    return value.upper()

"""NetSuite settings from the environment (docs/connectors.md lists them)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from service.connectors.settings import Env
from service.errors import ConfigError


@dataclass(frozen=True)
class NetSuiteSettings:
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


def configured(environ: Mapping[str, object]) -> bool:
    return bool(str(environ.get("NS_ACCOUNT_ID") or "").strip())


def load_netsuite_settings(environ: Mapping[str, object]) -> NetSuiteSettings:
    env = Env(environ)
    account = env.required("NS_ACCOUNT_ID", "the NetSuite account id, e.g. 1234567 or 1234567_SB1")
    host = account.lower().replace("_", "-")
    base_url = (
        env.url("NS_BASE_URL", "an https:// URL (http:// only on this machine)", required=False)
        or f"https://{host}.suitetalk.api.netsuite.com"
    )
    common = {
        "account_id": account,
        "base_url": base_url,
        "source": env.text("NS_SOURCE") or "netsuite",
        "page_size": env.integer("NS_PAGE_SIZE", 1_000, high=1_000),
        "sync_minutes": env.integer("NS_SYNC_MINUTES", 15, high=24 * 60),
        "attempts": env.integer("NS_ATTEMPTS", 5, high=10),
    }
    if env.text("NS_CLIENT_ID"):
        key_file = env.required("NS_PRIVATE_KEY_FILE", "the certificate's private key (PEM file)")
        try:
            key = Path(key_file).read_text()
        except (OSError, UnicodeDecodeError):
            raise ConfigError("NS_PRIVATE_KEY_FILE", "a readable PEM file") from None
        if "PRIVATE KEY" not in key:
            raise ConfigError("NS_PRIVATE_KEY_FILE", "a PEM private key")
        return NetSuiteSettings(
            client_id=env.required("NS_CLIENT_ID", "the integration's client id"),
            certificate_id=env.required("NS_CERTIFICATE_ID", "the certificate's id in NetSuite"),
            private_key=key,
            **common,
        )
    if env.text("NS_CONSUMER_KEY") is None:
        raise ConfigError(
            "NS_CLIENT_ID", "an OAuth 2.0 client (or NS_CONSUMER_KEY for token-based auth)",
            missing=True,
        )  # fmt: skip
    return NetSuiteSettings(
        consumer_key=env.required("NS_CONSUMER_KEY", "the integration's consumer key"),
        consumer_secret=env.required("NS_CONSUMER_SECRET", "the integration's consumer secret"),
        token_id=env.required("NS_TOKEN_ID", "the access token's id"),
        token_secret=env.required("NS_TOKEN_SECRET", "the access token's secret"),
        **common,
    )

"""SAP settings from the environment (docs/connectors.md lists them)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from service.connectors.settings import Env
from service.errors import ConfigError

_URL = (
    "an https:// URL such as https://my000000-api.s4hana.cloud.sap (http:// only on this machine)"
)


@dataclass(frozen=True)
class SapSettings:
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

    def __repr__(self) -> str:  # never the password or the client secret
        return f"SapSettings(base_url={self.base_url!r}, source={self.source!r})"


def configured(environ: Mapping[str, object]) -> bool:
    return bool(str(environ.get("SAP_BASE_URL") or "").strip())


def load_sap_settings(environ: Mapping[str, object]) -> SapSettings:
    env = Env(environ)
    base_url = env.url("SAP_BASE_URL", _URL)
    assert base_url is not None
    client_id = env.text("SAP_CLIENT_ID")
    user = env.text("SAP_USER")
    if client_id is None and user is None:
        raise ConfigError(
            "SAP_USER", "a communication user (with SAP_PASSWORD) or SAP_CLIENT_ID", missing=True
        )
    if client_id is not None:
        secret = env.required("SAP_CLIENT_SECRET", "the OAuth client's secret")
        token_url = env.url("SAP_TOKEN_URL", "the OAuth token endpoint, an https:// URL")
        credentials = {"client_id": client_id, "client_secret": secret, "token_url": token_url}
    else:
        password = env.required("SAP_PASSWORD", "the communication user's password")
        credentials = {"user": user, "password": password}
    source = env.text("SAP_SOURCE") or "sap"
    if len(source) > 60:
        raise ConfigError("SAP_SOURCE", "a feed source name of at most 60 characters")
    codes = env.words("SAP_COMPANY_CODES")
    if any(len(code) > 4 for code in codes):
        raise ConfigError(
            "SAP_COMPANY_CODES", "company codes of up to 4 characters, e.g. 1010,1710"
        )
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
        **credentials,
    )

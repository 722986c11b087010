"""Business Central settings from the environment (docs/connectors.md lists them)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from service.connectors.settings import Env
from service.errors import ConfigError

_HTTPS = "an https:// URL"


@dataclass(frozen=True)
class BcSettings:
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


def configured(environ: Mapping[str, object]) -> bool:
    return bool(str(environ.get("BC_TENANT_ID") or "").strip())


def load_bc_settings(environ: Mapping[str, object]) -> BcSettings:
    env = Env(environ)
    tenant = env.required("BC_TENANT_ID", "the Entra ID tenant (a GUID or domain)")
    base_url = env.url("BC_BASE_URL", _HTTPS, required=False) or BcSettings.base_url
    authority = env.url("BC_AUTHORITY_HOST", _HTTPS, required=False) or BcSettings.authority_host
    for name, value in (("BC_BASE_URL", base_url), ("BC_AUTHORITY_HOST", authority)):
        if not value.startswith("https://"):  # msal and Business Central speak https only
            raise ConfigError(name, _HTTPS)
    currency = env.text("BC_LOCAL_CURRENCY") or "EUR"
    if len(currency) != 3 or not currency.isalpha():
        raise ConfigError("BC_LOCAL_CURRENCY", "an ISO 4217 code such as EUR")
    return BcSettings(
        tenant_id=tenant,
        client_id=env.required("BC_CLIENT_ID", "the app registration's client id"),
        client_secret=env.required("BC_CLIENT_SECRET", "the app registration's client secret"),
        company_id=env.required("BC_COMPANY_ID", "the company's id (a GUID)"),
        environment=env.text("BC_ENVIRONMENT") or "production",
        base_url=base_url,
        authority_host=authority,
        local_currency=currency.upper(),
        source=env.text("BC_SOURCE") or "bc",
        sync_minutes=env.integer("BC_SYNC_MINUTES", 15, high=24 * 60),
        attempts=env.integer("BC_ATTEMPTS", 5, high=10),
        webhook_url=env.url(
            "BC_WEBHOOK_URL",
            "this service's https:// URL ending /api/v1/webhooks/business-central",
            required=False,
        ),
        webhook_client_state=env.text("BC_WEBHOOK_CLIENT_STATE"),
        dispute_status=_code(env, "BC_DISPUTE_STATUS", "DISPUTE"),
        payment_journal=_code(env, "BC_PAYMENT_JOURNAL", "CCBANK"),
    )


def _code(env: Env, name: str, default: str) -> str:
    """A Business Central code: 10 characters at most, kept as BC keeps codes (upper case)."""
    value = (env.text(name) or default).upper()
    if len(value) > 10 or not value.isprintable() or "'" in value:
        raise ConfigError(name, "a Business Central code of 10 characters at most")
    return value

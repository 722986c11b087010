"""HTTP to the org: the one ``requests`` session factory and the JSON Salesforce expects.

``make_http_session`` trusts the configured CA (``SALESFORCE_CA_BUNDLE``), retries idempotent
calls on 502/503/504 honouring ``Retry-After``, and names the caller in ``Sforce-Call-Options``.
The token endpoint, REST, Bulk and CometD all use it, so none can lose one of these.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from service.config import SyncSettings

# Collections updates and upserts are idempotent, so PATCH may be retried with GET and friends;
# POST (event publishing, creates) is not, and is left to the outbox's own retry.
_RETRY_METHODS = frozenset(Retry.DEFAULT_ALLOWED_METHODS | {"PATCH"})


class PinnedCASession(requests.Session):
    """A Session whose ``verify`` (SALESFORCE_CA_BUNDLE) wins over REQUESTS_CA_BUNDLE.

    Plain requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override ``Session.verify`` for every
    request that does not pass ``verify=`` itself (psf/requests#3829, #4726), and
    simple-salesforce never passes it. Proxies and the rest of the environment still apply.
    """

    def merge_environment_settings(self, url, proxies, stream, verify, cert):
        merged = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if verify is None and isinstance(self.verify, str):
            merged["verify"] = self.verify
        return merged


def make_http_session(settings: SyncSettings, *, retries: bool = True) -> requests.Session:
    """A requests.Session that trusts the configured CA and says who is calling."""
    session = PinnedCASession()
    session.verify = settings.verify
    session.headers["Sforce-Call-Options"] = f"client={settings.client_name}"
    if retries:
        retry = Retry(
            total=3,
            status_forcelist=(502, 503, 504),
            backoff_factor=0.3,
            allowed_methods=_RETRY_METHODS,
            raise_on_status=False,
            respect_retry_after_header=True,
        )
    else:
        retry = Retry(total=0, raise_on_status=False)
    adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=8)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def json_default(value: Any) -> Any:
    """JSON for Salesforce: money as a number, dates as ISO 8601 (datetimes in UTC with Z)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(body: Any) -> str:
    return json.dumps(body, default=json_default, separators=(",", ":"))

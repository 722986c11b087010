"""Settings of the Salesforce sync, read from the environment once, at start-up.

They live apart from the web settings so the worker, the CLI and the tests can build them from
any mapping (``SyncSettings.from_env(os.environ)`` or a dict in a test) without an app.
A missing or malformed value raises ``SettingsError`` with one line naming the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_API_VERSION = "62.0"  # the package's version: every org in service supports it

CHANNELS = (
    "/data/Collection_Action__ChangeEvent",
    "/data/AccountChangeEvent",
    "/event/Credit_Review_Request__e",
    "/event/Payment_Received__e",
)


class SettingsError(ValueError):
    """A Salesforce setting is missing or malformed; the message is one line for the admin."""


@dataclass(frozen=True)
class SyncSettings:
    """Everything the Salesforce client, pusher, subscriber and scheduler need."""

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

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SyncSettings:
        env = os.environ if env is None else env

        def get(name: str, default=None):
            value = env.get(name)
            return default if value in (None, "") else value

        def number(name: str, default, kind=float):
            raw = get(name)
            if raw is None:
                return default
            try:
                return kind(raw)
            except ValueError:
                raise SettingsError(f"{name} must be a number, got {raw!r}") from None

        settings = cls(
            login_url=get("SALESFORCE_LOGIN_URL", cls.login_url).rstrip("/"),
            client_id=get("SALESFORCE_CLIENT_ID"),
            client_secret=get("SALESFORCE_CLIENT_SECRET"),
            username=get("SALESFORCE_USERNAME"),
            password=get("SALESFORCE_PASSWORD"),
            private_key=get("SALESFORCE_PRIVATE_KEY"),
            auth_flow=get("SALESFORCE_AUTH_FLOW"),
            ca_bundle=get("SALESFORCE_CA_BUNDLE"),
            api_version=get("SALESFORCE_API_VERSION", DEFAULT_API_VERSION),
            client_name=get("SALESFORCE_CLIENT_NAME", cls.client_name),
            push_batch_size=number("SALESFORCE_PUSH_BATCH_SIZE", 200, int),
            push_threads=number("SALESFORCE_PUSH_THREADS", cls.push_threads, int),
            bulk_threshold=number("SALESFORCE_BULK_THRESHOLD", cls.bulk_threshold, int),
            api_usage_slowdown=number("SALESFORCE_API_USAGE_SLOWDOWN", cls.api_usage_slowdown),
            initial_replay_id=number("SALESFORCE_INITIAL_REPLAY_ID", -2, int),
            claim_lease_seconds=number("SALESFORCE_CLAIM_LEASE_SECONDS", cls.claim_lease_seconds),
            lease_seconds=number("SALESFORCE_SUBSCRIBER_LEASE_SECONDS", cls.lease_seconds),
            retry_base_seconds=number("SALESFORCE_RETRY_BASE_SECONDS", cls.retry_base_seconds),
            retry_max_seconds=number("SALESFORCE_RETRY_MAX_SECONDS", cls.retry_max_seconds),
            timezone=get("CREDIT_CONTROL_TIMEZONE", "UTC"),
            reassess_at=get("CREDIT_CONTROL_REASSESS_AT", "02:00"),
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        if not self.login_url.startswith("https://"):
            raise SettingsError(f"SALESFORCE_LOGIN_URL must be an https:// URL: {self.login_url}")
        if not self.client_id and self.flow != "password":
            raise SettingsError("SALESFORCE_CLIENT_ID is required")
        if self.flow == "jwt" and not (self.username and self.private_key):
            raise SettingsError("JWT bearer needs SALESFORCE_USERNAME and SALESFORCE_PRIVATE_KEY")
        if self.flow == "client_credentials" and not self.client_secret:
            raise SettingsError("client credentials need SALESFORCE_CLIENT_SECRET")
        if self.flow not in ("jwt", "password", "client_credentials"):
            raise SettingsError("SALESFORCE_AUTH_FLOW must be jwt, password or client_credentials")
        if self.ca_bundle and not Path(self.ca_bundle).is_file():
            raise SettingsError(f"SALESFORCE_CA_BUNDLE is not a file: {self.ca_bundle}")
        if not 1 <= self.push_batch_size <= 200:
            raise SettingsError("SALESFORCE_PUSH_BATCH_SIZE must be between 1 and 200")
        if not 0 < self.api_usage_slowdown <= 1:
            raise SettingsError("SALESFORCE_API_USAGE_SLOWDOWN must be a share in (0, 1]")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(
                f"CREDIT_CONTROL_TIMEZONE is not a time zone: {self.timezone}"
            ) from None
        try:
            hour, minute = (int(x) for x in self.reassess_at.split(":"))
            assert 0 <= hour < 24 and 0 <= minute < 60
        except (ValueError, AssertionError):
            raise SettingsError(
                f"CREDIT_CONTROL_REASSESS_AT must be HH:MM, got {self.reassess_at}"
            ) from None

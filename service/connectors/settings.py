"""Reading a connector's settings from the environment: each problem is one ``ConfigError`` line.

The ERP-specific settings live with their connector (``service.connectors.sap.settings``); the
helpers here are the rules every connector shares: a base URL is https (plain http only for a
stand-in on this machine), numbers are positive integers, lists are comma-separated.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from service.errors import ConfigError


class Env:
    """The environment, read one variable at a time: blanks are absent."""

    def __init__(self, environ: Mapping[str, object]) -> None:
        self.environ = environ

    def text(self, name: str) -> str | None:
        value = self.environ.get(name)
        if value is None:
            return None
        value = str(value).strip()
        return value or None

    def required(self, name: str, expects: str) -> str:
        value = self.text(name)
        if value is None:
            raise ConfigError(name, expects, missing=True)
        return value

    def url(self, name: str, expects: str, *, required: bool = True) -> str | None:
        value = self.required(name, expects) if required else self.text(name)
        if value is None:
            return None
        parts = urlsplit(value)
        local = parts.hostname in ("localhost", "127.0.0.1", "::1")
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ConfigError(name, expects)
        if parts.scheme == "http" and not local:
            raise ConfigError(name, expects)
        return value.rstrip("/")

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

"""The credit policy file (``CREDIT_POLICY_FILE``): read once at start-up by every process."""

from __future__ import annotations

import json
from pathlib import Path

from service.credit import Policy, PolicyError, default_policy, load_policy
from service.errors import ConfigError


def read_policy(path: str | None) -> Policy:
    """The policy in a JSON file, or the default policy when no file is given."""
    if not path:
        return default_policy()
    return load_policy(json.loads(Path(path).read_text()))


def load_policy_file(path: str | None) -> Policy:
    """``read_policy``, with any problem as one ``ConfigError`` line naming the variable."""
    try:
        return read_policy(path)
    except (OSError, ValueError, PolicyError) as exc:
        detail = getattr(exc, "errors", None) or type(exc).__name__
        raise ConfigError(
            "CREDIT_POLICY_FILE", f"a readable, valid JSON credit policy ({detail})"
        ) from None

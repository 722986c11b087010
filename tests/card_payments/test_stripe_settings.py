"""The Stripe settings: read through service/config.py, checked at start-up, never shown."""

from __future__ import annotations

import pytest

from service.config import load_config
from service.errors import ConfigError

GOOD = {
    "FEED_SIGNING_SECRET": "f" * 20,
    "SERVICE_API_TOKENS": "t" * 20,
    "DATABASE_URL": "sqlite:///:memory:",
}


def test_several_webhook_secrets_a_local_api_base_and_nothing_shown():
    config = load_config(
        {
            **GOOD,
            "STRIPE_API_KEY": "sk_test_secret_value",
            "STRIPE_WEBHOOK_SECRET": "whsec_new_0123456789abc, whsec_old_0123456789abc",
            "STRIPE_API_BASE": "http://127.0.0.1:12111/",
        }
    )

    assert config.stripe_webhook_secrets == ("whsec_new_0123456789abc", "whsec_old_0123456789abc")
    assert config.stripe_api_base == "http://127.0.0.1:12111"
    shown = repr(config)
    assert "whsec_" not in shown and "sk_test_secret_value" not in shown


def test_the_api_base_defaults_to_stripe():
    assert load_config(GOOD).stripe_api_base == "https://api.stripe.com"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("STRIPE_API_BASE", "http://api.example.com"),  # plain http only for a local stand-in
        ("STRIPE_API_BASE", "ftp://127.0.0.1"),
        ("STRIPE_WEBHOOK_SECRET", "whsec_short"),
    ],
)
def test_a_malformed_setting_stops_start_up_with_one_line(name, value):
    with pytest.raises(ConfigError) as caught:
        load_config({**GOOD, name: value})

    assert str(caught.value).startswith(f"{name} is malformed")

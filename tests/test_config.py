"""Settings: read from the environment inside create_app, one clear line per problem."""

from __future__ import annotations

import pytest

from service.config import load_config
from service.errors import ConfigError

GOOD = {"FEED_SIGNING_SECRET": "s" * 32, "SERVICE_API_TOKENS": "a" * 20 + "," + "b" * 20}


def test_load_config__database_falls_back_to_sqlite_under_var(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    config = load_config(GOOD)

    assert config.database_url == "sqlite:///var/credit-control.sqlite3"
    assert (tmp_path / "var").is_dir()


def test_load_config__heroku_postgres_url_gets_the_driver():
    config = load_config({**GOOD, "DATABASE_URL": "postgres://u:pw@db.example.com:5432/cc"})

    assert config.database_url == "postgresql+psycopg://u:pw@db.example.com:5432/cc"


def test_load_config__salesforce_is_optional():
    config = load_config(GOOD)

    assert config.salesforce_configured is False
    assert config.service_api_tokens == ("a" * 20, "b" * 20)


@pytest.mark.parametrize(
    ("env", "line"),
    [
        (
            {"SERVICE_API_TOKENS": "a" * 20},
            "FEED_SIGNING_SECRET is not set: expected a random secret of at least 16 characters",
        ),
        (
            {"FEED_SIGNING_SECRET": "s" * 20},
            "SERVICE_API_TOKENS is not set: expected comma-separated bearer tokens",
        ),
        ({**GOOD, "SERVICE_API_TOKENS": "a" * 20 + ",short"}, "SERVICE_API_TOKENS is malformed"),
        ({**GOOD, "FEED_SIGNING_SECRET": "tiny"}, "FEED_SIGNING_SECRET is malformed"),
        (
            {**GOOD, "DATABASE_URL": "mysql://x/y"},
            "DATABASE_URL is malformed: expected a SQLAlchemy URL",
        ),
        ({**GOOD, "DATABASE_URL": "not a url"}, "DATABASE_URL is malformed"),
        (
            {**GOOD, "SALESFORCE_LOGIN_URL": "http://login.salesforce.com"},
            "SALESFORCE_LOGIN_URL is malformed: expected an https:// URL",
        ),
        (
            {**GOOD, "SALESFORCE_CA_BUNDLE": "/nope.pem"},
            "SALESFORCE_CA_BUNDLE is malformed: expected the path of a readable PEM file",
        ),
        ({**GOOD, "FEED_MAX_BYTES": "lots"}, "FEED_MAX_BYTES is malformed"),
        (
            {**GOOD, "LOG_LEVEL": "LOUD"},
            "LOG_LEVEL is malformed: expected one of DEBUG, INFO, WARNING, ERROR",
        ),
    ],
)
def test_load_config__problem_is_one_line_naming_the_variable(env, line):
    with pytest.raises(ConfigError) as caught:
        load_config(env)

    message = str(caught.value)
    assert message.startswith(line)
    assert "\n" not in message


def test_load_config__local_devorg_may_use_plain_http():
    config = load_config(
        {**GOOD, "SALESFORCE_LOGIN_URL": "http://127.0.0.1:8765/", "SALESFORCE_CLIENT_ID": "cc"}
    )

    assert config.salesforce_login_url == "http://127.0.0.1:8765"
    assert config.salesforce_configured


def test_config__repr_masks_every_secret():
    config = load_config(
        {
            **GOOD,
            "DATABASE_URL": "postgresql://u:db-password@h/d",
            "SALESFORCE_CLIENT_SECRET": "sf-secret-value",
            "STRIPE_API_KEY": "sk_live_abcdef",
        }
    )

    shown = repr(config) + str(config)
    for secret in ("s" * 32, "a" * 20, "db-password", "sf-secret-value", "sk_live_abcdef"):
        assert secret not in shown
    assert "***" in shown


def test_create_app__reads_the_environment_not_import_time(monkeypatch, tmp_path):
    from service.app import create_app

    monkeypatch.setenv("FEED_SIGNING_SECRET", "x" * 20)
    monkeypatch.setenv("SERVICE_API_TOKENS", "y" * 20)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'env.sqlite3'}")

    app = create_app()

    assert app.extensions["credit_control"].config.service_api_tokens == ("y" * 20,)


def test_create_app__missing_secret_stops_start_up(monkeypatch):
    from service.app import create_app

    monkeypatch.delenv("FEED_SIGNING_SECRET", raising=False)
    monkeypatch.setenv("SERVICE_API_TOKENS", "y" * 20)

    with pytest.raises(ConfigError, match=r"^FEED_SIGNING_SECRET is not set"):
        create_app()


def test_create_app__invalid_credit_policy_file_stops_start_up(tmp_path):
    from service.app import create_app

    policy = tmp_path / "policy.json"
    policy.write_text('{"hold": {"days_past_due": "soon"}}')

    with pytest.raises(ConfigError, match=r"^CREDIT_POLICY_FILE is malformed"):
        create_app(
            {
                **GOOD,
                "DATABASE_URL": f"sqlite:///{tmp_path / 'p.sqlite3'}",
                "CREDIT_POLICY_FILE": str(policy),
            }
        )

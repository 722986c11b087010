"""Settings: read from the environment inside create_app, one clear line per problem."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from service.app import create_app
from service.cli import main
from service.config import load_config
from service.errors import ConfigError

SECRETS = {"FEED_SIGNING_SECRET": "s" * 32, "SERVICE_API_TOKENS": "a" * 20 + "," + "b" * 20}
GOOD = {**SECRETS, "DATABASE_URL": "sqlite://"}
NO_DATABASE = (
    "DATABASE_URL is not set: expected a SQLAlchemy URL such as "
    "postgresql+psycopg://user@host/db, or CREDIT_CONTROL_SQLITE=1 for a SQLite file under "
    "var/ on this one machine"
)


def test_load_config__sqlite_under_var_only_when_asked_for(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    config = load_config({**SECRETS, "CREDIT_CONTROL_SQLITE": "1"})

    assert config.database_url == "sqlite:///var/credit-control.sqlite3"
    assert (tmp_path / "var").is_dir()


@pytest.mark.parametrize("opt_in", [None, "0", "no"])
def test_load_config__no_database_url_stops_start_up_with_one_line(tmp_path, monkeypatch, opt_in):
    monkeypatch.chdir(tmp_path)
    env = SECRETS if opt_in is None else {**SECRETS, "CREDIT_CONTROL_SQLITE": opt_in}

    with pytest.raises(ConfigError) as caught:
        load_config(env)

    assert str(caught.value) == NO_DATABASE
    assert not (tmp_path / "var").exists()  # no throwaway database file made on the side


def test_load_config__a_malformed_sqlite_opt_in_is_refused():
    with pytest.raises(ConfigError, match=r"^CREDIT_CONTROL_SQLITE is malformed"):
        load_config({**SECRETS, "CREDIT_CONTROL_SQLITE": "please"})


def test_worker_and_web__refuse_to_start_without_a_database(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("CREDIT_CONTROL_SQLITE", raising=False)
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)

    with pytest.raises(ConfigError, match=r"^DATABASE_URL is not set"):
        create_app()
    result = CliRunner().invoke(main, ["worker"])

    assert result.exit_code == 1
    assert result.output.splitlines() == [f"Error: {NO_DATABASE}"]
    assert not (tmp_path / "var").exists()


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
        {
            **GOOD,
            "SALESFORCE_LOGIN_URL": "http://127.0.0.1:8765/",
            "SALESFORCE_CLIENT_ID": "cc",
            "SALESFORCE_CLIENT_SECRET": "sf-secret-value",
        }
    )

    assert config.salesforce.login_url == "http://127.0.0.1:8765"
    assert config.salesforce.flow == "client_credentials"
    assert config.salesforce_configured


def test_load_config__no_salesforce_setting_means_no_sync():
    config = load_config(GOOD)

    assert config.salesforce is None and not config.salesforce_configured


@pytest.mark.parametrize(
    ("env", "line"),
    [
        ({"SALESFORCE_CLIENT_ID": "cc"}, "SALESFORCE_CLIENT_SECRET is not set"),
        (
            {"SALESFORCE_CLIENT_ID": "cc", "SALESFORCE_PRIVATE_KEY": "pem"},
            "SALESFORCE_USERNAME is not set",
        ),
        (
            {
                "SALESFORCE_CLIENT_ID": "cc",
                "SALESFORCE_CLIENT_SECRET": "s",
                "SALESFORCE_PUSH_BATCH_SIZE": "500",
            },
            "SALESFORCE_PUSH_BATCH_SIZE is malformed: expected a whole number from 1 to 200",
        ),
        (
            {
                "SALESFORCE_CLIENT_ID": "cc",
                "SALESFORCE_CLIENT_SECRET": "s",
                "SALESFORCE_BULK_THRESHOLD": "many",
            },
            "SALESFORCE_BULK_THRESHOLD is malformed: expected a number",
        ),
        (
            {
                "SALESFORCE_CLIENT_ID": "cc",
                "SALESFORCE_CLIENT_SECRET": "s",
                "CREDIT_CONTROL_TIMEZONE": "Mars/Olympus",
            },
            "CREDIT_CONTROL_TIMEZONE is malformed",
        ),
        (
            {
                "SALESFORCE_CLIENT_ID": "cc",
                "SALESFORCE_CLIENT_SECRET": "s",
                "CREDIT_CONTROL_REASSESS_AT": "2am",
            },
            "CREDIT_CONTROL_REASSESS_AT is malformed: expected a time of day as HH:MM",
        ),
    ],
)
def test_salesforce_settings__are_read_by_the_same_loader_with_the_same_error(env, line):
    with pytest.raises(ConfigError) as caught:
        load_config({**GOOD, **env})

    assert str(caught.value).startswith(line)
    assert "\n" not in str(caught.value)


def test_config__repr_masks_every_secret():
    config = load_config(
        {
            **GOOD,
            "DATABASE_URL": "postgresql://u:db-password@h/d",
            "SALESFORCE_CLIENT_ID": "cc",
            "SALESFORCE_CLIENT_SECRET": "sf-secret-value",
            "STRIPE_API_KEY": "sk_live_abcdef",
        }
    )

    shown = repr(config) + str(config) + repr(config.salesforce)
    for secret in ("s" * 32, "a" * 20, "db-password", "sf-secret-value", "sk_live_abcdef"):
        assert secret not in shown
    assert "***" in shown


def test_create_app__reads_the_environment_not_import_time(monkeypatch, tmp_path):
    monkeypatch.setenv("FEED_SIGNING_SECRET", "x" * 20)
    monkeypatch.setenv("SERVICE_API_TOKENS", "y" * 20)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'env.sqlite3'}")

    app = create_app()

    assert app.extensions["credit_control"].config.service_api_tokens == ("y" * 20,)


def test_create_app__missing_secret_stops_start_up(monkeypatch):
    monkeypatch.delenv("FEED_SIGNING_SECRET", raising=False)
    monkeypatch.setenv("SERVICE_API_TOKENS", "y" * 20)

    with pytest.raises(ConfigError, match=r"^FEED_SIGNING_SECRET is not set"):
        create_app()


def test_create_app__invalid_credit_policy_file_stops_start_up(tmp_path):
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

"""``credit-control sync sap`` and the connectors' settings: reports, exit status, one-line
errors, secrets kept out of messages."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from service.app import create_app
from service.cli import main
from service.config import bc_settings, load_config, netsuite_settings, sap_settings
from service.errors import ConfigError
from tests.conftest import app_overrides
from tests.connectors.conftest import CUSTOMER


def test_sync__prints_progress_and_a_report(runner, sap, monkeypatch):
    for name, value in sap.basic_env().items():
        monkeypatch.setenv(name, value)

    result = runner.invoke(main, ["sync", "sap"])

    assert result.exit_code == 0, result.output
    assert "sap: incremental pull, 7 ERP items read" in result.stdout
    assert "receivables: 4 accepted, 0 ignored (not newer), 0 rejected" in result.stdout
    assert "payments: 2 accepted" in result.stdout
    assert "closed loop: 0 writes queued, 0 sent, 0 to retry, 0 failed" in result.stdout
    assert "page 1:" in result.stderr

    full = runner.invoke(main, ["sync", "sap", "--full"])

    assert full.exit_code == 0, full.output
    assert "full reconciliation" in full.stdout
    assert "closed: 0 receivables no longer open in the ERP" in full.stdout


def test_sync__rejected_records_are_named_and_the_exit_status_is_1(runner, sap, book, monkeypatch):
    for name, value in sap.basic_env().items():
        monkeypatch.setenv(name, value)
    book.invoice(CUSTOMER, "5.00", document="1800000999", currency="EU")

    result = runner.invoke(main, ["sync", "sap"])

    assert result.exit_code == 1
    assert "rejected receivables 1010/2026/1800000999 currency:" in result.stderr
    assert "receivables: 4 accepted" in result.stdout


def test_sync__an_unreachable_erp_is_one_line(runner, monkeypatch):
    monkeypatch.setenv("SAP_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("SAP_USER", "U")
    monkeypatch.setenv("SAP_PASSWORD", "secret-password")
    monkeypatch.setenv("SAP_ATTEMPTS", "1")

    result = runner.invoke(main, ["sync", "sap"])

    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: sap: GET http://127.0.0.1:9/sap/opu/odata/sap/API_OPLACCTGDOCITEMCUBE_SRV/"
        "A_OperationalAcctgDocItemCube: ConnectionError"
    ]
    assert "secret-password" not in result.output


def test_sync__an_unknown_erp_is_refused(runner):
    result = CliRunner().invoke(main, ["sync", "oracle-ebs"])

    assert result.exit_code == 2
    assert "Invalid value for" in result.output and "'oracle-ebs' is not one of" in result.output


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "SAP_BASE_URL is not set"),
        ({"SAP_BASE_URL": "http://sap.example.com"}, "SAP_BASE_URL is malformed"),
        ({"SAP_BASE_URL": "ftp://x"}, "SAP_BASE_URL is malformed"),
        ({"SAP_BASE_URL": "https://s.example"}, "SAP_USER is not set"),
        ({"SAP_BASE_URL": "https://s.example", "SAP_USER": "U"}, "SAP_PASSWORD is not set"),
        (
            {"SAP_BASE_URL": "https://s.example", "SAP_CLIENT_ID": "c", "SAP_CLIENT_SECRET": "s"},
            "SAP_TOKEN_URL is not set",
        ),
        (
            {
                "SAP_BASE_URL": "https://s.example",
                "SAP_USER": "U",
                "SAP_PASSWORD": "p",
                "SAP_PAGE_SIZE": "0",
            },
            "SAP_PAGE_SIZE is malformed",
        ),
        (
            {
                "SAP_BASE_URL": "https://s.example",
                "SAP_USER": "U",
                "SAP_PASSWORD": "p",
                "SAP_COMPANY_CODES": "1010,TOOLONG",
            },
            "SAP_COMPANY_CODES is malformed",
        ),
        (
            {
                "SAP_BASE_URL": "https://s.example",
                "SAP_USER": "U",
                "SAP_PASSWORD": "p",
                "SAP_CASE_CLOSED_STATUS": "CLOSED",
            },
            "SAP_CASE_CLOSED_STATUS is malformed",
        ),
    ],
)
def test_settings__each_problem_is_one_line(env, message):
    with pytest.raises(ConfigError, match=message):
        sap_settings(env)


def test_settings__the_secret_is_not_in_their_repr():
    settings = sap_settings(
        {"SAP_BASE_URL": "https://s.example", "SAP_USER": "U", "SAP_PASSWORD": "pw-0123456789"}
    )

    assert "pw-0123456789" not in repr(settings)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "BC_TENANT_ID is not set"),
        ({"BC_TENANT_ID": "t"}, "BC_CLIENT_ID is not set"),
        (
            {
                "BC_TENANT_ID": "t",
                "BC_CLIENT_ID": "c",
                "BC_CLIENT_SECRET": "s",
                "BC_COMPANY_ID": "x",
                "BC_BASE_URL": "http://bc.example.com",
            },
            "BC_BASE_URL is malformed",
        ),
        (
            {
                "BC_TENANT_ID": "t",
                "BC_CLIENT_ID": "c",
                "BC_CLIENT_SECRET": "s",
                "BC_COMPANY_ID": "x",
                "BC_LOCAL_CURRENCY": "EURO",
            },
            "BC_LOCAL_CURRENCY is malformed",
        ),
    ],
)
def test_bc_settings__each_problem_is_one_line(env, message):
    with pytest.raises(ConfigError, match=message):
        bc_settings(env)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "NS_ACCOUNT_ID is not set"),
        ({"NS_ACCOUNT_ID": "1"}, "NS_CLIENT_ID is not set"),
        ({"NS_ACCOUNT_ID": "1", "NS_CLIENT_ID": "c"}, "NS_PRIVATE_KEY_FILE is not set"),
        (
            {"NS_ACCOUNT_ID": "1", "NS_CLIENT_ID": "c", "NS_PRIVATE_KEY_FILE": "/nonexistent"},
            "NS_PRIVATE_KEY_FILE is malformed",
        ),
        ({"NS_ACCOUNT_ID": "1", "NS_CONSUMER_KEY": "k"}, "NS_CONSUMER_SECRET is not set"),
    ],
)
def test_netsuite_settings__each_problem_is_one_line(env, message):
    with pytest.raises(ConfigError, match=message):
        netsuite_settings(env)


def test_netsuite_settings__the_default_host_is_the_accounts():
    settings = netsuite_settings(
        {"NS_ACCOUNT_ID": "1234567_SB1", "NS_CONSUMER_KEY": "k", "NS_CONSUMER_SECRET": "s",
         "NS_TOKEN_ID": "t", "NS_TOKEN_SECRET": "x-0123456789"}
    )  # fmt: skip

    assert settings.base_url == "https://1234567-sb1.suitetalk.api.netsuite.com"
    assert "x-0123456789" not in repr(settings)


DATABASE = {"DATABASE_URL": "sqlite://"}
SAP_BASIC = {"SAP_BASE_URL": "https://s.example", "SAP_USER": "U", "SAP_PASSWORD": "pw-0123456789"}


def test_config__an_erp_is_configured_by_its_key_variable_alone():
    config = load_config({**DATABASE, **SAP_BASIC, "BC_CLIENT_ID": "c"}, require=())

    assert list(config.erps) == ["sap"]
    assert config.erp("sap") == sap_settings(SAP_BASIC)
    with pytest.raises(ConfigError, match=r"^BC_TENANT_ID is not set: expected the Entra ID"):
        config.erp("bc")
    assert "pw-0123456789" not in repr(config) and "sap='configured'" in repr(config)


def test_config__a_malformed_erp_setting_stops_every_process_with_one_line(
    db_url, runner, monkeypatch
):
    broken = {**SAP_BASIC, "SAP_PAGE_SIZE": "lots"}

    with pytest.raises(ConfigError, match=r"^SAP_PAGE_SIZE is malformed: expected a whole number"):
        create_app(app_overrides(db_url, **broken))
    for name, value in broken.items():
        monkeypatch.setenv(name, value)
    result = runner.invoke(main, ["sync", "sap"])

    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "Error: SAP_PAGE_SIZE is malformed: expected a whole number from 1 to 50000"
    ]


def test_sync__an_erp_not_configured_is_named_by_its_key_variable(runner, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    monkeypatch.delenv("NS_ACCOUNT_ID", raising=False)

    result = runner.invoke(main, ["sync", "netsuite"])

    assert result.exit_code == 1
    assert result.output.startswith("Error: NS_ACCOUNT_ID is not set: expected the NetSuite")


def test_bc_settings__the_webhook_client_state_is_checked_as_the_web_process_checks_it():
    env = {"BC_TENANT_ID": "t", "BC_CLIENT_ID": "c", "BC_CLIENT_SECRET": "s", "BC_COMPANY_ID": "x"}

    with pytest.raises(ConfigError, match=r"^BC_WEBHOOK_CLIENT_STATE is malformed"):
        bc_settings({**env, "BC_WEBHOOK_CLIENT_STATE": "short"})
    assert (
        bc_settings({**env, "BC_WEBHOOK_CLIENT_STATE": "s" * 16}).webhook_client_state == "s" * 16
    )

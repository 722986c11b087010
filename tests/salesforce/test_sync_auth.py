"""Token flows against devorg's token endpoint, over HTTPS with the configured CA bundle."""

from __future__ import annotations

import logging

import pytest
import requests

from service.salesforce.auth import Authenticator
from service.salesforce.client import SalesforceClient
from service.salesforce.errors import AuthenticationError, RetryableError
from service.salesforce.http import make_http_session


def _client(settings) -> SalesforceClient:
    return SalesforceClient(settings, Authenticator(settings, make_http_session(settings)))


@pytest.mark.parametrize("flow", ["jwt", "client_credentials", "password"])
def test_each_flow__gets_a_token_that_the_org_accepts(devorg, sync_settings, flow):
    settings = sync_settings.with_(auth_flow=flow, password=devorg.integration_user.password)
    client = _client(settings)
    result = client.query_all("SELECT Id FROM Account")
    assert result == []
    assert client.auth.logins == 1
    assert client.instance_url.startswith("https://localhost:")


def test_client_credentials_on_the_login_host__refused(devorg, sync_settings):
    settings = sync_settings.with_(auth_flow="client_credentials", login_url=devorg.login_url)
    with pytest.raises(AuthenticationError) as err:
        Authenticator(settings).token()
    assert err.value.code == "invalid_grant"


def test_expired_session__one_login_and_the_call_succeeds(devorg, sync_settings):
    client = _client(sync_settings)
    client.query_all("SELECT Id FROM Account")
    devorg.expire_sessions()
    assert client.query_all("SELECT Id FROM Account") == []
    assert client.auth.logins == 2


def test_ca_bundle_is_honoured(devorg, sync_settings):
    untrusting = sync_settings.with_(ca_bundle=None)
    with pytest.raises(RetryableError):
        Authenticator(untrusting, requests.Session()).token()


def test_no_secret_in_logs(devorg, sync_settings, caplog):
    """Tokens, keys and secrets never reach a log record, whatever the outcome."""
    caplog.set_level(logging.DEBUG)
    client = _client(sync_settings)
    client.query_all("SELECT Id FROM Account")
    devorg.expire_sessions()
    client.query_all("SELECT Id FROM Account")
    bad = sync_settings.with_(
        auth_flow="client_credentials", client_secret="WRONG-SECRET-0123456789"
    )
    with pytest.raises(AuthenticationError) as err:
        Authenticator(bad).token()
    token = client.auth.token().access_token
    key = devorg.private_key_pem.decode()
    text = caplog.text + str(err.value) + repr(client.auth.token()) + repr(sync_settings)
    assert "salesforce login ok" in caplog.text
    for secret in (
        token,
        devorg.client_secret,
        "WRONG-SECRET-0123456789",
        devorg.integration_user.password,
    ):
        assert secret not in text
    assert key.splitlines()[1] not in text

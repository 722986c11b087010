"""Shared devorg fixtures: one org per test session over real HTTPS, reset before each test.

``requests.Session.trust_env`` is turned off because ``REQUESTS_CA_BUNDLE`` in the environment
would otherwise override ``session.verify`` and the devorg CA would not be trusted.
"""

from __future__ import annotations

import logging

import pytest
from devorg.org import DevOrg
from simple_salesforce import Salesforce

from tests.devorg.devorg_helpers import API, Api, tls_session


@pytest.fixture(scope="session")
def devorg():
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    org = DevOrg().start(http_port=0)
    yield org
    org.stop()


@pytest.fixture
def org(devorg):
    devorg.reset()
    devorg.auth.token_ttl = 7200.0
    for user in devorg.auth.users.values():
        user.permissions.clear()
    return devorg


@pytest.fixture
def token(org) -> str:
    return org.token_for()


@pytest.fixture
def api(org, token) -> Api:
    return Api(org, token)


@pytest.fixture
def sf(org, token) -> Salesforce:
    """simple-salesforce, unmodified, in direct-session mode."""
    return Salesforce(instance_url=org.url, session_id=token, session=tls_session(org), version=API)

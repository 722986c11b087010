"""An app with pay links switched on, on both databases, and a book fed through the ERP feed."""

from __future__ import annotations

import copy

import pytest

from service.app import EXTENSION, create_app
from tests.conftest import NOW, app_overrides, load_fixture

PAY_SECRET = "pay-link-secret-0123456789-abcdef"
BASE_URL = "https://pay.example.com"


@pytest.fixture
def pay_app(db_url):
    app = create_app(app_overrides(db_url, PAY_LINK_SECRET=PAY_SECRET, PUBLIC_BASE_URL=BASE_URL))
    yield app
    app.extensions[EXTENSION].engine.dispose()


@pytest.fixture
def pay_client(pay_app):
    return pay_app.test_client()


@pytest.fixture
def links(pay_app):
    return pay_app.extensions[EXTENSION].config.pay_links


@pytest.fixture
def small_batch():
    return copy.deepcopy(load_fixture("erp", "batch_small.json"))


__all__ = ["NOW"]

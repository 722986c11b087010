"""Business Central webhooks: subscriptions made through the real handshake against the
service's own endpoint over HTTP, renewed before they end, and notifications that trigger a
pull; hostile requests to the endpoint change nothing."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
import requests
from sqlalchemy import select
from werkzeug.serving import make_server

from service.app import EXTENSION, create_app
from service.connectors import cursors
from service.connectors.run import run_connector
from service.connectors.schedule import ConnectorLoop
from service.models import JobRun, Receivable
from tests.conftest import app_overrides
from tests.connectors.test_bc_pull import bc, connector  # noqa: F401 - the fixture

STATE = "bc-client-state-0123456789"
PATH = "/api/v1/webhooks/business-central"


@pytest.fixture
def served(db_url):
    """The service's web app on a real port (Business Central calls it)."""
    app = create_app(app_overrides(db_url, BC_WEBHOOK_CLIENT_STATE=STATE))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    app.extensions[EXTENSION].engine.dispose()


def webhooked(bc, served):  # noqa: F811
    return connector(bc, BC_WEBHOOK_URL=served + PATH, BC_WEBHOOK_CLIENT_STATE=STATE)


def test_subscriptions__made_through_the_handshake_once_per_collection(factory, bc, served):  # noqa: F811
    run_connector(factory, webhooked(bc, served))
    run_connector(factory, webhooked(bc, served))

    assert sorted(bc.subscription_writes) == sorted(
        ("POST", f"api/v2.0/companies({bc.book.company_id})/{entity}")
        for entity in ("customers", "salesInvoices", "salesCreditMemos")
    )
    assert {row["clientState"] for row in bc.subscriptions.values()} == {STATE}


def test_subscriptions__renewed_before_they_end(factory, bc, served):  # noqa: F811
    bc.subscription_days = 0.5  # ends within a day: renewed at the next run
    run_connector(factory, webhooked(bc, served))
    bc.subscription_days = 3

    run_connector(factory, webhooked(bc, served))
    run_connector(factory, webhooked(bc, served))

    methods = [method for method, _ in bc.subscription_writes]
    assert methods.count("POST") == 3 and methods.count("PATCH") == 3


def test_subscriptions__one_bc_forgot_is_made_again(factory, bc, served):  # noqa: F811
    bc.subscription_days = 0.5
    run_connector(factory, webhooked(bc, served))
    bc.subscriptions.clear()

    run_connector(factory, webhooked(bc, served))

    assert [m for m, _ in bc.subscription_writes].count("POST") == 6
    assert len(bc.subscriptions) == 3


def test_notification__triggers_a_pull_before_the_next_slot(factory, bc, served):  # noqa: F811
    bc_connector = webhooked(bc, served)
    loop = ConnectorLoop(factory, [(bc_connector, 15)], threading.Event())
    now = datetime.now(UTC)
    assert loop.run_due(bc_connector, 15, now)  # the first pull, and the subscriptions
    assert loop.run_due(bc_connector, 15, now)  # the day's full reconciliation
    assert not loop.run_due(bc_connector, 15, now)  # the slot is done
    bc.book.invoice("900001", "10000", 42)

    assert bc.notify("salesInvoices") == [202]
    ran = loop.run_due(bc_connector, 15, now)

    assert ran
    with factory() as session:
        assert session.scalar(select(Receivable.id).where(Receivable.number == "900001"))
        keys = [r.run_key for r in session.scalars(select(JobRun))]
    assert any(key.startswith("notified:") for key in keys)
    assert not loop.run_due(bc_connector, 15, now)  # pulled for it: back to the slots


@pytest.mark.parametrize(
    ("params", "body", "status"),
    [
        ({}, {"value": [{"clientState": "someone-else-0123456789"}]}, 401),
        ({}, {"value": [{"clientState": STATE}, {"clientState": "nope"}]}, 401),
        ({}, {"value": [{}]}, 401),
        ({}, {"value": ["x"]}, 401),
        ({}, {"value": []}, 400),
        ({}, {"value": {"clientState": STATE}}, 400),
        ({}, [1, 2], 400),
        ({}, None, 400),
        ({"validationToken": ""}, None, 400),
        ({"validationToken": "x" * 1025}, None, 400),
    ],
)
def test_endpoint__refuses_what_is_not_ours_and_records_nothing(
    factory, served, params, body, status
):
    answer = requests.post(served + PATH, params=params, json=body, timeout=10)

    assert answer.status_code == status
    assert answer.json()["errors"]
    with factory() as session:
        assert cursors.position(session, "bc:notified") is None


def test_endpoint__echoes_the_validation_token_as_plain_text(served):
    answer = requests.post(served + PATH, params={"validationToken": "<b>abc</b>"}, timeout=10)

    assert answer.status_code == 200
    assert answer.text == "<b>abc</b>"
    assert answer.headers["Content-Type"].startswith("text/plain")


def test_endpoint__without_a_client_state_configured_refuses_everything(client):
    answer = client.post(PATH, json={"value": [{"clientState": STATE}]})

    assert answer.status_code == 401
    assert client.post(PATH + "?validationToken=abc").status_code == 401

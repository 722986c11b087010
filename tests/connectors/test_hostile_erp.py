"""An ERP answering what it should not: the pull stops with one clear error, stores nothing
half-way, and leaves its cursor where it was; the stand-in refuses hostile queries with 400."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from service.config import sap_settings
from service.connectors import cursors
from service.connectors.http import ErpError
from service.connectors.sap.connector import SapConnector
from service.connectors.sync import run_sync
from tests.connectors.conftest import connector


class Answer(BaseHTTPRequestHandler):
    body = b""
    content_type = "application/json"

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", self.content_type)
        self.end_headers()
        self.wfile.write(self.body)

    do_POST = do_GET  # a token endpoint answers the same

    def log_message(self, *args):
        pass


@pytest.fixture
def liar():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


def sap_at(server) -> SapConnector:
    env = {
        "SAP_BASE_URL": f"http://127.0.0.1:{server.server_port}",
        "SAP_USER": "U",
        "SAP_PASSWORD": "p-0123456789",
    }
    return SapConnector(sap_settings(env), sleep=lambda s: None)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>maintenance</html>", "not an OData V2 JSON answer"),
        (b'{"d": {"results": 5}}', "not an OData V2 collection"),
        (b'{"value": []}', "not an OData V2 JSON answer"),
        (
            b'{"d": {"results": [], "__next": "http://evil.example/steal"}}',
            "__next leads off the service",
        ),
    ],
)
def test_pull__a_malformed_answer_stops_with_one_error_and_stores_nothing(
    factory, liar, body, message
):
    Answer.body = body

    with pytest.raises(ErpError, match=message):
        run_sync(factory, sap_at(liar))

    with factory() as session:
        assert cursors.position(session, "sap") is None


@pytest.mark.parametrize(
    "body", [b"<html>maintenance</html>", b'["access_token"]', b'{"access_token": ""}']
)
def test_pull__a_token_endpoint_answering_no_token_is_one_error(factory, liar, body):
    Answer.body = body
    base = f"http://127.0.0.1:{liar.server_port}"
    env = {"SAP_BASE_URL": base, "SAP_CLIENT_ID": "c", "SAP_CLIENT_SECRET": "secret-0123456789",
           "SAP_TOKEN_URL": f"{base}/oauth/token"}  # fmt: skip

    with pytest.raises(ErpError, match=r"^token endpoint: no access_token in the answer$"):
        run_sync(factory, SapConnector(sap_settings(env), sleep=lambda s: None))

    with factory() as session:
        assert cursors.position(session, "sap") is None


@pytest.mark.parametrize(
    "body",
    [
        b'{"d": {"results": [1, "x"]}}',
        b'{"d": {"results": [{"CompanyCode": "1010", "FiscalYear": "2026"}]}}',
        b'{"d": {"results": [{"CompanyCode": "1010", "FiscalYear": 2026, '
        b'"AccountingDocument": "1", "AccountingDocumentItem": "1"}]}}',
    ],
)
def test_pull__items_that_are_not_keyed_objects_stop_with_one_error(factory, liar, body):
    Answer.body = body

    with pytest.raises(ErpError, match=r"collection|without its"):
        run_sync(factory, sap_at(liar))

    with factory() as session:
        assert cursors.position(session, "sap") is None


@pytest.mark.parametrize(
    "query",
    [
        {"$filter": "Customer eq"},
        {"$filter": "Customer eq 'x' or"},
        {"$filter": "Nope eq 'x'"},
        {"$filter": "Customer eq datetime'yesterday'"},
        {"$filter": "Customer eq 'x'))"},
        {"$top": "-1"},
        {"$top": "many"},
        {"$orderby": "Nope"},
        {"$select": "Password"},
        {"$format": "xml"},
    ],
)
def test_stand_in__refuses_a_bad_query_with_an_odata_error(sap, query):
    answer = requests.get(
        f"{sap.base_url}/sap/opu/odata/sap/API_OPLACCTGDOCITEMCUBE_SRV/"
        "A_OperationalAcctgDocItemCube",
        params=query,
        auth=(sap.USER, sap.PASSWORD),
        timeout=10,
    )

    assert answer.status_code == 400
    assert answer.json()["error"]["message"]["value"]


def test_odata__follows_the_servers_next_links_to_the_end(sap, book):
    for n in range(2_500):
        book.add_customer(f"3{n:07d}", f"Customer {n}")
    service = connector(sap).partners

    rows = service.results("A_Customer", {"$select": "Customer"})

    assert len(rows) == 2_502  # the server's pages of 1,000, joined
    assert len({row["Customer"] for row in rows}) == 2_502

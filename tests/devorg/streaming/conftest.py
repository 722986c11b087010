"""Fixtures: a live devorg Streaming API on a real socket, and a raw-HTTP Bayeux client.

The tests talk HTTP to a threaded werkzeug server, as every real CometD client does, so
cookies, status codes, headers and held requests are the real thing.  The org under the
server has the package's real schema (read from ``sfdx/``), the real event bus and the real
OAuth session store.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from devorg.cometd import make_cometd_blueprint
from devorg.schema import Schema, load_schema
from flask import Flask
from werkzeug.serving import make_server

from tests.devorg.streaming.streaming_harness import REPO, Bayeux, StreamingOrg, build_org


@pytest.fixture(scope="session")
def schema() -> Schema:
    return load_schema(REPO / "sfdx")


@pytest.fixture
def org(schema: Schema) -> Iterator[StreamingOrg]:
    org = build_org(schema)
    app = Flask(__name__)
    app.register_blueprint(make_cometd_blueprint(org))
    server = make_server("localhost", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    org.base_url = f"http://localhost:{server.server_port}"
    yield org
    org.streaming.close()
    server.shutdown()
    thread.join(5)
    org.bus.close()


@pytest.fixture
def bayeux(org: StreamingOrg) -> Bayeux:
    return Bayeux(org.base_url, org.token)

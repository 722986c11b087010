"""Real Node clients, unmodified, against an in-process devorg over plain HTTP.

jsforce (REST and faye streaming with the Replay extension) and the official CometD
JavaScript client with cometd-nodejs-client each run one scenario script and print a JSON
line; these tests assert on what the clients saw.  Where a client and the wire facts
disagreed, the wire facts won in devorg and the comment at the assertion says so.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from devorg.cometd import streaming_for
from devorg.org import DevOrg

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
NODE = shutil.which("node")
MODULES = REPO / "node_modules"

pytestmark = pytest.mark.skipif(
    NODE is None
    or not all((MODULES / m).is_dir() for m in ("jsforce", "cometd", "cometd-nodejs-client")),
    reason="needs `node` and node_modules with jsforce, cometd, cometd-nodejs-client (npm ci)",
)


@pytest.fixture
def devorg() -> Iterator[DevOrg]:
    # One org per script: a -2 replay must see only this scenario's events.
    org = DevOrg()
    org.start(http_port=0)
    # Long polls of 1.5 s keep the scripts quick; faye and cometd follow the advised timeout.
    streaming_for(org).configure(hold_seconds=1.5)
    yield org
    org.stop()


def _run(script: str, devorg: DevOrg) -> dict:
    env = {
        **os.environ,
        "DEVORG_URL": devorg.http_url or "",
        "DEVORG_TOKEN": devorg.token_for(),
        "DEVORG_ADMIN_TOKEN": getattr(devorg, "admin_token", ""),
        "DEVORG_JS_TIMEOUT_MS": "40000",
    }
    proc = subprocess.run(
        [NODE or "node", str(HERE / script)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no result from {script}\nstdout:{proc.stdout}\nstderr:{proc.stderr}"
    result = json.loads(lines[-1])
    assert proc.returncode == 0 and result["ok"], f"{script} failed: {result}\n{proc.stderr}"
    return result


def test_jsforce__rest_and_streaming_with_replay(devorg: DevOrg):
    result = _run("jsforce_conformance.cjs", devorg)
    rest = result["rest"]
    assert rest["upsertCreated"] is True and rest["upsertUpdated"] is True
    assert rest["totalSize"] == 1
    assert rest["query"][0]["Credit_Status__c"] == "WATCH"
    # Platform-event publish result: OPERATION_ENQUEUED carrying the EventUuid.
    publish = result["publishResult"]
    assert publish["success"] is True
    assert publish["errors"][0]["statusCode"] == "OPERATION_ENQUEUED"
    reasons = [e["reason"] for e in result["events"]]
    assert reasons[:2] == ["before subscribe", "after subscribe"]
    assert result["events"][0]["uuid"] == publish["errors"][0]["message"]
    assert result["events"][0]["replayId"] < result["events"][1]["replayId"]
    header = result["cdc"]["header"]
    assert header["entityName"] == "Account"
    assert "Credit_Status__c" in header["changedFields"]
    assert result["cdc"]["payload"]["Credit_Status__c"] == "HOLD"


def test_cometd_js__replay_and_recovery_from_unknown_client(devorg: DevOrg):
    result = _run("cometd_conformance.mjs", devorg)
    assert [e["reason"] for e in result["events"]] == ["retained 1", "retained 2", "after drop"]
    assert [e["uuid"] for e in result["events"]] == result["uuids"]
    # First subscribe asked for -2; after the re-handshake it resumed from the last id seen.
    assert result["subscribeReplays"][0] == -2
    assert result["subscribeReplays"][1] == result["events"][1]["replayId"]
    assert "403::Unknown client" in result["connectErrors"]
    assert result["handshakes"] == 2

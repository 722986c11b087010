"""``credit-control demo`` (``make run``) stops cleanly on SIGTERM and SIGINT, exit status 0.

A process manager, ``timeout`` or ``kill`` sends SIGTERM; a terminal sends SIGINT. Either way the
demo stops its web server, its worker and its local org, and exits 0 within seconds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

READY = "Ctrl-C to stop"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_demo__stops_cleanly_on_a_signal(tmp_path, signum):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    out = tmp_path / "demo.out"
    with out.open("w") as stdout:
        demo = subprocess.Popen(
            [sys.executable, "-c", "from service.cli import main; main()", "demo", "--port", "0"],
            cwd=tmp_path,
            env=env,
            stdout=stdout,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 180  # a cold start on a loaded 2-core machine
        while READY not in out.read_text():
            assert demo.poll() is None, out.read_text()[-3000:]
            assert time.monotonic() < deadline, out.read_text()[-3000:]
            time.sleep(0.2)

        demo.send_signal(signum)
        started = time.monotonic()
        status = demo.wait(timeout=30)
        took = time.monotonic() - started
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()

    assert status == 0, out.read_text()[-3000:]
    assert took < 15
    assert "Traceback" not in out.read_text()

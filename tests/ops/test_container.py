"""The container image: the Dockerfile and compose.yaml run what the Procfile runs, and, where
a container engine works, the built image answers /healthz and a signed feed.

This machine has no working engine (a Docker client without a daemon, no Podman) and cannot
download base images (only PyPI, npm and Debian's archive are reachable), so the build test
skips here saying which; it runs wherever ``podman info`` or ``docker info`` answers and the
base image can be had.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
import yaml

from tests.conftest import FEED_SECRET, TOKEN, load_fixture, signed_headers

ROOT = Path(__file__).resolve().parents[2]
PROCFILE = dict(
    line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if ":" in line
)
BASE_IMAGE = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", (ROOT / "Dockerfile").read_text(), re.M)[1]


def _procfile(name: str) -> list[str]:
    return [part.strip("'") for part in PROCFILE[name].split()]


def test_dockerfile__runs_the_procfile_web_command_as_a_non_root_user_with_a_health_check():
    dockerfile = (ROOT / "Dockerfile").read_text()
    final_stage = dockerfile.rsplit("\nFROM ", 1)[1]

    cmd = json.loads(re.search(r"^CMD (\[.*\])$", final_stage, re.M)[1])
    assert cmd == _procfile("web")
    user = re.search(r"^USER (\S+)$", final_stage, re.M)[1]
    assert user.split(":")[0] not in ("0", "root")
    assert "HEALTHCHECK" in final_stage and "/healthz" in final_stage
    assert dockerfile.count("\nFROM ") == 2, "multi-stage: a build stage and a slim run stage"
    assert "slim" in BASE_IMAGE


def test_compose__release_web_and_worker_are_the_procfile_commands_on_postgresql():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]

    assert services["release"]["command"] == _procfile("release")
    assert services["worker"]["command"] == _procfile("worker")
    assert "command" not in services["web"]  # the image's CMD: the Procfile's web line
    assert services["db"]["image"].startswith("postgres:")
    for name in ("release", "web", "worker"):
        url = services[name]["environment"]["DATABASE_URL"]
        assert url.startswith("postgresql+psycopg://") and "@db:5432/" in url
    assert services["web"]["depends_on"]["release"]["condition"] == "service_completed_successfully"


def test_dockerignore__keeps_secrets_and_local_state_out_of_the_build_context():
    ignore = (ROOT / ".dockerignore").read_text().splitlines()

    included = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    assert "*" in ignore, "everything is excluded unless named"
    assert included == {
        "requirements.txt", "pyproject.toml", "README.md", "service", "gunicorn.conf.py", "Procfile"
    }  # fmt: skip


def _engine() -> tuple[str | None, str]:
    """A container engine that answers, or None and why not."""
    reasons = []
    for name in ("podman", "docker"):
        path = shutil.which(name)
        if path is None:
            reasons.append(f"{name} is not installed")
            continue
        probe = subprocess.run(
            [path, "info"], capture_output=True, text=True, timeout=60, check=False
        )
        if probe.returncode == 0:
            return path, ""
        last = (probe.stderr.strip() or probe.stdout.strip()).splitlines()[-1:] or ["no output"]
        reasons.append(f"{name} does not work here ({last[0]})")
    return None, "; ".join(reasons)


@pytest.fixture(scope="module")
def image() -> str:
    engine, why = _engine()
    if engine is None:
        pytest.skip(
            f"no container engine works on this machine: {why}. The image is not built here "
            f"(nor could its base image {BASE_IMAGE} be downloaded: only PyPI, npm and Debian "
            "are reachable); hadolint still checks the Dockerfile in make test"
        )
    have_base = subprocess.run(
        [engine, "image", "inspect", BASE_IMAGE], capture_output=True, timeout=60, check=False
    )
    tag = f"credit-control-test:{uuid.uuid4().hex[:8]}"
    build = subprocess.run(
        [engine, "build", "--tag", tag, str(ROOT)],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if build.returncode != 0 and have_base.returncode != 0:
        pytest.skip(f"{engine} cannot get the base image {BASE_IMAGE}: {build.stderr[-300:]}")
    assert build.returncode == 0, build.stderr[-3000:]
    yield engine, tag
    subprocess.run([engine, "image", "rm", "--force", tag], capture_output=True, check=False)


@pytest.mark.slow
@pytest.mark.postgres
def test_image__migrates_then_answers_healthz_and_a_signed_feed(image, pg_schema_url):
    engine, tag = image
    if pg_schema_url is None:
        pytest.skip("PostgreSQL not reachable at 127.0.0.1:5432")
    env = {
        "DATABASE_URL": pg_schema_url,
        "FEED_SIGNING_SECRET": FEED_SECRET,
        "SERVICE_API_TOKENS": TOKEN,
        "PORT": "18765",
    }
    flags = ["--network", "host"] + [a for k, v in env.items() for a in ("--env", f"{k}={v}")]
    release = subprocess.run(
        [engine, "run", "--rm", *flags, tag, *_procfile("release")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert release.returncode == 0, release.stderr[-2000:]
    name = f"credit-control-web-{uuid.uuid4().hex[:8]}"
    subprocess.run([engine, "run", "--detach", "--name", name, *flags, tag], check=True)
    try:
        base = "http://127.0.0.1:18765"
        deadline = time.monotonic() + 120
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "the container's web process never answered"
            time.sleep(0.5)
        body = json.dumps(load_fixture("erp", "batch_small.json")).encode()
        feed = requests.post(
            f"{base}/api/v1/feeds/erp",
            data=body,
            headers=signed_headers(body, at=datetime.now(UTC)),
            timeout=30,
        )
        assert feed.status_code == 200, feed.text
        user = subprocess.run(
            [engine, "exec", name, "id", "-u"], capture_output=True, text=True, check=True
        )
        assert user.stdout.strip() != "0"
    finally:
        subprocess.run([engine, "rm", "--force", name], capture_output=True, check=False)

"""What a production install holds: the service without the local org, and every command that
does not need the org working without it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# The local org hidden as if it were not installed: ``import devorg`` fails, find_spec finds none.
WITHOUT_DEVORG = "import sys; sys.modules['devorg'] = None; "


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_DEVORG + code],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_wheel__holds_the_service_and_no_file_of_the_local_org(tmp_path):
    # Built from a copy of what the build reads, so the checkout gets no build/ folder.
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    for name in ("service", "devorg", "devstripe", "deverp"):
        shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(source)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    [wheel] = tmp_path.glob("credit_control-*.whl")
    names = zipfile.ZipFile(wheel).namelist()

    assert "service/app.py" in names and "service/assessments/reassess.py" in names
    assert "service/migrations/versions/0001_initial.py" in names
    assert not [n for n in names if "devorg" in n or "devstripe" in n or "deverp" in n]
    metadata = next(n for n in names if n.endswith("METADATA"))
    requires = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "trustme" not in requires


def test_without_the_local_org__the_app_and_the_worker_command_load():
    result = _python("import service.app; from service.cli import main; main(['worker', '--help'])")

    assert result.returncode == 0, result.stderr
    assert "Run the Salesforce sync" in result.stdout


def test_without_the_local_org__the_demo_commands_are_not_offered():
    result = _python("from service.cli import main; main(['--help'])")

    assert result.returncode == 0, result.stderr
    commands = result.stdout.split("Commands:")[1]
    assert "worker" in commands and "import" in commands
    assert "demo" not in commands and "devorg" not in commands


def test_without_the_local_erps__the_sync_command_loads():
    result = _python(
        "sys.modules['deverp'] = None; from service.cli import main; main(['sync', '--help'])"
    )

    assert result.returncode == 0, result.stderr
    assert "Pull customers, receivables and payments from an ERP" in result.stdout

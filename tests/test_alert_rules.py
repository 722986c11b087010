"""docs/alerts.yml: valid Prometheus rules, on figures /metrics really serves, each with a runbook.

``promtool`` comes from Debian's ``prometheus`` package (.ci/run installs it); where it is
missing the syntax check is skipped, saying so, and the other checks still run.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "docs" / "alerts.yml"
OPERATIONS = ROOT / "docs" / "operations.md"
METRIC = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")


def _rules() -> list[dict]:
    return [
        rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]
    ]


def test_alert_rules__pass_promtool():
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip(
            "promtool not found: apt-get install prometheus (Debian) to check docs/alerts.yml"
        )

    result = subprocess.run(
        [promtool, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(_rules())} rules found" in result.stdout


def test_alert_rules__use_only_metrics_the_service_serves(client, auth):
    client.get("/healthz")  # so the request counter has a sample
    served = client.get("/metrics", headers=auth).get_data(as_text=True)

    for rule in _rules():
        for name in METRIC.findall(rule["expr"]):
            assert f"\n{name}" in served or f"# TYPE {name} " in served, (rule["alert"], name)


def test_alert_rules__each_has_a_runbook_section_in_operations_md():
    headings = {
        line.removeprefix("### ").strip().lower()
        for line in OPERATIONS.read_text().splitlines()
        if line.startswith("### ")
    }

    for rule in _rules():
        anchor = rule["annotations"]["runbook"].split("#", 1)[1]
        assert anchor == rule["alert"].lower()
        assert anchor in headings, f"docs/operations.md has no '### {rule['alert']}'"

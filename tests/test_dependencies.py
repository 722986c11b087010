"""No known-vulnerable release of a dependency can be installed or is pinned.

Two guards, because one alone can pass without checking anything:

- ``ADVISORIES`` below, checked offline on every run: every lower bound in pyproject.toml (the
  service's dependencies, the dev extra, the build backend) and every pin in constraints.txt sits
  at or above the first release that fixed each advisory we know of. A new advisory is added to
  the table, and the test then says which bound or pin to raise.
- ``pip-audit`` over constraints.txt, against PyPI's vulnerability data, for advisories the table
  does not know yet. pip-audit itself reports "No known vulnerabilities found" and exits 0 when
  it could look up nothing at all; here a pin it could not audit is never taken as clean: the
  test is skipped with the count and the first reason, so the run's summary says the audit did
  not happen. ``make audit`` runs pip-audit strictly and fails instead (docs/reliability.md).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PIP_AUDIT = Path(sys.executable).with_name("pip-audit")

# (distribution, first release with the fix, advisory). Sources: the advisories' own pages.
ADVISORIES = [
    ("gunicorn", "22.0.0", "CVE-2024-1135: request smuggling, conflicting Transfer-Encoding"),
    ("gunicorn", "23.0.0", "CVE-2024-6827: TE.CL request smuggling"),
    ("requests", "2.32.0", "CVE-2024-35195: verify=False sticks to the connection pool"),
    ("requests", "2.32.4", "CVE-2024-47081: .netrc credentials sent to another host"),
    ("requests", "2.33.0", "CVE-2026-25645: insecure temporary file in extract_zipped_paths"),
    ("urllib3", "2.7.0", "CVE-2026-44431, CVE-2026-44432"),
    ("cryptography", "44.0.1", "CVE-2024-12797: vulnerable OpenSSL in the wheels"),
    ("cryptography", "46.0.5", "CVE-2026-26007: missing subgroup validation for SECT curves"),
    ("cryptography", "48.0.1", "GHSA-537c-gmf6-5ccf: vulnerable OpenSSL in the wheels"),
    ("cryptography", "50.0.0", "CVE-2026-69247: PKCS#7 decryption padding oracle"),
    ("pyjwt", "2.10.1", "CVE-2024-53861: issuer checked as a substring"),
    ("pyjwt", "2.12.0", "CVE-2026-32597"),
    ("pyjwt", "2.13.0", "CVE-2026-48522 to 48526: forged HS256 tokens with a public JWK, ..."),
    ("flask", "3.1.1", "CVE-2025-47278: signing key fallbacks used in the wrong order"),
    ("werkzeug", "3.0.6", "CVE-2024-49766, CVE-2024-49767: safe_join on Windows, form memory"),
    ("jinja2", "3.1.6", "CVE-2025-27516: sandbox escape through the attr filter"),
    ("marshmallow", "4.1.2", "CVE-2025-68480: Schema.load(many=True) denial of service"),
    ("python-json-logger", "3.3.0", "CVE-2025-27607: unclaimed dev dependency name"),
    ("idna", "3.7", "CVE-2024-3651: quadratic encode"),
    ("certifi", "2024.7.4", "CVE-2024-39689: GLOBALTRUST roots"),
    ("setuptools", "78.1.1", "CVE-2025-47273: path traversal in PackageIndex"),
]


def _fixed_in() -> dict[str, tuple[Version, list[str]]]:
    """For each distribution, the release that fixed all its known advisories, and which."""
    out: dict[str, tuple[Version, list[str]]] = {}
    for name, fixed, advisory in ADVISORIES:
        key = canonicalize_name(name)
        floor, seen = out.get(key, (Version("0"), []))
        out[key] = (max(floor, Version(fixed)), [*seen, advisory])
    return out


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    texts = [
        *project["build-system"]["requires"],
        *project["project"]["dependencies"],
        *(t for extra in project["project"]["optional-dependencies"].values() for t in extra),
    ]
    return [Requirement(t) for t in texts]


def _lower_bound(requirement: Requirement) -> Version | None:
    bounds = [Version(s.version) for s in requirement.specifier if s.operator in (">=", "==", "~=")]
    return max(bounds) if bounds else None


def _pins() -> dict[str, Version]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        name, _, version = line.strip().partition("==")
        if version:
            pins[canonicalize_name(name)] = Version(version)
    return pins


def test_declared_lower_bounds_exclude_known_vulnerable_releases():
    fixed_in = _fixed_in()
    too_low = []
    for requirement in _declared():
        known = fixed_in.get(canonicalize_name(requirement.name))
        if known is None:
            continue
        lower = _lower_bound(requirement)
        if lower is None or lower < known[0]:
            too_low.append(f"{requirement} admits releases before {known[0]}: {known[1]}")
    assert not too_low, "\n".join(too_low)


def test_pinned_versions_are_not_known_vulnerable():
    fixed_in = _fixed_in()
    vulnerable = [
        f"{name}=={pinned} is before {fixed_in[name][0]}: {fixed_in[name][1]}"
        for name, pinned in _pins().items()
        if name in fixed_in and pinned < fixed_in[name][0]
    ]
    assert not vulnerable, "\n".join(vulnerable)


def test_constraints_pin_every_declared_dependency():
    """Otherwise pip-audit over constraints.txt would not see what ``make venv`` installs."""
    pins = _pins()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    missing = [t for t in declared if canonicalize_name(Requirement(t).name) not in pins]
    assert not missing, f"not pinned in constraints.txt: {missing}"


def test_pip_audit_finds_no_vulnerability_in_the_pinned_set(tmp_path):
    report = tmp_path / "audit.json"
    done = subprocess.run(
        [
            str(PIP_AUDIT),
            "--requirement",
            str(ROOT / "constraints.txt"),
            # Every line is pinned: audit exactly these, without resolving in a scratch venv.
            "--no-deps",
            "--disable-pip",
            "--progress-spinner",
            "off",
            "--format",
            "json",
            "--output",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    if not report.exists():
        pytest.fail(f"pip-audit did not run (exit {done.returncode}):\n{done.stderr[-2000:]}")
    dependencies = json.loads(report.read_text())["dependencies"]
    found = [
        f"{d['name']}=={d['version']}: {v['id']} (fixed in {', '.join(v['fix_versions']) or '-'})"
        for d in dependencies
        for v in d.get("vulns", [])
    ]
    assert not found, "known vulnerabilities in constraints.txt:\n" + "\n".join(found)
    skipped = [d["skip_reason"] for d in dependencies if "skip_reason" in d]
    if skipped:
        pytest.skip(
            f"pip-audit could not audit {len(skipped)} of {len(dependencies)} pinned "
            f"distributions, so the pinned set is NOT audited (e.g. {skipped[0]}); "
            "the offline advisory table was checked; run `make audit` where PyPI's "
            "vulnerability data answers"
        )

"""What a Heroku-style platform builds and runs: requirements.txt, app.json, .python-version,
the Procfile. Checked offline, from the files a build reads."""

from __future__ import annotations

import importlib.util
import json
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from service.config import WEB_REQUIRED

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _script():
    spec = importlib.util.spec_from_file_location(
        "production_requirements", ROOT / "scripts" / "production_requirements.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _requirements() -> dict[str, str]:
    """requirements.txt as {canonical name: pinned version} (the service's own line aside)."""
    out = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and line != ".":
            requirement = Requirement(line)
            (specifier,) = requirement.specifier
            assert specifier.operator == "==", line
            out[canonicalize_name(requirement.name)] = specifier.version
    return out


def test_requirements_txt__is_generated_from_pyproject_and_constraints():
    assert (ROOT / "requirements.txt").read_text() == _script().render(), (
        "requirements.txt is out of date: run .venv/bin/python scripts/production_requirements.py"
    )


def test_requirements_txt__pins_every_runtime_dependency_as_constraints_does():
    pinned = _requirements()
    constraints = {
        canonicalize_name(Requirement(line).name): next(iter(Requirement(line).specifier)).version
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for spec in PYPROJECT["project"]["dependencies"]:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{name} is a dependency but not in requirements.txt"
        assert pinned[name] in requirement.specifier, f"{name}=={pinned[name]} breaks {spec}"
    assert "psycopg-binary" in pinned  # the extra psycopg[binary] asks for
    assert all(constraints[name] == version for name, version in pinned.items())
    # The service itself, installed last with the pins above.
    assert (ROOT / "requirements.txt").read_text().splitlines()[-1] == "."


def test_requirements_txt__holds_no_development_or_local_org_package():
    pinned = set(_requirements())
    development = {
        canonicalize_name(Requirement(spec).name)
        for spec in PYPROJECT["project"]["optional-dependencies"]["dev"]
    }
    development |= {"devorg", "trustme", "hypothesis", "schemathesis", "pip-audit", "pytest"}
    assert not pinned & development


def test_python_version__is_one_the_project_supports():
    version = (ROOT / ".python-version").read_text().strip()
    assert version == "3.11"
    assert f"{version}.0" in SpecifierSet(PYPROJECT["project"]["requires-python"])


def test_app_json__python_only_postgres_secrets_generated_and_the_procfile_processes():
    app = json.loads((ROOT / "app.json").read_text())
    procfile = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )

    # package.json at the root would make Heroku pick Node.js: the buildpack is named.
    assert app["buildpacks"] == [{"url": "heroku/python"}]
    assert [a["plan"].split(":")[0] for a in app["addons"]] == ["heroku-postgresql"]
    for name in WEB_REQUIRED:
        assert app["env"][name]["generator"] == "secret", name
    assert all(v.get("description") for v in app["env"].values())
    assert set(app["formation"]) == {"web", "worker"} == set(procfile) - {"release"}
    assert procfile["release"].strip() == "credit-control db upgrade"


def test_procfile__web_runs_gunicorn_with_its_config_and_no_second_access_log():
    web = next(
        line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:")
    )

    assert "-c gunicorn.conf.py" in web
    assert "--access-logfile" not in web

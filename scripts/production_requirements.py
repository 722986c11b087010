"""Write requirements.txt: the service's runtime dependencies, pinned from constraints.txt.

Heroku's Python buildpack (and any plain ``pip install -r requirements.txt``) installs exactly
this file. It holds what the ``web``, ``worker`` and ``release`` processes import: the
dependencies pyproject.toml declares for the service, followed through each installed
distribution's own requirements (extras included, e.g. ``psycopg[binary]``), each pinned to the
version in constraints.txt, then the service itself (``.``). Never the dev extra (pytest, ruff,
playwright, ...) or the local org (devorg): a production install has neither.

Environment markers are evaluated for the production platform: CPython on Linux, the Python
version in .python-version.

    .venv/bin/python scripts/production_requirements.py           # rewrite requirements.txt
    .venv/bin/python scripts/production_requirements.py --check   # exit 1 when out of date

Run it after changing pyproject.toml's dependencies or constraints.txt (``make venv`` first, so
the metadata read here is the pinned one). tests/test_deploy.py fails while the file is stale.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "requirements.txt"

HEADER = """\
# The service's runtime dependencies, pinned: what Heroku's Python buildpack installs.
# Generated from pyproject.toml and constraints.txt; do not edit. After changing either, run
#   .venv/bin/python scripts/production_requirements.py
# (tests/test_deploy.py fails while this file is out of date).
"""


def target_environment() -> dict[str, str]:
    """Marker values for the production platform: CPython on Linux, .python-version's Python."""
    version = (ROOT / ".python-version").read_text().strip()
    major_minor = ".".join(version.split(".")[:2])
    env = dict(default_environment())
    env.update(
        python_version=major_minor,
        python_full_version=version if version.count(".") == 2 else f"{major_minor}.0",
        sys_platform="linux",
        platform_system="Linux",
        os_name="posix",
        implementation_name="cpython",
        platform_python_implementation="CPython",
    )
    return env


def read_pins() -> dict[str, str]:
    """constraints.txt as {canonical name: 'Name==version'}."""
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            requirement = Requirement(line)
            pins[canonicalize_name(requirement.name)] = line
    return pins


def applies(requirement: Requirement, env: dict[str, str], extras: set[str]) -> bool:
    if requirement.marker is None:
        return True
    return any(requirement.marker.evaluate({**env, "extra": e}) for e in extras | {""})


def runtime_closure() -> list[str]:
    """Every distribution the service needs at run time, pinned, sorted by name."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = read_pins()
    env = target_environment()
    wanted: dict[str, set[str]] = {}  # canonical name -> extras asked for
    queue = [Requirement(spec) for spec in project["dependencies"]]
    while queue:
        requirement = queue.pop()
        name = canonicalize_name(requirement.name)
        extras = set(requirement.extras)
        if name in wanted and extras <= wanted[name]:
            continue
        if name not in pins:
            raise SystemExit(f"{requirement.name} is needed at run time but not in constraints.txt")
        wanted[name] = wanted.get(name, set()) | extras
        try:
            requires = metadata.distribution(requirement.name).requires or []
        except metadata.PackageNotFoundError:
            raise SystemExit(
                f"{requirement.name} is not installed here, so its own requirements cannot be "
                "read: run `make venv` first"
            ) from None
        for spec in requires:
            child = Requirement(spec)
            if applies(child, env, wanted[name]):
                queue.append(child)
    return [pins[name] for name in sorted(wanted)]


def render() -> str:
    return HEADER + "\n".join(runtime_closure()) + "\n# The service itself.\n.\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say whether it is up to date")
    args = parser.parse_args()
    text = render()
    if args.check:
        current = OUTPUT.read_text() if OUTPUT.exists() else ""
        if current != text:
            print(f"{OUTPUT.name} is out of date: run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT.name}: {text.count('==')} pinned distributions and the service")
    return 0


if __name__ == "__main__":
    sys.exit(main())

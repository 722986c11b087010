"""``npm run validate:package`` proves each package resolves with only its dependencies.

The script is run with Node on a copy of the project in which a cross-package reference is
planted: the data-model package (``sfdx/``) naming a tab that only the UI package holds must
fail, as ``sf package version create`` would; the untouched copy must pass.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(
    NODE is None or not (ROOT / "node_modules" / "@salesforce" / "source-deploy-retrieve").is_dir(),
    reason="needs node and `make node` (node_modules)",
)


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    for name in ("sfdx", "ui", "scripts"):
        shutil.copytree(ROOT / name, root / name, ignore=shutil.ignore_patterns("__tests__"))
    for name in ("sfdx-project.json", ".forceignore"):
        shutil.copy(ROOT / name, root / name)
    (root / "node_modules").symlink_to(ROOT / "node_modules")
    return root


def _validate(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [NODE, str(root / "scripts" / "validate-package.mjs")],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_both_packages_resolve_on_their_own_dependencies(tmp_path):
    result = _validate(_project(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "=== Package CreditControl (sfdx), resolved with no dependencies" in result.stdout
    assert "=== Package CreditControlUI (ui), resolved with CreditControl" in result.stdout


def test_the_data_model_may_not_refer_to_the_user_interface(tmp_path):
    root = _project(tmp_path)
    permset = root / "sfdx/main/default/permissionsets/Credit_Controller.permissionset-meta.xml"
    permset.write_text(
        permset.read_text().replace(
            "</PermissionSet>",
            "    <tabSettings><tab>Collections_Worklist</tab><visibility>Visible</visibility>"
            "</tabSettings>\n</PermissionSet>",
        )
    )
    result = _validate(root)
    assert result.returncode == 1
    assert "PermissionSet Credit_Controller: tab Collections_Worklist is not in the package" in (
        result.stderr
    )


def test_a_component_in_both_packages_fails(tmp_path):
    root = _project(tmp_path)
    name = "Credit_Hold_Override.customPermission-meta.xml"
    (root / "ui" / "customPermissions").mkdir()
    shutil.copy(
        root / "sfdx/main/default/customPermissions" / name, root / "ui/customPermissions" / name
    )
    result = _validate(root)
    assert result.returncode == 1
    assert "CustomPermission Credit_Hold_Override is in both CreditControl and CreditControlUI" in (
        result.stderr
    )

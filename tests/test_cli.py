"""The command line as an admin meets it: ``db upgrade``, config errors, commands of other parts."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from service import cli
from service.cli import main


def test_db_upgrade__migrates_a_fresh_sqlite_file(tmp_path, monkeypatch):
    path = tmp_path / "fresh" / "cc.sqlite3"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")

    first = CliRunner().invoke(main, ["db", "upgrade"])
    second = CliRunner().invoke(main, ["db", "upgrade"])

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0
    assert path.exists()


def test_db_upgrade__works_from_any_directory(tmp_path):
    url = f"sqlite:///{tmp_path / 'elsewhere.sqlite3'}"
    result = subprocess.run(
        [sys.executable, "-c", "from service.cli import main; main()", "db", "upgrade"],
        cwd=tmp_path,
        env={"DATABASE_URL": url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert "is at head" in result.stdout


def test_cli__malformed_setting_is_one_line_without_traceback(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "mysql://nope/x")

    result = CliRunner().invoke(main, ["db", "upgrade"])

    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: DATABASE_URL is malformed: expected a SQLAlchemy URL such as "
        "postgresql+psycopg://user@host/db or sqlite:///var/cc.db"
    ]
    assert "Traceback" not in result.output


def test_cli__a_missing_module_leaves_its_command_out_without_breaking_the_rest(monkeypatch):
    monkeypatch.setitem(cli.LAZY_COMMANDS, "ghost", ("service.no_such_module", "ghost_command"))

    help_result = CliRunner().invoke(main, ["--help"])
    ghost = CliRunner().invoke(main, ["ghost"])

    assert help_result.exit_code == 0
    assert "ghost" not in help_result.output
    assert "import" in help_result.output and "demo" in help_result.output
    assert ghost.exit_code == 2
    assert "No such command" in ghost.output


def test_demo__loads_the_book_and_prints_the_accounts(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    result = CliRunner().invoke(main, ["demo", "--no-serve"])

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(line.startswith("  demo token    demo-") for line in lines)
    table = [line for line in lines if line.startswith("C-")]
    assert len(table) == 50
    statuses = {line[32:38].strip() for line in table}
    assert {"OK", "WATCH", "HOLD"} <= statuses
    assert any("EUR" in line for line in table) and any("GBP" in line for line in table)
    assert (tmp_path / "var" / "demo.sqlite3").exists()

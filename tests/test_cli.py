"""The command line as an admin meets it: ``db upgrade``, config errors, commands of other parts."""

from __future__ import annotations

import ast
import importlib.util
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

from click.testing import CliRunner

import service.credit
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
        # Generous: a cold interpreter on a loaded 2-core machine can take over a minute.
        timeout=240,
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


def test_cli__lists_every_command_registered_in_one_place():
    result = CliRunner().invoke(main, ["--help"])

    assert result.exit_code == 0
    listed = {line.split()[0] for line in result.output.split("Commands:")[1].splitlines() if line}
    commands = {
        "assess",
        "customer",
        "db",
        "demo",
        "devorg",
        "dunning",
        "events",
        "export",
        "import",
        "outbox",
    }
    assert listed == commands | {"stream", "sync", "web", "worker"}


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


def test_assess__is_the_assessments_command_and_the_engine_has_no_cli():
    assert main.get_command(None, "assess").callback.__module__ == "service.assessments.commands"
    assert importlib.util.find_spec("service.credit.cli") is None


def test_credit_engine__imports_nothing_that_does_io():
    io_modules = {"sqlalchemy", "flask", "click", "requests", "psycopg", "service.db", "os"}
    for path in Path(service.credit.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top not in io_modules and name not in io_modules, f"{path.name}: {name}"
                assert not name.startswith("service.") or name.startswith("service.credit"), (
                    f"{path.name}: {name}"
                )


def test_assess__dry_run_on_the_demo_database(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(main, ["demo", "--no-serve"]).exit_code == 0
    database = tmp_path / "var" / "demo.sqlite3"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{database}")
    # Fold whatever the demo left in the WAL into the file first: a later connection's close
    # would fold it in anyway, and the file's bytes would change with nothing written.
    with closing(sqlite3.connect(database)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = database.read_bytes()

    result = CliRunner().invoke(main, ["assess", "--dry-run", "--all"])

    assert result.exit_code == 0, result.output
    summary = result.output.strip().splitlines()[-1]
    assert summary.startswith("dry run as of ") and summary.endswith("nothing written")
    counts = dict(
        part.rsplit(" ", 1) for part in summary.split(": ", 1)[1].split(";")[0].split(", ")
    )
    assert sum(int(n) for n in counts.values()) == 50 and {"OK", "HOLD"} <= set(counts)
    assert len([line for line in result.output.splitlines() if line.startswith("C-")]) == 50
    assert database.read_bytes() == before


def test_web__a_bad_credit_policy_file_stops_it_in_one_line(tmp_path, monkeypatch):
    policy = tmp_path / "policy.json"
    policy.write_text("{not json")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'w.sqlite3'}")
    monkeypatch.setenv("FEED_SIGNING_SECRET", "x" * 20)
    monkeypatch.setenv("SERVICE_API_TOKENS", "y" * 20)
    monkeypatch.setenv("CREDIT_POLICY_FILE", str(policy))

    result = CliRunner().invoke(main, ["web"])

    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: CREDIT_POLICY_FILE is malformed")


def test_assess__a_policy_file_that_is_not_json_is_one_line(tmp_path, monkeypatch):
    policy = tmp_path / "policy.json"
    policy.write_text("{not json")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'a.sqlite3'}")

    result = CliRunner().invoke(main, ["assess", "--dry-run", "--policy", str(policy)])

    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: CREDIT_POLICY_FILE is malformed: expected a readable, valid JSON credit policy "
        "(JSONDecodeError)"
    ]

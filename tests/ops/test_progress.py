"""Progress of long commands: a bar with rate and ETA on a terminal, one summary line otherwise."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from service.cli import main
from service.progress import progress

ERP = Path(__file__).resolve().parents[1] / "fixtures" / "erp"
FILES = [str(ERP / f"{kind}.csv") for kind in ("customers", "receivables", "payments")]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_not_a_terminal__nothing_while_running_and_one_summary_line():
    stream = io.StringIO()

    with progress("importing", total=1000, unit="rows", stream=stream) as bar:
        for _ in range(10):
            bar.advance(100)
        assert stream.getvalue() == ""

    (line,) = stream.getvalue().splitlines()
    assert line.startswith("importing: 1,000 rows in ")
    assert line.endswith(" rows/s)")


def test_terminal__a_bar_with_position_percent_and_rate():
    stream = Terminal()

    with progress("re-assessing", total=400, unit="customers", stream=stream) as bar:
        for _ in range(4):
            bar.advance(100)

    out = stream.getvalue()
    assert "re-assessing" in out
    assert "400/400" in out and "100%" in out
    assert "customers/s" in out
    assert out.rstrip().splitlines()[-1].startswith("re-assessing: 400 customers in ")


def test_terminal_without_a_total__counts_and_rate_in_place():
    stream = Terminal()

    with progress("reading", unit="lines", stream=stream) as bar:
        bar.advance(5)

    assert "\rreading: 5 lines" in stream.getvalue()


def test_a_failing_operation__still_says_how_far_it_got():
    stream = io.StringIO()

    with pytest.raises(RuntimeError), progress("importing", total=10, stream=stream) as bar:
        bar.advance(3)
        raise RuntimeError("database gone")

    assert stream.getvalue().startswith("importing: 3 rows in ")


def test_a_failure_before_any_progress__leaves_the_stage_to_its_own_error():
    stream = io.StringIO()

    with pytest.raises(OSError), progress("importing", total=10, stream=stream):
        raise OSError("cannot read the file")

    assert stream.getvalue() == ""


def test_quiet__writes_nothing(capsys):
    with progress("importing", total=10, quiet=True) as bar:
        bar.advance(10)

    assert capsys.readouterr() == ("", "")


def test_import_erp__one_summary_line_counting_every_row(db_url, runner):
    result = runner.invoke(main, ["import", "erp", *FILES])

    lines = [line for line in result.output.splitlines() if line.startswith("importing: ")]
    assert len(lines) == 1, result.output
    rows = sum(len(Path(f).read_text().splitlines()) - 1 for f in FILES)
    assert lines[0].startswith(f"importing: {rows:,} rows in ")
    assert "\r" not in result.output


def test_assess__one_summary_line_counting_every_customer(db_url, runner):
    runner.invoke(main, ["import", "erp", FILES[0]])

    result = runner.invoke(main, ["assess"])

    assert result.exit_code == 0, result.output
    customers = len(Path(FILES[0]).read_text().splitlines()) - 1
    assert f"re-assessing: {customers:,} customers in " in result.output


def test_import_erp_on_a_terminal__draws_a_bar(db_url, tmp_path):
    """The real command with its stderr on a pseudo-terminal, as a person running it sees it."""
    exe = Path(sys.executable).parent / "credit-control"
    leader, follower = pty.openpty()
    try:
        process = subprocess.run(
            [str(exe), "import", "erp", *FILES],
            env={**os.environ, "DATABASE_URL": db_url},
            stdout=subprocess.PIPE,
            stderr=follower,
            timeout=120,
            check=False,
        )
        os.close(follower)
        follower = None
        seen = b""
        while True:
            try:
                block = os.read(leader, 65536)
            except OSError:  # the terminal closed: everything has been read
                break
            if not block:
                break
            seen += block
    finally:
        if follower is not None:
            os.close(follower)
        os.close(leader)
    text = seen.decode()
    assert process.returncode in (0, 1), text  # 1: the fixtures hold rows meant to be rejected
    assert "100%" in text and "rows/s" in text
    assert "importing: " in text

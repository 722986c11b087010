"""Progress of a long command: a bar with rate and ETA on a terminal, one line otherwise.

Every long command (``import erp``, ``import bank``, ``assess``, ``dunning run``) reports the
same way::

    from service.progress import progress

    with progress("importing receivables", total=row_count, unit="rows") as bar:
        for chunk in chunks:
            ...
            bar.advance(len(chunk))

- On a terminal (stderr is a TTY), click's progress bar: position, percentage, ETA, and the
  rate in the bar's unit per second. Without a ``total`` (not known up front), one line that
  counts and shows the rate, rewritten in place.
- Otherwise (a log file, Heroku's log, a pipe), nothing while it runs and one summary line at
  the end: ``importing receivables: 1,000,000 rows in 58.2 s (17,182 rows/s)``. A process
  manager's log gets no flood of redraws, and the line still says how long it took.

Progress goes to stderr, so what a command prints on stdout stays machine-readable. ``advance``
is cheap (a redraw at most every 0.2 s), so it can be called per chunk or per row. ``set`` moves
to an absolute position (when the caller knows how far it is rather than how much it did).
``quiet=True`` turns it all off (``--quiet`` flags, tests).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

import click

REDRAW_SECONDS = 0.2


class Progress:
    """What a long command reports to; see the module's docstring."""

    def __init__(
        self, label: str, total: int | None, unit: str, stream: IO[str], terminal: bool
    ) -> None:
        self.label = label
        self.total = total
        self.unit = unit
        self.stream = stream
        self.terminal = terminal
        self.done = 0
        self.started = time.monotonic()
        self._drawn = 0.0
        self._bar = None
        if terminal and total:
            self._bar = click.progressbar(
                length=total,
                label=label,
                file=stream,
                show_eta=True,
                show_percent=True,
                show_pos=True,
                item_show_func=lambda _: self._rate_text(),
            )
            self._bar.__enter__()

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started

    @property
    def rate(self) -> float:
        seconds = self.seconds
        return self.done / seconds if seconds > 0 else 0.0

    def advance(self, n: int = 1) -> None:
        """``n`` more units done."""
        self.set(self.done + n)

    def set(self, done: int) -> None:
        """Done up to ``done`` units (a total known only later may be passed too)."""
        if self._bar is not None:
            step = min(done, self.total or done) - min(self.done, self.total or self.done)
            self.done = done
            if step > 0:
                self._bar.update(step)
            return
        self.done = done
        if self.terminal and time.monotonic() - self._drawn >= REDRAW_SECONDS:
            self._drawn = time.monotonic()
            self.stream.write(f"\r{self.label}: {self.done:,} {self.unit}, {self._rate_text()}")
            self.stream.flush()

    def summary(self) -> str:
        return (
            f"{self.label}: {self.done:,} {self.unit} in {self.seconds:.1f} s "
            f"({self.rate:,.0f} {self.unit}/s)"
        )

    def _rate_text(self) -> str:
        return f"{self.rate:,.0f} {self.unit}/s"

    def finish(self, failed: bool = False) -> None:
        """End the bar and write the summary; a failure before any progress writes nothing
        more than its own error will (a file that cannot be read says so in one line)."""
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
        elif self.terminal and self._drawn:
            self.stream.write("\r")
        if failed and not self.done:
            self.stream.flush()
            return
        self.stream.write(self.summary() + "\n")
        self.stream.flush()


class _Silent(Progress):
    def __init__(self) -> None:
        super().__init__("", None, "", sys.stderr, terminal=False)

    def set(self, done: int) -> None:
        self.done = done

    def finish(self, failed: bool = False) -> None:
        pass


@contextmanager
def progress(
    label: str,
    total: int | None = None,
    *,
    unit: str = "rows",
    stream: IO[str] | None = None,
    quiet: bool = False,
) -> Iterator[Progress]:
    """Report a long operation's progress (see the module's docstring); a summary at the end.

    The summary line is written when the block ends, also when it raises after some progress
    (so a stopped import says how far it got); a failure before any progress leaves the stage
    to its own error line.
    """
    if quiet:
        yield _Silent()
        return
    stream = stream or sys.stderr
    terminal = bool(getattr(stream, "isatty", lambda: False)())
    reporter = Progress(label, total, unit, stream, terminal)
    try:
        yield reporter
    except BaseException:
        reporter.finish(failed=True)
        raise
    reporter.finish()

"""Rejected rows set aside on disk while a file is imported in shares, then read back in order.

Each process importing a share of a file (``service.feeds.importer``) writes its rejected rows
here, a chunk at a time; once the file is done, the shares are merged by chunk number so the
report lists rejections in file order, as a one-process import does. On disk rather than in
memory: a file of a million bad rows must not hold a million reports in RAM, nor send them
through a pipe. The files are our own temporary files, written and read by this module, so
pickle is safe here.
"""

from __future__ import annotations

import heapq
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class Spool:
    """An append-only file of ``(chunk number, [rejected, ...])`` records."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle = path.open("wb")

    def add(self, number: int, rejected: list[Any]) -> None:
        if rejected:
            pickle.dump((number, rejected), self._handle, protocol=pickle.HIGHEST_PROTOCOL)

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _records(path: Path) -> Iterator[tuple[int, list[Any]]]:
    with path.open("rb") as handle:
        while True:
            try:
                yield pickle.load(handle)  # noqa: S301 (our own file: see the docstring)
            except EOFError:
                return


def merged(paths: list[Path]) -> Iterator[Any]:
    """Every spooled item of every file, in chunk order (each file is in chunk order)."""
    for _, items in heapq.merge(*(_records(path) for path in paths), key=lambda r: r[0]):
        yield from items

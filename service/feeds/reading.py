"""Reading the import's files: CSV or JSON rows, parsed and validated, in chunks. No database.

The import (``service.feeds.importer``) writes a chunk per transaction. This module turns files
into those chunks of validated rows, either here (``validated_chunks``) or in a child process
that runs ahead of the writer (``chunks_from_child``): parsing and validating are pure Python,
about a fifth of a big import's time, and a second process does them on the second core while
the first waits on the database. A thread would not do: measured, the GIL made the import 15%
slower than no read-ahead at all. The child reads the files in order and the writer writes the
chunks in that order, so the outcome is the one process's.

The child hands its work over in pieces of ``PIECE_ROWS`` rows rather than whole chunks, so it
never holds a chunk's raw and validated rows at once (its peak is ~40 MB, not ~150); the
writer puts the pieces back together into chunks. This module imports no SQLAlchemy, so the
child starts small.

CSV: one file per kind, the header naming the feed's fields. The kind is detected from the header
(``received_at`` → payments, ``due_date`` → receivables, else customers) or given. A payment's
``applied_to`` is written ``<receivable id>:<amount>`` pairs joined by ``;``
(e.g. ``INV-1:100.00;INV-2:25.50``). JSON: the feed's document shape, read whole (feed-sized).
"""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import pickle
import queue
import signal
import threading
import traceback
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.errors import FieldError
from service.feeds.schemas import KINDS, loader

ORDER = {"customers": 0, "receivables": 1, "payments": 2}
# Rows the reading process validates and hands over at a time.
PIECE_ROWS = 2_000
# Pieces it may have ready before the writer takes them: enough to never keep the writer
# waiting between two chunks, few enough to keep memory flat.
PIECES_AHEAD = 20
_INTEGER_FIELDS = {"payment_terms_days"}


class ImportReadError(Exception):
    """The import cannot read its files: one is not UTF-8, not JSON, not a list of rows; or the
    reading process was killed. The message names the file (or the exit code) and what to do."""


@dataclass(frozen=True, slots=True)
class Chunk:
    """Rows of one kind, validated; one write transaction's worth.

    ``loaded[i]`` is None where row ``i`` is invalid; ``errors`` say why, their paths counting
    from the chunk's first row (``receivables[3].due_date``).
    """

    kind: str
    path: Path
    start: int  # how many rows of this kind the file held before this chunk
    lines: list[int] | None  # CSV: the line each row ends on; None for JSON
    loaded: list[dict | None]
    errors: list[FieldError]


@dataclass(frozen=True, slots=True)
class _Piece:
    """Consecutive rows of a chunk, as a ``Chunk`` of their own whose error paths (and
    ``loaded`` positions, once the pieces are joined) count from the chunk's first row."""

    part: Chunk
    last: bool  # the chunk ends with this piece


def detect_kind(header: list[str]) -> str:
    names = set(header)
    if "received_at" in names:
        return "payments"
    if "due_date" in names:
        return "receivables"
    return "customers"


def csv_row(raw: dict[str, str]) -> dict[str, Any]:
    """A CSV record in the feed's JSON shape: blanks are absent, numbers and lists parsed."""
    row: dict[str, Any] = {}
    for key, value in raw.items():
        if key is None:  # more cells than header names
            row["_extra_cells"] = value
            continue
        if value is None or value == "":
            continue
        if key in _INTEGER_FIELDS and value.isdigit():
            row[key] = int(value)
        elif key == "applied_to":
            row[key] = [_allocation(part) for part in value.split(";") if part.strip()]
        else:
            row[key] = value
    return row


def _allocation(text: str) -> dict[str, str]:
    receivable, sep, amount = text.strip().rpartition(":")
    return {"receivable": receivable, "amount": amount} if sep else {"receivable": text.strip()}


def csv_header(path: Path) -> list[str]:
    with _reading(path):
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return next(csv.reader(handle), [])


def plan(paths: list[Path], kind: str | None) -> list[tuple[str, Path]]:
    """Which kind each file holds, customers first so the others can refer to them."""
    planned = []
    for path in paths:
        if path.suffix.lower() == ".json":
            planned.append(("json", path))
        else:
            planned.append((kind or detect_kind(csv_header(path)), path))
    return sorted(planned, key=lambda p: ORDER.get(p[0], -1))


def validated_chunks(planned: list[tuple[str, Path]], chunk_size: int) -> Iterator[Chunk]:
    """Every planned file's rows in chunks of ``chunk_size``, validated, in this process."""
    return _assembled(_pieces(planned, chunk_size, chunk_size))


def chunks_from_child(planned: list[tuple[str, Path]], chunk_size: int) -> Iterator[Chunk]:
    """``validated_chunks``, computed by a child process running ahead of the caller.

    The child's exception is raised here, its traceback attached as a note. Leaving the loop
    early (closing this generator, or an exception in the caller's loop) stops the child.

    A pipe of our own rather than a ``multiprocessing.Queue``: this process closes its copy of
    the sending end, so a child killed halfway through a message is an end of file here. With a
    queue (which keeps both ends in both processes) the reader waited forever for the rest.
    """
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited connections
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=_child_main,
        args=(planned, chunk_size, sender),
        name="import-reader",
        daemon=True,
    )
    child.start()
    sender.close()
    try:
        yield from _assembled(_received(receiver, child))
        child.join()
    finally:
        if child.is_alive():
            child.terminate()
            child.join()
        receiver.close()


def _received(receiver: Any, child: Any) -> Iterator[_Piece]:
    while True:
        try:
            what, value = receiver.recv()
        except (EOFError, OSError):  # gone without a word, maybe mid-message: OOM, kill -9
            child.join(5)
            raise ImportReadError(
                f"the import's reading process stopped (exit code {child.exitcode}); "
                "the chunks before it are stored: import again to finish "
                "(rows not newer than what is stored are ignored)"
            ) from None
        if what == "done":
            return
        if what == "error":
            raise value
        yield value


def _child_main(planned: list[tuple[str, Path]], chunk_size: int, sender: Any) -> None:
    """The reading process: every piece, then ``done``; or the error that stopped it.

    Pieces are sent by a thread from a queue of ``PIECES_AHEAD``, so reading runs ahead while
    the writer is busy; the pipe itself holds less than one piece.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the writer's: it stops us
    ready: queue.Queue[tuple[str, Any] | None] = queue.Queue(maxsize=PIECES_AHEAD)
    sending = threading.Thread(target=_send_all, args=(ready, sender), daemon=True)
    sending.start()
    try:
        for piece in _pieces(planned, chunk_size, PIECE_ROWS):
            ready.put(("piece", piece))
        ready.put(("done", None))
    except Exception as exc:
        if not isinstance(exc, ImportReadError):
            exc.add_note(f"in the import's reading process:\n{traceback.format_exc()}")
        try:
            pickle.dumps(exc)
        except Exception:
            exc = RuntimeError(f"{type(exc).__name__}: {exc}")
        ready.put(("error", exc))
    ready.put(None)
    sending.join()


def _send_all(ready: queue.Queue, sender: Any) -> None:
    try:
        while (message := ready.get()) is not None:
            sender.send(message)
        sender.close()
    except OSError:  # the writer is gone (killed): nobody to read for, and nothing to clean up
        os._exit(1)


def _assembled(pieces: Iterable[_Piece]) -> Iterator[Chunk]:
    """Chunks put back together from their pieces, in order."""
    parts: list[Chunk] = []
    for piece in pieces:
        parts.append(piece.part)
        if not piece.last:
            continue
        first = parts[0]
        if len(parts) == 1:
            yield first
        else:
            yield Chunk(
                first.kind,
                first.path,
                first.start,
                None if first.lines is None else [n for p in parts for n in p.lines or ()],
                [row for p in parts for row in p.loaded],
                [error for p in parts for error in p.errors],
            )
        parts = []


def _pieces(planned: list[tuple[str, Path]], chunk_size: int, piece_rows: int) -> Iterator[_Piece]:
    piece_rows = min(piece_rows, chunk_size)
    for kind, path in planned:
        if kind != "json":
            yield from _validated(kind, path, _csv_records(path), chunk_size, piece_rows)
            continue
        document = _json_document(path)
        for json_kind in KINDS:
            rows = document.get(json_kind) or []
            if not isinstance(rows, list):
                raise ImportReadError(f"{path}: {json_kind!r} must be a list of rows")
            numbered = ((None, row) for row in rows)
            yield from _validated(json_kind, path, numbered, chunk_size, piece_rows)


def _validated(
    kind: str,
    path: Path,
    numbered: Iterable[tuple[int | None, Any]],
    chunk_size: int,
    piece_rows: int,
) -> Iterator[_Piece]:
    """``(line, row)`` pairs validated in pieces; the last piece of each chunk says so."""
    check = loader(kind)
    start = 0  # rows of this kind before the current chunk
    offset = 0  # rows of the current chunk already in pieces
    lines: list[int | None] = []
    rows: list[Any] = []

    def piece(last: bool) -> _Piece:
        errors: list[FieldError] = []
        loaded = check.load_many(rows, kind, errors, offset)
        numbers = None if not lines or lines[0] is None else lines
        return _Piece(Chunk(kind, path, start, numbers, loaded, errors), last)

    for line, row in numbered:
        lines.append(line)
        rows.append(row)
        if len(rows) < piece_rows and offset + len(rows) < chunk_size:
            continue
        last = offset + len(rows) >= chunk_size
        yield piece(last)
        if last:
            start += offset + len(rows)
            offset = 0
        else:
            offset += len(rows)
        lines, rows = [], []
    if rows or offset:  # the file's last chunk, possibly ending in an empty piece
        yield piece(True)


def _csv_records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line, row) for each record; the line is where the record ends in the file."""
    with _reading(path):
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            for raw in reader:
                yield reader.line_num, csv_row(raw)


def _json_document(path: Path) -> dict[str, Any]:
    with _reading(path):
        document = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict):
        raise ImportReadError(f"{path}: expected a JSON object with customers, receivables...")
    return document


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Turns a file that cannot be read as text, CSV or JSON into one ``ImportReadError``."""
    try:
        yield
    except UnicodeDecodeError as error:
        raise ImportReadError(f"{path}: not UTF-8 text ({error.reason})") from error
    except json.JSONDecodeError as error:
        raise ImportReadError(f"{path}: not valid JSON: {error}") from error
    except csv.Error as error:
        raise ImportReadError(f"{path}: not readable as CSV: {error}") from error

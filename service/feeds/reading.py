"""Reading the import's files: CSV or JSON rows, parsed and validated, in chunks. No database.

The import (``service.feeds.importer``) writes a chunk per transaction; this module turns files
into those chunks of validated rows (``validated_chunks``), streaming CSV so that memory stays
flat whatever the file's size.

A file can be read in shares (``Share``): every other chunk, say, for one of two processes that
import it at once (``service.feeds.importer``). Each process reads the whole file, but only its
own chunks become rows and are validated; splitting the CSV text costs ~1 s a million rows.

Reading ahead in another process or a thread does not pay: handing validated rows across
(pickling Decimals, dates and datetimes) costs as much as validating them, and a thread contends
for the GIL (docs/adr/0004).

CSV: one file per kind, the header naming the feed's fields. The kind is detected from the header
(``received_at`` → payments, ``due_date`` → receivables, else customers) or given. A payment's
``applied_to`` is written ``<receivable id>:<amount>`` pairs joined by ``;``
(e.g. ``INV-1:100.00;INV-2:25.50``). JSON: the feed's document shape, read whole (feed-sized).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from itertools import islice
from pathlib import Path
from typing import Any

from service.errors import FieldError
from service.feeds.schemas import KINDS, loader

ORDER = {"customers": 0, "receivables": 1, "payments": 2}
_INTEGER_FIELDS = {"payment_terms_days"}


class ImportReadError(Exception):
    """A file the import cannot read at all: not UTF-8, not JSON, not a list of rows. The
    message names the file and what is wrong with it."""


@dataclass(frozen=True, slots=True)
class Share:
    """Chunks ``index``, ``index + of``, ``index + 2 * of``...: one process's part of a file."""

    index: int
    of: int

    def owns(self, number: int) -> bool:
        return number % self.of == self.index


@dataclass(frozen=True, slots=True)
class Chunk:
    """Rows of one kind, validated; one write transaction's worth.

    ``loaded[i]`` is None where row ``i`` is invalid; ``errors`` say why, their paths counting
    from the chunk's first row (``receivables[3].due_date``).
    """

    kind: str
    path: Path
    number: int  # the chunk's place in its file (and kind), counting from 0
    start: int  # how many rows of this kind the file held before this chunk
    lines: list[int] | None  # CSV: the line each row ends on; None for JSON
    loaded: list[dict | None]
    errors: list[FieldError]


def detect_kind(header: list[str]) -> str:
    names = set(header)
    if "received_at" in names:
        return "payments"
    if "due_date" in names:
        return "receivables"
    return "customers"


def csv_record(header: list[str], cells: list[str]) -> dict[str, Any]:
    """A CSV record in the feed's JSON shape: blanks are absent, numbers and lists parsed.

    Cells beyond the header are kept as ``_extra_cells`` (a row error: the row is shifted).
    A comprehension over the cells, then the few special columns: a million rows pass here.
    """
    row = {key: value for key, value in zip(header, cells, strict=False) if value}
    if len(cells) > len(header):
        row["_extra_cells"] = cells[len(header) :]
    for key in _INTEGER_FIELDS.intersection(row):
        if row[key].isdigit():
            row[key] = int(row[key])
    if "applied_to" in row:
        row["applied_to"] = [
            _allocation(part) for part in row["applied_to"].split(";") if part.strip()
        ]
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


def validated_chunks(
    planned: list[tuple[str, Path]], chunk_size: int, share: Share | None = None
) -> Iterator[Chunk]:
    """Every planned file's rows in chunks of ``chunk_size``, parsed and validated, in order.

    With a ``share``, only that share's chunks of each file (numbered per file and kind).
    """
    for kind, path in planned:
        if kind != "json":
            header, parts = _csv_parts(path, chunk_size)
            yield from _validated(kind, path, parts, partial(csv_record, header), share)
            continue
        document = _json_document(path)
        for json_kind in KINDS:
            rows = document.get(json_kind) or []
            if not isinstance(rows, list):
                raise ImportReadError(f"{path}: {json_kind!r} must be a list of rows")
            parts = _in_parts(((None, row) for row in rows), chunk_size)
            yield from _validated(json_kind, path, parts, lambda row: row, share)


def _validated(
    kind: str,
    path: Path,
    parts: Iterable[list[tuple[int | None, Any]]],
    as_row: Callable[[Any], Any],
    share: Share | None,
) -> Iterator[Chunk]:
    """Parts of ``(line, record)`` pairs (line None for JSON) made rows and validated."""
    check = loader(kind)
    start = 0
    for number, part in enumerate(parts):
        size = len(part)
        if share is None or share.owns(number):
            errors: list[FieldError] = []
            loaded = check.load_many([as_row(record) for _, record in part], kind, errors)
            lines = [line for line, _ in part]
            # The raw records are done with: not kept alive while the chunk is written (about a
            # tenth of an import process's memory).
            del part
            yield Chunk(
                kind, path, number, start, None if lines[0] is None else lines, loaded, errors
            )
        start += size


def _csv_parts(
    path: Path, chunk_size: int
) -> tuple[list[str], Iterator[list[tuple[int, list[str]]]]]:
    """The header, and the records in parts of ``chunk_size`` as (line, cells).

    The line is where the record ends in the file. Blank lines are no records (as for
    ``csv.DictReader``). Records stay lists of cells: a dict for every record, owned or not,
    would cost a tenth of the reading.
    """
    header = csv_header(path)

    def records() -> Iterator[tuple[int, list[str]]]:
        with _reading(path):
            with path.open(newline="", encoding="utf-8-sig") as handle:
                reader = csv.reader(handle)
                next(reader, None)
                yield from ((reader.line_num, cells) for cells in reader if cells)

    return header, _in_parts(records(), chunk_size)


def _in_parts(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    items = iter(items)
    while part := list(islice(items, size)):
        yield part


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

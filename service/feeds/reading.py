"""Reading the import's files: CSV or JSON rows, parsed and validated, in chunks. No database.

The import (``service.feeds.importer``) writes a chunk per transaction; this module turns files
into those chunks of validated rows (``validated_chunks``), streaming CSV so that memory stays
flat whatever the file's size.

Reading ahead in a second process was tried and measured, and left out. The child parsed and
validated while the writer wrote, but handing 20,000 validated rows across (pickling Decimals,
dates and datetimes) cost as much as validating them, and on this two-vCPU box the writer then
spent a quarter of its time waiting for the child: 1M rows were no faster on PostgreSQL
(76-88 s against 78-92 s) and slower on SQLite (77-84 s against 71-78 s). A thread was slower
still (the GIL): 18.5-19.8 s against 16.3 s for 200k rows on PostgreSQL.

CSV: one file per kind, the header naming the feed's fields. The kind is detected from the header
(``received_at`` → payments, ``due_date`` → receivables, else customers) or given. A payment's
``applied_to`` is written ``<receivable id>:<amount>`` pairs joined by ``;``
(e.g. ``INV-1:100.00;INV-2:25.50``). JSON: the feed's document shape, read whole (feed-sized).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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
    """Every planned file's rows in chunks of ``chunk_size``, parsed and validated, in order."""
    for kind, path in planned:
        if kind != "json":
            yield from _validated(kind, path, _csv_records(path), chunk_size)
            continue
        document = _json_document(path)
        for json_kind in KINDS:
            rows = document.get(json_kind) or []
            if not isinstance(rows, list):
                raise ImportReadError(f"{path}: {json_kind!r} must be a list of rows")
            yield from _validated(json_kind, path, ((None, row) for row in rows), chunk_size)


def _validated(
    kind: str, path: Path, numbered: Iterable[tuple[int | None, Any]], chunk_size: int
) -> Iterator[Chunk]:
    """``(line, row)`` pairs (line None for JSON) validated a chunk at a time."""
    check = loader(kind)
    numbered = iter(numbered)
    start = 0
    while part := list(islice(numbered, chunk_size)):
        errors: list[FieldError] = []
        loaded = check.load_many([row for _, row in part], kind, errors)
        lines = [line for line, _ in part]
        yield Chunk(kind, path, start, None if lines[0] is None else lines, loaded, errors)
        start += len(part)


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

"""Reading import files into validated chunks, here or in a child process running ahead."""

from __future__ import annotations

import csv
import json
import multiprocessing
from pathlib import Path

import pytest

from service.feeds.reading import (
    ImportReadError,
    _assembled,
    _pieces,
    _received,
    chunks_from_child,
    plan,
    validated_chunks,
)

HEADER = [
    "id",
    "customer",
    "type",
    "number",
    "issue_date",
    "due_date",
    "currency",
    "amount",
    "open_amount",
    "updated_at",
]


def receivables_csv(path: Path, rows: int, bad: dict[int, str]) -> Path:
    """``rows`` receivables; row ``i`` in ``bad`` gets that amount instead of a valid one."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for i in range(rows):
            amount = bad.get(i, "10.00")
            dates = ["2026-01-01", "2026-01-31"]
            version = "2026-03-01T00:00:00Z"
            writer.writerow(
                [f"R{i}", "C-100", "invoice", f"R{i}", *dates, "EUR", amount, "10.00", version]
            )
    return path


def summary(chunks):
    """What the writer uses of each chunk: lines, which rows are valid, the error paths."""
    return [
        (
            chunk.kind,
            chunk.start,
            chunk.lines,
            [row is not None for row in chunk.loaded],
            [(e.path, e.message) for e in chunk.errors],
        )
        for chunk in chunks
    ]


def test_pieces_put_back_together_are_the_chunks_read_whole(tmp_path):
    path = receivables_csv(tmp_path / "r.csv", 25, {4: "bad", 17: "12.345"})
    planned = plan([path], None)

    whole = list(validated_chunks(planned, 10))
    from_pieces = list(_assembled(_pieces(planned, 10, 3)))

    assert from_pieces == whole
    assert [(c.start, len(c.loaded)) for c in whole] == [(0, 10), (10, 10), (20, 5)]
    # Error paths count from the chunk's first row, whichever piece the row was read in.
    assert summary(whole)[1][4] == [
        ("receivables[7].amount", "EUR amounts have at most 2 decimal places.")
    ]
    assert whole[1].lines[7] == 19  # the header is line 1, row 17 is line 19


def test_pieces__a_file_ending_on_a_piece_boundary_closes_its_last_chunk(tmp_path):
    path = receivables_csv(tmp_path / "r.csv", 6, {})

    chunks = list(_assembled(_pieces(plan([path], None), 10, 3)))

    assert [(c.start, c.lines) for c in chunks] == [(0, [2, 3, 4, 5, 6, 7])]


def test_chunks_from_child__the_same_chunks_as_reading_here(tmp_path):
    path = receivables_csv(tmp_path / "r.csv", 25, {4: "bad", 17: "12.345"})
    document = tmp_path / "batch.json"
    document.write_text(
        json.dumps(
            {
                "customers": [{"number": "C-1", "name": "A", "currency": "EUR"}, {"number": 5}],
                "receivables": [],
            }
        )
    )
    planned = plan([path, document], None)

    assert list(chunks_from_child(planned, 4)) == list(validated_chunks(planned, 4))
    assert multiprocessing.active_children() == []


def test_chunks_from_child__closing_early_stops_the_child(tmp_path):
    path = receivables_csv(tmp_path / "r.csv", 50, {})
    chunks = chunks_from_child(plan([path], None), 4)

    assert len(next(chunks).loaded) == 4
    chunks.close()

    assert multiprocessing.active_children() == []


@pytest.mark.parametrize("read", [validated_chunks, chunks_from_child])
def test_a_file_that_is_not_utf8_is_one_clear_error(tmp_path, read):
    path = tmp_path / "r.csv"
    path.write_bytes(",".join(HEADER).encode() + b"\nR1,C-\xff\xfe\n")

    with pytest.raises(ImportReadError, match=r"r\.csv: not UTF-8 text"):
        list(read([("receivables", path)], 4))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"customers": [', "not valid JSON"),
        ('{"customers": {"number": "C-1"}}', "'customers' must be a list of rows"),
        ("[1, 2]", "expected a JSON object"),
    ],
)
def test_a_json_file_of_the_wrong_shape_is_one_clear_error(tmp_path, text, message):
    path = tmp_path / "batch.json"
    path.write_text(text)

    with pytest.raises(ImportReadError, match=message):
        list(validated_chunks(plan([path], None), 4))


def test_a_reader_killed_halfway_through_a_message_is_an_error_not_a_hang():
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_half_a_message, args=(sender,))
    child.start()
    sender.close()

    with pytest.raises(ImportReadError, match=r"reading process stopped \(exit code -9\)"):
        next(_received(receiver, child))
    receiver.close()


def _half_a_message(sender) -> None:
    """Start a message the size of a piece, then die as ``kill -9`` would."""
    import os
    import signal
    import struct

    os.write(sender.fileno(), struct.pack("!i", 300_000) + b"x" * 1_000)
    os.kill(os.getpid(), signal.SIGKILL)

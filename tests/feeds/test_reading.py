"""Reading import files into chunks of validated rows; a file it cannot read is one error."""

from __future__ import annotations

import json

import pytest

from service.feeds.reading import ImportReadError, Share, plan, validated_chunks
from tests.erp_files import RECEIVABLE_COLUMNS, receivables_csv


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


def test_validated_chunks__csv_in_chunks_with_lines_and_error_paths_per_chunk(tmp_path):
    path = receivables_csv(tmp_path / "r.csv", 25, bad={4: "bad", 17: "12.345"})

    chunks = list(validated_chunks(plan([path], None), 10))

    assert [(c.start, len(c.loaded)) for c in chunks] == [(0, 10), (10, 10), (20, 5)]
    assert summary(chunks)[1][3] == [True] * 7 + [False] + [True] * 2
    # Error paths count from the chunk's first row; lines from the file's first line.
    assert summary(chunks)[1][4] == [
        ("receivables[7].amount", "EUR amounts have at most 2 decimal places.")
    ]
    assert chunks[1].lines[7] == 19  # the header is line 1, row 17 is line 19
    assert [e.path for e in chunks[0].errors] == ["receivables[4].amount"]


def test_validated_chunks__a_share_is_every_other_chunk_numbered_as_in_the_whole_file(tmp_path):
    path = receivables_csv(tmp_path / "r.csv", 25, bad={14: "bad"})
    whole = summary(validated_chunks(plan([path], None), 4))

    odd = list(validated_chunks(plan([path], None), 4, Share(1, 2)))

    assert [c.number for c in odd] == [1, 3, 5]
    assert summary(odd) == whole[1::2]
    assert summary(odd)[1][4] == [
        ("receivables[2].amount", 'Must be a decimal string such as "1250.00".')
    ]


def test_validated_chunks__json_rows_in_chunks_know_where_they_start(tmp_path):
    path = tmp_path / "batch.json"
    customers = [{"number": f"C-{n}", "name": "A", "currency": "EUR"} for n in range(5)]
    customers[3]["currency"] = "EURO"
    path.write_text(json.dumps({"source": "erp-main", "customers": customers}))

    chunks = list(validated_chunks(plan([path], None), 2))

    assert [(c.kind, c.start, c.lines) for c in chunks] == [
        ("customers", 0, None),
        ("customers", 2, None),
        ("customers", 4, None),
    ]
    assert [e.path for e in chunks[1].errors] == ["customers[1].currency"]


def test_a_file_that_is_not_utf8_is_one_clear_error(tmp_path):
    path = tmp_path / "r.csv"
    path.write_bytes(",".join(RECEIVABLE_COLUMNS).encode() + b"\nR1,C-\xff\xfe\n")

    with pytest.raises(ImportReadError, match=r"r\.csv: not UTF-8 text"):
        list(validated_chunks([("receivables", path)], 4))


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

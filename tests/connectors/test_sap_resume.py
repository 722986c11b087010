"""A pull killed mid-way (SIGKILL) resumes after the last page it committed."""

from __future__ import annotations

from service.connectors import cursors
from service.connectors.sync import run_sync
from tests.connectors.conftest import connector
from tests.connectors.resume import kill_mid_pull, stored, uninterrupted


def test_sync__killed_after_a_page_resumes_from_its_cursor(
    db_url, factory, sap, sqlite_template, tmp_path
):
    sap.gate.delay = 0.3
    env = {**sap.basic_env(), "SAP_PAGE_SIZE": "2"}

    left = kill_mid_pull("sap", env, db_url, factory, part_way=lambda reached: bool(reached))

    assert left.get("after"), left  # part way through the day, after an item
    kept = stored(factory)
    assert 0 < len(kept["receivables"]) < 4
    asked = len(sap.gate.filters)
    sap.gate.delay = 0

    report = run_sync(factory, connector(sap, SAP_PAGE_SIZE="2"))

    # The resumed pull starts after the stored item, not at the beginning ...
    first = sap.gate.filters[asked]
    assert f"AccountingDocument eq '{left['after'][2]}'" in first
    assert "AccountingDocumentItem gt" in first
    assert report.counts.problems == []
    with factory() as session:
        assert cursors.position(session, "sap") == {"changed_on": "2026-03-10"}
    # ... and ends with what one pull stores: the credit memo, both payments and their
    # allocations, each once.
    everything = stored(factory)
    assert everything == uninterrupted(sqlite_template, tmp_path, connector(sap))
    assert len(everything["receivables"]) == 4 and len(everything["payments"]) == 2
    assert any(row[1] == "credit_note" for row in everything["receivables"])

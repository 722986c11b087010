"""The demo's SAP story: invoices arrive from the local SAP, a dispute goes back as a case."""

from __future__ import annotations

from datetime import date

from service.demo.erp import sap_story


def test_demo__invoices_arrive_from_sap_and_a_dispute_goes_back(factory):
    lines: list[str] = []

    sap = sap_story(factory, lines.append, date(2026, 3, 10))
    try:
        assert "  2 customers, 3 invoices and credit notes, 1 payment arrived" in lines
        assert any(
            line.startswith("  back to SAP: POST dispute case CC-")
            and "on document 1800000412 for 1190.00 EUR" in line
            for line in lines
        ), lines
        assert len(sap.book.case_writes) == 1
    finally:
        sap.stop()

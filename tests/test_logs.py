"""The service's log lines: WeasyPrint's per-PDF font notice is said once, other lines always."""

from __future__ import annotations

import logging

from service.logs import configure_logging

NOTICE = (
    'Using fontTools instead of HarfBuzz-Subset for font "DejaVu Sans". This will be '
    "unsupported in future versions of WeasyPrint."
)


def test_weasyprint_font_notice_once_other_warnings_every_time(caplog):
    configure_logging("INFO")
    caplog.set_level(logging.INFO)
    weasyprint = logging.getLogger("weasyprint")
    for _ in range(3):
        weasyprint.warning(NOTICE)
        weasyprint.warning("Ignored `display: flex` at 1:1, unknown property.")

    messages = [r.getMessage() for r in caplog.records if r.name == "weasyprint"]
    assert messages.count(NOTICE) <= 1  # once per process, whichever test rendered first
    assert messages.count("Ignored `display: flex` at 1:1, unknown property.") == 3

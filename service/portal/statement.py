"""The statement PDF: the pay page's open items rendered by WeasyPrint from an HTML template.

WeasyPrint needs Pango at run time (Debian: libpango-1.0-0, libpangoft2-1.0-0; see README).
"""

from __future__ import annotations

from flask import render_template

from service.portal.book import Page
from service.portal.texts import Words


def statement_pdf(page: Page, words: Words) -> bytes:
    # Imported here, not at the top: WeasyPrint and its font stack cost every process that
    # loads the app ~70 MB and a third of a second (the import's helper processes, the worker),
    # and only this download needs them.
    from weasyprint import HTML

    html = render_template("portal/statement.html", page=page, w=words)
    return HTML(string=html).write_pdf()

"""The customer pay page: ``/pay/<token>``, public, server-rendered (Jinja2), English and German.

``views`` answers the pages, ``book`` reads what the page shows (at request time, so a stale
link never shows or charges a stale amount), ``actions`` records what the customer did (a dispute,
a promise to pay) exactly as a collector's action would be, ``texts`` holds the words and the
Babel formatting, ``statement`` renders the statement PDF (WeasyPrint).
"""

"""Dunning: reminders with a pay link that go out by themselves and stop by themselves.

- ``rules``: the dunning policy of a segment (levels, pre-hold warning, business days).
- ``planning``: pure; which reminder each customer gets today.
- ``texts`` and ``render``: the message in the customer's language (Jinja2, Babel).
- ``queue``: the durable queue of messages (stored before sent, once per level and day).
- ``smtp`` and ``sender``: delivery over SMTP, retries, parking.
- ``run``: a dunning run over the book (plan, render, queue), ``commands`` the CLI.
"""

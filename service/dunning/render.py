"""A planned reminder as mail: subject, plain text and HTML, in the customer's language.

Jinja2 templates (``templates/message.html`` and ``.txt``) with the styles written inline,
because mail clients drop ``<style>`` blocks and classes (docs/adr/0010 says why no inliner
library). Words come from ``service.dunning.texts``; each level's template name picks its
subject and opening. The company's name, address and logo come from configuration.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from types import SimpleNamespace
from typing import NamedTuple

from jinja2 import Environment, PackageLoader, StrictUndefined, Template, select_autoescape

from service.dunning.planning import Reminder
from service.dunning.texts import TEMPLATES, TEXTS, Words, locale_of

ACCENT = {"friendly": "#2680c2", "reminder": "#de911d", "final": "#cf1124", "pre_hold": "#cf1124"}


@dataclass(frozen=True)
class Company:
    """Who the reminders come from (``COMPANY_NAME``, ``COMPANY_ADDRESS``, ``COMPANY_LOGO_URL``)."""

    name: str
    address: str = ""
    logo_url: str | None = None

    @functools.cached_property
    def address_lines(self) -> tuple[str, ...]:
        return tuple(p.strip() for p in self.address.replace("\n", ";").split(";") if p.strip())


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    language: str


@functools.cache
def _templates() -> tuple[Template, Template]:
    """The compiled HTML and text templates, loaded once: ``get_template`` checks the files
    for changes on every call, and a run renders one message per customer."""
    html, text = _environment()
    return html.get_template("message.html"), text.get_template("message.txt")


@functools.cache
def _environment() -> tuple[Environment, Environment]:
    html = Environment(
        loader=PackageLoader("service.dunning", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=False,
    )
    text = Environment(
        loader=PackageLoader("service.dunning", "templates"),
        autoescape=False,  # noqa: S701 - plain-text mail: HTML escaping would corrupt it
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return html, text


class _Line(NamedTuple):
    number: str
    due: str
    days_overdue: int
    level: int
    amount: str
    overdue_for: str


@functools.cache
def _labels(language: str) -> dict[str, str]:
    labels = dict(TEXTS["en"])
    labels.update(TEXTS[language])
    labels["due_lower"] = labels["due"].lower()
    return labels


@functools.cache
def _label_attributes(language: str) -> SimpleNamespace:
    """The labels as attributes: a template's ``L.invoice`` on a dict first tries (and fails)
    the attribute, then the item, and a message shows some twenty labels."""
    return SimpleNamespace(**_labels(language))


@functools.cache
def _words(language: str | None, default: str) -> Words:
    return Words(*locale_of(language, default))


def check_template(name: str) -> None:
    """Raise ``ValueError`` for a level template we have no words for."""
    if name not in TEMPLATES:
        raise ValueError(f"unknown reminder template {name!r}; known: {', '.join(TEMPLATES)}")


def render(
    reminder: Reminder,
    *,
    customer_name: str,
    language: str | None,
    default_language: str,
    company: Company,
    pay_link: str | None,
) -> Rendered:
    w = _words(language, default_language)
    template = reminder.level.template
    if reminder.pre_hold is not None and reminder.pre_hold.hold_on <= reminder.as_of:
        template = "on_hold"  # past the warning's days: the hold has started, say so
    total = w.money(reminder.total, reminder.currency)
    params: dict[str, object] = {"customer": reminder.customer, "total": total}
    if reminder.pre_hold is not None:
        params["hold_on"] = w.day(reminder.pre_hold.hold_on)
        params["amount"] = w.money(reminder.pre_hold.amount, reminder.currency)
    broken = None
    if reminder.broken_promise is not None:
        broken = w.t(
            "broken_promise",
            amount=w.money(reminder.broken_promise.amount, reminder.currency),
            date=w.day(reminder.broken_promise.promised_date),
        )
    subject = w.t(f"subject_{template}", **params)
    # Everything the templates show, formatted here: a call from a template costs several
    # times a call from Python, and a run renders 100,000 reminders.
    lines = [
        _Line(
            line.number,
            w.day(line.due_date),
            line.days_overdue,
            line.level,
            w.money(line.amount, reminder.currency),
            w.t("overdue_for", days=line.days_overdue),
        )
        for line in reminder.lines
    ]
    context = {
        "r": reminder,
        "lines": lines,
        "L": _label_attributes(w.language),
        "language": w.language,
        "greeting": w.t("greeting", name=customer_name),
        "no_link": w.t("no_link", customer=reminder.customer),
        "reference": w.t("reference", customer=reminder.customer),
        "subject": subject,
        "intro": w.t(f"intro_{template}", **params),
        "broken": broken,
        "total": total,
        "pay_link": pay_link,
        "company": company,
        "customer_name": customer_name,
        "accent": ACCENT.get(template, "#2680c2"),
    }
    html, text = _templates()
    return Rendered(
        subject=subject,
        text=text.render(context),
        html=html.render(context),
        language=w.language,
    )

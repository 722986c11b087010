"""Reading untrusted XML safely, and walking it by local name whatever the namespace.

The parser resolves no entities, loads no DTD, touches no network and keeps libxml2's limits on
depth and text size (``huge_tree`` off), so an entity bomb, an external entity or a document
nested thousands deep is refused, never expanded. A document that declares a DTD at all is
refused too: no bank statement has one. The text is decoded by ``service.bank.decoding`` first,
so a file that claims UTF-8 but is CP1252 is still read.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

from lxml import etree

from service.bank.statement import NotAStatement

_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
_DTD = re.compile(r"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
DTD_REFUSED = "the XML declares a DTD or entities, which no bank statement does"


def iter_xml(text: str, tags: tuple[str, ...]) -> Iterator[tuple[str, etree._Element]]:
    """``("start" | "end", element)`` events for the elements named ``tags`` (local names, any
    namespace); a file that is not well-formed XML is ``NotAStatement``. The caller clears what
    it has read, so a big file is never held whole."""
    if _DTD.search(text):
        raise NotAStatement(DTD_REFUSED)
    source = io.BytesIO(_DECLARATION.sub("", text, count=1).encode("utf-8"))
    events = etree.iterparse(
        source,
        events=("start", "end"),
        tag=["{*}" + tag for tag in tags],
        encoding="utf-8",
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        yield from events
    except etree.XMLSyntaxError as error:
        raise NotAStatement(f"the XML is not well-formed ({_first_line(error)})") from None
    except (ValueError, MemoryError, RecursionError) as error:
        raise NotAStatement(f"the XML cannot be read ({type(error).__name__})") from None


def local(element) -> str:
    """The element's name without its namespace ("" for anything that is not an element)."""
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]


def namespace(element) -> str:
    tag = element.tag
    return tag[1:].partition("}")[0] if isinstance(tag, str) and tag.startswith("{") else ""


def children(element, name: str) -> Iterator[etree._Element]:
    """Child elements called ``name`` in any namespace (lxml's ``{*}``, matched in C)."""
    return element.iterchildren("{*}" + name)


def find(element, *path: str):
    """The first element along ``path`` of local names, or None."""
    for name in path:
        if element is None:
            return None
        element = next(element.iterchildren("{*}" + name), None)
    return element


def text(element, *path: str) -> str | None:
    """The stripped text of the first element along ``path``; None when absent or empty."""
    found = find(element, *path)
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0][:200] if str(error) else type(error).__name__

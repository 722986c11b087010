"""Reading untrusted XML safely, and walking it by local name whatever the namespace.

The parser is the standard library's expat (``pyexpat``) with namespace processing, so every
element is known by its local name whatever its prefix or namespace. It builds a light tree
(an ``Element`` is a small list: local name, namespace, attributes, text, line, children) read
through ``find``, ``text``, ``children`` and ``attribute`` by local names; the caller removes
what it has read, so a big file is never held whole.

Hostile input is refused, never expanded or followed:

- a document that declares a DTD or an entity is refused (the text is searched for ``<!DOCTYPE``
  and ``<!ENTITY`` first, and the parser's own doctype and entity declaration handlers refuse
  too); parameter entities are never parsed and no external entity is ever read, so entity
  bombs and ``SYSTEM`` entities get nowhere;
- nesting deeper than ``MAX_DEPTH`` elements (libxml2's default, 256) is refused;
- one run of text longer than ``MAX_TEXT`` characters (libxml2's default, 10,000,000) is refused;
- anything not well-formed (including an undefined entity or an unbound prefix) is
  ``NotAStatement`` with expat's message; comments and processing instructions are skipped.

The text is decoded by ``service.bank.decoding`` first (so a file that claims UTF-8 but is CP1252
is still read) and handed to expat as UTF-8 whatever its declaration says.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from xml.parsers import expat

from service.bank.statement import NotAStatement

MAX_DEPTH = 256
MAX_TEXT = 10_000_000
# Bytes fed to the parser at a time: small, so the entries held unread (and seen by the cyclic
# collector) are a few, and each is freed young.
_CHUNK = 1 << 12
_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
_DTD = re.compile(r"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
DTD_REFUSED = "the XML declares a DTD or entities, which no bank statement does"


# An element is a list, the cheapest object Python makes (a big statement has millions):
#   [0] local name, [1] expat's "namespace}local" name, [2] attributes,
#   [3] text before its first child (None if none), [4] line of its start tag,
#   [5] child elements (None if none).
# The functions below read it; the handlers and look-ups index it directly, being the hot path.
Element = list


def iter_xml(text: str, tags: tuple[str, ...]) -> Iterator[tuple[str, Element, Element]]:
    """``("start" | "end", element, parent)`` for the elements named ``tags`` (local names, any
    namespace), in document order; the document element's parent is an empty element. At a
    "start" the element's content may not be read yet; at an "end" it is whole. A file that is
    not well-formed XML (or breaks a limit above) is ``NotAStatement``. The caller drops what it
    has read (``remove(parent, element)``), so the tree does not grow with the file."""
    if _DTD.search(text):
        raise NotAStatement(DTD_REFUSED)
    data = memoryview(text.encode("utf-8"))
    declaration = _DECLARATION.match(text)
    begin = len(declaration.group().encode("utf-8")) if declaration else 0
    events: list[tuple[str, Element, Element]] = []
    parser, close = _parser(frozenset(tags), events)
    try:
        for at in range(begin, len(data), _CHUNK):
            parser.Parse(data[at : at + _CHUNK], False)
            close()
            yield from events
            events.clear()
        parser.Parse(b"", True)
        close()
        yield from events
    except NotAStatement:
        raise
    except expat.ExpatError as error:
        raise NotAStatement(f"the XML is not well-formed ({_first_line(error)})") from None
    except (ValueError, MemoryError, RecursionError) as error:
        raise NotAStatement(f"the XML cannot be read ({type(error).__name__})") from None


def _parser(wanted: frozenset[str], events: list) -> tuple[expat.XMLParserType, Callable]:
    """An expat parser that builds the tree and records the events for ``wanted`` names, and
    the function that applies the end tags it has seen (called after each chunk).

    The handlers run once per element (millions for a big statement), so each does the least
    it can. An end tag only counts itself (``ends``, a list's own ``append``, no Python call);
    the next start tag or text closes that many elements first. The depth is checked where it
    can grow (at a first child), the text of an element is kept only before its first child,
    and the length of a run of text is counted where it grows.
    """
    # intern=None: names are not looked up in a dict of their own; the local-name table below
    # is the one look-up a start tag needs, and an end tag needs none.
    parser = expat.ParserCreate("utf-8", namespace_separator="}", intern=None)
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.buffer_text = True  # a run of text arrives in one call, not one per line or entity
    parser.buffer_size = 1 << 20
    stack: list[Element] = [["", "", {}, None, 0, None]]
    push = stack.append
    ends: list[str] = []  # end tags not yet applied to the stack
    watched: list[tuple[int, Element, Element]] = []  # open wanted elements: depth, it, parent
    local: dict[str, str] = {}  # expat's "namespace}local" -> "local"
    deepest = MAX_DEPTH
    tail = 0  # characters in the current run of text after a child element

    def close() -> None:
        """Apply the end tags seen since the last start tag or text."""
        nonlocal tail
        if ends:
            tail = 0  # text after an end tag is a new run
            del stack[len(stack) - len(ends) :]
            ends.clear()
        depth = len(stack)
        while watched and watched[-1][0] >= depth:
            _, element, parent = watched.pop()
            events.append(("end", element, parent))

    def start(name: str, attrib: dict[str, str]) -> None:
        if ends:
            close()
        try:
            tag = local[name]
        except KeyError:
            tag = local[name] = name.rpartition("}")[2]
        parent = stack[-1]
        if tag in wanted:
            element = [tag, name, attrib, None, parser.CurrentLineNumber, None]
            events.append(("start", element, parent))
            watched.append((len(stack), element, parent))
        else:
            element = [tag, name, attrib, None, 0, None]
        if parent[5] is not None:
            parent[5].append(element)
        else:  # a first child: the only way down a level, so the depth is checked here
            if len(stack) > deepest:
                raise NotAStatement(
                    f"the XML is nested deeper than {MAX_DEPTH} elements "
                    f"(line {parser.CurrentLineNumber})"
                )
            parent[5] = [element]
        push(element)

    def characters(data: str) -> None:
        nonlocal tail
        if ends:
            close()
        element = stack[-1]
        if element[5] is None:  # no child yet: the element's own text
            if element[3] is None:
                element[3] = data
                if len(data) > MAX_TEXT:
                    _too_long(parser)
            else:
                element[3] += data
                if len(element[3]) > MAX_TEXT:
                    _too_long(parser)
        else:  # after a child: not kept, only counted
            tail += len(data)
            if tail > MAX_TEXT:
                _too_long(parser)

    def refuse_dtd(*_args) -> None:
        raise NotAStatement(DTD_REFUSED)

    parser.StartElementHandler = start
    parser.EndElementHandler = ends.append
    parser.CharacterDataHandler = characters
    parser.StartDoctypeDeclHandler = refuse_dtd
    parser.EntityDeclHandler = refuse_dtd
    parser.ExternalEntityRefHandler = refuse_dtd
    return parser, close


def _too_long(parser) -> None:
    raise NotAStatement(
        f"the XML holds a text longer than {MAX_TEXT:,} characters "
        f"(line {parser.CurrentLineNumber}), which no bank statement does"
    )


def local_name(element: Element) -> str:
    """The element's local name."""
    return element[0]


def namespace(element: Element) -> str:
    """The element's namespace URI ("" for none)."""
    return element[1].rpartition("}")[0]


def attribute(element: Element | None, name: str) -> str | None:
    """An unprefixed attribute's value (a prefixed one is ``namespace}name``), or None."""
    return element[2].get(name) if element is not None else None


def sourceline(element: Element) -> int:
    """The line the element's start tag begins on, for the elements named to ``iter_xml`` (0
    for the others: working out a line costs a scan, and nothing reads theirs)."""
    return element[4]


def remove(parent: Element, child: Element) -> None:
    """Drop a child that has been read."""
    if parent[5] is not None:
        parent[5].remove(child)


def clear(element: Element) -> None:
    """Drop an element's children once read."""
    element[5] = None


def children(element: Element | None, name: str) -> list[Element]:
    """Child elements called ``name``, in document order."""
    if element is None or element[5] is None:
        return []
    return [child for child in element[5] if child[0] == name]


def find(element: Element | None, *path: str) -> Element | None:
    """The first element along ``path`` of local names, or None."""
    for name in path:
        if element is None or element[5] is None:
            return None
        for child in element[5]:
            if child[0] == name:
                element = child
                break
        else:
            return None
    return element


def text(element: Element | None, *path: str) -> str | None:
    """The stripped text of the first element along ``path`` (or of ``element`` itself); None
    when absent or empty."""
    if path:
        element = find(element, *path)
    if element is None or element[3] is None:
        return None
    return element[3].strip() or None


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0][:200] if str(error) else type(error).__name__

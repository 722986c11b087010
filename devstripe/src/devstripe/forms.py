"""Stripe's request encoding: ``metadata[k]=v`` and ``line_items[0][quantity]=1`` to nested data.

The Stripe libraries send parameters form-encoded with brackets for nesting (query string for
GET); this turns them back into the dicts and lists the API documents.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

_PART = re.compile(r"\[([^\]]*)\]")


def _keys(name: str) -> list[str]:
    head = name.split("[", 1)[0]
    return [head, *_PART.findall(name[len(head) :])]


def _listify(value: Any) -> Any:
    if isinstance(value, dict):
        fixed = {k: _listify(v) for k, v in value.items()}
        if fixed and all(k.isdigit() for k in fixed):
            return [fixed[k] for k in sorted(fixed, key=int)]
        return fixed
    return value


def decode(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Nested parameters from ``(name, value)`` pairs; numeric keys become lists."""
    out: dict[str, Any] = {}
    for name, value in pairs:
        keys = _keys(name)
        node = out
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        last = keys[-1]
        if last == "":  # expand[]=a&expand[]=b
            node.setdefault("", []).append(value)
        else:
            node[last] = value
    return _listify(_flatten_appends(out))


def _flatten_appends(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {""}:
            return value[""]
        return {k: _flatten_appends(v) for k, v in value.items()}
    return value

"""JSON request bodies with money as JSON numbers written exactly as their decimal strings.

ERP APIs (Business Central, NetSuite) take amounts as JSON numbers; ``json`` would write a
``Decimal`` only through float. Here each ``Decimal`` is written as its own text instead.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


def dumps(fields: dict[str, Any]) -> bytes:
    """A flat JSON object; ``Decimal`` values become numbers with their exact digits."""
    if any(isinstance(v, Decimal) and not v.is_finite() for v in fields.values()):
        raise ValueError("an amount that is not a finite number")
    parts = (
        f"{json.dumps(key)}: {str(value) if isinstance(value, Decimal) else json.dumps(value)}"
        for key, value in fields.items()
    )
    return ("{" + ", ".join(parts) + "}").encode()

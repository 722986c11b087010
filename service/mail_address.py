"""What the service accepts as one e-mail address to send to (ERP feeds, Salesforce Contacts).

Deliberately narrow: what a mail server takes without quoting, one address, no display name,
no header tricks (line breaks, commas, angle brackets).
"""

from __future__ import annotations

import re

MAX_LENGTH = 320
_EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})+"
)


def is_address(value: object) -> bool:
    """True for one plain address such as ``billing@example.com``."""
    return isinstance(value, str) and len(value) <= MAX_LENGTH and bool(_EMAIL.fullmatch(value))

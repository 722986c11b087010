"""``credit-control assess``: registered in ``service.cli`` under this module's name.

The engine package does no I/O, so the command itself lives with the database code in
``service.reassess``; this module only hands it over.
"""

from service.reassess import assess_command

__all__ = ["assess_command"]

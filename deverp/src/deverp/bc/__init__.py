"""The local Business Central: ``BcBook`` holds the data, ``DevBc`` serves it over HTTPS with
the Entra ID token endpoint msal uses."""

from deverp.bc.book import BcBook
from deverp.bc.server import DevBc

__all__ = ["BcBook", "DevBc"]

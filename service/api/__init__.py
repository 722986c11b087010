"""The HTTP API: health, accounts, auth (deny by default), the one error handler, request ids."""

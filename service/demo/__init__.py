"""The demo book and the ``demo`` command (``make run``)."""

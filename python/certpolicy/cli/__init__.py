"""The ``certpolicy`` command line and demo. It calls the library (the engine, the
revocation fetchers); it never has its own copy of what the library does."""

from certpolicy.cli._main import main

__all__ = ["main"]

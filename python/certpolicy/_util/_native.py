"""The one place that imports the Rust extension ``certpolicy._core``; every other module
reaches it through here.

Why one place: import-linter (grimp) sees only ``.py`` modules, so it records an import of
the extension as an import of the root package ``certpolicy``, which imports every layer.
The layers contract ignores exactly this one import (``pyproject.toml``); any other import
of the root package from inside it still fails the contract."""

import certpolicy._core as core
from certpolicy._core import Crl, RevokedEntry

__all__ = ["Crl", "RevokedEntry", "core"]

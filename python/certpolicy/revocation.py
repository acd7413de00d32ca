"""Revocation settings (DESIGN.md "Revocation").

CRL and OCSP checking land in later milestones. Until then a policy that enables revocation
gets no definitive answer, which is *unavailable*: ``on_unavailable="fail"`` (the default)
breaks the connection with :class:`RevocationUnavailableError`, ``"allow"`` lets it through
and logs a WARNING. Revocation never passes silently.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from certpolicy.errors import ConfigError

__all__ = ["METHODS", "Retry", "RevocationConfig"]

Method = Literal["ocsp_then_crl", "crl_then_ocsp", "ocsp", "crl"]
METHODS: Final = ("ocsp_then_crl", "crl_then_ocsp", "ocsp", "crl")


@dataclass(frozen=True, slots=True)
class Retry:
    """Retries of a failed fetch: exponential backoff with jitter, capped."""

    attempts: int = 3
    backoff: float = 0.5
    max_backoff: float = 30.0

    def __post_init__(self) -> None:
        if isinstance(self.attempts, bool) or not isinstance(self.attempts, int):
            raise ConfigError("Retry.attempts must be an integer")
        if self.attempts < 1:
            raise ConfigError(f"Retry.attempts must be >= 1, not {self.attempts}")
        if self.backoff < 0 or self.max_backoff < 0:
            raise ConfigError("Retry backoff values must be >= 0")


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "certpolicy"


@dataclass(frozen=True, slots=True)
class RevocationConfig:
    """How revocation is checked for policies that enable it."""

    method: Method = "ocsp_then_crl"
    depth: Literal["chain", "leaf"] = "chain"
    on_unavailable: Literal["fail", "allow"] = "fail"
    cache_dir: Path = field(default_factory=_default_cache_dir)
    timeout: float = 10.0
    retry: Retry = field(default_factory=Retry)
    max_crl_bytes: int = 100 * 1024 * 1024

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ConfigError(f"revocation method {self.method!r} is not one of {METHODS}")
        if self.depth not in ("chain", "leaf"):
            raise ConfigError(f"revocation depth {self.depth!r} is not 'chain' or 'leaf'")
        if self.on_unavailable not in ("fail", "allow"):
            raise ConfigError(f"on_unavailable {self.on_unavailable!r} is not 'fail' or 'allow'")
        if not self.timeout > 0:
            raise ConfigError(f"timeout must be > 0, not {self.timeout}")
        if not isinstance(self.retry, Retry):
            raise ConfigError("retry must be a certpolicy.Retry")
        if self.max_crl_bytes <= 0:
            raise ConfigError("max_crl_bytes must be > 0")
        object.__setattr__(self, "cache_dir", Path(self.cache_dir))

"""Revocation settings (DESIGN.md "Revocation"): the method order, depth, what to do when no
answer is to be had, caches and their bounds, timeouts, retries and the deadline of one
decision."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from certpolicy._util import MAX_CRL_BYTES, MAX_OCSP_RESPONSE_BYTES
from certpolicy.errors import ConfigError

__all__ = ["METHODS", "Method", "Retry", "RevocationConfig"]

Method = Literal["ocsp_then_crl", "crl_then_ocsp", "ocsp", "crl"]
METHODS: Final = ("ocsp_then_crl", "crl_then_ocsp", "ocsp", "crl")


def _require_number(settings: object, names: tuple[str, ...]) -> None:
    """Strict types (a file can say ``timeout = "10"``): each of ``names`` must be an int or
    a float, never a bool or a string."""
    for name in names:
        value = getattr(settings, name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            kind = type(settings).__name__
            raise ConfigError(f"{kind}.{name} must be a number, not {value!r}")


@dataclass(frozen=True, slots=True)
class Retry:
    """Retries of a failed fetch: exponential backoff with jitter, capped."""

    attempts: int = 3
    backoff: float = 0.5
    max_backoff: float = 30.0

    def __post_init__(self) -> None:
        if isinstance(self.attempts, bool) or not isinstance(self.attempts, int):
            raise ConfigError("Retry.attempts must be an integer")
        _require_number(self, ("backoff", "max_backoff"))
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
    # OCSP responses without nextUpdate are cached at most this long (seconds).
    ocsp_max_age: float = 300.0
    # CRLs are refreshed in the background this long before their nextUpdate (seconds),
    # but not before halfway through their validity.
    crl_refresh_margin: float = 3600.0
    # Downloads of one CRL URL are at least this far apart, except the first (seconds): the
    # wait after a failed download or refresh, and the floor for refresh scheduling.
    crl_min_refresh_interval: float = 60.0
    # OCSP requests carry a random nonce that the response must echo (RFC 6960 section
    # 4.4.1). Off by default: many responders serve pre-signed responses without nonces.
    ocsp_nonce: bool = False
    # The largest OCSP response accepted from a responder (bytes).
    max_ocsp_bytes: int = 256 * 1024
    # The CRLs kept in memory (DER plus index), and apart from them the OCSP answers kept in
    # memory, each stay within this many bytes; the least recently used go first.
    memory_cache_bytes: int = 64 * 1024 * 1024
    # The CRL disk cache (cache_dir/crl) and the OCSP disk cache (cache_dir/ocsp) each stay
    # within this many bytes; the least recently used entries are deleted first.
    disk_cache_bytes: int = 256 * 1024 * 1024
    # The most one revocation decision may take (seconds): every certificate of the path,
    # every URL, every retry, both methods. Past it the answer is "unavailable".
    deadline: float = 20.0

    def __post_init__(self) -> None:
        _require_number(
            self,
            (
                "timeout",
                "ocsp_max_age",
                "crl_refresh_margin",
                "crl_min_refresh_interval",
                "deadline",
            ),
        )
        if not isinstance(self.cache_dir, str | os.PathLike):
            raise ConfigError(f"cache_dir must be a path, not {self.cache_dir!r}")
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
        if isinstance(self.max_crl_bytes, bool) or not isinstance(self.max_crl_bytes, int):
            raise ConfigError("max_crl_bytes must be an integer")
        if not 0 < self.max_crl_bytes <= MAX_CRL_BYTES:
            raise ConfigError(
                f"max_crl_bytes must be in 1..{MAX_CRL_BYTES}, not {self.max_crl_bytes}"
            )
        if self.ocsp_max_age < 0:
            raise ConfigError("ocsp_max_age must be >= 0")
        if not self.crl_refresh_margin >= 0:
            raise ConfigError("crl_refresh_margin must be >= 0")
        if not self.crl_min_refresh_interval > 0:
            raise ConfigError("crl_min_refresh_interval must be > 0")
        if not isinstance(self.ocsp_nonce, bool):
            raise ConfigError("ocsp_nonce must be true or false")
        if isinstance(self.max_ocsp_bytes, bool) or not isinstance(self.max_ocsp_bytes, int):
            raise ConfigError("max_ocsp_bytes must be an integer")
        if not 0 < self.max_ocsp_bytes <= MAX_OCSP_RESPONSE_BYTES:
            raise ConfigError(
                f"max_ocsp_bytes must be in 1..{MAX_OCSP_RESPONSE_BYTES}, not {self.max_ocsp_bytes}"
            )
        for name in ("memory_cache_bytes", "disk_cache_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"RevocationConfig.{name} must be an integer, not {value!r}")
            if not value > 0:
                raise ConfigError(f"{name} must be > 0, not {value}")
        if not self.deadline > 0:  # also refuses NaN
            raise ConfigError(f"deadline must be > 0, not {self.deadline}")
        object.__setattr__(self, "cache_dir", Path(self.cache_dir))

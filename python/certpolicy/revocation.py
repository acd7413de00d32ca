"""Revocation checking (DESIGN.md "Revocation"): settings, and the orchestration of the
methods (OCSP, CRL) over a verified path.

For each certificate of the path (the anchor excluded; only the leaf with ``depth="leaf"``)
the methods are asked in the configured order. "revoked" from any valid source is final;
"good" ends the search for that certificate; "unknown" or "unavailable" falls through to the
next method. A certificate no method answers for definitively makes the path *unavailable*:
``on_unavailable="fail"`` (the default) breaks the connection with
:class:`RevocationUnavailableError`, ``"allow"`` lets it through and logs a WARNING.
Revocation never passes silently.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal, Protocol

from certpolicy.errors import ConfigError

__all__ = [
    "METHODS",
    "MethodAnswer",
    "PathAnswer",
    "Retry",
    "RevocationChecker",
    "RevocationConfig",
    "RevocationMethod",
    "default_methods",
]

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
        if not 0 < self.max_ocsp_bytes <= 1024 * 1024:
            raise ConfigError(f"max_ocsp_bytes must be in 1..1048576, not {self.max_ocsp_bytes}")
        object.__setattr__(self, "cache_dir", Path(self.cache_dir))


AnswerStatus = Literal["good", "revoked", "unknown", "unavailable"]


@dataclass(frozen=True, slots=True)
class MethodAnswer:
    """What one method said about one certificate.

    ``status``: "good" and "revoked" are definitive; "unknown" (the source does not know the
    certificate) and "unavailable" (no usable answer: unreachable, HTTP error, invalid or
    stale response, no URL in the certificate) fall through to the next method.
    """

    method: str
    status: AnswerStatus
    source: str
    detail: str
    revoked_at: dt.datetime | None = None
    reason: str | None = None

    def describe(self) -> str:
        """One phrase for messages: ``crl http://x/ca.crl: good``."""
        text = (
            f"{self.method} {self.source}: {self.status}"
            if self.source
            else (f"{self.method}: {self.status}")
        )
        return f"{text} ({self.detail})" if self.detail else text


class RevocationMethod(Protocol):
    """A revocation source: CRL or OCSP. Implementations never raise for network or data
    problems; they answer "unavailable" with the reason."""

    name: str

    def check(self, cert: bytes, issuer: bytes, *, at: dt.datetime | None) -> MethodAnswer: ...


@dataclass(frozen=True, slots=True)
class PathAnswer:
    """The verdict for a path: "good", "revoked" or "unavailable", with every answer."""

    status: Literal["good", "revoked", "unavailable"]
    answers: tuple[MethodAnswer, ...]
    subject: str | None = None
    serial: int | None = None
    revoked: MethodAnswer | None = None

    def detail(self) -> str:
        """The reason chain in words."""
        chain = "; ".join(a.describe() for a in self.answers) or "no method was asked"
        if self.status == "revoked" and self.revoked is not None:
            when = self.revoked.revoked_at.isoformat() if self.revoked.revoked_at else "?"
            serial = f"{self.serial:#x}" if self.serial is not None else "?"
            reason = self.revoked.reason or "unspecified"
            return (
                f'certificate "{self.subject}" (serial {serial}) was revoked at {when} '
                f"(reason: {reason}) according to {self.revoked.method} "
                f"{self.revoked.source}"
            )
        if self.status == "unavailable":
            return f'no definitive revocation status for certificate "{self.subject}": {chain}'
        return chain


_ORDER: Final[Mapping[str, tuple[str, ...]]] = {
    "ocsp_then_crl": ("ocsp", "crl"),
    "crl_then_ocsp": ("crl", "ocsp"),
    "ocsp": ("ocsp",),
    "crl": ("crl",),
}


class RevocationChecker:
    """Runs the configured methods over a path (leaf first, anchor last)."""

    def __init__(self, config: RevocationConfig, methods: Mapping[str, RevocationMethod]) -> None:
        self.config = config
        self.methods = dict(methods)

    def close(self) -> None:
        """Stops the methods' background work (CRL refresh threads)."""
        for method in self.methods.values():
            close = getattr(method, "close", None)
            if callable(close):
                close()

    def check_path(self, path: Sequence[bytes], *, at: dt.datetime | None = None) -> PathAnswer:
        """Checks every certificate of ``path`` that has an issuer in it (the anchor has
        none and is never checked); with ``depth="leaf"`` only the leaf."""
        from certpolicy.verify import cert_info

        answers: list[MethodAnswer] = []
        subjects = list(range(len(path) - 1))
        if self.config.depth == "leaf":
            subjects = subjects[:1]
        if not subjects:
            subject = cert_info(path[0])["subject"] if path else None
            missing = MethodAnswer("revocation", "unavailable", "", "no issuer certificate")
            return PathAnswer("unavailable", (missing,), subject)
        for index in subjects:
            cert, issuer = path[index], path[index + 1]
            info = cert_info(cert)
            definitive = False
            for name in _ORDER[self.config.method]:
                method = self.methods.get(name)
                if method is None:
                    answer = MethodAnswer(name, "unavailable", "", "not available in this version")
                else:
                    answer = method.check(cert, issuer, at=at)
                answers.append(answer)
                if answer.status == "revoked":
                    return PathAnswer(
                        "revoked", tuple(answers), info["subject"], info["serial"], answer
                    )
                if answer.status == "good":
                    definitive = True
                    break
            if not definitive:
                return PathAnswer("unavailable", tuple(answers), info["subject"], info["serial"])
        return PathAnswer("good", tuple(answers))


def default_methods(config: RevocationConfig) -> dict[str, RevocationMethod]:
    """The built-in CRL and OCSP methods for a configuration."""
    from certpolicy.crl import CrlChecker
    from certpolicy.ocsp import OcspChecker

    return {"crl": CrlChecker(config), "ocsp": OcspChecker(config)}

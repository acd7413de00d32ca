"""What revocation sources answer: one :class:`MethodAnswer` per method and certificate, one
:class:`PathAnswer` per verified path, and the :class:`RevocationMethod` protocol sources
implement."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal, Protocol

__all__ = ["AnswerStatus", "MethodAnswer", "PathAnswer", "RevocationMethod", "certificate_label"]

AnswerStatus = Literal["good", "revoked", "unknown", "unavailable"]


def certificate_label(subject: str, *, leaf: bool) -> str:
    """How answers name their certificate: ``leaf``, or ``CA "<subject>"``."""
    return "leaf" if leaf else f'CA "{subject}"'


@dataclass(frozen=True, slots=True)
class MethodAnswer:
    """What one method said about one certificate.

    ``status``: "good" and "revoked" are definitive; "unknown" (the source does not know the
    certificate) and "unavailable" (no usable answer: unreachable, HTTP error, invalid or
    stale response, no URL in the certificate) fall through to the next method.

    ``certificate`` names the certificate the answer is about: ``"leaf"`` (the first
    certificate of the path) or ``'CA "<subject, RFC 4514>"'``; ``depth`` is its position in
    the path (0 the leaf, 1 its issuer, ...). A method asked directly (not through a path
    check) sets ``certificate`` from the certificate's CA flag and leaves ``depth`` None.

    ``valid_until`` is when a "good" or "revoked" answer of a built-in method stops being
    current: the CRL's nextUpdate, or the end of the OCSP response's reuse (its nextUpdate
    plus the clock skew, or thisUpdate plus ``ocsp_max_age``); None when the source gives no
    end or the answer is not definitive.
    """

    method: str
    status: AnswerStatus
    source: str
    detail: str
    revoked_at: dt.datetime | None = None
    reason: str | None = None
    certificate: str = ""
    depth: int | None = None
    valid_until: dt.datetime | None = None

    def about(self, certificate: str, depth: int | None = None) -> MethodAnswer:
        """This answer, naming ``certificate`` (and ``depth``). (A direct copy: faster than
        ``dataclasses.replace`` on the path of every check.)"""
        return MethodAnswer(
            self.method,
            self.status,
            self.source,
            self.detail,
            self.revoked_at,
            self.reason,
            certificate,
            depth,
            self.valid_until,
        )

    @property
    def about_ca(self) -> bool:
        """Whether the answer is about a CA certificate of the path (not the leaf)."""
        if self.depth is not None:
            return self.depth > 0
        return self.certificate.startswith("CA ")

    def describe(self) -> str:
        """One phrase for messages: ``crl http://x/leaf.crl: good``, and for a CA
        ``crl http://x/ca.crl for CA "CN=Intermediate": good``."""
        head = f"{self.method} {self.source}" if self.source else self.method
        if self.about_ca and self.certificate:
            head = f"{head} for {self.certificate}"
        text = f"{head}: {self.status}"
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

    def reusable_until(self) -> float | None:
        """Until when (seconds since the epoch) a "good" verdict holds as it is: the
        earliest ``valid_until`` of the good answers. None when the verdict is not good or an
        answer gives no end: such a verdict is asked again every time."""
        if self.status != "good":
            return None
        ends = [a.valid_until for a in self.answers if a.status == "good"]
        if not ends or any(end is None for end in ends):
            return None
        return min(end.timestamp() for end in ends if end is not None)

    def detail(self) -> str:
        """The reason chain in words."""
        chain = "; ".join(a.describe() for a in self.answers) or "no method was asked"
        if self.status == "revoked" and self.revoked is not None:
            when = self.revoked.revoked_at.isoformat() if self.revoked.revoked_at else "?"
            serial = f"{self.serial:#x}" if self.serial is not None else "?"
            reason = self.revoked.reason or "unspecified"
            what = "CA certificate" if self.revoked.about_ca else "certificate"
            return (
                f'{what} "{self.subject}" (serial {serial}) was revoked at {when} '
                f"(reason: {reason}) according to {self.revoked.method} "
                f"{self.revoked.source}"
            )
        if self.status == "unavailable":
            return f'no definitive revocation status for certificate "{self.subject}": {chain}'
        return chain

"""Revocation checking (DESIGN.md "Revocation"): the orchestration of the methods (OCSP,
CRL) over a verified path.

For each certificate of the path (the anchor excluded; only the leaf with ``depth="leaf"``)
the methods are asked in the configured order. "revoked" from any valid source is final;
"good" ends the search for that certificate; "unknown" or "unavailable" falls through to the
next method. A certificate no method answers for definitively makes the path *unavailable*:
``on_unavailable="fail"`` (the default) breaks the connection with
:class:`RevocationUnavailableError`, ``"allow"`` lets it through and logs a WARNING.
Revocation never passes silently.

The whole decision takes at most ``RevocationConfig.deadline``: every certificate, every URL,
every retry, both methods. The built-in methods stop waiting when it passes (answering
"unavailable" with that reason) but still answer from their caches, so that a revoked
certificate known from a cache is still found; a method of another kind is not asked once
the deadline has passed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Final

from certpolicy.checks import cert_summary
from certpolicy.revocation import _budget
from certpolicy.revocation._answers import (
    MethodAnswer,
    PathAnswer,
    RevocationMethod,
    certificate_label,
)
from certpolicy.revocation._config import RevocationConfig
from certpolicy.revocation._stats import zero_fetches
from certpolicy.revocation.crl import CrlChecker
from certpolicy.revocation.ocsp import OcspChecker

__all__ = ["RevocationChecker", "default_methods"]

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

    def stats(self) -> dict[str, Any]:
        """Counters since this checker started, per built-in method ("crl", "ocsp")::

            {"fetches": {"crl": {"count", "failures", "bytes", "seconds",
                                 "latency_buckets": {"0.05": n, ..., "10": n, "+Inf": n}},
                         "ocsp": {...}},
             "cache": {"crl": {"hits", "misses"}, "ocsp": {"hits", "misses"}}}

        A fetch is one HTTP request attempt (retries and redirects count one each; background
        CRL refreshes too); a failure, one that gave no usable body. ``seconds`` is their
        total time, and the latency buckets count the attempts that took at most that many
        seconds (cumulative). A cache hit is an answer served from memory or the disk cache
        without a fetch; a miss, a lookup that found nothing usable cached. A method that is
        not built in (or not configured) counts zeros. Thread-safe and cheap."""
        fetches: dict[str, Any] = {}
        cache: dict[str, Any] = {}
        for name in ("crl", "ocsp"):
            method = self.methods.get(name)
            counted = method.stats() if isinstance(method, CrlChecker | OcspChecker) else None
            fetches[name] = counted["fetches"] if counted else zero_fetches()
            cache[name] = counted["cache"] if counted else {"hits": 0, "misses": 0}
        return {"fetches": fetches, "cache": cache}

    def change_counters(self) -> list[Any] | None:
        """The change counters of the methods (``_core.ChangeCounter``), when every method
        is a built-in one; else None. A built-in method bumps its counter after anything it
        would answer may have changed (a CRL of new content installed, an OCSP answer other
        than good stored), so the sum read *before* a path check names the state that check
        saw: the
        engine reuses the path's good verdict only while the sum is unchanged (and until
        the verdict's ``reusable_until``). Another method may change its answers at any time
        unseen: its verdicts are never reused."""
        counters = []
        for method in self.methods.values():
            if not isinstance(method, CrlChecker | OcspChecker):
                return None
            counters.append(method.changes)
        return counters

    def crl_usage(self) -> Any:
        """The built-in CRL method's usage flags (``_core.UsageFlags``), None without one:
        a reused verdict flags the CRLs it came from, which keeps them refreshed."""
        method = self.methods.get("crl")
        return method.usage if isinstance(method, CrlChecker) else None

    def check_path(self, path: Sequence[bytes], *, at: dt.datetime | None = None) -> PathAnswer:
        """Checks every certificate of ``path`` that has an issuer in it (the anchor has
        none and is never checked); with ``depth="leaf"`` only the leaf. Takes at most
        ``RevocationConfig.deadline`` (see the module documentation)."""
        with _budget.decision(self.config.deadline) as budget:
            return self._check_path(path, at, budget)

    def _ask(
        self, name: str, cert: bytes, issuer: bytes, at: dt.datetime | None, budget: _budget.Budget
    ) -> MethodAnswer:
        method = self.methods.get(name)
        if method is None:
            return MethodAnswer(name, "unavailable", "", "not available in this version")
        if budget.remaining() <= 0 and not isinstance(method, CrlChecker | OcspChecker):
            # The built-in methods answer from their caches without waiting; another
            # method might wait on the network, past the deadline.
            return MethodAnswer(
                name, "unavailable", "", f"{_budget.passed_reason(budget)}; not asked"
            )
        return method.check(cert, issuer, at=at)

    def _check_path(
        self, path: Sequence[bytes], at: dt.datetime | None, budget: _budget.Budget
    ) -> PathAnswer:
        answers: list[MethodAnswer] = []
        subjects = list(range(len(path) - 1))
        if self.config.depth == "leaf":
            subjects = subjects[:1]
        if not subjects:
            subject = cert_summary(path[0]).subject if path else None
            missing = MethodAnswer(
                "revocation",
                "unavailable",
                "",
                "no issuer certificate",
                certificate="leaf" if path else "",
                depth=0 if path else None,
            )
            return PathAnswer("unavailable", (missing,), subject)
        first_unavailable: PathAnswer | None = None
        for index in subjects:
            cert, issuer = path[index], path[index + 1]
            info = cert_summary(cert)
            label = certificate_label(info.subject, leaf=index == 0)
            definitive = False
            for name in _ORDER[self.config.method]:
                answer = self._ask(name, cert, issuer, at, budget).about(label, index)
                answers.append(answer)
                if answer.status == "revoked":
                    return PathAnswer("revoked", tuple(answers), info.subject, info.serial, answer)
                if answer.status == "good":
                    definitive = True
                    break
            if not definitive:
                unavailable = PathAnswer("unavailable", tuple(answers), info.subject, info.serial)
                if self.config.on_unavailable == "fail":
                    return unavailable  # rejected already; nothing below can change that
                # Soft-fail: "revoked" from any valid source is final for every certificate
                # of the path, so the rest of the path is still checked.
                first_unavailable = first_unavailable or unavailable
        if first_unavailable is not None:
            return PathAnswer(
                "unavailable",
                tuple(answers),
                first_unavailable.subject,
                first_unavailable.serial,
            )
        return PathAnswer("good", tuple(answers))


def default_methods(config: RevocationConfig) -> dict[str, RevocationMethod]:
    """The built-in CRL and OCSP methods for a configuration."""
    return {"crl": CrlChecker(config), "ocsp": OcspChecker(config)}

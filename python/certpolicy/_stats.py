"""Counters of an engine's decisions since it started (``Engine.stats()``), kept in Rust
(``_core.CheckCounters``): the engine's decision in Rust counts the checks it decides itself,
this records the ones the full path decides."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from certpolicy._util import core

if TYPE_CHECKING:
    from certpolicy.report import Report

__all__ = ["MAX_COUNTED_POLICIES", "OTHER_POLICIES", "CheckCounters"]

# Policy names come from files and the instance table; a sync can bring new ones forever.
# Past this many distinct names, further ones are counted together (the bound is Rust's).
MAX_COUNTED_POLICIES: Final[int] = core.MAX_COUNTED_POLICIES
OTHER_POLICIES: Final[str] = core.OTHER_POLICIES


def _counts(values: tuple[int, int, int, int]) -> dict[str, int]:
    checks, passed, rejected, audited = values
    return {"checks": checks, "passed": passed, "rejected": rejected, "audited": audited}


class CheckCounters:
    """Thread-safe counts of checks: in all, per policy and per reason code.

    ``rejected``: a check failed under an enforce-mode policy; ``audited``: it failed under
    an audit-mode policy and the connection went on; ``passed``: nothing failed. ``codes``
    counts the findings by reason code: every failed check, and revocation that was
    unavailable but allowed by ``on_unavailable="allow"`` (skipped, yet worth watching).
    Skips by policy, offline or for a trust anchor are not findings and are not counted."""

    def __init__(self) -> None:
        # Shared with the engine's Decider, which counts what it decides.
        self.native = core.CheckCounters()

    def record(self, report: Report) -> None:
        failed = False
        codes: list[str] = []
        for result in report.results:
            code = result.code
            if result.status == "failed":
                failed = True
                if code is not None:
                    codes.append(code)
            elif code == "revocation.unavailable":
                codes.append(code)
        verdict = "rejected" if report.enforced else "audited"
        self.native.record(report.policy.name, verdict if failed else "passed", codes)

    def snapshot(self) -> dict[str, Any]:
        """A copy: ``checks``, ``passed``, ``rejected``, ``audited``, ``policies`` (the same
        four per policy name) and ``codes`` (count per reason code)."""
        totals, policies, codes = self.native.snapshot()
        return {
            **_counts(totals),
            "policies": {name: _counts(counts) for name, counts in policies},
            "codes": dict(codes),
        }

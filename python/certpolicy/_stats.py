"""Counters of an engine's decisions since it started (``Engine.stats()``)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from certpolicy.report import Report

__all__ = ["MAX_COUNTED_POLICIES", "OTHER_POLICIES", "CheckCounters"]

# Policy names come from files and the instance table; a sync can bring new ones forever.
# Past this many distinct names, further ones are counted together.
MAX_COUNTED_POLICIES: Final = 1024
OTHER_POLICIES: Final = "(other policies)"


def _zero() -> dict[str, int]:
    return {"checks": 0, "passed": 0, "rejected": 0, "audited": 0}


class CheckCounters:
    """Thread-safe counts of checks: in all, per policy and per reason code.

    ``rejected``: a check failed under an enforce-mode policy; ``audited``: it failed under
    an audit-mode policy and the connection went on; ``passed``: nothing failed. ``codes``
    counts the findings by reason code: every failed check, and revocation that was
    unavailable but allowed by ``on_unavailable="allow"`` (skipped, yet worth watching).
    Skips by policy, offline or for a trust anchor are not findings and are not counted."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._totals = _zero()
        self._policies: dict[str, dict[str, int]] = {}
        self._codes: dict[str, int] = {}

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
        verdict = verdict if failed else "passed"
        name = report.policy.name
        with self._lock:
            per_policy = self._policies.get(name)
            if per_policy is None:
                if len(self._policies) >= MAX_COUNTED_POLICIES:
                    name = OTHER_POLICIES
                per_policy = self._policies.setdefault(name, _zero())
            totals = self._totals
            totals["checks"] += 1
            totals[verdict] += 1
            per_policy["checks"] += 1
            per_policy[verdict] += 1
            for code in codes:
                self._codes[code] = self._codes.get(code, 0) + 1

    def snapshot(self) -> dict[str, Any]:
        """A copy: ``checks``, ``passed``, ``rejected``, ``audited``, ``policies`` (the same
        four per policy name) and ``codes`` (count per reason code)."""
        with self._lock:
            return {
                **self._totals,
                "policies": {name: dict(counts) for name, counts in self._policies.items()},
                "codes": dict(self._codes),
            }

"""The deadline of one revocation decision (``RevocationConfig.deadline``).

:meth:`RevocationChecker.check_path` opens a :func:`decision` for the whole path; a method's
own ``check`` opens one too, so that a method called on its own is bounded as well (a nested
decision never ends later than the one around it). Whatever waits inside a decision (a fetch,
a wait for another thread's fetch of the same URL) waits at most :func:`remaining` seconds.
The deadline lives in a context variable of the checking thread: the fetch threads read
nothing from it, they are given their bound when they start.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

__all__ = ["Budget", "current", "decision", "passed_reason"]


@dataclass(frozen=True, slots=True)
class Budget:
    """A decision's end (``time.monotonic()`` seconds) and its length, for messages."""

    ends: float
    seconds: float

    def remaining(self) -> float:
        return self.ends - time.monotonic()


_CURRENT: ContextVar[Budget | None] = ContextVar("certpolicy_revocation_budget", default=None)


def current() -> Budget | None:
    """The decision in progress in this thread, if any."""
    return _CURRENT.get()


@contextmanager
def decision(seconds: float) -> Iterator[Budget]:
    """A decision of at most ``seconds``, or less when one around it ends earlier."""
    outer = _CURRENT.get()
    ends = time.monotonic() + seconds if math.isfinite(seconds) else math.inf
    budget = Budget(ends, seconds)
    if outer is not None and outer.ends <= ends:
        budget = outer
    token = _CURRENT.set(budget)
    try:
        yield budget
    finally:
        _CURRENT.reset(token)


def passed_reason(budget: Budget) -> str:
    """The words for "nothing more is asked": the decision's deadline has passed."""
    return f"the revocation deadline ({budget.seconds:g} s) passed"

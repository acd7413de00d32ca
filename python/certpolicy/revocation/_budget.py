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
from contextvars import ContextVar, Token
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


class decision:
    """A decision of at most ``seconds``, or less when one around it ends earlier: a context
    manager yielding its :class:`Budget`. (A class, not ``@contextmanager``: it is entered
    several times on the path of every check.)"""

    __slots__ = ("_budget", "_token")

    def __init__(self, seconds: float) -> None:
        outer = _CURRENT.get()
        ends = time.monotonic() + seconds if math.isfinite(seconds) else math.inf
        if outer is not None and outer.ends <= ends:
            self._budget = outer
        else:
            self._budget = Budget(ends, seconds)
        self._token: Token[Budget | None] | None = None

    def __enter__(self) -> Budget:
        self._token = _CURRENT.set(self._budget)
        return self._budget

    def __exit__(self, *exc_info: object) -> None:
        if self._token is not None:
            _CURRENT.reset(self._token)
            self._token = None


def passed_reason(budget: Budget) -> str:
    """The words for "nothing more is asked": the decision's deadline has passed."""
    return f"the revocation deadline ({budget.seconds:g} s) passed"

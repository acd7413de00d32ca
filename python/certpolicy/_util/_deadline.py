"""An overall deadline for blocking work whose own timeouts only bound each socket read."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["within"]

T = TypeVar("T")


def within(seconds: float, what: str, work: Callable[[], T]) -> T:
    """Runs ``work`` in a daemon thread and waits at most ``seconds`` for it. Past that the
    caller gets :class:`TimeoutError` (and fails closed) while the abandoned thread ends
    with its own per-read timeouts; it holds no lock and its result is dropped."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append((True, work()))
        except BaseException as exc:
            outcome.append((False, exc))

    worker = threading.Thread(target=run, name=f"certpolicy {what}", daemon=True)
    worker.start()
    worker.join(seconds)
    if not outcome:
        raise TimeoutError(f"{what} did not finish within {seconds:g} s")
    ok, value = outcome[0]
    if ok:
        return value  # type: ignore[no-any-return]
    raise value

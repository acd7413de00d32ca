"""Single-flight: at most one fetch per key at a time (the CRL and OCSP fetchers and the
fetcher of missing intermediates each keep one). Concurrent callers wait for the
running call and share its outcome (its result, or its exception). A waiter that waits
longer than its bound gets :class:`FlightTimeout` and fails closed; it never starts a
second fetch of what is already being fetched. The lock guards only the table of calls,
never a call itself."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Generic, TypeVar

__all__ = ["FlightTimeout", "SingleFlight"]

T = TypeVar("T")


class FlightTimeout(TimeoutError):
    """A waiter gave up on the call in progress for its key."""


class SingleFlight(Generic[T]):
    """Runs at most one call per key at a time (see the module documentation)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[str, Future[T]] = {}

    def do(self, key: str, call: Callable[[], T], *, wait: float) -> tuple[T, bool]:
        """``(result, shared)``: ``shared`` is True when another caller's call ran. A waiter
        gets that call's exception re-raised, or :class:`FlightTimeout` after ``wait``
        seconds."""
        with self._lock:
            running = self._calls.get(key)
            if running is None:
                mine: Future[T] = Future()
                self._calls[key] = mine
        if running is not None:
            try:
                return running.result(timeout=wait), True
            except FutureTimeout:
                raise FlightTimeout(
                    f"timed out after {wait:g} s waiting for the fetch in progress"
                ) from None
        try:
            result = call()
        except BaseException as exc:
            mine.set_exception(exc)
            raise
        else:
            mine.set_result(result)
            return result, False
        finally:
            with self._lock:
                del self._calls[key]

    def running(self) -> int:
        """How many calls are in flight (for tests)."""
        with self._lock:
            return len(self._calls)

"""Background refresh of cached CRLs: one daemon thread per checker that runs each URL's
refresh when it falls due. Refreshes themselves go through the checker's single-flight path,
so a refresh and a check that needs the same CRL never download it twice."""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Callable

__all__ = ["RefreshScheduler"]

logger = logging.getLogger("certpolicy")


class RefreshScheduler:
    """Calls ``refresh(url)`` at the wall-clock time last scheduled for ``url``. The thread
    starts with the first schedule and stops with :meth:`close`."""

    def __init__(self, refresh: Callable[[str], None], *, name: str = "certpolicy-crl-refresh"):
        self._refresh = refresh
        self._name = name
        self._due: dict[str, float] = {}
        self._heap: list[tuple[float, str]] = []
        self._wake = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None

    def schedule(self, url: str, due: float) -> None:
        """(Re)schedules the refresh of ``url`` at ``due`` (seconds since the epoch); the
        latest call wins."""
        with self._wake:
            if self._closed:
                return
            self._due[url] = due
            heapq.heappush(self._heap, (due, url))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._wake.notify()

    def cancel(self, url: str) -> None:
        """Forgets the refresh of ``url`` (its CRL left memory)."""
        with self._wake:
            self._due.pop(url, None)

    def due(self, url: str) -> float | None:
        """When ``url`` is next refreshed, if scheduled."""
        with self._wake:
            return self._due.get(url)

    def close(self, timeout: float = 5.0) -> None:
        """Stops the thread (a refresh in progress finishes first, up to ``timeout``)."""
        with self._wake:
            self._closed = True
            self._due.clear()
            self._heap.clear()
            self._wake.notify()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _next(self) -> str | None:
        """Waits for the next due URL; None once closed."""
        with self._wake:
            while not self._closed:
                if not self._heap:
                    self._wake.wait()
                    continue
                due, url = self._heap[0]
                if self._due.get(url) != due:
                    heapq.heappop(self._heap)  # superseded by a later schedule
                    continue
                delay = due - time.time()
                if delay > 0:
                    self._wake.wait(delay)
                    continue
                heapq.heappop(self._heap)
                del self._due[url]
                return url
            return None

    def _run(self) -> None:
        while (url := self._next()) is not None:
            try:
                self._refresh(url)
            except Exception:  # a bug must not end refreshing for every other URL
                logger.exception("background refresh of the CRL at %s failed", url)

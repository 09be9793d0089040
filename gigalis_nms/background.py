"""Background work inside a process: a thread that runs one round of work every few
seconds, or at once when woken, and stops after the round under way.

The provisioning job worker, the order worker and the notification dispatcher are such
threads; each says what a round is, and keeps its own state on its instance.
"""

from __future__ import annotations

import threading


class PollingThread:
    """Runs :meth:`run_round` every ``interval`` seconds, or as soon as :meth:`wake` is
    called (a request just queued work), until :meth:`stop`."""

    def __init__(self, name: str, interval: float) -> None:
        self._interval = interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def run_round(self) -> object:
        """One round of work; a round must not raise (log what went wrong instead)."""
        raise NotImplementedError

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float | None = None) -> None:
        """Stop taking work; the round under way, if any, runs to its end first."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_round()
            self._wake.wait(self._interval)
            self._wake.clear()

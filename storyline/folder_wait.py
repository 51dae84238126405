"""Waiting for a watched folder to change, between two polls of ``storyline watch``.

A watcher polls its sources every ``--interval`` seconds (300 by default: feeds are
asked no more often). A batch file dropped in the watched folder need not wait that
long: :class:`FolderChanges` wakes the watcher when the folder changes, through the
operating system's file notifications (the ``watchfiles`` package: inotify on Linux,
FSEvents on macOS), and the watcher polls once the change has settled. The poll still
lists the folder itself (a missed notification, a network share without them, costs
at most one interval); where ``watchfiles`` is not installed or cannot watch the
folder, the wait is the plain interval.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger("storyline.feeds")


class FolderChanges:
    """Waits of up to an interval that end early when ``folder`` changes."""

    def __init__(self, folder: Path, settle: float) -> None:
        self.folder = folder
        self.settle = settle
        self._changes: Iterator[set] | None = None
        self._stop: threading.Event | None = None
        self._unavailable = False

    def wait(self, interval: float, stop: threading.Event) -> bool:
        """Wait ``interval`` seconds, or until the folder changed and ``settle`` seconds
        passed after it; True when ``stop`` was set meanwhile."""
        changes = self._open(stop)
        if changes is None:
            return stop.wait(interval)
        deadline = time.monotonic() + interval
        try:
            for seen in changes:  # a set of changes, or an empty one each settle seconds
                if stop.is_set():
                    return True
                if seen:  # a file came or changed: poll once it has settled
                    return stop.wait(self.settle)
                if time.monotonic() >= deadline:
                    return False
        except (OSError, RuntimeError) as exc:  # the folder went away, say
            log.warning("%s: no change notifications (%s); polling every %g s",
                        self.folder, exc, interval)
            self._changes, self._unavailable = None, True
            return stop.wait(max(0.0, deadline - time.monotonic()))
        return stop.is_set()  # the generator ends when stop is set

    def _open(self, stop: threading.Event) -> Iterator[set] | None:
        """The notification stream, started on the first wait and kept (changes between
        two waits are kept for the next)."""
        if self._unavailable:
            return None
        if self._changes is not None and self._stop is stop:
            return self._changes
        try:
            import watchfiles
        except ImportError:
            self._unavailable = True
            return None
        step = max(0.05, min(self.settle, 1.0))  # how often an empty set comes back
        self._stop = stop
        self._changes = watchfiles.watch(
            self.folder, watch_filter=None, debounce=int(step * 1000), stop_event=stop,
            rust_timeout=int(step * 1000), yield_on_timeout=True, recursive=False,
            raise_interrupt=True)
        return self._changes

    def close(self) -> None:
        if self._changes is not None:
            self._changes.close()  # type: ignore[attr-defined]
            self._changes = None

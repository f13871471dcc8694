"""A process-wide setting that runs in progress at once share.

The collector's threshold or Arrow's default pool is one value for the whole process. Runs on
several threads, or one run inside another, must not undo each other's change halfway: the
first to enter applies it, the last to leave restores what was there before.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

Saved = TypeVar("Saved")


class SharedSetting(Generic[Saved]):
    """``apply`` changes the setting and returns what ``restore`` needs to put it back."""

    def __init__(self, apply: Callable[[], Saved], restore: Callable[[Saved], None]) -> None:
        self._apply = apply
        self._restore = restore
        self._lock = threading.Lock()
        self._inside = 0
        self._saved: list[Saved] = []  # what was there before, while a block is open

    @contextmanager
    def held(self) -> Iterator[None]:
        """The setting applied for the block (and for any other block open at the time)."""
        with self._lock:
            if self._inside == 0:
                self._saved.append(self._apply())
            self._inside += 1
        try:
            yield
        finally:
            with self._lock:
                self._inside -= 1
                if self._inside == 0:
                    self._restore(self._saved.pop())

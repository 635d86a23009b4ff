"""Python's cycle collector paused around bulk work (reading, planning and writing an import).

An import builds tens of thousands of objects that all live until it ends; each automatic
collection meanwhile walks every one of them again and finds nothing to free (a quarter of a
10,000-row import's CPU time went there). The collector runs again, on its own schedule, as
soon as the outermost pause ends; pauses nest and may overlap across threads.

The import's entry points (the upload and confirm pages, the command) pause it around the
whole import, not only each step: the collector then resumes once the import's objects are
freed. Resumed between two steps, it walks every object still alive (the rows, the plan),
moves them to its oldest generation, and a full collection walks them again later (about
100 ms, on whatever request comes then).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """No automatic cycle collection inside the block (unless another caller turned it off)."""
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()

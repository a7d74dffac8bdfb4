"""The cyclic garbage collector in processes that run for weeks.

Everything a process allocates before its work starts (modules, settings, compiled patterns,
the components) lives until it exits, yet every full collection walks it again, and in a forked
worker pool that walk writes to the memory pages the children share with their parent. Frozen,
those objects are left out of collections; what the work allocates is collected as before.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def startup_objects_frozen() -> Iterator[None]:
    """Exempt what exists now from the cyclic collector while the block runs (measured on the
    lean replay web: collections took 0.20-0.24 s of a crawl's CPU, 0.11 s frozen)."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def freeze_before_fork() -> None:
    """For a pool's parent process: its children inherit the frozen objects untouched."""
    gc.freeze()

"""Giving freed heap memory back to the OS, so a long-running proxy's resident memory tracks what it uses.

Routing allocates tensors of a new shape for nearly every batch (batch size × request length); glibc keeps
the freed pages in its heaps, and a proxy's resident memory crept up for as long as it ran
(docs/serving.md#chaos-soak). `trim_heap` asks glibc to return free pages (`malloc_trim(0)`, every arena);
elsewhere (macOS, musl) it does nothing.

Example:
    trim_heap()  # after loading the router, after a reload, and every minute on the scoring thread
"""

import ctypes
import ctypes.util
import functools
import logging

log = logging.getLogger(__name__)

TRIM_EVERY_S = 60.0


@functools.cache
def _malloc_trim() -> "ctypes._CFuncPtr | None":
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc
        return None


def trim_heap() -> bool:
    """Return free heap pages to the OS; False where the C library cannot."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True

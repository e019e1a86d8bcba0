"""Giving a closed tab's memory back to the operating system.

:meth:`ui.state.Session.release` drops a closed tab's arrays and tensors, but glibc keeps freed heap pages mapped
(its ``mmap`` threshold grows with the big arrays a render allocates), so the process's resident memory would stay
at its peak and grow with every session that ever ran: measured, 8 closed 2 MP sessions stayed at +500 MB until
``malloc_trim(0)``, after which the process was back below its start. :func:`trim_soon` does that once, shortly
after the last of a burst of closes (20 tabs closing together trim once), on a background thread.

Linux/glibc only; elsewhere it does nothing (other allocators return memory on their own or offer no such call).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import gc
import threading
from typing import Optional

#: Seconds after the last release before trimming (closes come in bursts: one trim for the burst).
DELAY_S = 0.5

_lock = threading.Lock()
_timer: Optional[threading.Timer] = None
_libc = None
trims = 0  # how many trims ran (tests read it)


def _malloc_trim():
    global _libc
    if _libc is None:
        name = ctypes.util.find_library("c")
        try:
            lib = ctypes.CDLL(name) if name else None
            _libc = lib if lib is not None and hasattr(lib, "malloc_trim") else False
        except OSError:
            _libc = False
    return _libc.malloc_trim if _libc else None


def trim() -> bool:
    """Collect garbage cycles and return freed heap to the OS now; True if the allocator supports it."""
    global trims
    gc.collect()
    fn = _malloc_trim()
    if fn is None:
        return False
    fn(0)
    trims += 1
    return True


def _run() -> None:
    global _timer
    with _lock:
        _timer = None
    trim()


def trim_soon(delay: float = DELAY_S) -> None:
    """Trim once, ``delay`` s after the last call (a burst of closed tabs trims once)."""
    global _timer
    with _lock:
        if _timer is not None:
            _timer.cancel()
        _timer = threading.Timer(delay, _run)
        _timer.daemon = True
        _timer.start()


__all__ = ["trim", "trim_soon", "DELAY_S"]

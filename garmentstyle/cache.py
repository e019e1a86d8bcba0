"""One small thread-safe LRU cache and one content-key helper, for the process caches (style targets, encoders).

Why one utility: the caches are read from the web app's worker threads and the CLI alike; each had its own idiom
(an unlocked ``OrderedDict``, ``functools.lru_cache``, module dicts). :class:`LRUCache` locks its bookkeeping,
builds a missing value once even when two threads ask for it at the same time (per-key build lock: a VGG19 or a set
of style targets is seconds of work), and counts hits/misses per cache instance. Hit counts for *one* render are
taken with a :class:`CacheStats` passed to :meth:`LRUCache.get`, never read off the shared counters.
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Generic, Hashable, Optional, TypeVar

V = TypeVar("V")

__all__ = ["LRUCache", "CacheStats", "content_key", "levels_key"]


@dataclass
class CacheStats:
    """Hits and misses seen by one caller (e.g. one render); ``from_disk``: misses answered by a store on disk
    (style targets an earlier process measured, :mod:`garmentstyle.target_store`) instead of computed."""

    hits: int = 0
    misses: int = 0
    from_disk: int = 0

    def to_json(self) -> dict:
        return {"hits": self.hits, "misses": self.misses, "from_disk": self.from_disk}


class LRUCache(Generic[V]):
    """``get(key, make)``: the cached value for ``key``, built with ``make()`` on a miss; the least recently used
    entry is dropped beyond ``maxsize``. Thread-safe; ``make`` runs outside the cache lock (other keys stay
    available) but under a per-key lock (the same key is never built twice at once). An exception from ``make``
    caches nothing."""

    def __init__(self, maxsize: int = 64) -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize must be ≥ 1, got {maxsize}")
        self.maxsize = maxsize
        self._store: "OrderedDict[Hashable, V]" = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[Hashable, threading.Lock] = {}
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._store)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._store

    def _lookup(self, key: Hashable) -> tuple[bool, Optional[V]]:
        with self._lock:
            if key in self._store:
                self._store.move_to_end(key)
                return True, self._store[key]
            return False, None

    def get(self, key: Hashable, make: Callable[[], V], stats: Optional[CacheStats] = None) -> V:
        found, value = self._lookup(key)
        if found:
            self._count(True, stats)
            return value  # type: ignore[return-value]
        with self._lock:
            build_lock = self._building.setdefault(key, threading.Lock())
        with build_lock:
            found, value = self._lookup(key)  # built by another thread while we waited: a hit
            self._count(found, stats)  # a miss is counted before building: a build that raises is one too
            if found:
                return value  # type: ignore[return-value]
            try:
                value = make()
                with self._lock:
                    self._store[key] = value
                    self._store.move_to_end(key)
                    while len(self._store) > self.maxsize:
                        self._store.popitem(last=False)
            finally:
                with self._lock:
                    self._building.pop(key, None)
        return value

    def _count(self, hit: bool, stats: Optional[CacheStats]) -> None:
        with self._lock:
            if hit:
                self.hits += 1
            else:
                self.misses += 1
        if stats is not None:
            if hit:
                stats.hits += 1
            else:
                stats.misses += 1

    def clear(self) -> None:
        with self._lock:
            self._store.clear()
            self.hits = self.misses = 0


def content_key(value: Any) -> str:
    """A short key that changes whenever the content does: a tensor/array by its bytes, dtype and shape (sha1,
    16 hex digits); anything else by its ``repr``. For cache keys, not for security."""
    shape = getattr(value, "shape", None)
    if shape is not None and hasattr(value, "dtype"):
        import numpy as np

        if hasattr(value, "detach"):  # torch
            arr = value.detach().cpu().contiguous()
            if str(arr.dtype) == "torch.bfloat16":
                arr = arr.float()
            data = arr.numpy()
        else:  # numpy
            data = np.ascontiguousarray(value)
        # The array's own buffer, not a ``tobytes`` copy (the same bytes, so the same keys: 40 % of the cost at
        # a sketch's 6 MB); a 0-d or empty array goes through bytes.
        digest = hashlib.sha1(data.data if data.ndim and data.size else data.tobytes()).hexdigest()[:16]
        return f"{digest}{tuple(shape)}{str(value.dtype).replace('torch.', '')}"
    return hashlib.sha1(repr(value).encode()).hexdigest()[:16]


def levels_key(image: Any) -> str:
    """:func:`content_key` of a float image (array in [0, 1]) on its 8-bit levels: on purpose, so the same drawing
    read twice through float steps that differ below 1/255 is the same key (the partition and sketch-preparation
    caches)."""
    import numpy as np

    return content_key((np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8))

"""The process caches in one place: each module's cache registers itself here by name when the module is imported.

Why: the caches (style targets, encoders, prepared swatches and sketches, partitions, SAM segmenters, ...) live as
long as the process and hold real memory (a VGG19, SAM's ViT, MB-sized arrays). Something has to own their
lifecycle: the web app holds the process-wide :data:`RESOURCES` (``AppContext.resources``) to report what is held
(:meth:`Resources.info`) and give it back (:meth:`Resources.clear`), without knowing each module's globals.

This module imports nothing heavy (no torch, no numpy), so registering costs a module nothing at import.

    from garmentstyle.resources import register
    CACHE: LRUCache[PreparedSwatch] = register("prepared swatches", LRUCache(32))
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol, TypeVar, runtime_checkable

__all__ = ["CacheInfo", "Resources", "RESOURCES", "register"]


@runtime_checkable
class Cache(Protocol):
    """What a registered cache offers (:class:`garmentstyle.cache.LRUCache` and its subclasses do)."""

    maxsize: int
    hits: int
    misses: int

    def __len__(self) -> int: ...

    def clear(self) -> None: ...


C = TypeVar("C", bound=Cache)


@dataclass(frozen=True)
class CacheInfo:
    """One cache's state at the time :meth:`Resources.info` was called.

    Attributes:
        name: the name it registered under ("style targets").
        entries: how many values it holds now.
        maxsize: how many it holds at most (least recently used dropped beyond).
        hits / misses: lookups answered from / not found in the cache since it was created or last cleared.
    """

    name: str
    entries: int
    maxsize: int
    hits: int
    misses: int


class Resources:
    """A registry of named process caches (thread-safe). One process-wide instance: :data:`RESOURCES`."""

    def __init__(self) -> None:
        self._caches: dict[str, Cache] = {}
        self._lock = threading.Lock()

    def register(self, name: str, cache: C) -> C:
        """Register ``cache`` as ``name`` and return it (so a module can write ``X = register("x", LRUCache())``).
        Registering a name again replaces the earlier cache (a module reloaded in a test)."""
        if not isinstance(cache, Cache):
            raise TypeError(f"{name}: {type(cache).__name__} is not a cache (needs maxsize, hits, misses, len, clear)")
        with self._lock:
            self._caches[name] = cache
        return cache

    def caches(self) -> dict[str, Cache]:
        """The registered caches by name, in registration order (a copy)."""
        with self._lock:
            return dict(self._caches)

    def names(self) -> tuple[str, ...]:
        return tuple(self.caches())

    def info(self, *names: str) -> tuple[CacheInfo, ...]:
        """One :class:`CacheInfo` per cache (all, or the ``names`` given, in that order).

        Raises:
            KeyError: a name that is not registered (the message lists those that are).
        """
        caches = self._pick(names)
        return tuple(CacheInfo(name=n, entries=len(c), maxsize=int(c.maxsize), hits=int(c.hits),
                               misses=int(c.misses)) for n, c in caches.items())

    def clear(self, *names: str) -> None:
        """Empty the caches named (all of them when none is named): their memory goes back once nothing else
        holds the values. Their hit/miss counts start again from 0.

        Raises:
            KeyError: a name that is not registered.
        """
        for cache in self._pick(names).values():
            cache.clear()

    def _pick(self, names: tuple[str, ...]) -> dict[str, Cache]:
        caches = self.caches()
        if not names:
            return caches
        unknown = [n for n in names if n not in caches]
        if unknown:
            raise KeyError(f"no cache named {', '.join(map(repr, unknown))}; registered: {', '.join(caches)}")
        return {n: caches[n] for n in names}


#: The process-wide registry (the web app holds it as ``AppContext.resources``).
RESOURCES = Resources()


def register(name: str, cache: C) -> C:
    """Register a process cache in :data:`RESOURCES` (see :meth:`Resources.register`)."""
    return RESOURCES.register(name, cache)

"""The process caches' owner (issue 11, "Ownership"): every cache module registers its cache by name in
:data:`garmentstyle.resources.RESOURCES`, whose rows report entries / hits / misses and whose ``clear`` empties
them; the web app's context holds it. And the caches moved onto the shared LRU do what it promises: two threads
asking for the same new swatch or sketch at once build it once."""
from __future__ import annotations

import threading
import time
from dataclasses import FrozenInstanceError

import numpy as np
import pytest

from garmentstyle.cache import LRUCache
from garmentstyle.resources import RESOURCES, CacheInfo, Resources, register
from garmentstyle.testing.degrade import PhotoSpec, photograph, procedural_tartan

#: Every process cache and the module that holds it.
EXPECTED = {
    "prepared swatches": ("garmentstyle.swatches.pipeline", "CACHE"),
    "partitions": ("garmentstyle.segment.lineart", "_CACHE"),
    "prepared sketches": ("garmentstyle.sketchprep", "_CACHE"),
    "sam segmenters": ("garmentstyle.segment.sam", "_SEGMENTERS"),
    "style targets": ("garmentstyle.transfer", "TARGETS"),
    "encoders": ("garmentstyle.encoders", "ENCODER_CACHE"),
    "render sketches": ("garmentstyle.api", "SKETCH_PREP"),
    "region labels": ("garmentstyle.plan", "LABELS"),
    "colourways": ("garmentstyle.colourway", "_CACHE"),
}


def _both_at_once(fn) -> list:
    """``fn()`` on two threads released together; their results in order."""
    gate = threading.Barrier(2)
    out: list = [None, None]
    errors: list = []

    def run(i: int) -> None:
        gate.wait()
        try:
            out[i] = fn()
        except BaseException as exc:  # re-raised on the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    if errors:
        raise errors[0]
    return out


def test_every_cache_module_registers_its_cache():
    import importlib

    caches = {}
    for name, (module, attr) in EXPECTED.items():
        caches[name] = getattr(importlib.import_module(module), attr)
    registered = RESOURCES.caches()
    for name, cache in caches.items():
        assert registered.get(name) is cache, name
    rows = {r.name: r for r in RESOURCES.info()}
    assert set(EXPECTED) <= set(rows)
    assert all(isinstance(r, CacheInfo) and r.maxsize >= 1 for r in rows.values())


def test_info_reflects_hits_and_misses_and_clear_empties():
    res = Resources()
    a = res.register("a", LRUCache(3))
    b = register_into(res, "b", LRUCache(2))
    a.get("x", lambda: 1)
    a.get("x", lambda: 2)
    a.get("y", lambda: 3)
    b.get("z", lambda: 4)
    assert res.info() == (CacheInfo("a", entries=2, maxsize=3, hits=1, misses=2),
                          CacheInfo("b", entries=1, maxsize=2, hits=0, misses=1))
    assert res.info("b") == (CacheInfo("b", 1, 2, 0, 1),)
    with pytest.raises(FrozenInstanceError):
        res.info()[0].hits = 9  # type: ignore[misc]
    res.clear("a")
    assert len(a) == 0 and (a.hits, a.misses) == (0, 0) and len(b) == 1
    res.clear()
    assert len(b) == 0
    with pytest.raises(KeyError, match="no cache named 'nope'"):
        res.clear("nope")
    with pytest.raises(TypeError):
        res.register("not a cache", object())  # type: ignore[type-var]


def register_into(res: Resources, name: str, cache: LRUCache) -> LRUCache:
    """``register`` returns the cache it registers (so a module writes ``X = register(name, LRUCache())``)."""
    assert res.register(name, cache) is cache
    return cache


def test_the_process_registry_sees_a_real_cache_work():
    from garmentstyle.swatches import CACHE, prepare

    tile = np.random.default_rng(0).random((64, 64, 3), dtype=np.float32)
    CACHE.clear()
    prepare(tile, "off")  # used as given: cheap, but cached like any preparation
    prepare(tile.copy(), "off")
    (row,) = RESOURCES.info("prepared swatches")
    assert (row.entries, row.hits, row.misses, row.maxsize) == (1, 1, 1, 32)
    RESOURCES.clear("prepared swatches")
    assert len(CACHE) == 0 and RESOURCES.info("prepared swatches")[0].entries == 0


def _slow_counted(monkeypatch, module, name: str) -> list:
    """Replace ``module.name`` (a cache's uncached build step) with a slowed copy that counts its calls, so a
    second thread asks while the first is still building. Returns the list of calling thread ids."""
    real = getattr(module, name)
    builds: list = []

    def slow(*a, **kw):
        builds.append(threading.get_ident())
        time.sleep(0.2)  # the other thread is asking by now
        return real(*a, **kw)

    monkeypatch.setattr(module, name, slow)
    return builds


def test_two_threads_preparing_the_same_new_swatch_build_it_once(monkeypatch):
    """The web app's worker threads: two tabs preparing the same phone photo do the seconds of work once."""
    from garmentstyle.swatches import CACHE, pipeline

    photo = photograph(procedural_tartan((57, 43)), PhotoSpec(size=(320, 256), zoom=1.5, rotation=2.5)).image
    builds = _slow_counted(monkeypatch, pipeline, "_prepare")
    CACHE.clear()
    a, b = _both_at_once(lambda: pipeline.prepare(photo))
    assert len(builds) == 1
    assert a is b and (CACHE.misses, CACHE.hits, len(CACHE)) == (1, 1, 1)
    assert a.report.action != "unchanged"  # a real preparation ran (flatten + lattice), not the no-op path
    fresh = pipeline.prepare(photo, use_cache=False)  # bypasses the cache: built again, same tile
    assert len(builds) == 2 and (CACHE.misses, CACHE.hits) == (1, 1)
    assert (fresh.tile == a.tile).all()


def test_two_threads_partitioning_the_same_sketch_build_it_once(monkeypatch):
    from garmentstyle.segment import lineart
    from tests.conftest import draw_sketch

    sketch = draw_sketch(128, 128)[0]
    builds = _slow_counted(monkeypatch, lineart, "_partition")
    lineart.clear_cache()
    p, q = _both_at_once(lambda: lineart.partition(sketch))
    assert len(builds) == 1 and p is q
    lineart.clear_cache()
    assert (lineart.partition(sketch).labels == p.labels).all() and len(builds) == 2


def test_two_threads_preparing_the_same_sketch_build_it_once(monkeypatch):
    import garmentstyle.sketchprep as sp
    from tests.conftest import draw_sketch

    sketch = draw_sketch(128, 128)[0]
    builds = _slow_counted(monkeypatch, sp, "_prepare_loaded")
    sp._CACHE.clear()
    p, q = _both_at_once(lambda: sp.prepare(sketch))
    assert len(builds) == 1 and p is q and len(sp._CACHE) == 1


def test_the_app_context_holds_the_registry_and_cleanup_leaves_the_caches(tmp_path):
    from garmentstyle.swatches import CACHE, prepare
    from ui.state import AppContext

    ctx = AppContext.create(sam_factory=lambda: None)
    other = AppContext.create(tmp_path / "other", sam_factory=lambda: None)
    assert ctx.resources is RESOURCES and other.resources is RESOURCES
    tile = np.random.default_rng(1).random((64, 64, 3), dtype=np.float32)
    CACHE.clear()
    prepare(tile, "off")
    ctx.cleanup()  # one context going away must not empty what another context (or the CLI) still uses
    assert len(CACHE) == 1
    other.cleanup()

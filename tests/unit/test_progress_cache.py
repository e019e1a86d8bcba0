"""The progress/cancel contract's pieces and the shared LRU cache."""
from __future__ import annotations

import threading
import time
from dataclasses import FrozenInstanceError

import pytest
import torch

from garmentstyle.cache import CacheStats, LRUCache, content_key
from garmentstyle.errors import Cancelled
from garmentstyle.progress import (CancelToken, Progress, Reporter, SegmentProgress, bytes_progress,
                                   with_cancel)


def test_progress_is_frozen_and_fraction_is_bounded():
    p = Progress("optimise", level=1, levels=2, step=3, total=6)
    assert p.fraction == pytest.approx(0.75)
    with pytest.raises(FrozenInstanceError):
        p.step = 4  # type: ignore[misc]
    assert Progress("finish").fraction == 1.0
    assert Progress("download", step=50, total=100, task="download").fraction == 0.5


def test_segment_progress_is_a_progress_with_the_old_positional_form():
    p = SegmentProgress("regions", 2, 4, 0.5)
    assert isinstance(p, Progress) and p.task == "segment" and (p.step, p.total, p.elapsed) == (2, 4, 0.5)


def test_reporter_names_the_checkpoint_and_checks_the_token():
    token = CancelToken()
    seen = []
    rep = Reporter(seen.append, token)
    rep.emit(Progress("targets"))
    assert seen[0].elapsed >= 0 and seen[0].task == "render"
    token.cancel()
    with pytest.raises(Cancelled) as info:
        rep.emit(Progress("optimise"))
    assert info.value.checkpoint == "optimise"

    def raiser(p):
        raise Cancelled()

    with pytest.raises(Cancelled) as info:
        Reporter(raiser).emit(Progress("finish"))
    assert info.value.checkpoint == "finish"


def test_bytes_progress_and_with_cancel():
    token = CancelToken()
    seen = []
    cb = bytes_progress(seen.append, cancel=token)
    cb(10, None)
    assert seen[-1].task == "download" and seen[-1].step == 10 and seen[-1].total == 0
    token.cancel()
    with pytest.raises(Cancelled):
        cb(20, 100)
    wrapped = with_cancel(None, token, task="segment")
    with pytest.raises(Cancelled, match="segment:read"):
        wrapped(SegmentProgress("read", 1, 4, 0.0))


def test_lru_evicts_least_recently_used_and_counts_per_caller():
    cache: LRUCache[int] = LRUCache(2)
    stats = CacheStats()
    cache.get("a", lambda: 1, stats)
    cache.get("b", lambda: 2, stats)
    cache.get("a", lambda: 0, stats)  # hit; "b" is now the oldest
    cache.get("c", lambda: 3, stats)
    assert "b" not in cache and "a" in cache and len(cache) == 2
    assert stats.to_json() == {"hits": 1, "misses": 3, "from_disk": 0}
    with pytest.raises(ValueError):
        LRUCache(0)


def test_lru_builds_a_key_once_across_threads_and_caches_no_failure():
    cache: LRUCache[int] = LRUCache(4)
    builds = []

    def make():
        builds.append(1)
        time.sleep(0.05)
        return 7

    threads = [threading.Thread(target=lambda: cache.get("k", make)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert builds == [1] and cache.get("k", make) == 7

    def fail():
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        cache.get("bad", fail)
    assert "bad" not in cache


def test_content_key_follows_content_dtype_and_shape():
    a = torch.zeros(2, 3)
    assert content_key(a) == content_key(a.clone())
    assert content_key(a) != content_key(a.double())
    assert content_key(a) != content_key(a.reshape(3, 2))
    b = a.clone()
    b[0, 0] = 1e-7
    assert content_key(a) != content_key(b)

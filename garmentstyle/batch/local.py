"""Local backend: items rendered by N worker processes on this machine (or in this process for one worker).

Processes, not threads: a render holds the GIL in Python between torch calls, and torch's own threads are set per
worker (``threads``) so N workers × threads ≈ the cores. Three things keep the workers' fixed costs from eating the
gain of a second worker (measured in bench/bench_batch.py):

- **Imports once**: workers are forked from a ``forkserver`` that has imported the renderer's modules (torch,
  garmentstyle, colour-science, OpenCV, SciPy: ~3 s of CPU each) before any torch thread pool exists — so a worker
  starts in milliseconds and no worker forks a live thread pool (the reason plain ``fork`` is not used).
- **Processes live for the whole batch**, so the library's module-level caches (swatch preparation, colourways,
  style targets) carry over from item to item.
- **Cache affinity**: each worker is one single-process pool, and an item goes to the worker that already rendered
  its fabrics (:func:`cache_key`: the swatches and colourways of its regions); a worker with nothing of its own
  left takes a fabric nobody has started, then steals from the busiest. Each fabric is thus prepared and recoloured
  about once per batch instead of once per worker. Which worker renders an item never changes its bytes.
"""
from __future__ import annotations

import multiprocessing
from collections import OrderedDict
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Iterator, Sequence

from .worker import Outcome, init_local_worker, render_item, set_threads

#: Modules the forkserver imports once for every worker (a missing optional one is skipped by multiprocessing).
PRELOAD = ("torch", "numpy", "scipy.cluster.vq", "scipy.optimize", "cv2", "PIL.PngImagePlugin",
           "PIL.JpegImagePlugin", "garmentstyle.batch.worker", "garmentstyle.api", "garmentstyle.transfer",
           "garmentstyle.colourway", "garmentstyle.swatches.pipeline", "garmentstyle.encoders.texture",
           "garmentstyle.mapping.builder", "garmentstyle.sketchprep", "garmentstyle.weights",
           "garmentstyle.batch.preload")
#: Items queued per worker at once (one running, one waiting: little to cancel on Ctrl-C, memory flat).
QUEUE_PER_WORKER = 2


def cache_key(item) -> tuple:
    """What a worker's caches hold for ``item``: each region's swatch and colourway (and preparation)."""
    return tuple((str(getattr(r, "swatch", "")), getattr(r, "colourway", None), getattr(r, "prepare", None))
                 for r in getattr(item, "regions", ()))


def _context():
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(list(PRELOAD))
    return ctx


class _Affinity:
    """Items grouped by :func:`cache_key`, handed to workers so a group stays on one worker where it can."""

    def __init__(self, items: Sequence, workers: int) -> None:
        self.groups: "OrderedDict[tuple, list]" = OrderedDict()
        for it in items:
            self.groups.setdefault(cache_key(it), []).append(it)
        self.owner: dict[tuple, int] = {}

    def __bool__(self) -> bool:
        return any(self.groups.values())

    def next_for(self, w: int):
        """The next item for worker ``w``: its own group, else a group nobody has, else the largest one left."""
        own = [g for g, o in self.owner.items() if o == w and self.groups.get(g)]
        if not own:
            free = [g for g, its in self.groups.items() if its and g not in self.owner]
            if free:
                self.owner[free[0]] = w
                own = [free[0]]
            else:
                left = [g for g, its in self.groups.items() if its]
                if not left:
                    return None
                own = [max(left, key=lambda g: len(self.groups[g]))]
        return self.groups[own[0]].pop(0)


def run_local(items: Sequence, *, workers: int, threads: int) -> Iterator[Outcome]:
    """Yield one :class:`Outcome` per item as each finishes (any order). Closing the generator (Ctrl-C in the
    driver) stops the workers at once: queued items never start, running ones are terminated."""
    if workers <= 1:
        set_threads(threads)
        for item in items:
            yield render_item(item, threads)
        return
    ctx = _context()
    pools = [ProcessPoolExecutor(max_workers=1, mp_context=ctx, initializer=init_local_worker, initargs=(threads,))
             for _ in range(workers)]
    clean = False
    try:
        todo = _Affinity(items, workers)
        pending: dict[Future, int] = {}
        while todo or pending:
            for w, pool in enumerate(pools):
                while sum(1 for v in pending.values() if v == w) < QUEUE_PER_WORKER:
                    item = todo.next_for(w)
                    if item is None:
                        break
                    pending[pool.submit(render_item, item, threads)] = w
            done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for fut in done:
                pending.pop(fut)
                yield fut.result()
        clean = True
    finally:
        for pool in pools:
            if clean:
                pool.shutdown(wait=True)
            else:
                _stop(pool)


def _stop(pool: ProcessPoolExecutor) -> None:
    """Cancel what is queued and end the worker processes this pool started (by their pids)."""
    procs = list(getattr(pool, "_processes", {}).values())  # the executor offers no public handle on them
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(timeout=5)

"""Local backend: items rendered by N worker processes on this machine (or in this process for one worker).

Processes, not threads: a render holds the GIL in Python between torch calls, and torch's own threads are set per
worker (``threads``) so N workers × threads ≈ the cores. Workers are started with ``spawn`` (a fresh interpreter:
no forked torch thread pools) and live for the whole batch, so their caches carry over from item to item.
"""
from __future__ import annotations

import multiprocessing
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Iterator, Sequence

from .worker import Outcome, init_local_worker, render_item, set_threads


def run_local(items: Sequence, *, workers: int, threads: int) -> Iterator[Outcome]:
    """Yield one :class:`Outcome` per item as each finishes (any order). Closing the generator (Ctrl-C in the
    driver) stops the workers at once: queued items never start, running ones are terminated."""
    if workers <= 1:
        set_threads(threads)
        for item in items:
            yield render_item(item, threads)
        return
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=init_local_worker, initargs=(threads,))
    clean = False
    try:
        pending: set[Future] = set()
        queue = list(items)
        # Keep at most 2 items per worker queued, so an interrupt has little to cancel and memory stays flat.
        while queue or pending:
            while queue and len(pending) < 2 * workers:
                pending.add(pool.submit(render_item, queue.pop(0), threads))
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                yield fut.result()
        clean = True
    finally:
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

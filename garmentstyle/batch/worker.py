"""Rendering one batch item on a worker (a local process or a Ray task): the same code for both backends.

A worker renders and *encodes* the PNG (with the item's key in a ``tEXt`` chunk) and hands the bytes back; the
driver writes them. So a local run and a Ray run produce the same bytes, workers on a cluster need no write access
to the output folder, and no half-written file can appear (the driver writes atomically).

Per-worker caches: worker processes live for the whole batch, so the module-level caches of the library — swatch
preparation (:mod:`garmentstyle.swatches`), colourways (:mod:`garmentstyle.colourway`), style targets and encoders
(:mod:`garmentstyle.transfer` / :mod:`garmentstyle.encoders`) — are filled by a worker's first item that uses a
swatch and reused by its later ones.
"""
from __future__ import annotations

import io as _io
import os
import socket
import time
from dataclasses import dataclass, field
from typing import Optional

#: The PNG text key holding the item's key (read back to decide whether an output is complete).
PNG_KEY = "garmentstyle-batch-key"

_THREADS: Optional[int] = None


@dataclass
class Outcome:
    """A worker's answer: the report fields and, when it rendered, the PNG bytes."""

    index: int
    status: str  # "done" | "failed"
    seconds: float
    encoder: Optional[str] = None
    notes: list = field(default_factory=list)
    error: Optional[str] = None
    worker: str = ""
    png: Optional[bytes] = None
    cpu_seconds: Optional[float] = None


def set_threads(threads: int) -> None:
    """Fix torch's CPU threads for this process (once). Optimised renders depend on the thread count (float
    reductions are split differently), so every backend uses the same count for the same batch settings."""
    global _THREADS
    import torch

    if _THREADS != threads:
        torch.set_num_threads(threads)
        _THREADS = threads


def init_local_worker(threads: int) -> None:
    """Process-pool initialiser: threads fixed; Ctrl-C is left to the driver, which stops the pool (so a worker
    never dies mid-item with a traceback)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    set_threads(threads)


def encode_png(image, key: str) -> bytes:
    """``(1, 3, H, W)`` in [0, 1] → PNG bytes at the export dpi with ``key`` in a text chunk (deterministic)."""
    from PIL import PngImagePlugin

    from .. import io

    info = PngImagePlugin.PngInfo()
    info.add_text(PNG_KEY, key)
    buf = _io.BytesIO()
    # compress_level 1: half the encoding time of the default 6 for renders of the same size (fabric noise does not
    # deflate much either way), measured in bench/bench_batch.py's setting
    io.to_pil(image).save(buf, format="PNG", dpi=(io.EXPORT_DPI, io.EXPORT_DPI), pnginfo=info, compress_level=1)
    return buf.getvalue()


def render_item(item, threads: int) -> Outcome:
    """Render ``item`` (:class:`~garmentstyle.batch.spec.BatchItem`); never raises for a bad item: the error is
    the outcome (one line), so the batch goes on."""
    from ..api import render
    from ..errors import GarmentStyleError

    set_threads(threads)
    where = f"{socket.gethostname()}:{os.getpid()}"
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        result = render(item.sketch, list(item.regions), item.options)
        png = encode_png(result.image, item.key)
    except GarmentStyleError as exc:
        return Outcome(item.index, "failed", time.perf_counter() - t0, error=str(exc), worker=where)
    except MemoryError:
        return Outcome(item.index, "failed", time.perf_counter() - t0, worker=where,
                       error="out of memory rendering this item; use a smaller size or fewer workers")
    except Exception as exc:  # a bug: report it on the item and go on with the batch
        return Outcome(item.index, "failed", time.perf_counter() - t0, worker=where,
                       error=f"internal error {type(exc).__name__}: {exc}")
    rep = result.report
    return Outcome(item.index, "done", time.perf_counter() - t0, encoder=rep.encoder,
                   notes=list(rep.notes), worker=where, png=png, cpu_seconds=time.process_time() - c0)


def output_complete(path, key: str) -> bool:
    """Whether ``path`` is a complete PNG written for ``key`` (resume): it opens, its data verifies (CRCs, full
    length) and it carries the same key."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            if im.format != "PNG":
                return False
            im.verify()  # must come straight after open; reads every chunk and checks the CRCs
        with Image.open(path) as im:
            return im.text.get(PNG_KEY) == key
    except (OSError, SyntaxError, ValueError, RuntimeError):
        return False

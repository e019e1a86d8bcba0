"""The batch report (``batch_report.json``): typed per-item results, serialised with :func:`dataclasses.asdict`.

Written atomically after items finish (at most once a second, and always at the end, on Ctrl-C included), so an
interrupted batch leaves a report that says what is done, what failed and why, and what never ran.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

#: Item states. ``skipped``: its output was already complete (resume); ``interrupted``: running at Ctrl-C;
#: ``pending``: never started.
STATUSES: tuple[str, ...] = ("done", "skipped", "failed", "interrupted", "pending")


@dataclass
class ItemResult:
    """What happened to one item.

    Attributes:
        out: output file name (relative to the output folder).
        status: one of :data:`STATUSES`.
        seconds: render time on its worker (None if it did not run).
        cpu_seconds: CPU time the worker process spent on it (all its threads): with ``seconds`` it tells a busy
            machine (cpu < seconds × threads) from a slow item.
        encoder: the encoder that ran ("texture", "vgg19", …).
        notes: the render's notes (skipped layers, colourway warnings, …).
        error: one-line message for a failed item.
        worker: where it ran ("pid 1234" locally, "host:pid" on Ray).
        style / fabric / colourway: the item's labels.
        key: the item's recipe+inputs hash (also stored in the PNG; see :mod:`garmentstyle.batch.spec`).
    """

    out: str
    status: str = "pending"
    seconds: Optional[float] = None
    cpu_seconds: Optional[float] = None
    encoder: Optional[str] = None
    notes: list = field(default_factory=list)
    error: Optional[str] = None
    worker: Optional[str] = None
    style: str = ""
    fabric: str = ""
    colourway: str = ""
    key: str = ""


@dataclass
class BatchReport:
    """The whole batch: settings, counts and every item in batch order."""

    batch: str
    out_dir: str
    backend: str  # "local" | "ray"
    workers: int
    threads_per_worker: int
    ray_address: Optional[str] = None
    started: float = field(default_factory=time.time)
    finished: Optional[float] = None
    seconds: Optional[float] = None
    interrupted: bool = False
    counts: dict = field(default_factory=dict)
    items: list = field(default_factory=list)  # list[ItemResult]

    def count(self) -> dict:
        """``{status: n}`` over the items."""
        out = {s: 0 for s in STATUSES}
        for it in self.items:
            out[it.status] += 1
        return out

    def to_json(self) -> bytes:
        self.counts = self.count()
        return json.dumps(asdict(self), indent=2, default=str).encode()

    def write(self, path: Path) -> Path:
        from ..io import atomic_write_bytes

        return atomic_write_bytes(path, self.to_json())

"""Running a batch: resume, dispatch to a backend, write each PNG and the report, survive Ctrl-C.

``run_batch(plan, out_dir, …)`` renders every item of a :class:`~garmentstyle.batch.spec.BatchPlan` whose output is
not already complete, on local processes or Ray tasks, writing each PNG atomically as it arrives and the report
(``batch_report.json``) as it goes. A failing item is reported and the others continue. On Ctrl-C the workers are
stopped, items that were running are marked ``interrupted``, the report is written, and ``KeyboardInterrupt``
propagates (the CLI exits 130); re-running the same command renders only what is missing.

The library prints nothing: ``on_event(BatchEvent)`` receives every item's result (the CLI turns it into a
progress bar and ``--verbose`` lines).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from ..errors import InputError
from .report import BatchReport, ItemResult
from .spec import BatchPlan
from .worker import Outcome, output_complete

REPORT_NAME = "batch_report.json"
#: Least seconds between two report writes while items finish (it is always written at the end).
REPORT_EVERY = 1.0


@dataclass(frozen=True)
class BatchEvent:
    """One item finished (or was found complete): its result, and how many of the batch are settled."""

    result: ItemResult
    settled: int
    total: int


@dataclass(frozen=True)
class RunSettings:
    """How to run: ``workers`` processes (or Ray slots) × ``threads`` torch threads each; ``ray`` = None (local
    processes), "local" or a cluster address; ``device`` overrides every item's device (None = as the items say)."""

    workers: int = 1
    threads: int = 0  # 0 = the machine's cores // workers
    ray: Optional[str] = None
    device: Optional[str] = None

    def __post_init__(self) -> None:
        from ..errors import OptionsError

        if not isinstance(self.workers, int) or not 1 <= self.workers <= 1024:
            raise OptionsError(f"--workers must be 1…1024; got {self.workers!r}")
        if not isinstance(self.threads, int) or not 0 <= self.threads <= 256:
            raise OptionsError(f"--threads must be 0 (automatic) … 256; got {self.threads!r}")

    def resolved_threads(self) -> int:
        """torch threads per worker: given, or the cores this process may use divided among the workers."""
        if self.threads:
            return self.threads
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover - not Linux
            cores = os.cpu_count() or 1
        return max(1, cores // self.workers)


def _with_device(plan: BatchPlan, device: Optional[str]) -> BatchPlan:
    """Every item's options with ``device`` (validated by RenderOptions); the key changes with it, since a GPU
    render is not bit-identical to a CPU one."""
    if device is None:
        return plan
    import dataclasses
    import hashlib

    items = []
    for it in plan.items:
        opts = dataclasses.replace(it.options, device=device)
        key = hashlib.sha256(f"{it.key}|device={device}".encode()).hexdigest()
        items.append(dataclasses.replace(it, options=opts, key=key))
    return dataclasses.replace(plan, items=tuple(items))


def run_batch(plan: BatchPlan, out_dir: str | os.PathLike, settings: RunSettings = RunSettings(), *,
              on_event: Callable[[BatchEvent], None] | None = None) -> BatchReport:
    """Render the batch into ``out_dir`` (see the module doc). Returns the final :class:`BatchReport`.

    Raises:
        InputError: ``out_dir`` is a file; ``--ray`` could not start or reach the cluster (before any work).
        KeyboardInterrupt: after the report is written.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"--out-dir {out_dir}: is a file; give a folder for the renders")
    plan = _with_device(plan, settings.device)
    threads = settings.resolved_threads()
    session = None
    if settings.ray is not None:  # connect first: an unreachable cluster is an error before any work
        from . import ray_backend

        session = ray_backend.connect(settings.ray, workers=settings.workers, threads=threads)
    try:
        return _run(plan, out_dir, settings, threads, session, on_event or (lambda e: None))
    finally:
        if session is not None:
            ray_backend.disconnect(session)


def _run(plan: BatchPlan, out_dir: Path, settings: RunSettings, threads: int, session,
         emit: Callable[[BatchEvent], None]) -> BatchReport:
    out_dir.mkdir(parents=True, exist_ok=True)
    report = BatchReport(batch=str(plan.source), out_dir=str(out_dir), backend="ray" if session else "local",
                         workers=settings.workers, threads_per_worker=threads, ray_address=settings.ray)
    report.items = [ItemResult(out=it.out, style=it.labels.style, fabric=it.labels.fabric,
                               colourway=it.labels.colourway, key=it.key) for it in plan.items]
    report_path = out_dir / REPORT_NAME
    settled = 0
    todo = []
    earlier = _earlier(report_path)
    for it, res in zip(plan.items, report.items):
        if output_complete(out_dir / it.out, it.key):
            prev = earlier.get(it.key)
            if prev is not None:  # keep what the earlier run measured
                res.seconds, res.encoder, res.worker = prev.get("seconds"), prev.get("encoder"), prev.get("worker")
            res.status = "skipped"
            res.notes = ["complete from an earlier run (same recipe and inputs)"]
            settled += 1
            emit(BatchEvent(res, settled, len(plan.items)))
        else:
            todo.append(it)
    report.write(report_path)
    last_write = time.monotonic()
    stream = _backend(todo, settings, threads, session)
    running = {it.index for it in todo}
    try:
        for outcome in stream:
            res = report.items[outcome.index]
            _apply(res, outcome, out_dir / plan.items[outcome.index].out)
            running.discard(outcome.index)
            settled += 1
            emit(BatchEvent(res, settled, len(plan.items)))
            if time.monotonic() - last_write >= REPORT_EVERY:
                report.write(report_path)
                last_write = time.monotonic()
    except KeyboardInterrupt:
        stream.close()  # stops the workers
        report.interrupted = True
        for i in running:
            report.items[i].status = "interrupted"
            report.items[i].notes = ["not rendered: the batch was interrupted; run it again to finish"]
        _finish(report, report_path)
        raise
    _finish(report, report_path)
    return report


def _earlier(path: Path) -> dict:
    """``{key: item dict}`` of the items an earlier run finished (from its report), for their timings."""
    import json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {it["key"]: it for it in data.get("items", []) if it.get("status") in ("done", "skipped")}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}


def _finish(report: BatchReport, path: Path) -> None:
    report.finished = time.time()
    report.seconds = round(report.finished - report.started, 3)
    report.write(path)


def _backend(items, settings: RunSettings, threads: int, session):
    if session is not None:
        from .ray_backend import run_ray

        want_gpu = any(it.options.device != "cpu" for it in items)
        return run_ray(items, session=session, workers=settings.workers, threads=threads, want_gpu=want_gpu)
    from .local import run_local

    return run_local(items, workers=settings.workers, threads=threads)


def _apply(res: ItemResult, outcome: Outcome, path: Path) -> None:
    from ..io import atomic_write_bytes

    res.seconds = round(outcome.seconds, 3)
    res.cpu_seconds = None if outcome.cpu_seconds is None else round(outcome.cpu_seconds, 3)
    res.encoder, res.notes, res.error, res.worker = outcome.encoder, outcome.notes, outcome.error, outcome.worker
    res.status = outcome.status
    if outcome.status == "done" and outcome.png is not None:
        try:
            atomic_write_bytes(path, outcome.png)
        except OSError as exc:
            res.status, res.error = "failed", f"could not write {path}: {exc.strerror or exc}"

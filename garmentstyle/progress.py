"""One progress and cancel contract for long work: render, segment and download.

The contract (what a caller — the CLI, the web app, a batch runner — may rely on)
--------------------------------------------------------------------------------
Progress
    Long calls take ``on_progress: Callable[[Progress], None]``. Every event is a frozen :class:`Progress`:
    ``task`` ("render" | "segment" | "download"), ``stage`` (render: "prepare" → "targets" → "optimise" → "finish";
    segment: its own stages, e.g. "read", "regions", "pick", "refine"; download: "download" | "hash"), ``step`` of
    ``total`` (iterations, stages or bytes), ``level`` of ``levels`` (render pyramid), ``losses``, ``elapsed``
    seconds, and ``fraction`` in [0, 1]. ``preview`` is set **only when the caller asked for previews**
    (``render(..., preview_every=N)`` or ``RenderOptions.preview_every``) and only on "optimise" events; it is the
    whole image so far, ``(1, 3, H, W)`` float in [0, 1]. Asking for previews (or for none, or for a different
    cadence) never changes the render: the optimiser checks convergence at a fixed internal interval.

Cancel
    Pass a :class:`CancelToken` (``render(..., cancel=token)``) and call ``token.cancel()`` from any thread; or raise
    :class:`~garmentstyle.errors.Cancelled` from ``on_progress`` (the same effect, checked at the same moment). The
    work stops at the next named checkpoint (:data:`CHECKPOINTS`: between stages, inside style-target measurement
    per region, between optimiser steps).

    * Before an image exists (checkpoint "prepare": reading inputs, loading the encoder) the call raises
      :class:`~garmentstyle.errors.Cancelled`. It is *not* a ``GarmentStyleError`` (nothing went wrong): the CLI
      prints "cancelled" and exits 130; a UI shows "cancelled, nothing changed".
    * Once the start image exists (from the first "targets" event on) a render **always returns** a result:
      the image so far, finished (sketch lines and shading applied) so it can be shown and saved as is, with
      ``report.cancelled`` True and ``report.cancelled_at`` naming the checkpoint. It never raises ``Cancelled``
      after that point — also not when the cancel arrives during "finish" (the finished render is returned).
    * Segment and download have no partial result: a cancel raises ``Cancelled`` (a download leaves no partial
      file; its ``.part`` may be resumed).

This module imports no torch (``--help`` and the UI's start stay fast).
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping, Optional

from .errors import Cancelled

__all__ = ["Progress", "ProgressFn", "SegmentProgress", "CancelToken", "CHECKPOINTS", "TASKS", "Reporter", "bytes_progress", "with_cancel",
           "Cancelled"]

TASKS: tuple[str, ...] = ("render", "segment", "download")
#: The render's named cancel checkpoints, in order. "targets" is checked per level *and* per region inside
#: style-target measurement; "optimise" between optimiser steps; "finish" before compositing.
CHECKPOINTS: tuple[str, ...] = ("prepare", "targets", "optimise", "finish")


@dataclass(frozen=True)
class Progress:
    """One progress event (see the module docstring for the contract).

    Attributes:
        stage: what is running now (per task, see the module docstring).
        level, levels: render pyramid level (0-based) and how many there are.
        step, total: iterations of this level (render), stages done (segment) or bytes (download; ``total`` 0 when
            the server does not say).
        losses: named loss terms at the current image (render "optimise" events), else empty.
        elapsed: seconds since the call started.
        preview: ``(1, 3, H, W)`` float in [0, 1], the whole image so far, only when previews were asked for.
        task: "render", "segment" or "download".
    """

    stage: str
    level: int = 0
    levels: int = 1
    step: int = 0
    total: int = 0
    losses: Mapping[str, float] = field(default_factory=dict)
    elapsed: float = 0.0
    preview: Optional[Any] = None
    task: str = "render"

    @property
    def fraction(self) -> float:
        """Overall progress in [0, 1] (render: pyramid levels weighted equally)."""
        if self.stage == "finish":
            return 1.0
        inner = min(1.0, self.step / self.total) if self.total else 0.0
        if self.task != "render":
            return inner
        per = 1.0 / max(1, self.levels)
        return min(1.0, self.level * per + inner * per)


ProgressFn = Callable[[Progress], None]


class CancelToken:
    """A thread-safe cancel flag. ``cancel()`` from any thread; the work notices at its next checkpoint."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""

    def cancel(self, reason: str = "cancelled") -> None:
        self.reason = reason
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def reset(self) -> None:
        """Make the token reusable for the next job (a UI keeps one per session)."""
        self._event.clear()
        self.reason = ""

    def check(self, checkpoint: str) -> None:
        """Raise :class:`Cancelled` (with the checkpoint's name) when cancel was asked for."""
        if self._event.is_set():
            raise Cancelled(f"{self.reason or 'cancelled'} at {checkpoint}", checkpoint=checkpoint)


class Reporter:
    """What the work holds: the caller's callback, its cancel token and the clock. ``emit`` sends an event (with
    ``elapsed`` filled in) and then checks the token; a ``Cancelled`` raised by the callback is given the
    checkpoint's name. ``check`` is a checkpoint without an event."""

    def __init__(self, on_progress: Optional[ProgressFn] = None, cancel: Optional[CancelToken] = None, *,
                 task: str = "render") -> None:
        self.on_progress = on_progress
        self.cancel = cancel
        self.task = task
        self.t0 = time.perf_counter()

    @property
    def listening(self) -> bool:
        return self.on_progress is not None

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def emit(self, event: Progress) -> None:
        if self.on_progress is not None:
            try:
                self.on_progress(replace(event, elapsed=self.elapsed(), task=self.task))
            except Cancelled as exc:
                if exc.checkpoint is None:
                    exc.checkpoint = event.stage
                raise
        self.check(event.stage)

    def check(self, checkpoint: str) -> None:
        if self.cancel is not None:
            self.cancel.check(checkpoint)


def bytes_progress(on_progress: Optional[ProgressFn], *, stage: str = "download",
                   cancel: Optional[CancelToken] = None) -> Callable[[int, Optional[int]], None]:
    """Adapt the :class:`Progress` contract to :mod:`garmentstyle.weights`' ``on_progress(done_bytes, total_bytes)``
    (its download and hash loops call it per chunk, so a cancel lands within one chunk)."""
    rep = Reporter(on_progress, cancel, task="download")

    def call(done: int, total: Optional[int]) -> None:
        rep.emit(Progress(stage, step=int(done), total=int(total or 0)))

    return call


@dataclass(frozen=True, init=False)
class SegmentProgress(Progress):
    """A segmentation's :class:`Progress` (``task="segment"``), built with segmentation's own positional form
    ``SegmentProgress(stage, step, total, elapsed)``: ``step`` of ``total`` stages."""

    def __init__(self, stage: str, step: int = 0, total: int = 0, elapsed: float = 0.0, **kw: Any) -> None:
        kw.setdefault("task", "segment")
        Progress.__init__(self, stage, step=step, total=total, elapsed=elapsed, **kw)


def with_cancel(on_progress: Optional[ProgressFn], cancel: Optional[CancelToken], *,
                task: Optional[str] = None) -> ProgressFn:
    """A callback for calls that take only ``on_progress`` (``segment``): forwards each event, then raises
    :class:`Cancelled` at that stage when ``cancel`` is set — the same contract as ``render(cancel=…)``."""

    def call(event: Progress) -> None:
        if on_progress is not None:
            on_progress(event)
        if cancel is not None:
            cancel.check(event.stage if task is None else f"{task}:{event.stage}")

    return call

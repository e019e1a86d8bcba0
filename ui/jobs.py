"""The render job runner: one render in a worker thread, streamed to the UI as :class:`RenderUpdate` s with
designer-readable labels, a place in the app-wide queue ("waiting for 1 render ahead of you") and Cancel.

Cancel is honoured two ways: the library is asked to stop at its next checkpoint (its progress callback raises
:class:`~garmentstyle.errors.Cancelled`; it keeps the image so far once one exists), and the UI stops waiting after
:data:`CANCEL_GRACE_S` even if the library is inside a stage without a checkpoint — then the worker finishes in
the background, its result is thrown away, and the render slot is held until it has ended (so renders stay one at
a time).
"""
from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional, Sequence

import numpy as np

from garmentstyle.errors import Cancelled
from garmentstyle.progress import CancelToken

from .state import AppContext, Session

#: How long after Cancel the UI waits for the library to stop before it lets go (the issue asks for ~1 s).
CANCEL_GRACE_S = 0.4
#: Once the fabric is weaving there is an image to keep: the library stops at its next step and finishes it, so
#: the UI waits this long for it (the label says "Cancelling…" meanwhile) before letting go.
KEEP_GRACE_S = 3.0
#: How often a waiting render looks at its place in the queue and at Cancel.
POLL_S = 0.1
#: A stage without events (the fabric measurement and the optimiser's first step can take many seconds on a CPU)
#: still shows it is alive: the label gains the seconds spent, this often.
ALIVE_S = 1.0

#: Each library stage as the designer reads it, and the share of the progress bar it covers.
STAGES: dict[str, tuple[str, float, float]] = {
    "prepare": ("Preparing the swatches", 0.0, 0.08),
    "targets": ("Measuring the fabrics", 0.08, 0.3),
    "optimise": ("Weaving the fabric", 0.3, 0.95),
    "finish": ("Finishing: the sketch's lines and shading", 0.95, 1.0),
}


@dataclass
class RenderUpdate:
    """One step of a render as the UI shows it.

    Attributes:
        image: the latest image, uint8 ``(H, W, 3)`` (a live preview while optimising, the render at the end).
        fraction: overall progress in [0, 1].
        message: what is happening, in the designer's words.
        done: the last update.
        result: the finished :class:`garmentstyle.api.RenderResult` (None until done, and when cancelled before an
            image existed).
        cancelled: the render stopped on Cancel.
    """

    image: Optional[np.ndarray]
    fraction: float
    message: str
    done: bool = False
    result: Any = None
    cancelled: bool = False


def stage_fraction(stage: str, inner: float) -> float:
    """Overall progress for ``inner`` ∈ [0, 1] of ``stage``."""
    _, lo, hi = STAGES.get(stage, (stage, 0.0, 1.0))
    return lo + (hi - lo) * min(1.0, max(0.0, inner))


def describe(p: Any, title: str) -> tuple[str, float]:
    """(label, fraction) for a library progress event."""
    words, _, _ = STAGES.get(p.stage, (str(p.stage).capitalize(), 0.0, 1.0))
    if p.stage == "optimise":
        inner = p.fraction
        step = f" · step {p.step} of {p.total}" if p.total else ""
        lvl = f" · pass {p.level + 1} of {p.levels}" if getattr(p, "levels", 1) > 1 else ""
        return f"{title}: {words}{lvl}{step}", stage_fraction("optimise", inner)
    if p.stage == "targets":  # one event per pyramid level, before it is measured
        levels = max(1, getattr(p, "levels", 1))
        lvl = f" · pass {p.level + 1} of {levels}" if levels > 1 else ""
        return f"{title}: {words}{lvl}…", stage_fraction("targets", p.level / levels)
    inner = p.step / p.total if getattr(p, "total", 0) else 0.0
    return f"{title}: {words}…", stage_fraction(p.stage, inner)


def _u8(img) -> np.ndarray:
    from garmentstyle import io

    return io.to_uint8(io.tensor_to_array(img))


def creep(stage: str, seconds: float, inner: float = 0.0) -> float:
    """Progress inside a stage that sends no events: from ``inner`` towards (never reaching) the stage's end, half
    way in 8 s, so the bar moves while the label says how long it has taken."""
    return stage_fraction(stage, inner + (1.0 - inner) * (1.0 - 0.5 ** (seconds / 8.0)))


def run(ctx: AppContext, session: Session, work: Callable[[Callable, CancelToken], Any], *, title: str
        ) -> Iterator[RenderUpdate]:
    """Run ``work(on_progress, token)`` (a render) when the app's render slot is free, yielding updates; the last
    has ``done=True``. Cancel sets ``token`` (the library checks it at its named checkpoints, also inside the
    fabric measurement) and makes ``on_progress`` raise. Closing the generator early (the browser went away)
    cancels the render."""
    cancel = session.cancel
    q = ctx.renders
    ticket = q.ticket()
    started = False
    try:
        shown = -1
        while not q.try_start(ticket, POLL_S):
            if cancel.is_set():
                yield RenderUpdate(None, 0.0, f"{title} cancelled before it started; nothing changed.", done=True,
                                   cancelled=True)
                return
            n = q.ahead(ticket)
            if n != shown:
                shown = n
                yield RenderUpdate(None, 0.0, f"Waiting for {n} render{'s' if n != 1 else ''} ahead of you…")
        started = True
        yield from _work(session, cancel, work, title=title, release=lambda: q.leave(ticket))
    finally:
        if not started:
            q.leave(ticket)
        if session.cancel is cancel:  # the next render gets a fresh token; a stuck worker keeps seeing this one
            session.cancel = threading.Event()


def _work(session: Session, cancel: threading.Event, work: Callable[[Callable, CancelToken], Any], *, title: str,
          release: Callable[[], None]) -> Iterator[RenderUpdate]:
    events: "queue.Queue[tuple[str, Any]]" = queue.Queue()
    token = CancelToken()

    def on_progress(p) -> None:
        if cancel.is_set() and p.stage != "finish":
            token.cancel("cancelled by the designer")
            raise Cancelled("cancelled by the designer")
        events.put(("progress", p))

    def body() -> None:
        try:
            events.put(("done", work(on_progress, token)))
        except BaseException as exc:  # handed to the generator, which re-raises it in the request's thread
            events.put(("error", exc))
        finally:
            release()

    worker = threading.Thread(target=body, name=f"garmentstyle-render-{session.dir.name[:8]}", daemon=True)
    t0 = time.perf_counter()
    worker.start()
    cancelled_at: Optional[float] = None
    last = (f"{title}: {STAGES['prepare'][0]}…", "prepare", 0.0, time.perf_counter())  # label, stage, inner, since
    shown_at = time.perf_counter()
    try:
        yield RenderUpdate(None, 0.0, f"{title}: {STAGES['prepare'][0]}…")
        while True:
            if cancel.is_set() and not token.cancelled:
                token.cancel("cancelled by the designer")  # the library stops at its next checkpoint
            try:
                kind, value = events.get(timeout=POLL_S)
            except queue.Empty:
                now = time.perf_counter()
                if cancel.is_set():
                    cancelled_at = cancelled_at or now
                    if now - cancelled_at >= (KEEP_GRACE_S if last[1] == "optimise" else CANCEL_GRACE_S):
                        yield RenderUpdate(None, 1.0, f"{title} cancelled; nothing changed.", done=True,
                                           cancelled=True)
                        return
                elif now - shown_at >= ALIVE_S and last[1] != "optimise":
                    label, stage, inner, since = last
                    shown_at = now
                    yield RenderUpdate(None, creep(stage, now - since, inner),
                                       f"{label.rstrip('…')}… {now - since:.0f} s")
                continue
            if kind == "progress":
                msg, frac = describe(value, title)
                _, lo, hi = STAGES.get(value.stage, ("", 0.0, 1.0))
                inner = (frac - lo) / (hi - lo) if hi > lo else 0.0
                last, shown_at = (msg, value.stage, inner, time.perf_counter()), time.perf_counter()
                img = _u8(value.preview) if getattr(value, "preview", None) is not None else None
                yield RenderUpdate(img, frac, msg)
            elif kind == "error":
                if isinstance(value, Cancelled):
                    yield RenderUpdate(None, 1.0, f"{title} cancelled before it had an image; nothing changed.",
                                       done=True, cancelled=True)
                    return
                raise value
            else:
                secs = time.perf_counter() - t0
                w, h = value.report.output_size
                if value.report.cancelled:
                    msg = f"{title} cancelled after {secs:.1f} s; kept the image so far ({w}×{h} px)."
                else:
                    msg = f"{title} done: {w}×{h} px in {secs:.1f} s."
                yield RenderUpdate(_u8(value.image), 1.0, msg, done=True, result=value,
                                   cancelled=bool(value.report.cancelled))
                return
    finally:
        if worker.is_alive():
            cancel.set()
            worker.join(timeout=CANCEL_GRACE_S)  # a render stuck in a stage without checkpoints is let go


__all__ = ["RenderUpdate", "STAGES", "CANCEL_GRACE_S", "describe", "run", "stage_fraction"]

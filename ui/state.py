"""What the web app keeps: the app-wide context (temp folder, render presets, the SAM segmenter, the render queue) and
one :class:`Session` per browser tab.

A session lives in a ``gr.State`` (never in a module global): its sketch, the undo/redo :class:`~ui.model.History`
of its regions, its swatch library, the last render and the Cancel flag. Every file a session writes goes under its
own folder inside the app's temp folder, which is also Gradio's cache (``GRADIO_TEMP_DIR``), so nothing outside that
folder is ever served; every file gets a fresh numbered folder, so a file being served is never rewritten.
:meth:`Session.release` drops everything heavy when the tab closes (``gr.State``'s ``delete_callback``).
"""
from __future__ import annotations

import shutil
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from garmentstyle.options import RenderOptions
from garmentstyle.resources import RESOURCES, Resources

from .model import PALETTE, History, Snapshot
from .views import DISPLAY_SIDE, DisplayFrame

#: Upload rules (the library's reader adds the pixel limit, decompression-bomb, truncation and not-an-image checks).
SKETCH_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff")
SWATCH_SUFFIXES: tuple[str, ...] = SKETCH_SUFFIXES
PROJECT_SUFFIXES: tuple[str, ...] = (".zip",)
MAX_UPLOAD_MB: int = 40
MIN_SKETCH_SIDE: int = 64

#: The fast preview (UI presets; the full render is at the sketch's own size unless a print size is chosen).
PREVIEW_SIZE: int = 256
PREVIEW_ITERATIONS: int = 10

#: Bundled swatches given to the first regions, in this order (later regions get the last used fabric).
DEFAULT_SWATCHES: tuple[str, ...] = ("tartan", "floral", "gingham", "polka_dots", "stripes", "houndstooth", "denim")


class RenderQueue:
    """The app's render slots, first come first served, so a waiting tab can say how many renders are ahead of it
    (Gradio's own queue would only show "queue: 1/1")."""

    def __init__(self, slots: int = 1):
        self.slots = slots
        self._cond = threading.Condition()
        self._running: set[int] = set()
        self._waiting: list[int] = []
        self._next = 0

    def ticket(self) -> int:
        with self._cond:
            self._next += 1
            self._waiting.append(self._next)
            return self._next

    def ahead(self, ticket: int) -> int:
        """Renders that run or wait before ``ticket``."""
        with self._cond:
            return len(self._running) + (self._waiting.index(ticket) if ticket in self._waiting else 0)

    def try_start(self, ticket: int, timeout: float) -> bool:
        """Wait up to ``timeout`` s for a slot; True once ``ticket`` runs."""
        with self._cond:
            ok = self._cond.wait_for(lambda: len(self._running) < self.slots and self._waiting[:1] == [ticket],
                                     timeout=timeout)
            if ok:
                self._waiting.remove(ticket)
                self._running.add(ticket)
            return ok

    def leave(self, ticket: int) -> None:
        with self._cond:
            self._running.discard(ticket)
            if ticket in self._waiting:
                self._waiting.remove(ticket)
            self._cond.notify_all()


@dataclass
class AppContext:
    """App-wide settings and shared machinery (no user data).

    Attributes:
        root: the app's temp folder (Gradio's cache too); sessions write under ``root / "sessions"``.
        preview_size / preview_iterations: the fast preview's defaults.
        full_size: the full render's default longest side (0 = the sketch's own size: print size).
        full_iterations: the full render's default iterations (from :class:`RenderOptions`).
        base_options: every other render option (encoder, device, init, …) the UI does not show.
        queue_size: Gradio queue ``max_size``.
        sam_factory: returns the SAM segmenter to use for clicks and "Find garment", or None for the classical
            fill (default: the shared ``sam-vit-b`` one when its checkpoint is on disk). Tests pass a fake.
        sam_lock: held across ``set_image`` + ``predict`` so two sessions never interleave on the one SAM model.
        renders: the render queue (one render at a time for every user).
        resources: the process caches (prepared swatches and sketches, partitions, style targets, encoders, SAM
            segmenters): the app owns their lifecycle, ``resources.info()`` says what they hold and
            ``resources.clear()`` gives it back. Process-wide, not per context: :meth:`cleanup` leaves them alone
            (several contexts may live in one process, e.g. in tests).
    """

    root: Path
    preview_size: int = PREVIEW_SIZE
    preview_iterations: int = PREVIEW_ITERATIONS
    full_size: int = 0
    full_iterations: int = RenderOptions().iterations
    base_options: RenderOptions = field(default_factory=RenderOptions)
    queue_size: int = 64
    sam_factory: Optional[Callable[[], Any]] = None
    sam_lock: threading.Lock = field(default_factory=threading.Lock)
    renders: RenderQueue = field(default_factory=RenderQueue)
    owns_root: bool = False
    resources: Resources = field(default_factory=lambda: RESOURCES)

    @classmethod
    def create(cls, root: Optional[Path] = None, **kwargs: Any) -> "AppContext":
        """A context with a fresh temp folder (removed by :meth:`cleanup`) unless ``root`` is given."""
        owns = root is None
        root = Path(tempfile.mkdtemp(prefix="garmentstyle-ui-")) if root is None else Path(root)
        root.mkdir(parents=True, exist_ok=True)
        return cls(root=root.resolve(), owns_root=owns, **kwargs)

    @property
    def sessions_dir(self) -> Path:
        return self.root / "sessions"

    def sam(self):
        """The SAM segmenter for clicks, or None (classical fill)."""
        if self.sam_factory is not None:
            return self.sam_factory()
        import garmentstyle.segment as seg

        if seg.resolve_method("auto") != "sam":
            return None
        return seg.get_segmenter()

    def cleanup(self) -> None:
        """Remove the temp folder this context created. The process caches (:attr:`resources`) stay: they are
        shared with every other context and user of the library in this process."""
        if self.owns_root:
            shutil.rmtree(self.root, ignore_errors=True)


@dataclass(eq=False)
class RenderRecord:
    """The render on screen: its image file, its downloads, and what it was rendered from (the snapshot object and
    the look settings), so the app can tell when the downloads no longer match the workspace.

    Attributes:
        image: the PNG shown (at the render's full size).
        png / zip: the downloads (None until exported).
        size: (w, h) px.
        kind: "preview" or "full".
        snapshot: the :class:`Snapshot` rendered (immutable: compare by identity).
        look: the whole-render settings used (colour, lines, shading, seed).
        result: the :class:`garmentstyle.api.RenderResult` (None for a render reopened from a project).
        regions: the ``api.Region`` list it was rendered from.
        message: the report line.
    """

    image: Path
    size: tuple[int, int]
    kind: str
    snapshot: Optional[Snapshot]
    look: tuple
    png: Optional[Path] = None
    zip: Optional[Path] = None
    result: Any = None
    regions: list = field(default_factory=list)
    message: str = ""


@dataclass(eq=False)
class Session:
    """Everything one browser tab works on."""

    dir: Path
    sketch_path: Optional[Path] = None
    sketch_name: str = ""
    size: tuple[int, int] = (0, 0)  # (H, W) of the sketch
    frame: Optional[DisplayFrame] = None
    history: Optional[History] = None
    seg: Any = None  # the last classical Segmentation (its partition makes clicks cheap)
    editor_uids: list[int] = field(default_factory=list)  # the regions the brush editor's layers stand for
    render: Optional[RenderRecord] = None
    rendering: bool = False  # a render of this tab is queued or running
    library: list = field(default_factory=list)  # [(label, path)] swatches uploaded in this session
    view: str = "colour"
    look: tuple = ()  # the whole-render settings on screen (colour, keep lines, shading, seed)
    transparent: bool = False
    sketch_cm: float = 0.0  # the sketch's real height in cm (0 = unknown); saved in projects and the autosave
    pending: Any = None  # a sketch or project waiting for "replace my regions?": (kind, value)
    canvas_files: list = field(default_factory=list)
    cancel: threading.Event = field(default_factory=threading.Event)
    next_file: int = 1
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def has_sketch(self) -> bool:
        return self.sketch_path is not None and self.history is not None

    @property
    def snap(self) -> Optional[Snapshot]:
        return self.history.present if self.history is not None else None

    @property
    def display_scale(self) -> float:
        """Display pixels per sketch pixel."""
        return self.frame.scale if self.frame is not None else 1.0

    def file(self, name: str) -> Path:
        """A fresh path ``<session>/<n>/<name>`` (a numbered folder keeps every file's URL unique, so a file being
        served is never rewritten, and its name clean for downloads)."""
        with self.lock:
            n = self.next_file
            self.next_file += 1
        folder = self.dir / f"{n:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / name

    def release(self) -> None:
        """Drop everything heavy (history, render tensors, caches): the tab has closed. Files stay on disk (a reload
        restores from them) until the app's temp folder is removed."""
        self.cancel.set()
        self.history = None
        self.frame = None
        self.seg = None
        self.render = None
        from .memory import trim_soon

        trim_soon()  # hand the freed pages back to the OS (glibc keeps them otherwise: see ui/memory.py)


def new_session(ctx: AppContext) -> Session:
    """A session with its own folder under the app's temp folder."""
    d = ctx.sessions_dir / uuid.uuid4().hex
    d.mkdir(parents=True, exist_ok=True)
    return Session(dir=d)


def ensure(ctx: AppContext, session: Optional[Session]) -> Session:
    """The tab's session, created on first use (``gr.State`` starts as None)."""
    return session if isinstance(session, Session) else new_session(ctx)


__all__ = [
    "AppContext", "RenderQueue", "RenderRecord", "Session", "new_session", "ensure", "PALETTE", "SKETCH_SUFFIXES",
    "SWATCH_SUFFIXES", "PROJECT_SUFFIXES", "MAX_UPLOAD_MB", "MIN_SKETCH_SIDE", "DISPLAY_SIDE", "PREVIEW_SIZE",
    "PREVIEW_ITERATIONS", "DEFAULT_SWATCHES",
]

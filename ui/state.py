"""What the web app keeps: the app-wide context (temp folder, render presets, the SAM segmenter) and one
:class:`Session` per browser tab.

A session lives in a ``gr.State`` (never in a module global): its sketch, its regions (masks at the sketch's own
size, as numpy bool arrays), each region's fabric, the last render and the Cancel flag. Every file a session writes
goes under its own folder inside the app's temp folder, which is also Gradio's cache (``GRADIO_TEMP_DIR``), so
nothing outside that folder is ever served.
"""
from __future__ import annotations

import shutil
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from garmentstyle.transfer import RenderOptions

#: Region colours (RGB), in the order regions are created: distinct, and readable as a tint over line art.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (230, 25, 75), (0, 130, 200), (60, 180, 75), (245, 130, 48), (145, 30, 180), (0, 150, 150), (240, 50, 230),
    (170, 110, 40), (128, 0, 0), (0, 0, 128), (128, 128, 0), (255, 190, 0),
)

#: Upload rules (the library's reader adds the pixel limit, decompression-bomb, truncation and not-an-image checks).
SKETCH_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff")
SWATCH_SUFFIXES: tuple[str, ...] = SKETCH_SUFFIXES
MAX_UPLOAD_MB: int = 40
MIN_SKETCH_SIDE: int = 64
#: Longest side of the sketch as shown in the browser (clicks are mapped back to the sketch's own pixels).
DISPLAY_SIDE: int = 1024

#: The fast preview (UI presets; the full render's defaults come from :class:`RenderOptions`).
PREVIEW_SIZE: int = 256
PREVIEW_ITERATIONS: int = 10

#: Bundled swatches given to new regions, in this order (the first one present is used first).
DEFAULT_SWATCHES: tuple[str, ...] = ("tartan", "floral", "gingham", "polka_dots", "stripes", "houndstooth", "denim")


@dataclass
class AppContext:
    """App-wide settings and shared machinery (no user data).

    Attributes:
        root: the app's temp folder (Gradio's cache too); sessions write under ``root / "sessions"``.
        preview_size / preview_iterations: the fast preview's defaults.
        full_size / full_iterations: the full render's defaults (from :class:`RenderOptions`).
        base_options: every other render option (encoder, device, init, …) the UI does not show.
        queue_size: Gradio queue ``max_size``.
        sam_factory: returns the SAM segmenter to use for clicks and "Find garment", or None for the classical
            fill (default: the shared ``sam-vit-b`` one when its checkpoint is on disk). Tests pass a fake.
        sam_lock: held across ``set_image`` + ``predict`` so two sessions never interleave on the one SAM model.
    """

    root: Path
    preview_size: int = PREVIEW_SIZE
    preview_iterations: int = PREVIEW_ITERATIONS
    full_size: int = RenderOptions().size
    full_iterations: int = RenderOptions().iterations
    base_options: RenderOptions = field(default_factory=RenderOptions)
    queue_size: int = 16
    sam_factory: Optional[Callable[[], Any]] = None
    sam_lock: threading.Lock = field(default_factory=threading.Lock)
    owns_root: bool = False

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
        if self.owns_root:
            shutil.rmtree(self.root, ignore_errors=True)


@dataclass(eq=False)
class RegionState:
    """One region and its fabric.

    Attributes:
        uid: stable id (names can change).
        name: unique within the session; used in reports and export file names.
        mask: ``(H, W)`` bool at the sketch's own size.
        colour: RGB of its tint in the overlay.
        swatch: path of the swatch image (a bundled sample, or a validated upload in the session folder).
        swatch_label: what the designer sees ("tartan", "my-fabric.jpg").
        pattern: pattern size multiplier (1 = one swatch pixel per sketch pixel; 2 = twice as large);
            ``Region.scale`` is its inverse.
        rotation: degrees, counter-clockwise.
        strength: style weight.
        tileable: blend the swatch's edges so a photo that does not repeat tiles without seams.
        points: SAM prompts ``[(x, y, label)]`` in sketch pixels (empty for classical regions).
    """

    uid: int
    name: str
    mask: np.ndarray
    colour: tuple[int, int, int]
    swatch: str = ""
    swatch_label: str = ""
    pattern: float = 1.0
    rotation: float = 0.0
    strength: float = 1.0
    tileable: bool = False
    points: list = field(default_factory=list)

    @property
    def area(self) -> int:
        return int(self.mask.sum())


@dataclass(eq=False)
class Session:
    """Everything one browser tab works on."""

    dir: Path
    sketch_path: Optional[Path] = None
    sketch_name: str = ""
    size: tuple[int, int] = (0, 0)  # (H, W) of the sketch
    display: Optional[np.ndarray] = None  # (h, w, 3) uint8: the sketch as shown
    regions: list[RegionState] = field(default_factory=list)
    current: Optional[int] = None  # uid of the current region
    seg: Any = None  # the last classical Segmentation (its partition makes clicks cheap)
    editor_uids: list[int] = field(default_factory=list)  # the regions the brush editor's layers stand for
    result: Any = None  # the last RenderResult
    result_regions: list = field(default_factory=list)  # the api.Region list it was rendered from
    result_kind: str = ""
    exports: dict = field(default_factory=dict)
    cancel: threading.Event = field(default_factory=threading.Event)
    next_uid: int = 1
    next_file: int = 1

    # -- helpers ---------------------------------------------------------------------------------------------------
    @property
    def has_sketch(self) -> bool:
        return self.sketch_path is not None

    @property
    def display_scale(self) -> float:
        """Display pixels per sketch pixel."""
        if self.display is None or not self.size[1]:
            return 1.0
        return self.display.shape[1] / self.size[1]

    def region(self, uid: Optional[int]) -> Optional[RegionState]:
        for r in self.regions:
            if r.uid == uid:
                return r
        return None

    def by_name(self, name: str) -> Optional[RegionState]:
        for r in self.regions:
            if r.name == name:
                return r
        return None

    @property
    def current_region(self) -> Optional[RegionState]:
        return self.region(self.current)

    def take_uid(self) -> int:
        uid = self.next_uid
        self.next_uid += 1
        return uid

    def file(self, name: str) -> Path:
        """A fresh path ``<session>/<n>/<name>`` (a numbered folder keeps every file's URL unique and its name
        clean for downloads)."""
        n = self.next_file
        self.next_file += 1
        folder = self.dir / f"{n:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / name

    def colour_for_new(self) -> tuple[int, int, int]:
        used = {r.colour for r in self.regions}
        for c in PALETTE:
            if c not in used:
                return c
        return PALETTE[len(self.regions) % len(PALETTE)]

    def unique_name(self, base: str) -> str:
        names = {r.name for r in self.regions}
        if base not in names:
            return base
        i = 2
        while f"{base} {i}" in names:
            i += 1
        return f"{base} {i}"


def new_session(ctx: AppContext) -> Session:
    """A session with its own folder under the app's temp folder."""
    d = ctx.sessions_dir / uuid.uuid4().hex
    d.mkdir(parents=True, exist_ok=True)
    return Session(dir=d)


def ensure(ctx: AppContext, session: Optional[Session]) -> Session:
    """The tab's session, created on first use (``gr.State`` starts as None)."""
    return session if isinstance(session, Session) else new_session(ctx)


__all__ = [
    "AppContext", "RegionState", "Session", "new_session", "ensure", "PALETTE", "SKETCH_SUFFIXES",
    "SWATCH_SUFFIXES", "MAX_UPLOAD_MB", "MIN_SKETCH_SIDE", "DISPLAY_SIDE", "PREVIEW_SIZE", "PREVIEW_ITERATIONS",
    "DEFAULT_SWATCHES",
]

"""The data the segmentation stage takes and gives: options, regions, the result, strokes, progress.

Conventions (see ARCHITECTURE.md): masks are ``(H, W)`` torch tensors, float32 in [0, 1] (hard masks hold only 0 and
1), label maps ``(H, W)`` int64; points are XY in pixels, boxes XYXY in pixels (as SAM). Options are frozen and
validated in ``__post_init__``, before any model loads; their choices are the module-level tuples below so messages
and CLI flags cannot drift.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np
import torch

from ..errors import InputError, MaskError, OptionsError

#: What ``segment(method=...)`` accepts. ``auto``: SAM when its checkpoint is on disk, else classical.
METHODS: tuple[str, ...] = ("auto", "classical", "sam")
#: SAM checkpoints (names in :mod:`garmentstyle.weights`' manifest), the first is the default.
SAM_MODELS: tuple[str, ...] = ("sam-vit-b", "sam-vit-l", "sam-vit-h")
#: ``segment_anything.sam_model_registry`` key of each SAM checkpoint.
SAM_MODEL_TYPES: dict[str, str] = {"sam-vit-b": "vit_b", "sam-vit-l": "vit_l", "sam-vit-h": "vit_h"}
#: What the sketch shows. ``auto`` decides per sketch; ``flat``: a garment drawn alone (the whole drawing is the
#: garment); ``figure``: a croquis, a figure wearing the garment (head, hands and legs are not the garment).
LAYOUTS: tuple[str, ...] = ("auto", "flat", "figure")
#: What one click selects (:func:`~garmentstyle.segment.region_at`): ``part``: the garment part under it (a skirt
#: whose panels are split by seams, as one); ``panel``: only the enclosed region under it.
SCOPES: tuple[str, ...] = ("part", "panel")
#: Largest gap tolerance accepted, in pixels.
MAX_GAP: int = 64

#: Colours of a STROKES.png (RGB 0-255): strokes drawn in these colours (or near them) select / remove regions.
POSITIVE_COLOUR: tuple[int, int, int] = (0, 255, 0)
NEGATIVE_COLOUR: tuple[int, int, int] = (255, 0, 0)


@dataclass(frozen=True)
class SegmentOptions:
    """How to segment. Every field has a CLI flag or a UI control derived from it.

    Attributes:
        gap: close gaps in the line art up to this many pixels (a sketch's outlines are rarely perfectly closed).
            ``None`` (default): automatic, the smallest gap in ``0..max_gap`` at which the drawing encloses regions.
        max_gap: the largest gap the automatic search tries; ``None``: 2.5 % of the sketch's long side (≥ 8 px).
        ink_threshold: grey level in (0, 1) below which a pixel is line art; ``None``: Otsu's threshold clamped to
            [0.30, 0.60] so light grey shading (~0.75-0.95) is never taken for lines.
        layout: one of :data:`LAYOUTS`; what the auto pick assumes the sketch shows.
        fill_holes: fill holes inside the garment (buttons, logos, closed details).
        min_speck: regions and islands smaller than this many pixels are dropped / merged; ``None``: 0.02 % of the
            sketch's area (at least 12 px).
        min_part: parts smaller than this fraction of the garment are merged into their neighbour.
        max_parts: at most this many part regions are reported (the smallest merge into neighbours).
        smooth: radius in px of the jaggy smoothing of mask edges (0: off).
        grow_under_lines: let regions grow back under the line art so the fabric reaches the lines (classical:
            always; SAM: its masks are extended into the touching lines).
        soft_edge: feather the masks' edges over this many pixels (0: hard 0/1 masks).
        sam_model: which SAM checkpoint ``method="sam"`` / ``"auto"`` uses (one of :data:`SAM_MODELS`).
        add_to_auto: with strokes: start from the auto garment and add (positive) / remove (negative) regions,
            instead of selecting only what positive strokes touch.
        device: torch device for SAM (classical runs on the CPU with OpenCV).
    """

    gap: Optional[int] = None
    max_gap: Optional[int] = None
    ink_threshold: Optional[float] = None
    layout: str = "auto"
    fill_holes: bool = True
    min_speck: Optional[int] = None
    min_part: float = 0.004
    max_parts: int = 24
    smooth: int = 1
    grow_under_lines: bool = True
    soft_edge: float = 0.0
    sam_model: str = SAM_MODELS[0]
    add_to_auto: bool = False
    device: str = "cpu"

    def __post_init__(self) -> None:
        def _int_or_none(name: str, lo: int, hi: int) -> None:
            v = getattr(self, name)
            if v is None:
                return
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not lo <= int(v) <= hi:
                raise OptionsError(f"{name}: expected a whole number of pixels in {lo}..{hi} (or None), got {v!r}")

        _int_or_none("gap", 0, MAX_GAP)
        _int_or_none("max_gap", 0, MAX_GAP)
        _int_or_none("min_speck", 0, 10**9)
        if self.ink_threshold is not None and not (
            isinstance(self.ink_threshold, (int, float)) and 0.0 < float(self.ink_threshold) < 1.0
        ):
            raise OptionsError(f"ink_threshold: expected a grey level in (0, 1) or None, got {self.ink_threshold!r}")
        if self.layout not in LAYOUTS:
            raise OptionsError(f"layout: expected one of {', '.join(LAYOUTS)}, got {self.layout!r}")
        if self.sam_model not in SAM_MODELS:
            raise OptionsError(f"sam_model: expected one of {', '.join(SAM_MODELS)}, got {self.sam_model!r}")
        if not isinstance(self.min_part, (int, float)) or not 0.0 <= float(self.min_part) < 0.5:
            raise OptionsError(f"min_part: expected a fraction of the garment in [0, 0.5), got {self.min_part!r}")
        if isinstance(self.max_parts, bool) or not isinstance(self.max_parts, int) or not 1 <= self.max_parts <= 254:
            raise OptionsError(f"max_parts: expected a whole number in 1..254, got {self.max_parts!r}")
        if isinstance(self.smooth, bool) or not isinstance(self.smooth, int) or not 0 <= self.smooth <= 16:
            raise OptionsError(f"smooth: expected a radius in pixels 0..16, got {self.smooth!r}")
        if not isinstance(self.soft_edge, (int, float)) or not 0.0 <= float(self.soft_edge) <= 64.0:
            raise OptionsError(f"soft_edge: expected a feather width in pixels 0..64, got {self.soft_edge!r}")
        for name in ("fill_holes", "grow_under_lines", "add_to_auto"):
            if not isinstance(getattr(self, name), bool):
                raise OptionsError(f"{name}: expected True or False, got {getattr(self, name)!r}")

    def to_dict(self) -> dict:
        """JSON-ready (the recipe's ``segment`` section)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "SegmentOptions":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise OptionsError(f"unknown segmentation option(s) {', '.join(unknown)}; expected some of {sorted(known)}")
        return cls(**data)


# One progress event: ``stage`` ("binarise", "regions", "pick", "sam-embed", ...), ``step`` of ``total`` stages,
# seconds since the call started. The one Progress type of render, segment and download (issue 11): a
# garmentstyle.progress.Progress with task="segment", built as SegmentProgress(stage, step, total, elapsed).
from ..progress import SegmentProgress  # noqa: E402


ProgressCallback = Callable[[SegmentProgress], None]


@dataclass
class RegionInfo:
    """One region of a segmentation.

    Attributes:
        name: file-safe name (``part01`` ...; ``garment`` for the whole garment).
        label: its id in :attr:`Segmentation.labels` (1..R), 0 for the garment itself.
        mask: ``(H, W)`` float32 in [0, 1].
        area: pixels inside (mask > 0.5).
        box: ``(x0, y0, x1, y1)`` in pixels, XYXY, exclusive ends (as SAM / numpy slicing).
        method: what produced it (``"classical"``, ``"sam-vit-b"``, ``"strokes"`` ...).
        score: in [0, 1]; how garment-like (auto pick) or how sure the method is (SAM's predicted IoU).
        kind: ``"enclosed"`` (a closed area of the drawing), ``"fill"`` (a solid-ink area) or ``"sam"``.
    """

    name: str
    label: int
    mask: torch.Tensor
    area: int
    box: tuple[int, int, int, int]
    method: str
    score: float
    kind: str = "enclosed"

    def to_json(self, file: Optional[str] = None) -> dict:
        d = {
            "name": self.name,
            "label": int(self.label),
            "area": int(self.area),
            "box": [int(v) for v in self.box],
            "method": self.method,
            "score": round(float(self.score), 4),
            "kind": self.kind,
        }
        if file is not None:
            d["file"] = file
        return d


#: Colours of ``labels.png`` (label 1 gets the first); background is white.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180), (70, 240, 240), (240, 50, 230),
    (210, 245, 60), (250, 190, 212), (0, 128, 128), (220, 190, 255), (170, 110, 40), (255, 250, 200), (128, 0, 0),
    (170, 255, 195), (128, 128, 0), (255, 215, 180), (0, 0, 128), (128, 128, 128), (255, 225, 25),
)


@dataclass
class Segmentation:
    """The result of :func:`garmentstyle.segment.segment`.

    Attributes:
        garment: ``(H, W)`` float32: the chosen whole garment (or the stroke selection); {0, 1} unless
            ``soft_edge`` > 0, then it falls off smoothly over that many pixels at the edge.
        labels: ``(H, W)`` int64: 0 = outside the garment, 1..R = its part regions, ranked (1 = best / largest).
        regions: one :class:`RegionInfo` per label, in label order.
        method: what actually ran: ``"classical"`` or the SAM checkpoint name (``"sam-vit-b"`` ...).
        confidence: in [0, 1]: how sure the pick is (closure of the outline, plausible area, separation of the
            garment from the figure). Below ~0.5 look at ``notes``.
        notes: human-readable warnings (``"no closed outline found; gap closing at 6 px"`` ...).
        partition: ``(H, W)`` int64 or None: every region of the drawing before the pick (0 = background), what
            clicks and strokes select from; None for SAM-only results.
        layout: ``"flat"`` or ``"figure"``: what the auto pick took the sketch for.
        gap: the gap tolerance that was used (px).
        groups: ``(N + 1,)`` int64 or None: per partition label, the id of the garment part it belongs to (panels
            of a skirt share one; see :mod:`garmentstyle.segment.parts`), what a click selects.
    """

    garment: torch.Tensor
    labels: torch.Tensor
    regions: list[RegionInfo]
    method: str
    confidence: float
    notes: list[str] = field(default_factory=list)
    partition: Optional[torch.Tensor] = None
    layout: str = "flat"
    gap: int = 0
    groups: Optional[torch.Tensor] = None

    @property
    def size(self) -> tuple[int, int]:
        """``(H, W)``."""
        return (int(self.garment.shape[0]), int(self.garment.shape[1]))

    @property
    def masks(self) -> torch.Tensor:
        """The part masks stacked, ``(R, H, W)`` float32 (what the transfer stage takes with :attr:`labels`)."""
        if not self.regions:
            return self.garment.unsqueeze(0).clone()
        return torch.stack([r.mask for r in self.regions])

    def to_json(self, files: Optional[dict[str, str]] = None) -> dict:
        files = files or {}
        h, w = self.size
        area = int((self.garment > 0.5).sum())
        ys, xs = torch.nonzero(self.garment > 0.5, as_tuple=True)
        box = [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1] if area else [0, 0, 0, 0]
        return {
            "method": self.method,
            "confidence": round(float(self.confidence), 4),
            "layout": self.layout,
            "gap": int(self.gap),
            "size": [w, h],
            "notes": list(self.notes),
            "garment": {"name": "garment", "file": files.get("garment"), "area": area, "box": box},
            "labels": {"file": files.get("labels"), "raw": files.get("labels_raw")},
            "regions": [r.to_json(files.get(r.name)) for r in self.regions],
        }

    def save(self, out_dir: str | os.PathLike) -> dict:
        """Write the masks into ``out_dir`` (created if needed) and return what ``regions.json`` holds.

        Files: ``garment.png`` (0/255, the sketch's size), ``<region>.png`` per part (``part01.png`` ...),
        ``labels.png`` (colour-coded label map, for people), ``labels_raw.png`` (8-bit label ids, for programs), and
        ``regions.json`` (per region: name, file, label, area, box, method, score).
        """
        from PIL import Image

        from ..io import atomic_write_bytes, save_mask, save_png

        out = Path(out_dir)
        if out.exists() and not out.is_dir():
            raise InputError(f"{out}: expected a folder for the masks, found a file; choose another --out-dir")
        out.mkdir(parents=True, exist_ok=True)
        files: dict[str, str] = {}
        save_mask(self.garment, out / "garment.png")
        files["garment"] = "garment.png"
        for r in self.regions:
            name = f"{r.name}.png"
            save_mask(r.mask, out / name)
            files[r.name] = name
        lab = self.labels.detach().cpu().numpy()
        if lab.max(initial=0) > 255:
            raise MaskError(f"{lab.max()} labels do not fit an 8-bit label map; lower max_parts")
        raw = lab.astype(np.uint8)
        save_png(Image.fromarray(raw, "L"), out / "labels_raw.png")
        files["labels_raw"] = "labels_raw.png"
        pal = np.full((256, 3), 255, np.uint8)
        for i in range(1, 256):
            pal[i] = PALETTE[(i - 1) % len(PALETTE)]
        save_png(Image.fromarray(pal[raw], "RGB"), out / "labels.png")
        files["labels"] = "labels.png"
        data = self.to_json(files)
        atomic_write_bytes(out / "regions.json", (json.dumps(data, indent=2) + "\n").encode())
        return data


@dataclass
class Strokes:
    """The designer's strokes and clicks on a sketch.

    Attributes:
        positive: ``(H, W)`` bool: select the region(s) these pixels touch.
        negative: ``(H, W)`` bool: remove the region(s) these pixels touch.
        points: clicks ``[(x, y, positive)]`` in pixels.
        boxes: boxes ``[(x0, y0, x1, y1)]`` in pixels (SAM prompts; classical: regions mostly inside the box).
        notes: what :func:`~garmentstyle.segment.load_strokes` had to adjust (copied into the result's notes).
    """

    positive: torch.Tensor
    negative: torch.Tensor
    points: list[tuple[float, float, bool]] = field(default_factory=list)
    boxes: list[tuple[float, float, float, float]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.positive = _as_bool_mask(self.positive, "positive strokes")
        self.negative = _as_bool_mask(self.negative, "negative strokes")
        if self.positive.shape != self.negative.shape:
            raise MaskError(
                f"positive strokes are {tuple(self.positive.shape)} but negative strokes are "
                f"{tuple(self.negative.shape)}; both must be (H, W) of the sketch"
            )
        pts = []
        for p in self.points:
            if len(p) not in (2, 3):
                raise InputError(f"a click must be (x, y) or (x, y, positive), got {p!r}")
            x, y = float(p[0]), float(p[1])
            pts.append((x, y, bool(p[2]) if len(p) == 3 else True))
        self.points = pts
        bxs = []
        for b in self.boxes:
            if len(b) != 4:
                raise InputError(f"a box must be (x0, y0, x1, y1), got {b!r}")
            x0, y0, x1, y1 = (float(v) for v in b)
            bxs.append((min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)))
        self.boxes = bxs

    @property
    def size(self) -> tuple[int, int]:
        return (int(self.positive.shape[0]), int(self.positive.shape[1]))

    @classmethod
    def empty(cls, size: Sequence[int]) -> "Strokes":
        h, w = int(size[0]), int(size[1])
        return cls(torch.zeros(h, w, dtype=torch.bool), torch.zeros(h, w, dtype=torch.bool))

    @classmethod
    def from_points(
        cls,
        size: Sequence[int],
        points: Sequence[tuple] = (),
        boxes: Sequence[tuple] = (),
    ) -> "Strokes":
        """Clicks and boxes only (no painted strokes): what the UI's click mode builds."""
        s = cls.empty(size)
        return cls(s.positive, s.negative, points=list(points), boxes=list(boxes))

    def is_empty(self) -> bool:
        return not bool(self.positive.any() or self.negative.any() or self.points or self.boxes)


def _as_bool_mask(m, what: str) -> torch.Tensor:
    if isinstance(m, np.ndarray):
        m = torch.from_numpy(np.ascontiguousarray(m))
    if not isinstance(m, torch.Tensor):
        raise InputError(f"{what}: expected an (H, W) bool mask, got {type(m).__name__}")
    while m.ndim > 2 and m.shape[0] == 1:
        m = m[0]
    if m.ndim != 2:
        raise MaskError(f"{what}: expected an (H, W) mask, got shape {tuple(m.shape)}")
    return m > 0.5 if m.dtype != torch.bool else m

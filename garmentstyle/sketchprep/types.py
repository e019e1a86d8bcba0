"""Options and result of sketch preparation (see :mod:`garmentstyle.sketchprep`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import torch

from ..errors import OptionsError

#: Long side (px) of the working copy the analysis runs on; larger sketches are downscaled (area average, which
#: also averages the scan's noise down) and the results mapped back.
WORK_SIDE: int = 1024


@dataclass(frozen=True)
class PrepOptions:
    """How to prepare a sketch.

    Attributes:
        work_side: long side of the working copy (px, 256..4096); larger inputs are analysed downscaled.
        flatten: divide out the paper's illumination and colour (vignette, shadow, warm cast, cream paper).
        find_page: find the sheet in a photo (a desk around it is not drawing) and ignore what lies outside.
        deskew: measure the page's / drawing's small rotation (reported as ``rotation``; the cleaned sketch keeps
            the input's geometry so masks stay aligned, see :func:`~garmentstyle.sketchprep.deskewed`).
        sensitivity: multiplies the ink thresholds' noise margin (below 1: fainter lines count; 0.3..3).
    """

    work_side: int = WORK_SIDE
    flatten: bool = True
    find_page: bool = True
    deskew: bool = True
    sensitivity: float = 1.0

    def __post_init__(self) -> None:
        if isinstance(self.work_side, bool) or not isinstance(self.work_side, (int, np.integer)) or not (
            256 <= int(self.work_side) <= 4096
        ):
            raise OptionsError(f"work_side: expected a whole number of pixels in 256..4096, got {self.work_side!r}")
        for name in ("flatten", "find_page", "deskew"):
            if not isinstance(getattr(self, name), bool):
                raise OptionsError(f"{name}: expected True or False, got {getattr(self, name)!r}")
        if isinstance(self.sensitivity, bool) or not isinstance(self.sensitivity, (int, float)) or not (
            0.3 <= float(self.sensitivity) <= 3.0
        ):
            raise OptionsError(f"sensitivity: expected a number in 0.3..3, got {self.sensitivity!r}")


@dataclass
class WorkImage:
    """The analysis at the working resolution (numpy; what segmentation reads).

    Attributes:
        rgb: ``(h, w, 3)`` float32 in [0, 1]: the flattened, white-balanced sketch (paper ≈ 1).
        grey: ``(h, w)`` float32 in [0, 1]: its luminance, paper exactly 1 outside lines and fills.
        lines: ``(h, w)`` bool: line art (pencil, pen, ink; solid black fills included).
        fills: ``(h, w)`` int32: 0 = paper / line, 1..K = flat colour (marker, wash) areas, one id per colour class.
        page: ``(h, w)`` bool: inside the sheet (everything, when no sheet edge was found).
        noise: the paper's noise (robust sigma of the flattened darkness).
        scale: work px per input px (≤ 1).
        raw_texture: share of the sheet with local contrast before flattening, away from the lines (a photo or
            a fabric: high; paper: low).
        raw_level: median luminance of the bare paper (the sheet without lines and colour fills; the whole sheet
            when fills cover 90 % of it) before flattening (paper is light even in a shadow).
    """

    rgb: np.ndarray
    grey: np.ndarray
    lines: np.ndarray
    fills: np.ndarray
    page: np.ndarray
    noise: float
    scale: float
    raw_texture: float = 0.0
    raw_level: float = 1.0


@dataclass
class PreparedSketch:
    """A sketch made ready for segmentation and rendering.

    Attributes:
        cleaned: ``(1, 3, H, W)`` float32 in [0, 1]: the drawing on white paper (illumination and paper colour
            divided out, paper texture and noise set to white, outside the sheet white), the input's size and
            geometry. None when only the working copy was asked for.
        ink: ``(H, W)`` float32 in [0, 1]: line opacity, 1 = solid ink, 0 = no line (marker fills are not ink).
            None with ``cleaned``.
        paper: ``(3,)`` float: the paper's colour (RGB in [0, 1], the median of the estimated illumination).
        rotation: degrees the drawing is turned clockwise on screen (0 when none was measured reliably).
        rotation_source: ``"page"`` (the sheet's edges), ``"lines"`` (long straight lines), or ``"none"``.
        page_box: ``(x0, y0, x1, y1)`` of the sheet in input px (the whole image when no sheet edge was found).
        size: ``(H, W)`` of the input.
        work: the :class:`WorkImage`.
        notes: what was done / doubtful, for the user.
    """

    cleaned: Optional[torch.Tensor]
    ink: Optional[torch.Tensor]
    paper: tuple[float, float, float]
    rotation: float
    rotation_source: str
    page_box: tuple[int, int, int, int]
    size: tuple[int, int]
    work: WorkImage
    notes: list[str] = field(default_factory=list)

"""Finishing: put the sketch's line art and shading back on the fabric, and composite exactly inside the masks.

The optimisation works on a free "fabric" canvas; the sketch goes back on at the end in two layers, as a designer
inks over a marker rendering:

- **shading** multiplies the fabric by the sketch's normalised luminance (grey shading and marker tones darken
  the fabric as a marker would);
- **ink** is laid *over* it: where the sketch has a line, its own pixel is painted with an opacity from how much
  of a line it is (:func:`ink_map`). A solid black line comes out exactly as drawn, also where a region's mask covers
  a thick outline (no fabric shows through it); a grey pencil line stays grey instead of darkening the fabric under
  it into a coloured line (so on a fabric darker than the pencil the line reads lighter, as graphite over marker
  does); anti-aliased line edges blend into the fabric, so the fabric still reaches the lines.

The prototype showed that a content loss against the sketch pulls the fabric back to white paper and that
style-only optimisation erases shading, so keeping the sketch is a finishing step, not a loss. Pixels outside the
union of the masks are copied from the sketch unchanged. An ink map from sketch preparation (issue 8's cleaned
sketch) can be passed in; otherwise it is derived from the sketch here.
"""
from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from .colour import luminance
from .morph import CLASS_DISTANCES, bbox, edt_classes_in_box, edt_in_box


def paper_white(sketch: torch.Tensor) -> torch.Tensor:
    """The sketch's paper white: the 98th percentile of its luminance (on a ≤ 200 000-pixel stride sample), ≥ 0.05.
    A scalar tensor; computed on the *whole* sketch, so a crop finished on its own gets the same value."""
    n = sketch.shape[-2] * sketch.shape[-1]
    sample = sketch.reshape(*sketch.shape[:-2], 1, n)[..., :: max(1, n // 200_000)]  # the same pixels, not all
    return torch.quantile(luminance(sample).flatten(), 0.98).clamp_min(0.05)


def shading_map(sketch: torch.Tensor, *, strength: float = 1.0, paper: torch.Tensor | None = None) -> torch.Tensor:
    """Multiplier ``(1, 1, H, W)`` in [0, 1]: the sketch's luminance relative to its paper white.

    Args: sketch ``(1, 3, H, W)`` in [0, 1]; strength 0 (flat fabric) … 1 (full shading and lines); paper: the
    paper white (:func:`paper_white`, default: of ``sketch``) — pass the whole sketch's when ``sketch`` is a crop.
    """
    lum = luminance(sketch)
    paper = paper_white(sketch) if paper is None else paper
    s = (lum / paper).clamp(0, 1)
    return 1.0 - strength * (1.0 - s)


#: Relative luminance (to the paper) at or below which a pixel is solid ink, whatever its width; and where the
#: darkness ramp starts (above it a pixel is ink only if it is a thin line darker than its surroundings).
SOLID_INK = 0.30
DARK_RAMP = 0.50
#: Local contrast of a thin line (1 − pixel / its neighbourhood without the line) from which it is ink, and at
#: which it is fully ink: a light pencil line (~0.55 on white) is fully ink, a marker tone is not.
LINE_CONTRAST = (0.12, 0.40)


def _smoothstep(x: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    t = (x - lo).div_(hi - lo).clamp_(0, 1)
    return (t * t).mul_(3 - 2 * t)


def default_line_px(shape: tuple[int, ...]) -> int:
    """The widest thin line :func:`ink_map` looks for: ~1.2 % of the image's longer side, odd, ≥ 5 px."""
    k = max(5, round(0.012 * max(shape[-2:])))
    return k + 1 - k % 2


def _max_filter(x: torch.Tensor, k: int) -> torch.Tensor:
    """``(1, 1, H, W)``: the maximum over each ``k``×``k`` window (``k`` odd) inside the image — exactly
    ``F.max_pool2d(x, k, 1, k // 2)``, in O(1) per pixel: OpenCV's dilation on CPU (~400× faster than the k²
    pooling at 2048 px: 7 s → 17 ms), a separable pair of 1-D poolings elsewhere."""
    if x.device.type == "cpu" and x.dtype == torch.float32 and x.shape[:2] == (1, 1):
        arr = np.ascontiguousarray(x[0, 0].numpy())
        return torch.from_numpy(cv2.dilate(arr, np.ones((k, k), np.uint8)))[None, None]
    x = F.max_pool2d(x, (1, k), 1, (0, k // 2))
    return F.max_pool2d(x, (k, 1), 1, (k // 2, 0))


def _closing(rel: torch.Tensor, k: int) -> torch.Tensor:
    """Grey closing of ``rel`` ``(1, 1, H, W)`` by a ``k``×``k`` square: the max filter, then the min filter
    (``-max(-x)``; on CPU float32 OpenCV's erosion, whose +inf border is that exactly)."""
    if rel.device.type == "cpu" and rel.dtype == torch.float32 and rel.shape[:2] == (1, 1):
        kernel = np.ones((k, k), np.uint8)
        arr = np.ascontiguousarray(rel[0, 0].numpy())
        return torch.from_numpy(cv2.erode(cv2.dilate(arr, kernel), kernel))[None, None]
    return -_max_filter(-_max_filter(rel, k), k)


def _ink_of(rel: torch.Tensor, bg: torch.Tensor) -> torch.Tensor:
    """The ink opacity from the relative luminance ``rel`` and its closing ``bg`` (same shape): per pixel, so a
    strip of rows gives the strip of the whole result."""
    contrast = (bg - rel).div_(bg.clamp_min(0.05)).clamp_(0, 1)
    dark = _smoothstep(-rel, -DARK_RAMP, -SOLID_INK)  # 1 at ≤ SOLID_INK, 0 at ≥ DARK_RAMP
    return torch.maximum(dark, _smoothstep(contrast, *LINE_CONTRAST))


def _relative(sketch: torch.Tensor, paper: torch.Tensor) -> torch.Tensor:
    """``(1, 1, H, W)``: luminance relative to the paper white, clipped to [0, 1] (the shading map at strength 1,
    and what the ink map looks at)."""
    return (luminance(sketch) / paper).clamp_(0, 1)


def ink_map(sketch: torch.Tensor, *, line_px: int | None = None, paper: torch.Tensor | None = None) -> torch.Tensor:
    """Opacity ``(1, 1, H, W)`` in [0, 1] of the sketch's line art (1 = solid ink).

    Two kinds of ink: anything darker than ``SOLID_INK`` of the paper (thick outlines, filled black details), and
    thin lines — pixels darker than their neighbourhood with the line removed (a grey closing of ``line_px``, by
    default ~1.2 % of the longer side) by a ``LINE_CONTRAST`` margin, so pencil lines count while broad shading and
    marker tones (no darker than their surroundings at that scale) do not.

    Args: sketch ``(1, 3, H, W)`` in [0, 1]; line_px: the widest thin line, px (default
    :func:`default_line_px`); paper: the paper white (:func:`paper_white`, default: of ``sketch``).
    """
    paper = paper_white(sketch) if paper is None else paper
    rel = _relative(sketch, paper)
    k = line_px or default_line_px(sketch.shape)
    k = k + 1 - k % 2
    return _ink_of(rel, _closing(rel, k))


def region_alphas(masks: torch.Tensor, *, soft_edge: float = 1.5) -> torch.Tensor:
    """Per-region opacity ``(R, H, W)`` in [0, 1], zero wherever the mask is zero.

    Later regions lie on top of earlier ones (a pocket over a bodice). A binary mask gets a ramp of ``soft_edge``
    pixels *inside* its edge; a soft mask keeps its own values. The sum over regions never exceeds 1.
    """
    R, H, W = masks.shape
    alphas = torch.zeros_like(masks)
    covered = torch.zeros(H, W, dtype=masks.dtype, device=masks.device)
    for r in range(R - 1, -1, -1):  # top-most first
        inside = (masks[r] > 0).cpu().numpy()
        box = bbox(inside)
        if box is None:  # an empty mask has no opacity anywhere
            continue
        # Every step is per pixel and zero outside the mask: work on its bounding box (the same values).
        y0, y1, x0, x1 = box
        m = masks[r, y0:y1, x0:x1].clamp(0, 1)
        if soft_edge > 1.0:  # exact distances only where they are below soft_edge (the ramp is 1 beyond)
            if soft_edge <= 2.0:  # only distances 1 and √2 are below it: classes from two erosions, no transform
                ramp = np.clip(CLASS_DISTANCES / soft_edge, 0.0, 1.0)[edt_classes_in_box(inside, box)]
            else:
                ramp = np.clip(edt_in_box(inside, box, soft_edge) / soft_edge, 0.0, 1.0)
            m = m * torch.from_numpy(ramp).to(m)
        a = m * (1.0 - covered[y0:y1, x0:x1])
        alphas[r, y0:y1, x0:x1] = a
        covered[y0:y1, x0:x1] += a
    return alphas


#: Rows per strip of the finishing's per-pixel steps: a strip's temporaries stay in the CPU cache (the steps are
#: memory bound; at 2048 px whole-box temporaries are ~30 MB each).
STRIP_ROWS = 32


def compose(sketch: torch.Tensor, fabric: torch.Tensor, alphas: torch.Tensor, *, keep_sketch: bool = True,
            shading_strength: float = 1.0, ink: torch.Tensor | None = None,
            coverage: torch.Tensor | None = None, outside: torch.Tensor | None = None) -> torch.Tensor:
    """The render: fabric × shading with the ink on top inside the masks, the sketch untouched outside.

    Args:
        sketch: ``(1, 3, H, W)`` in [0, 1].
        fabric: ``(1, 3, H, W)`` in [0, 1], the optimised canvas (only its pixels under ``alphas`` are used).
        alphas: ``(R, H, W)`` from :func:`region_alphas`.
        keep_sketch: False = the bare fabric (no shading, no ink).
        shading_strength: 0 (flat fabric, lines still inked) … 1 (full shading).
        ink: ``(H, W)`` or ``(1, 1, H, W)`` in [0, 1], the line art's opacity (e.g. from sketch preparation);
            None = :func:`ink_map` of ``sketch``.
        coverage: ``(H, W)`` ``alphas.sum(0).clamp(0, 1)`` when the caller has it already (None: computed here).
        outside: ``(1, 3, H, W)`` in [0, 1], what shows where no region is (None: ``sketch``). A cleaned scan
            finishes the fabric on a sketch whose marker placeholders were divided out, but where no region covers
            a marker fill the designer's colour must stay (:func:`garmentstyle.sketchprep.for_render`).
    Returns: ``(1, 3, H, W)`` in [0, 1]; exactly ``outside`` (or ``sketch``) where all alphas are 0, and ``sketch``
    where the ink is 1 inside a region.
    """
    a = alphas.sum(dim=0).clamp(0, 1) if coverage is None else coverage
    base = sketch if outside is None else outside
    out = base.clamp(0, 1)  # a new tensor: exactly the sketch (or ``outside``) wherever no region is
    box = bbox(a.detach().cpu().numpy() > 0)
    if box is None:
        return out
    # Only the masks' bounding box is finished (every step is per pixel, or a window the margin covers): the same
    # values as finishing the whole image, at the garment's cost instead of the page's.
    y0, y1, x0, x1 = box
    rel = bg = ink_a = None
    if keep_sketch:
        paper = paper_white(sketch)
        if ink is None:  # the ink map's relative luminance is the shading's too: computed once
            rel, bg = _ink_inputs_in_box(sketch, box, paper)
        else:
            ink_a = ink.to(sketch).reshape(1, 1, *sketch.shape[-2:])[..., y0:y1, x0:x1].clamp(0, 1)
            rel = _relative(sketch[..., y0:y1, x0:x1], paper)
    a_c = a[y0:y1, x0:x1][None, None]
    for s0 in range(0, y1 - y0, STRIP_ROWS):  # per-pixel steps strip by strip (the same values, in cache)
        rows = slice(s0, min(s0 + STRIP_ROWS, y1 - y0))
        crop = (..., slice(y0 + rows.start, y0 + rows.stop), slice(x0, x1))
        finished = fabric[crop]
        if keep_sketch:
            sk = sketch[crop]
            ink_s = _ink_of(rel[..., rows, :], bg[..., rows, :]) if ink_a is None else ink_a[..., rows, :]
            shade = 1.0 - shading_strength * (1.0 - rel[..., rows, :])
            # ink · sketch + (1 − ink) · fabric · shading, with in-place steps (the same operations, fewer buffers)
            finished = (ink_s * sk).add_((finished * shade).mul_(1 - ink_s))
        else:
            finished = finished.clone()
        bk, a_s = base[crop], a_c[..., rows, :]
        mixed = (bk * (1 - a_s)).add_(finished.mul_(a_s))
        out[crop] = torch.where(a_s > 0, mixed, bk).clamp_(0, 1)
    return out


def _ink_inputs_in_box(sketch: torch.Tensor, box: tuple[int, int, int, int], paper: torch.Tensor
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(rel, bg)`` of :func:`ink_map` of the whole ``sketch`` ``(1, 3, H, W)``, cropped to ``box``
    (``(1, 1, h, w)`` each; ``_ink_of(rel, bg)`` is the ink there): computed on the box grown by the closing's reach
    (``line_px - 1`` px: two window passes) with the whole sketch's paper white and line width, so the values equal
    the full-image ones."""
    H, W = sketch.shape[-2:]
    k = default_line_px(sketch.shape)
    y0, y1, x0, x1 = box
    Y0, Y1, X0, X1 = max(0, y0 - k), min(H, y1 + k), max(0, x0 - k), min(W, x1 + k)
    rel = _relative(sketch[..., Y0:Y1, X0:X1], paper)
    bg = _closing(rel, k)
    inner = (..., slice(y0 - Y0, y1 - Y0), slice(x0 - X0, x1 - X0))
    return rel[inner], bg[inner]


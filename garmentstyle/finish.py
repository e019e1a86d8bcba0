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

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from .colour import luminance


def shading_map(sketch: torch.Tensor, *, strength: float = 1.0) -> torch.Tensor:
    """Multiplier ``(1, 1, H, W)`` in [0, 1]: the sketch's luminance relative to its paper white.

    Args: sketch ``(1, 3, H, W)`` in [0, 1]; strength 0 (flat fabric) … 1 (full shading and lines).
    """
    lum = luminance(sketch)
    paper = torch.quantile(lum.flatten()[:: max(1, lum.numel() // 200_000)], 0.98).clamp_min(0.05)
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
    t = ((x - lo) / (hi - lo)).clamp(0, 1)
    return t * t * (3 - 2 * t)


def ink_map(sketch: torch.Tensor, *, line_px: int | None = None) -> torch.Tensor:
    """Opacity ``(1, 1, H, W)`` in [0, 1] of the sketch's line art (1 = solid ink).

    Two kinds of ink: anything darker than ``SOLID_INK`` of the paper (thick outlines, filled black details), and
    thin lines — pixels darker than their neighbourhood with the line removed (a grey closing of ``line_px``, by
    default ~1.2 % of the longer side) by a ``LINE_CONTRAST`` margin, so pencil lines count while broad shading and
    marker tones (no darker than their surroundings at that scale) do not.

    Args: sketch ``(1, 3, H, W)`` in [0, 1]; line_px: the widest thin line, px.
    """
    lum = luminance(sketch)
    paper = torch.quantile(lum.flatten()[:: max(1, lum.numel() // 200_000)], 0.98).clamp_min(0.05)
    rel = (lum / paper).clamp(0, 1)
    k = line_px or max(5, round(0.012 * max(sketch.shape[-2:])))
    k = k + 1 - k % 2
    bg = -F.max_pool2d(-F.max_pool2d(rel, k, 1, k // 2), k, 1, k // 2)  # grey closing: the lines filled in
    contrast = ((bg - rel) / bg.clamp_min(0.05)).clamp(0, 1)
    dark = _smoothstep(-rel, -DARK_RAMP, -SOLID_INK)  # 1 at ≤ SOLID_INK, 0 at ≥ DARK_RAMP
    return torch.maximum(dark, _smoothstep(contrast, *LINE_CONTRAST))


def region_alphas(masks: torch.Tensor, *, soft_edge: float = 1.5) -> torch.Tensor:
    """Per-region opacity ``(R, H, W)`` in [0, 1], zero wherever the mask is zero.

    Later regions lie on top of earlier ones (a pocket over a bodice). A binary mask gets a ramp of ``soft_edge``
    pixels *inside* its edge; a soft mask keeps its own values. The sum over regions never exceeds 1.
    """
    R, H, W = masks.shape
    alphas = torch.zeros_like(masks)
    covered = torch.zeros(H, W, dtype=masks.dtype, device=masks.device)
    for r in range(R - 1, -1, -1):  # top-most first
        m = masks[r].clamp(0, 1)
        if soft_edge > 1.0:
            inside = (m > 0).cpu().numpy()
            dist = ndimage.distance_transform_edt(inside).astype(np.float32)
            ramp = torch.from_numpy(np.clip(dist / soft_edge, 0.0, 1.0)).to(m)
            m = m * ramp
        a = m * (1.0 - covered)
        alphas[r] = a
        covered = covered + a
    return alphas


def compose(sketch: torch.Tensor, fabric: torch.Tensor, alphas: torch.Tensor, *, keep_sketch: bool = True,
            shading_strength: float = 1.0, ink: torch.Tensor | None = None) -> torch.Tensor:
    """The render: fabric × shading with the ink on top inside the masks, the sketch untouched outside.

    Args:
        sketch: ``(1, 3, H, W)`` in [0, 1].
        fabric: ``(1, 3, H, W)`` in [0, 1], the optimised canvas (only its pixels under ``alphas`` are used).
        alphas: ``(R, H, W)`` from :func:`region_alphas`.
        keep_sketch: False = the bare fabric (no shading, no ink).
        shading_strength: 0 (flat fabric, lines still inked) … 1 (full shading).
        ink: ``(H, W)`` or ``(1, 1, H, W)`` in [0, 1], the line art's opacity (e.g. from sketch preparation);
            None = :func:`ink_map` of ``sketch``.
    Returns: ``(1, 3, H, W)`` in [0, 1]; exactly ``sketch`` where all alphas are 0 and where the ink is 1.
    """
    a = alphas.sum(dim=0).clamp(0, 1)[None, None]
    finished = fabric
    if keep_sketch:
        ink_a = ink_map(sketch) if ink is None else ink.to(sketch).reshape(1, 1, *sketch.shape[-2:]).clamp(0, 1)
        shaded = fabric * shading_map(sketch, strength=shading_strength)
        finished = ink_a * sketch + (1 - ink_a) * shaded
    out = sketch * (1 - a) + finished * a
    return torch.where(a > 0, out, sketch).clamp(0, 1)

"""Planning a render: what to optimise, where, at which sizes — decided from the masks and options alone.

:func:`plan_render` is pure (no encoder forward, no randomness): the crop box around the masks, the work scale for
print-size outputs, the pyramid levels, the exclusive region labels, the pattern's anchor, and the layers to match.
Everything the optimisation later does is laid out here, so it can be tested and reported without running it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .cache import LRUCache, content_key
from .resources import register
from .errors import OptionsError

__all__ = ["RenderPlan", "plan_render", "crop_box", "level_factors", "exclusive_masks", "nearest_region_labels",
           "resolve_layers", "MIN_LEVEL_SIDE", "MAX_WORK_PIXELS", "CROP_MARGIN"]

#: Longest side of the coarsest pyramid level (smaller levels lose deep-layer guides on garment-sized masks).
MIN_LEVEL_SIDE = 192
#: Largest crop optimised at full resolution, in pixels; larger outputs are optimised at this size and upsampled
#: (memory grows with the pixels: ~3 GiB at 1 MP on the texture encoder).
MAX_WORK_PIXELS = 1_000_000
#: Pixels of margin around the masks' box (for the pyramid's resampling filters). Only cells whose receptive field
#: lies inside a mask count, so pixels beyond the box never reach the loss.
CROP_MARGIN = 4


@dataclass(frozen=True)
class RenderPlan:
    """The layout of one render.

    Attributes:
        layers: style layers to match; taps: every layer the encoder must produce; use_content: content loss on.
        hard: ``(R, H, W)`` bool, exclusive region masks at output size (later regions on top).
        box: ``(y0, y1, x0, x1)`` of the crop in the output image.
        work: scale of the finest optimised level relative to the output (1, or < 1 for print-size outputs).
        factors: per level, coarse to fine, its scale relative to the output (the last is ``work``).
        labels: ``(ch, cw)`` long, the (nearest) region of every crop pixel.
        origin: ``(x, y)`` the pattern's anchor (the image centre) in crop pixels.
    """

    layers: tuple[str, ...]
    taps: tuple[str, ...]
    use_content: bool
    hard: torch.Tensor
    box: tuple[int, int, int, int]
    work: float
    factors: tuple[float, ...]
    labels: torch.Tensor
    origin: tuple[float, float]

    @property
    def crop_size(self) -> tuple[int, int]:
        y0, y1, x0, x1 = self.box
        return y1 - y0, x1 - x0

    def level_size(self, factor: float) -> tuple[int, int]:
        """``(h, w)`` of the level at ``factor``."""
        ch, cw = self.crop_size
        return max(8, round(ch * factor)), max(8, round(cw * factor))


def crop_box(union: torch.Tensor, margin: int) -> tuple[int, int, int, int]:
    """``(y0, y1, x0, x1)`` of the union mask ``(H, W)`` grown by ``margin`` and clipped to the image.

    Raises: ValueError when ``union`` is empty (the caller validates masks first)."""
    from .morph import bbox

    box = bbox((union > 0).cpu().numpy(), margin)
    if box is None:
        raise ValueError("crop_box: the union of the masks is empty")
    return box


def level_factors(longest: int, levels: int = 0) -> list[float]:
    """Scale factors of the pyramid levels, coarse to fine, in steps of √2 down to ~``MIN_LEVEL_SIDE``
    (``levels`` 0 = automatic, at most 5)."""
    if levels <= 0:
        levels = 1
        while longest / (math.sqrt(2) ** levels) >= MIN_LEVEL_SIDE and levels < 5:
            levels += 1
    return [1.0 / (math.sqrt(2) ** k) for k in range(levels - 1, -1, -1)]


def exclusive_masks(masks: torch.Tensor) -> torch.Tensor:
    """``(R, H, W)`` float in [0, 1] → ``(R, H, W)`` bool, binarised at 0.5, a pixel in at most one region (the
    later region wins where masks overlap: a pocket over a bodice)."""
    hard = masks >= 0.5
    R = hard.shape[0]
    for r in range(R):
        for s in range(r + 1, R):
            hard[r] &= ~hard[s]
    return hard


#: Nearest-region labels per set of exclusive masks. They depend on the masks alone (one exact distance transform
#: per region, ~10 ms each at 1024 px, a fifth of a default render), and the app re-renders the same regions on
#: every fabric, scale or colourway change, a batch one sketch's regions in many fabrics. Four entries (int64:
#: ~5 MB each at 1024 px, ~22 MB at 2048 px); ``LABELS.clear()`` gives them back.
LABELS: LRUCache = register("region labels", LRUCache(4))


def nearest_region_labels(hard: torch.Tensor) -> torch.Tensor:
    """``(R, H, W)`` bool → ``(H, W)`` long: index of the region at (or nearest to) each pixel (top-most wins).
    Pixels outside every region take the nearest region's fabric, so resampling near an edge never mixes in black
    (:func:`garmentstyle.morph.nearest_labels`: a pixel equidistant from two regions takes the lower index).
    Cached by the masks' content (:data:`LABELS`); a copy is returned, so a caller cannot change the cache."""
    h = hard.cpu()
    return LABELS.get(content_key(h), lambda: _labels_of(h.numpy())).clone()


def _labels_of(h: np.ndarray) -> torch.Tensor:
    """:func:`nearest_region_labels`' work, uncached: ``(R, H, W)`` bool → ``(H, W)`` int64."""
    from .morph import nearest_labels

    R = h.shape[0]
    label = np.full(h.shape[-2:], -1, dtype=np.int64)
    for r in range(R):
        label[h[r]] = r
    return torch.from_numpy(nearest_labels(label, count=R))


def resolve_layers(encoder, style_layers: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The style layers to match: the encoder's, or the override (a comma-separated string or a sequence),
    checked against the encoder's declared layer names (no weights needed)."""
    if isinstance(style_layers, str):
        wanted = tuple(n.strip() for n in style_layers.split(",") if n.strip())
    else:
        wanted = tuple(style_layers)
    if not wanted:
        return tuple(encoder.style_layers)
    unknown = [n for n in wanted if n not in encoder.geometry]
    if unknown:
        raise OptionsError(f"style layer(s) {', '.join(unknown)} not in the {encoder.name} encoder; "
                           f"choose from {', '.join(encoder.style_layers)}")
    return wanted


def plan_render(masks: torch.Tensor, options, encoder, *, max_work_pixels: int | None = None) -> RenderPlan:
    """Lay out a render.

    Args:
        masks: ``(R, H, W)`` float in [0, 1] at output size (validated by the caller: none empty).
        options: :class:`~garmentstyle.options.RenderOptions` (uses ``style_layers``, ``content_weight``, ``levels``,
            ``init``).
        encoder: an :class:`~garmentstyle.encoders.Encoder` (only its declared attributes are read).
        max_work_pixels: the largest crop optimised at full resolution (default :data:`MAX_WORK_PIXELS`).

    Returns: :class:`RenderPlan`.
    """
    R, H, W = masks.shape
    layers = resolve_layers(encoder, options.style_layers)
    use_content = options.content_weight > 0 and encoder.content_layer is not None
    taps = layers + ((encoder.content_layer,) if use_content and encoder.content_layer not in layers else ())
    hard = exclusive_masks(masks)
    y0, y1, x0, x1 = crop_box(hard.any(dim=0), CROP_MARGIN)
    ch, cw = y1 - y0, x1 - x0
    work = min(1.0, math.sqrt((max_work_pixels or MAX_WORK_PIXELS) / float(ch * cw)))
    if options.levels == 0 and (options.init == "tiled" or not encoder.coarse_to_fine):
        # The tiled swatch is already a full-resolution sample of the fabric: no coarse level to grow it from
        # (upsampling a coarse result only blurred what the tiling had right). The texture encoder, from noise,
        # also did better in one level with the same time (bench/RESULTS.md).
        factors = [1.0]
    else:
        factors = level_factors(round(max(ch, cw) * work), options.levels)
    labels = nearest_region_labels(hard[:, y0:y1, x0:x1]).to(masks.device)
    return RenderPlan(layers=layers, taps=taps, use_content=use_content, hard=hard, box=(y0, y1, x0, x1), work=work,
                      factors=tuple(f * work for f in factors), labels=labels, origin=(W / 2.0 - x0, H / 2.0 - y0))

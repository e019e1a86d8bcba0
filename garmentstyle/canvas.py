"""The fabric canvas: every region's swatch laid onto one image, each pixel taking its region's fabric.

One function, :func:`region_canvas`, builds every "swatch per region" canvas the transfer needs — the tiled start of
a pyramid level, the noise-floor sample (the same tiling shifted by half a repeat), the full-resolution re-tiling of
a print-size render, and the stretched-swatch start (``init="style"``, through ``sampler=stretch_sampler``) — so
the pattern's placement is defined in exactly one place and preview, optimisation and final agree.

How a texture parameterisation (grain, drape: issue 9) plugs in
--------------------------------------------------------------
Set ``RegionSpec.mapping`` to an object with one method::

    class MyMapping:
        def sample(self, region: RegionSpec, frame: CanvasFrame) -> torch.Tensor:   # (1, 3, *frame.size)
            ys, xs = frame.output_grid()      # output-image coordinates of each canvas pixel centre, (H, W) each
            ...                               # pattern coordinates from your field, then sample region.swatch

:func:`sample_region` (the default per-region sampler) calls ``region.mapping.sample(region, frame)`` when a mapping
is set and plain :func:`garmentstyle.swatch.tile` otherwise. ``frame`` says everything about where the canvas lies:
its size, its scale relative to the output image (``factor``: a pyramid level or a print-size work scale), the
pattern's anchor in canvas pixels (``origin``), the half-repeat ``shift`` of the noise-floor sample (in repeats of the
swatch: a mapping should add ``shift`` × one repeat to its pattern coordinates), and where its top-left pixel lies in
the output image (``offset``). The frame handed to a sampler covers only the bounding box of the region's pixels
(cheaper; ``offset`` and ``origin`` are adjusted accordingly), so a mapping must use ``frame``'s coordinates, never
assume the canvas is the whole crop. Values must be ``(1, 3, H, W)`` float in [0, 1] on ``region.swatch``'s device.

(The style *targets* are measured on a plain tiled square of the swatch in :func:`garmentstyle.transfer.style_targets`:
they are the fabric's own statistics, independent of where it lies on the garment.)
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Callable, Optional, Protocol, Sequence

import torch

from . import losses, morph, swatch as swatch_ops

if TYPE_CHECKING:  # RegionSpec lives with the transfer; only its attributes are used here
    from .transfer import RegionSpec

__all__ = ["CanvasFrame", "Mapping", "RegionSampler", "region_canvas", "sample_region", "stretch_sampler"]


@dataclass(frozen=True)
class CanvasFrame:
    """Where a canvas lies and at what scale.

    Attributes:
        size: canvas ``(H, W)`` in canvas pixels.
        factor: canvas pixels per output-image pixel (1 = full resolution; a pyramid level or work scale < 1).
        origin: ``(x, y)`` in canvas pixels where a swatch corner sits (the pattern's anchor; may lie outside).
        shift: ``(x, y)`` extra offset of the pattern along the canvas axes, in repeats (× the swatch's width/height
            at this scale; not rotated with the pattern). ``(0.5, 0.5)``: another sample of the same fabric, about
            half a repeat away, used for the noise floor.
        offset: ``(x, y)`` of the canvas's top-left pixel corner in output-image pixels.
    """

    size: tuple[int, int]
    factor: float = 1.0
    origin: tuple[float, float] = (0.0, 0.0)
    shift: tuple[float, float] = (0.0, 0.0)
    offset: tuple[float, float] = (0.0, 0.0)

    def output_grid(self, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
        """``(ys, xs)``, each ``(H, W)`` float: the output-image coordinates (continuous, pixel corners at integers)
        of every canvas pixel's centre. What a mapping defined on the output image samples at."""
        H, W = self.size
        ys = (torch.arange(H, device=device, dtype=torch.float32) + 0.5) / self.factor + self.offset[1]
        xs = (torch.arange(W, device=device, dtype=torch.float32) + 0.5) / self.factor + self.offset[0]
        return torch.meshgrid(ys, xs, indexing="ij")

    def crop(self, y0: int, y1: int, x0: int, x1: int) -> "CanvasFrame":
        """The frame of the sub-canvas ``[y0:y1, x0:x1]`` (same pattern, same placement)."""
        return replace(self, size=(y1 - y0, x1 - x0), origin=(self.origin[0] - x0, self.origin[1] - y0),
                       offset=(self.offset[0] + x0 / self.factor, self.offset[1] + y0 / self.factor))


class Mapping(Protocol):
    """A texture parameterisation for one region (see the module docstring)."""

    def sample(self, region: Any, frame: CanvasFrame) -> torch.Tensor:  # pragma: no cover - protocol
        ...


#: ``sampler(region, frame) -> (1, 3, *frame.size)`` float in [0, 1].
RegionSampler = Callable[["RegionSpec", CanvasFrame], torch.Tensor]


def sample_region(region: "RegionSpec", frame: CanvasFrame) -> torch.Tensor:
    """The region's fabric over ``frame``: through ``region.mapping`` when it has one, else the swatch tiled at
    ``region.zoom × frame.factor`` and ``region.rotation`` about ``frame.origin`` (shifted by ``frame.shift``
    repeats). Returns ``(1, 3, H, W)`` float in [0, 1]."""
    mapping: Optional[Mapping] = getattr(region, "mapping", None)
    if mapping is not None:
        return mapping.sample(region, frame)
    zoom = region.zoom * frame.factor
    h, w = region.swatch.shape[-2:]
    origin = (frame.origin[0] + frame.shift[0] * zoom * w, frame.origin[1] + frame.shift[1] * zoom * h)
    return swatch_ops.tile(region.swatch, frame.size, zoom=zoom, rotation=region.rotation, origin=origin)


def stretch_sampler(region: "RegionSpec", frame: CanvasFrame) -> torch.Tensor:
    """The classic "start from the style image": the whole swatch resized to the canvas. (Placement-free, so it
    ignores the frame's origin and shift; it is only meaningful on the whole canvas, see ``per_region_box``.)"""
    return swatch_ops.stretch(region.swatch, frame.size)


def _box(here: torch.Tensor) -> Optional[tuple[int, int, int, int]]:
    """``(y0, y1, x0, x1)`` of the true pixels of ``here`` ``(H, W)`` bool, or None: numpy's row/column ``any`` on
    the CPU (~5× faster than torch's reductions over a dimension here), :func:`garmentstyle.losses._box` (torch, on
    the tensor's device) elsewhere."""
    if here.device.type == "cpu":
        return morph.bbox(here.numpy())
    return losses._box(here) if bool(here.any()) else None


def region_canvas(regions: Sequence["RegionSpec"], labels: torch.Tensor, size: tuple[int, int] | None = None, *,
                  factor: float = 1.0, origin: tuple[float, float] = (0.0, 0.0),
                  shift: tuple[float, float] = (0.0, 0.0), offset: tuple[float, float] = (0.0, 0.0),
                  sampler: RegionSampler = sample_region, per_region_box: bool = True) -> torch.Tensor:
    """Lay every region's fabric onto one canvas: pixel ``p`` takes region ``labels[p]``'s fabric.

    Args:
        regions: the regions, in label order (``labels == r`` is ``regions[r]``).
        labels: ``(H, W)`` long, the region index of every canvas pixel (``-1`` or any index outside
            ``0 … len(regions) - 1`` = none: the pixel stays 0).
        size: canvas ``(H, W)``; must equal ``labels.shape`` (a check; None = from ``labels``).
        factor, origin, shift, offset: the canvas's placement, see :class:`CanvasFrame`.
        sampler: the per-region sampler (default :func:`sample_region`, which honours ``RegionSpec.mapping``).
        per_region_box: sample each region only over the bounding box of its pixels (the same values, less work);
            off for samplers whose output depends on the canvas size (:func:`stretch_sampler`).

    Returns:
        ``(1, 3, H, W)`` float in [0, 1], on ``labels``' device.

    Raises:
        ValueError: ``labels`` is not 2-D integer, or ``size`` disagrees with it.
    """
    if labels.ndim != 2 or labels.dtype.is_floating_point or labels.dtype == torch.bool:
        raise ValueError(f"labels must be an (H, W) integer tensor; got {tuple(labels.shape)} {labels.dtype}")
    H, W = labels.shape
    if size is not None and tuple(size) != (H, W):
        raise ValueError(f"size {tuple(size)} does not match labels {(H, W)}")
    frame = CanvasFrame(size=(H, W), factor=factor, origin=origin, shift=shift, offset=offset)
    dtype = regions[0].swatch.dtype if len(regions) else torch.float32
    out = torch.zeros(1, 3, H, W, device=labels.device, dtype=dtype)
    for r, region in enumerate(regions):
        here = labels == r
        if per_region_box:
            box = _box(here)
            if box is None:
                continue
            y0, y1, x0, x1 = box
        else:
            y0, y1, x0, x1 = 0, H, 0, W
        sub = frame.crop(y0, y1, x0, x1) if (y0, y1, x0, x1) != (0, H, 0, W) else frame
        fabric = sampler(region, sub).to(out.device, out.dtype)
        box = out[..., y0:y1, x0:x1]
        out[..., y0:y1, x0:x1] = torch.where(here[y0:y1, x0:x1], fabric, box)
    return out

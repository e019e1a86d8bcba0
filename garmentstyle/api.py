"""The Python API: ``garmentstyle.render(sketch, regions, options) -> RenderResult``.

Turns files (or arrays, tensors, PIL images) into validated tensors at the output size, runs the guided transfer
(:mod:`garmentstyle.transfer`), and finishes the render (:mod:`garmentstyle.finish`). The CLI and the web UI are thin
shells over this module.

Example::

    import garmentstyle as gs
    result = gs.render("samples/sketches/dress.png",
                       [gs.Region("samples/masks/dress__bodice.png", "samples/swatches/tartan.png", name="bodice"),
                        gs.Region("samples/masks/dress__skirt.png", "samples/swatches/polka_dots.png", name="skirt")],
                       gs.RenderOptions(size=512))
    result.save("dress.png")
"""
from __future__ import annotations

import math
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

import torch
import torch.nn.functional as F

from . import __version__, colour as colour_ops, encoders, finish, io, transfer
from .errors import InputError, MaskError, OptionsError
from .options import opt, validate_fields
from .swatch import check_swatch, make_tileable
from .transfer import Progress, ProgressFn, RenderOptions

__all__ = ["Region", "RenderOptions", "RenderResult", "Progress", "render", "resolve_device"]

#: A mask covering more than this fraction of the image is taken for an inverted or blank mask.
FULL_MASK_FRACTION = 0.995
#: Smallest region accepted, in output pixels.
MIN_REGION_PIXELS = 64


@dataclass(frozen=True, eq=False)
class Region:
    """One garment region and the fabric that goes in it.

    Attributes:
        mask: path, PIL image, array or tensor ``(H, W)`` in [0, 1] (255/white = inside), the sketch's size.
        swatch: path, PIL image, array or tensor ``(1, 3, h, w)`` in [0, 1]: one repeat of the fabric.
        name: label used in reports and exports (default "region<i>").
        scale: swatch pixels per *sketch* pixel (2 = the pattern at half size). Measured in the sketch's own pixels,
            so a preview and the full-size render show the same pattern size relative to the garment.
        repeat: alternatively, the width of one swatch repeat in sketch pixels (overrides ``scale``).
        rotation: degrees, counter-clockwise.
        style_weight: how strongly this region's fabric statistics are enforced (relative to other regions).
        tileable: cross-fade the swatch's edges into itself first (:func:`garmentstyle.swatch.make_tileable`), for
            a photo of cloth that was not cut as a seamless repeat; leave off for prints that already repeat.
    """

    mask: Any
    swatch: Any
    # Types and bounds in the metadata (garmentstyle.options.opt), checked by validate_fields: add fields the same way.
    name: str = opt("", "label in reports and exports", max_len=100)
    scale: float = opt(1.0, "swatch px per sketch px", lo=0.01, hi=100)
    repeat: Optional[float] = opt(None, "width of one repeat in sketch px", kind=float, lo=1, hi=20000)
    rotation: float = opt(0.0, "degrees, counter-clockwise", lo=-360, hi=360)
    style_weight: float = opt(1.0, "strength of this region's fabric statistics", lo=0, hi=1000)
    tileable: bool = opt(False, "blend the edges of a swatch photo that does not repeat")

    def __post_init__(self) -> None:
        validate_fields(self, label=f"region {self.name if isinstance(self.name, str) and self.name else '?'}: ")


@dataclass
class RenderResult:
    """A finished render.

    Attributes:
        image: ``(1, 3, H, W)`` float RGB in [0, 1], the render at output size.
        masks: ``(R, H, W)`` float in [0, 1], the masks used (at output size), in region order.
        alpha: ``(H, W)`` float in [0, 1], the garment's opacity (for a transparent-background export).
        fabric: ``(1, 3, H, W)`` the optimised fabric before the sketch's lines and shading were applied.
        sketch: ``(1, 3, H, W)`` the sketch at output size.
        report: JSON-serialisable facts: encoder used (and whether pretrained), device, sizes, iterations, seconds,
            final losses per region, layers skipped per region, notes.
    """

    image: torch.Tensor
    masks: torch.Tensor
    alpha: torch.Tensor
    fabric: torch.Tensor
    sketch: torch.Tensor
    report: dict = field(default_factory=dict)

    def save(self, path: str | Path, *, transparent: bool = False) -> Path:
        """Write the render as PNG (atomically). ``transparent`` makes everything outside the garment clear."""
        return io.save_image(self.image, path, alpha=self.alpha if transparent else None)


def resolve_device(name: str) -> torch.device:
    """"auto" → CUDA when available, else CPU; an unavailable device is an :class:`OptionsError`."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise OptionsError(f"unknown device {name!r}; use cpu, cuda, cuda:N or auto") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise OptionsError(f"device {name!r} asked for but no CUDA GPU is available here; use --device cpu")
    if dev.type not in ("cpu", "cuda", "mps"):
        raise OptionsError(f"unsupported device {name!r}; use cpu, cuda, cuda:N or auto")
    return dev


def output_size(native: tuple[int, int], size: int) -> tuple[int, int]:
    """``(H, W)`` of the output: the sketch scaled so its longest side is ``size`` (0 = native)."""
    h, w = native
    if size == 0:
        return h, w
    s = size / max(h, w)
    return max(1, round(h * s)), max(1, round(w * s))


def _resize_image(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False).clamp(0, 1)


def region_fits(mask: Any, size: int, *, sketch_size: tuple[int, int] | None = None) -> bool:
    """Whether ``mask`` ``(H, W)`` keeps at least ``MIN_REGION_PIXELS`` inside at output ``size`` (longest side;
    0 = native): the UI uses it to leave tiny regions out of a small preview instead of failing."""
    m = io.load_mask(mask)
    oh, ow = output_size(sketch_size or tuple(m.shape), size)
    return int((_resize_image(m[None, None], (oh, ow))[0, 0] >= 0.5).sum()) >= MIN_REGION_PIXELS


def validate_mask(mask: torch.Tensor, *, name: str) -> None:
    """Reject masks that cannot be a garment region: empty, (nearly) the whole image, or a few pixels."""
    H, W = mask.shape
    inside = int((mask >= 0.5).sum())
    if inside == 0:
        raise MaskError(f"{name}: the mask is empty (no white pixels); paint the region white on black, or use "
                        "`garmentstyle segment` to make one")
    if inside >= FULL_MASK_FRACTION * H * W:
        raise MaskError(f"{name}: the mask covers the whole image ({inside / (H * W):.1%}); a region mask is white "
                        "on the garment and black elsewhere. Is it inverted?")


def _page(sketch: torch.Tensor) -> torch.Tensor | None:
    """``(H, W)`` bool: the blank page around the drawing (classical line-art partition), or None if the sketch is
    not line art the partition understands (then no check is made)."""
    from .errors import GarmentStyleError
    from .segment.lineart import partition

    if sketch.shape[-1] * sketch.shape[-2] > 6_000_000:  # a check, not worth seconds on a print-size scan
        return None
    try:
        part = partition(sketch)
    except GarmentStyleError:
        return None
    return torch.from_numpy(part.labels == 0)


def render(sketch: Any, regions: Sequence[Region], options: RenderOptions | None = None, *,
           on_progress: ProgressFn | None = None) -> RenderResult:
    """Render each region's swatch into its mask on the sketch.

    Args:
        sketch: path / PIL / array ``(H, W, 3)`` / tensor ``(1, 3, H, W)`` in [0, 1].
        regions: one or more :class:`Region` (later regions lie on top where masks overlap).
        options: :class:`RenderOptions` (validated before anything loads).
        on_progress: called with :class:`Progress` events; may raise :class:`~garmentstyle.errors.Cancelled` to
            stop early and get the current image.

    Returns:
        :class:`RenderResult`.

    Raises:
        ImageReadError / MaskError / InputError / OptionsError: bad input, with a message naming the problem.
        WeightsNotFoundError: ``encoder="vgg19"`` without its weights (``garmentstyle weights download vgg19``).
    """
    t0 = time.perf_counter()
    options = options or RenderOptions()
    if not regions:
        raise InputError("no regions given: pass at least one Region(mask, swatch)")
    device = resolve_device(options.device)
    emit = on_progress or (lambda p: None)
    emit(Progress("prepare"))

    sk_native = io.load_image(sketch)
    nh, nw = sk_native.shape[-2:]
    oh, ow = output_size((nh, nw), options.size)
    notes: list[str] = []
    if options.size and options.size > max(nh, nw):
        notes.append(f"output ({ow}×{oh}) is larger than the sketch ({nw}×{nh}); lines are upsampled")
    sk = _resize_image(sk_native, (oh, ow)).to(device)
    px_per_sketch_px = ow / nw

    names: list[str] = []
    masks: list[torch.Tensor] = []
    page = _page(sk_native)  # to notice a mask that misses the drawing
    specs: list[transfer.RegionSpec] = []
    region_report = []
    for i, rg in enumerate(regions):
        name = rg.name or f"region{i + 1}"
        if name in names:
            raise InputError(f"two regions are named {name!r}; give each region its own name")
        names.append(name)
        m = io.load_mask(rg.mask, size=(nh, nw), name=f"mask of {name}")
        validate_mask(m, name=f"mask of {name}")
        soft = float(((m > 0.02) & (m < 0.98)).float().mean())
        if soft > 0.05:
            notes.append(f"{name}: mask is not binary ({soft:.0%} grey pixels); used as a soft mask (grey = "
                         "partly inside)")
        if page is not None:
            on_page = float((page & (m >= 0.5)).sum()) / max(1.0, float((m >= 0.5).sum()))
            if on_page > 0.5:
                notes.append(f"{name}: {on_page:.0%} of the mask lies on the blank page outside the drawing; check "
                             "that it lines up with the sketch (same file size, not shifted or inverted)")
        m_out = _resize_image(m[None, None], (oh, ow))[0, 0]
        if int((m_out >= 0.5).sum()) < MIN_REGION_PIXELS:
            raise MaskError(f"mask of {name}: only {int((m_out >= 0.5).sum())} px inside at {ow}×{oh}; a region "
                            f"needs at least {MIN_REGION_PIXELS} px (use a larger size or a larger mask)")
        masks.append(m_out.to(device))
        try:
            sw = check_swatch(io.load_image(rg.swatch), name=f"swatch of {name}")
        except InputError:
            raise
        if rg.tileable:
            sw = make_tileable(sw)
        if options.colour == "histogram":
            if colour_ops.chroma_spread(sk_native, m) < 0.02:
                notes.append(f"{name}: histogram matching to an uncoloured sketch gives a grey fabric; use "
                             "colour='swatch' to keep the fabric's colours")
            sw = colour_ops.match_histogram(sw, sk_native, m)
        scale = rg.scale if rg.repeat is None else sw.shape[-1] / rg.repeat
        zoom = px_per_sketch_px / scale
        specs.append(transfer.RegionSpec(name=name, swatch=sw.to(device), zoom=zoom, rotation=rg.rotation,
                                         style_weight=rg.style_weight))
        region_report.append({
            "name": name, "area_px": int((m_out >= 0.5).sum()), "swatch_size": [int(sw.shape[-1]), int(sw.shape[-2])],
            "scale": scale, "repeat_px_sketch": sw.shape[-1] / scale, "repeat_px_output": sw.shape[-1] * zoom,
            "rotation": rg.rotation, "style_weight": rg.style_weight, "tileable": rg.tileable,
        })
    mask_t = torch.stack(masks)
    overlap = int(((mask_t >= 0.5).sum(dim=0) > 1).sum())
    if overlap:
        notes.append(f"{overlap} px belong to more than one region; later regions are on top")

    enc = encoders.get(options.encoder, pooling=options.pooling, device=str(device))
    out = transfer.run(sk, mask_t, specs, options, enc, on_progress=on_progress)
    emit(Progress("finish", level=len(out.report["levels"]), levels=len(out.report["levels"])))
    alphas = finish.region_alphas(mask_t, soft_edge=options.soft_edge)
    image = finish.compose(sk, out.fabric, alphas, keep_sketch=options.keep_sketch,
                           shading_strength=options.shading_strength)
    for name, skipped in out.report["skipped_layers"].items():
        if skipped:
            notes.append(f"{name}: layer(s) {', '.join(skipped)} skipped (their receptive field does not fit inside "
                         "the region at this size); matched on the other layers")
    notes.extend(out.report.pop("notes", []))
    report = {
        "garmentstyle": __version__,
        "encoder": enc.name,
        "encoder_pretrained": bool(enc.pretrained),
        "encoder_description": enc.description,
        "encoder_requested": options.encoder,
        "device": str(device),
        "torch": torch.__version__,
        "platform": platform.platform(),
        "sketch_size": [nw, nh],
        "output_size": [ow, oh],
        "regions": region_report,
        "options": options.to_dict(),
        **out.report,
        "seconds": round(time.perf_counter() - t0, 3),
        "notes": notes,
    }
    return RenderResult(image=image.cpu(), masks=mask_t.cpu(), alpha=alphas.sum(0).clamp(0, 1).cpu(),
                        fabric=out.fabric.cpu(), sketch=sk.cpu(), report=report)

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

import dataclasses
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence

import torch
import torch.nn.functional as F

from . import __version__, colour as colour_ops, encoders, finish, io, resample, transfer
from .errors import Cancelled, InputError, MaskError, OptionsError
from .options import check_output_side, opt, validate_fields
from .swatch import check_swatch
from . import swatches
from .swatches import PREPARE_MODES
from .pagecheck import SUSPICIOUS, PageCheck
from .progress import CancelToken, Progress, ProgressFn, Reporter
from .cache import LRUCache, content_key
from .resources import register
from .report import RegionReport, RenderReport
from .transfer import RenderOptions

if TYPE_CHECKING:  # sketch preparation is imported when a render needs it
    from .sketchprep import RenderSketch

__all__ = ["Region", "RenderOptions", "RenderReport", "RenderResult", "Progress", "render", "resolve_device"]

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
        tileable: kept as an alias of ``prepare="auto"`` (the old offset-and-blend is replaced by it).
        prepare: swatch preparation (:func:`garmentstyle.swatches.prepare`): "auto" leaves a swatch that already
            tiles bit-identical and turns anything else (a phone photo, a scan) into a seamless, evenly lit repeat
            (exact lattice repeat, or synthesis); "off" uses the file as given; "repeat", "synthesize", "flatten"
            force one step. The report's ``regions[i].prepare`` says what was found and done.
        swatch_cm / repeat_cm: true scale: the real width of the swatch file, or of one repeat, in cm; with the
            sketch's size (``RenderOptions.sketch_cm`` or ``sketch_dpi``) they set the pattern scale (and override
            ``scale`` / ``repeat``).
        grain: which way the fabric runs (:mod:`garmentstyle.mapping`): "straight" (the plain tiling at
            ``rotation``), "auto" (along the region's interior seams and folds; straight where it has none), or grain
            strokes — a path / image / array the sketch's shape whose non-background pixels are lines along the warp.
        drape: 0 (off) … 2: the sketch's shading and fold lines bend and compress the pattern.
    """

    mask: Any
    swatch: Any
    # Types and bounds in the metadata (garmentstyle.options.opt), checked by validate_fields: add fields the same way.
    name: str = opt("", "label in reports and exports", max_len=100)
    scale: float = opt(1.0, "swatch px per sketch px", lo=0.01, hi=100)
    repeat: Optional[float] = opt(None, "width of one repeat in sketch px", kind=float, lo=1, hi=20000)
    rotation: float = opt(0.0, "degrees, counter-clockwise", lo=-360, hi=360)
    style_weight: float = opt(1.0, "strength of this region's fabric statistics", lo=0, hi=1000)
    tileable: bool = opt(False, "alias of prepare='auto' (kept for old recipes): make a photo seamless")
    prepare: str = opt("auto", "swatch preparation: auto (a seamless swatch is left as it is, anything else is made "
                       "a seamless, evenly lit repeat), off (the file as given), repeat, synthesize, flatten",
                       choices=PREPARE_MODES)
    swatch_cm: Optional[float] = opt(None, "real width of the swatch file in cm (true scale; needs sketch_cm or "
                                     "sketch_dpi)", kind=float, lo=0.01, hi=100000)
    repeat_cm: Optional[float] = opt(None, "real width of one pattern repeat in cm (true scale; needs sketch_cm or "
                                     "sketch_dpi)", kind=float, lo=0.01, hi=100000)
    grain: Any = "straight"  # "straight" | "auto" | strokes (path / image / array): checked in __post_init__
    drape: float = opt(0.0, "how much the sketch's folds and shading bend the pattern (0 = off)", lo=0, hi=2)
    # Recolour the swatch first (garmentstyle.colourway): its k dominant colours → these k colours, largest first.
    # "#1b2a49/#e4c59e/#ffffff", a list of hex / lab(L a b) / [L, a, b], or a palette name ($GARMENTSTYLE_PALETTES);
    # normalised in __post_init__ to a tuple of "#rrggbb" / "lab(L a b)" strings (what recipes store). None = off.
    colourway: Any = None

    def __post_init__(self) -> None:
        label = _region_label(self.name)
        if self.colourway is not None and self.colourway != "":
            from .colourway import parse_palette

            try:
                object.__setattr__(self, "colourway", parse_palette(self.colourway))
            except OptionsError as exc:
                raise OptionsError(f"region {label}: colourway: {exc}") from None
        else:
            object.__setattr__(self, "colourway", None)
        validate_fields(self, label=f"region {label}: ")
        if self.tileable and self.prepare == "off":
            raise OptionsError(f"region {label}: tileable=True (make the swatch seamless) contradicts "
                               "prepare='off' (use the file as given); keep one of them")
        if isinstance(self.grain, str) and self.grain not in ("straight", "auto") and not Path(self.grain).suffix:
            raise OptionsError(f"region {label}: grain must be straight, auto or a strokes image file; "
                               f"got {self.grain!r}")


def _region_label(name: Any) -> str:
    """A region's name as it appears in a one-line message: control characters (a newline typed into a recipe)
    shown as spaces, at most 60 characters, '?' when there is no printable name."""
    if not isinstance(name, str):
        return "?"
    text = " ".join("".join(c if c.isprintable() else " " for c in name[:200]).split())
    return (text[:57] + "…" if len(text) > 60 else text) or "?"


@dataclass
class RenderResult:
    """A finished render.

    Attributes:
        image: ``(1, 3, H, W)`` float RGB in [0, 1], the render at output size.
        masks: ``(R, H, W)`` float in [0, 1], the masks used (at output size), in region order.
        alpha: ``(H, W)`` float in [0, 1], the garment's opacity (for a transparent-background export).
        fabric: ``(1, 3, H, W)`` the optimised fabric before the sketch's lines and shading were applied.
        sketch: ``(1, 3, H, W)`` the sketch at output size.
        report: :class:`~garmentstyle.report.RenderReport` (frozen; ``report.to_json()`` is the ``--report``
            file): encoder used (and whether pretrained), device, sizes, iterations, seconds, final losses per
            region, layers skipped per region, notes.
        ink: ``(H, W)`` in [0, 1], the line art's opacity the finishing laid over the fabric (from sketch
            preparation), or None when it was derived from ``sketch`` (:meth:`ink_layer` gives it either way).
    """

    image: torch.Tensor
    masks: torch.Tensor
    alpha: torch.Tensor
    fabric: torch.Tensor
    sketch: torch.Tensor
    report: RenderReport = field(default_factory=lambda: RenderReport(crop_box=(0, 0, 0, 0)))
    ink: Optional[torch.Tensor] = None

    def ink_layer(self) -> torch.Tensor:
        """``(H, W)`` in [0, 1]: the ink opacity the render's finishing used (the sketch's own pixels are painted
        over the fabric with it; :func:`garmentstyle.finish.compose`)."""
        return self.ink.clamp(0, 1) if self.ink is not None else finish.ink_map(self.sketch)[0, 0]

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
    """``(B, C, h, w)`` in [0, 1] at ``size`` (:func:`garmentstyle.resample.bilinear`), clamped to [0, 1]."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return resample.bilinear(x, size).clamp_(0, 1)


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
    page = torch.from_numpy(part.labels == 0)
    if tuple(page.shape) != tuple(sketch.shape[-2:]):  # the partition ran on a smaller working copy
        page = F.interpolate(page[None, None].float(), size=tuple(sketch.shape[-2:]), mode="nearest")[0, 0] > 0.5
    return page


def _region_scale(rg: Region, prep: "swatches.PreparedSwatch", *, name: str, sketch_h: int,
                  options: RenderOptions) -> float:
    """Tile px per sketch px: from centimetres (``swatch_cm`` / ``repeat_cm`` + the sketch's size) when given, else
    ``repeat`` (the tile's width in sketch px), else ``scale`` (the *file's* px per sketch px, so a prepared tile
    shows the pattern at the size the file had)."""
    from .swatches.scale import pattern_scale, sketch_px_per_cm

    if rg.swatch_cm or rg.repeat_cm:
        return pattern_scale(name=name, tile_px_per_source_px=prep.report.tile_px_per_source_px,
                             source_width_px=prep.report.source_size[0], repeat_px=prep.report.repeat_px,
                             swatch_cm=rg.swatch_cm, repeat_cm=rg.repeat_cm,
                             sketch_px_cm=sketch_px_per_cm(sketch_h, sketch_cm=options.sketch_cm,
                                                           sketch_dpi=options.sketch_dpi))
    if rg.repeat is not None:
        return prep.tile.shape[-1] / rg.repeat
    return rg.scale * prep.report.tile_px_per_source_px


def _region_mapping(rg: Region, mask: torch.Tensor, sketch: torch.Tensor, *, native: tuple[int, int],
                    output: tuple[int, int], name: str, notes: list[str]):
    """The region's texture parameterisation (:mod:`garmentstyle.mapping`) scaled to the output size, or None for the
    plain tiling. Built on the sketch at its own size (``mask`` and ``sketch`` native, ``output`` the output's
    ``(H, W)``), so every output size — preview or print — gets the same field and the same pattern placement."""
    if isinstance(rg.grain, str) and rg.grain == "straight" and rg.drape == 0:
        return None
    from . import mapping  # here, not above: its sparse solvers cost ~80 ms to import, and plain tiling needs none

    mp = mapping.build(mask.cpu(), sketch.cpu(), grain=rg.grain, rotation=rg.rotation, drape=rg.drape)
    notes.extend(f"{name}: {n}" for n in mp.notes)
    return mp.scaled(output[1] / native[1]) if mp.maps is not None else None


def render(sketch: Any, regions: Sequence[Region], options: RenderOptions | None = None, *,
           on_progress: ProgressFn | None = None, cancel: CancelToken | None = None,
           preview_every: int | None = None) -> RenderResult:
    """Render each region's swatch into its mask on the sketch.

    Args:
        sketch: path / PIL / array ``(H, W, 3)`` / tensor ``(1, 3, H, W)`` in [0, 1].
        regions: one or more :class:`Region` (later regions lie on top where masks overlap).
        options: :class:`RenderOptions` (validated before anything loads).
        on_progress: called with :class:`Progress` events; may raise :class:`~garmentstyle.errors.Cancelled` to
            stop early (the same as ``cancel.cancel()``).
        cancel: a :class:`~garmentstyle.progress.CancelToken`; cancel from any thread. Before the start image
            exists (stage "prepare") the render raises ``Cancelled``; after that it always returns the image so far,
            finished, with ``report.cancelled`` True and ``report.cancelled_at`` the checkpoint
            (the contract: :mod:`garmentstyle.progress`).
        preview_every: send a preview with the progress every this many iterations (None: the options' value;
            0: never). Previews never change the render.

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
    rep = Reporter(on_progress, cancel)
    rep.emit(Progress("prepare"))
    notes: list[str] = []
    sk = _load_sketch(sketch, options, device, notes)
    page = PageCheck(sk.native)  # to notice a mask that misses the drawing (cheap first; partition to confirm)
    names: list[str] = []
    masks, specs, region_report = [], [], []
    for i, rg in enumerate(regions):
        name = rg.name or f"region{i + 1}"
        if name in names:
            raise InputError(f"two regions are named {name!r}; give each region its own name")
        names.append(name)
        rep.check("prepare")
        m, m_out, area = _region_mask(rg, name, sk, page, notes)
        masks.append(m_out.to(device))
        spec, region_rep = _region_fabric(rg, name, m, area, sk, options, notes, check=lambda: rep.check("prepare"))
        specs.append(dataclasses.replace(spec, swatch=spec.swatch.to(device)))
        region_report.append(region_rep)
    mask_t = torch.stack(masks)
    overlap = _overlap_pixels(mask_t >= 0.5)
    if overlap:
        notes.append(f"{overlap} px belong to more than one region; later regions are on top")

    rep.check("prepare")
    enc = encoders.get(options.encoder, pooling=options.pooling, device=str(device))
    rep.check("prepare")  # the last point where a cancel leaves no image
    out = transfer.run(sk.image, mask_t, specs, options, enc, reporter=rep, preview_every=preview_every)
    tr = out.report
    try:  # the finished render is always returned, also when the cancel arrives now
        rep.emit(Progress("finish", level=len(tr.levels), levels=len(tr.levels)))
    except Cancelled:
        tr = dataclasses.replace(tr, cancelled=True, cancelled_at=tr.cancelled_at or "finish")
    image, alpha, ink = _finish(sk, out.fabric, mask_t, options)
    notes.extend(_skipped_layer_notes(tr.skipped_layers, tr.layers))
    notes.extend(tr.notes)
    (nh, nw), (oh, ow) = sk.native_size, sk.output_size
    report = RenderReport.of(
        tr, garmentstyle=__version__, encoder=enc.name, encoder_pretrained=bool(enc.pretrained),
        encoder_description=enc.description, encoder_requested=options.encoder, device=str(device),
        torch=torch.__version__, platform=platform.platform(), sketch_size=(nw, nh), output_size=(ow, oh),
        regions=tuple(region_report), options=options, seconds=round(time.perf_counter() - t0, 3),
        notes=tuple(notes))
    return RenderResult(image=image.cpu(), masks=mask_t.cpu(), alpha=alpha.cpu(), fabric=out.fabric.cpu(),
                        sketch=sk.image.cpu(), report=report, ink=None if ink is None else ink.cpu())


def _skipped_layer_notes(skipped_layers: dict[str, list[str]], layers: tuple[str, ...]) -> list[str]:
    """One note per region that had layers left out of its match (only levels that were optimised check layers: a
    tiled start kept as it is matches nothing, so it skips nothing)."""
    notes = []
    for name, skipped in skipped_layers.items():
        if not skipped:
            continue
        why = f"layer(s) {', '.join(skipped)} skipped (their receptive field does not fit inside the region at " \
              "this size)"
        rest = "; matched on the other layers" if len(skipped) < len(layers) else "; no layer fits, so its fabric " \
            "is not matched (it keeps its start)"
        notes.append(f"{name}: {why}{rest}")
    return notes


def _overlap_pixels(hard: torch.Tensor) -> int:
    """Pixels inside more than one of the ``(R, H, W)`` bool masks (boolean steps: no integer count image)."""
    seen, multi = hard[0].clone(), torch.zeros_like(hard[0])
    for r in range(1, hard.shape[0]):
        multi |= seen & hard[r]
        seen |= hard[r]
    return int(multi.sum())


@dataclass(frozen=True, eq=False)
class _LoadedSketch:
    """The sketch as a render uses it: ``native`` ``(1, 3, nh, nw)`` (cleaned when it was a scan or photo),
    ``ink_native`` ``(nh, nw)`` from sketch preparation (None: the finishing derives the ink), ``image``
    ``(1, 3, oh, ow)`` at output size on the render's device; ``outside`` ``(1, 3, oh, ow)`` what shows where no
    region is (a cleaned scan with its marker fills kept; None = ``image``)."""

    native: torch.Tensor
    ink_native: Optional[torch.Tensor]
    image: torch.Tensor
    native_size: tuple[int, int]
    output_size: tuple[int, int]
    outside: Optional[torch.Tensor] = None


def _load_sketch(sketch: Any, options: RenderOptions, device: torch.device, notes: list[str]) -> _LoadedSketch:
    """Step 1: read the sketch (refusing an oversized output before decoding a large scan), clean a scan or photo
    (issue 8) unless ``keep_paper``, and bring it to the output size."""
    peek = io.peek_size(sketch)  # bounded work: refuse an oversized output before decoding a large scan
    if peek is not None:
        check_output_side(peek, options.size)
    native = io.load_image(sketch)
    nh, nw = native.shape[-2:]
    check_output_side((nh, nw), options.size)
    oh, ow = output_size((nh, nw), options.size)
    ink_native = outside = None
    if not options.keep_paper:  # a scan / photo: finish on the cleaned sketch (issue 8)
        prep = _prepared_sketch(native)
        native, ink_native = prep.sketch, prep.ink
        notes += [prep.note] if prep.note else []
        if prep.outside is not None:
            outside = _resize_image(prep.outside, (oh, ow)).to(device)
    if options.size and options.size > max(nh, nw):
        notes.append(f"output ({ow}×{oh}) is larger than the sketch ({nw}×{nh}); lines are upsampled")
    return _LoadedSketch(native=native, ink_native=ink_native, image=_resize_image(native, (oh, ow)).to(device),
                         native_size=(nh, nw), output_size=(oh, ow), outside=outside)


#: Sketch preparation per sketch content: the UI renders one sketch for every preview and a batch one sketch with
#: many fabrics, so the cleaned sketch and its ink are computed once (sketches up to SKETCH_PREP_MAX_PIXELS; two
#: entries: at most ~130 MB held; ``SKETCH_PREP.clear()`` gives it back).
SKETCH_PREP: LRUCache = register("render sketches", LRUCache(2))
SKETCH_PREP_MAX_PIXELS = 4_000_000


def _prepared_sketch(native: torch.Tensor) -> RenderSketch:
    """:func:`garmentstyle.sketchprep.for_render` of ``native`` ``(1, 3, h, w)``, cached by content (copies are
    returned, so a caller changing its result in place cannot change the cache)."""
    from .sketchprep import for_render

    if native.shape[-1] * native.shape[-2] > SKETCH_PREP_MAX_PIXELS:
        return for_render(native)
    return SKETCH_PREP.get(content_key(native), lambda: for_render(native.clone())).clone()


def _region_mask(rg: Region, name: str, sk: _LoadedSketch, page: PageCheck, notes: list[str]
                 ) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Step 2a: the region's mask ``(nh, nw)`` (validated, with notes for a soft mask or one off the drawing), at
    output size ``(oh, ow)``, and its pixel count there."""
    m = io.load_mask(rg.mask, size=sk.native_size, name=f"mask of {name}")
    validate_mask(m, name=f"mask of {name}")
    soft = float(((m > 0.02) & (m < 0.98)).float().mean())
    if soft > 0.05:
        notes.append(f"{name}: mask is not binary ({soft:.0%} grey pixels); used as a soft mask (grey = "
                     "partly inside)")
    on_page = page.fraction_on_page(m)
    if on_page is not None and on_page > SUSPICIOUS:
        notes.append(f"{name}: {on_page:.0%} of the mask lies on the blank page outside the drawing; check "
                     "that it lines up with the sketch (same file size, not shifted or inverted)")
    m_out = _resize_image(m[None, None], sk.output_size)[0, 0]
    area = int((m_out >= 0.5).sum())
    if area < MIN_REGION_PIXELS:
        oh, ow = sk.output_size
        raise MaskError(f"mask of {name}: only {area} px inside at {ow}×{oh}; a region needs at least "
                        f"{MIN_REGION_PIXELS} px (use a larger size or a larger mask)")
    return m, m_out, area


def _region_fabric(rg: Region, name: str, m: torch.Tensor, area: int, sk: _LoadedSketch, options: RenderOptions,
                   notes: list[str], *, check: Callable[[], None]) -> tuple["transfer.RegionSpec", RegionReport]:
    """Step 2b: the region's fabric as the transfer sees it — the swatch prepared (issue 7), recoloured, colour
    matched, at its scale and through its grain/drape mapping — and its report entry. ``check`` raises
    :class:`Cancelled` when the render was cancelled: called between the steps and inside the swatch's synthesis
    (a phone photo's preparation takes seconds; a cancel must not wait for it)."""
    prep = swatches.prepare(rg.swatch, rg.prepare, name=f"swatch of {name}", check=check)
    check()
    sw = check_swatch(prep.tile, name=f"swatch of {name}")
    notes.extend(prep.report.notes)
    recoloured = None
    if rg.colourway:  # the prepared tile recoloured pixel by pixel, so it still tiles
        from . import colourway

        recoloured = colourway.recolour(sw, rg.colourway)
        sw = recoloured.image
        notes.extend(f"{name}: colourway: {n}" for n in recoloured.notes)
        check()
    if options.colour == "histogram":
        if colour_ops.chroma_spread(sk.native, m) < 0.02:
            notes.append(f"{name}: histogram matching to an uncoloured sketch gives a grey fabric; use "
                         "colour='swatch' to keep the fabric's colours")
        sw = colour_ops.match_histogram(sw, sk.native, m)
    (nh, nw), (oh, ow) = sk.native_size, sk.output_size
    scale = _region_scale(rg, prep, name=name, sketch_h=nh, options=options)
    zoom = (ow / nw) / scale
    check()
    mp = _region_mapping(rg, m, sk.native, native=(nh, nw), output=(oh, ow), name=name, notes=notes)
    spec = transfer.RegionSpec(name=name, swatch=sw, zoom=zoom, rotation=rg.rotation, style_weight=rg.style_weight,
                               mapping=mp)
    grain = rg.grain if isinstance(rg.grain, str) else ("strokes" if not isinstance(rg.grain, Path) else str(rg.grain))
    report = RegionReport(
        name=name, area_px=area, swatch_size=(int(sw.shape[-1]), int(sw.shape[-2])), scale=scale,
        repeat_px_sketch=sw.shape[-1] / scale, repeat_px_output=sw.shape[-1] * zoom, rotation=rg.rotation,
        style_weight=rg.style_weight, tileable=rg.tileable, prepare=prep.report, swatch_cm=rg.swatch_cm,
        repeat_cm=rg.repeat_cm, grain=grain, drape=rg.drape, mapping=mp.stats if mp is not None else None,
        colourway=tuple(rg.colourway) if rg.colourway else None,
        colourway_match=recoloured.to_dict() if recoloured is not None else None)
    return spec, report


def _finish(sk: _LoadedSketch, fabric: torch.Tensor, mask_t: torch.Tensor, options: RenderOptions
            ) -> tuple[torch.Tensor, torch.Tensor, Optional[torch.Tensor]]:
    """Step 4 (after the transfer): the sketch's ink and shading back on the fabric inside the masks
    (:mod:`garmentstyle.finish`). Returns the image ``(1, 3, oh, ow)``, the garment's opacity ``(oh, ow)`` and the
    prepared sketch's ink ``(oh, ow)`` (None: the finishing derived it from the sketch)."""
    alphas = finish.region_alphas(mask_t, soft_edge=options.soft_edge)
    ink = sk.ink_native
    ink_out = None if ink is None else _resize_image(ink[None, None], sk.output_size)[0, 0].to(sk.image)
    alpha = alphas.sum(0).clamp(0, 1)
    image = finish.compose(sk.image, fabric, alphas, keep_sketch=options.keep_sketch,
                           shading_strength=options.shading_strength, ink=ink_out, coverage=alpha,
                           outside=sk.outside)
    return image, alpha, ink_out

"""Sketch preparation: make a scan or phone photo of a drawing look like clean line art on white paper.

    from garmentstyle.sketchprep import prepare
    prep = prepare("phone_photo.jpg")
    prep.cleaned      # (1, 3, H, W) in [0, 1]: the drawing on white paper (what renders finish on)
    prep.ink          # (H, W) in [0, 1]: line opacity, 1 = solid ink (the finishing's ink layer)
    prep.paper, prep.rotation, prep.page_box, prep.notes
    prep.work         # the analysis at ≤ 1024 px: lines, colour fills, sheet (what segmentation reads)

Steps (each its own module): find the sheet in a photo and measure a small rotation (:mod:`.page`); estimate the
paper's illumination and divide it out, which also white-balances (:mod:`.paper`); binarise the ink relative to
the local paper with a stroke-width-aware, noise-scaled threshold with hysteresis, and find flat colour fills
(:mod:`.ink`). Large inputs are analysed on an area-averaged working copy (bounded time) and mapped back.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import torch

from .. import morph
from ..cache import LRUCache, levels_key
from ..resources import register
from .ink import clean_levels, colour_fills, ink_opacity, line_map, paper_noise, texture_share
from .page import find_page, lines_rotation
from .paper import estimate_paper, flatten
from .types import WORK_SIDE, PreparedSketch, PrepOptions, WorkImage

__all__ = ["prepare", "prepare_loaded", "prepare_work", "for_render", "RenderSketch", "PrepOptions", "PreparedSketch",
           "WorkImage", "WORK_SIDE", "read_input"]

LUMA = np.float32([0.299, 0.587, 0.114])


def read_input(sketch: Any, *, work_side: int, full: bool) -> tuple[np.ndarray, np.ndarray | None, tuple[int, int]]:
    """``(working copy (h, w, 3) float32, full-size (H, W, 3) float32 or None, (H, W))``.

    A large file is decoded to 8 bits and area-downscaled before any float copy, so a 50 MP scan costs one decode,
    not gigabytes of float arrays.
    """
    from .. import io

    if isinstance(sketch, np.ndarray) and sketch.ndim == 2 and sketch.dtype == np.float32:
        rgb_full = np.repeat(np.clip(sketch, 0, 1)[..., None], 3, axis=2)
        u8 = None
    elif isinstance(sketch, (np.ndarray, torch.Tensor)):
        rgb_full = io.read_rgb(sketch)
        u8 = None
    else:
        from PIL import Image

        pil = io.open_pil(sketch)
        if pil.mode in ("RGBA", "LA", "PA", "P", "RGBa", "La"):
            pil = pil.convert("RGBA")
            bg = Image.new("RGBA", pil.size, (255, 255, 255, 255))
            pil = Image.alpha_composite(bg, pil)
        if pil.mode in ("I;16", "I", "F") or pil.mode.startswith("I;16"):
            rgb_full, u8 = io.read_rgb(pil), None
        else:
            u8 = np.asarray(pil.convert("RGB"))
            rgb_full = None
    src = u8 if u8 is not None else rgb_full
    h, w = src.shape[:2]
    s = min(1.0, work_side / float(max(h, w)))
    if s < 1.0:
        work = cv2.resize(src, (max(1, int(round(w * s))), max(1, int(round(h * s)))), interpolation=cv2.INTER_AREA)
    else:
        work = src
    work = work.astype(np.float32) / 255.0 if work.dtype == np.uint8 else work.astype(np.float32)
    if full and rgb_full is None:
        rgb_full = u8.astype(np.float32) / 255.0
    return np.ascontiguousarray(work), (rgb_full if full else None), (h, w)


def prepare_work(rgb: np.ndarray, options: PrepOptions = PrepOptions(), *, scale: float = 1.0,
                 speck: int = 12) -> tuple[WorkImage, np.ndarray, float, str, list[str]]:
    """Analyse the working copy: ``(WorkImage, paper illumination (h, w, 3), rotation, rotation source, notes)``."""
    h, w = rgb.shape[:2]
    notes: list[str] = []
    page, page_rot = find_page(rgb) if options.find_page else (None, None)
    if page is not None:
        notes.append(f"photo of a sheet: the desk around it ({1 - page.mean():.0%} of the image) was ignored")
    sheet = page if page is not None else np.ones((h, w), bool)
    paper = estimate_paper(rgb, page) if options.flatten else np.ones_like(rgb)
    flat = flatten(rgb, paper)
    flat[~sheet] = 1.0
    grey = flat @ LUMA
    noise = paper_noise(grey, sheet)
    lines, _sw = line_map(grey, flat, sheet, noise=noise, sensitivity=float(options.sensitivity))
    fills = colour_fills(flat, grey, lines, sheet, noise=noise, speck=speck)
    floor = min(0.2, 3.0 * noise)
    clean = clean_levels(flat, floor)
    clean[~sheet] = 1.0
    grey_c = clean @ LUMA
    rot, src = 0.0, "none"
    if options.deskew:
        if page_rot is not None:
            rot, src = page_rot, "page"
        else:
            r = lines_rotation(lines)
            if r is not None:
                rot, src = r, "lines"
    if abs(rot) >= 0.3:
        notes.append(f"the drawing is rotated {rot:+.1f}° (measured from the {'sheet' if src == 'page' else 'lines'})")
    raw_grey = (rgb @ LUMA).astype(np.float32)
    raw_tex = texture_share(raw_grey, lines, sheet)
    # The paper's own level: a marker flat covering half the sheet is not a "dark image" (it was refused as one).
    bare = sheet & ~lines & (fills == 0)
    level = float(np.median(raw_grey[bare if bare.sum() >= 0.1 * sheet.sum() else sheet]))
    work = WorkImage(rgb=clean, grey=grey_c.astype(np.float32), lines=lines, fills=fills, page=sheet,
                     noise=noise, scale=scale, raw_texture=raw_tex, raw_level=level)
    return work, paper, rot, src, notes


#: Prepared sketches by (content, size, options, full): segmentation and rendering prepare one sketch once. An
#: :class:`~garmentstyle.cache.LRUCache` (the web app's worker threads share it; two asking for the same new sketch
#: wait for one preparation). 4 entries: a full preparation holds the cleaned sketch and its ink at full size.
_CACHE: LRUCache[PreparedSketch] = register("prepared sketches", LRUCache(4))


def _key(work_rgb: np.ndarray, size: tuple[int, int], options: PrepOptions, full: bool) -> tuple:
    """The cache key: the working copy on its 8-bit levels (:func:`~garmentstyle.cache.levels_key`), the input's
    size, the options and whether the full-size outputs are wanted."""
    return (levels_key(work_rgb), size, options, full)


def prepare(sketch: Any, options: PrepOptions = PrepOptions(), *, full: bool = True) -> PreparedSketch:
    """Prepare a sketch (see the module docstring).

    Args:
        sketch: path / bytes / PIL / ``(H, W, 3)`` array / ``(1, 3, H, W)`` tensor / ``(H, W)`` float32 grey.
        options: :class:`PrepOptions`.
        full: also build the full-size ``cleaned`` sketch and ``ink`` map (rendering); False: only the working
            copy (segmentation; cheaper on big scans).

    Returns:
        :class:`PreparedSketch`. Cached per content: repeated calls on one sketch are free.

    Raises:
        ImageReadError: unreadable input (see :mod:`garmentstyle.io`).
    """
    from ..errors import OptionsError

    if not isinstance(options, PrepOptions):
        raise OptionsError(f"options: expected PrepOptions, got {type(options).__name__}")
    work_rgb, rgb_full, (H, W) = read_input(sketch, work_side=int(options.work_side), full=full)
    return prepare_loaded(work_rgb, rgb_full, (H, W), options)


def prepare_loaded(work_rgb: np.ndarray, rgb_full: np.ndarray | None, size: tuple[int, int],
                   options: PrepOptions = PrepOptions()) -> PreparedSketch:
    """:func:`prepare` on an already read input (from :func:`read_input`; the working copy may have been
    adjusted, e.g. inverted). ``rgb_full`` None: only the working copy is analysed."""
    H, W = size
    full = rgb_full is not None
    return _CACHE.get(_key(work_rgb, (H, W), options, full),
                      lambda: _prepare_loaded(work_rgb, rgb_full, (H, W), options))


def _prepare_loaded(work_rgb: np.ndarray, rgb_full: np.ndarray | None, size: tuple[int, int],
                    options: PrepOptions) -> PreparedSketch:
    """:func:`prepare_loaded`'s work, uncached."""
    H, W = size
    full = rgb_full is not None
    h, w = work_rgb.shape[:2]
    scale = w / float(W)
    speck = max(12, int(round(h * w * 0.0002)))
    work, paper, rot, src, notes = prepare_work(work_rgb, options, scale=scale, speck=speck)
    page_box = _box(work.page, 1.0 / scale, (H, W))
    paper_rgb = tuple(float(v) for v in np.median(paper[work.page], axis=0)) if work.page.any() else (1.0, 1.0, 1.0)
    cleaned = ink = None
    if full:
        cleaned, ink = _full_outputs(rgb_full, paper, work, (H, W))
    return PreparedSketch(cleaned=cleaned, ink=ink, paper=paper_rgb, rotation=float(rot), rotation_source=src,
                          page_box=page_box, size=(H, W), work=work, notes=notes)


def _box(mask: np.ndarray, inv: float, size: tuple[int, int]) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    if not len(ys):
        return (0, 0, size[1], size[0])
    return (int(xs.min() * inv), int(ys.min() * inv), min(size[1], int((xs.max() + 1) * inv + 0.5)),
            min(size[0], int((ys.max() + 1) * inv + 0.5)))


def _full_outputs(rgb: np.ndarray, paper: np.ndarray, work: WorkImage,
                  size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """The cleaned sketch and ink map at the input's size, from the working-copy analysis."""
    H, W = size
    if paper.shape[:2] != (H, W):
        paper = cv2.resize(paper, (W, H), interpolation=cv2.INTER_LINEAR)
    flat = flatten(rgb, paper)
    grey = flat @ LUMA
    page = work.page
    lines = work.lines
    if page.shape != (H, W):
        page = cv2.resize(page.astype(np.uint8), (W, H), interpolation=cv2.INTER_NEAREST).astype(bool)
        lines = cv2.resize(lines.astype(np.uint8) * 255, (W, H), interpolation=cv2.INTER_LINEAR) > 64
    noise = paper_noise(grey, page) if min(H, W) <= 4096 else work.noise
    floor = min(0.2, 3.0 * noise)
    clean = clean_levels(flat, floor)
    clean[~page] = 1.0
    grow = max(1, int(round(1.0 / max(work.scale, 1e-6))))
    # The line's opacity is its darkness against what it is drawn on (paper, or a marker fill): the local
    # background is a closing of the working copy (lines removed), brought to full size.
    k = max(9, int(0.02 * max(work.grey.shape))) | 1
    bg = cv2.morphologyEx(work.grey, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    if bg.shape != (H, W):
        bg = cv2.resize(bg, (W, H), interpolation=cv2.INTER_LINEAR)
    rel = np.clip(grey / np.maximum(bg, 0.05), 0.0, 1.0)
    ink = ink_opacity(rel, lines & page, floor, grow=grow)
    return (torch.from_numpy(np.ascontiguousarray(clean.transpose(2, 0, 1)))[None].contiguous(),
            torch.from_numpy(ink))


def texture(work: WorkImage) -> float:
    """Share of the sheet that is textured away from the lines (a photo: high; a drawing: low)."""
    return max(texture_share(work.grey, work.lines, work.page), work.raw_texture)


#: The paper counts as already clean (digital line art) when its estimate is this close to white everywhere.
CLEAN_PAPER = 0.97


@dataclass(frozen=True)
class RenderSketch:
    """What a render finishes on. ``sketch`` ``(1, 3, H, W)`` in [0, 1]: the sketch the fabric is shaded and inked
    with (a scan's marker placeholders inside outlines divided out, so they do not darken the fabric); ``ink``
    ``(H, W)`` in [0, 1] or None (the finishing derives its own); ``note`` for the report or None; ``outside``
    ``(1, 3, H, W)`` or None (= ``sketch``): the cleaned sketch with its marker fills kept, shown wherever no
    region's fabric covers it, so a placeholder fill the designer left without fabric keeps its colour."""

    sketch: torch.Tensor
    ink: torch.Tensor | None = None
    note: str | None = None
    outside: torch.Tensor | None = None

    def clone(self) -> "RenderSketch":
        """A copy whose tensors a caller may change in place (results are cached)."""
        c = (lambda t: None if t is None else t.clone())
        return RenderSketch(sketch=self.sketch.clone(), ink=c(self.ink), note=self.note, outside=c(self.outside))


def for_render(sketch: torch.Tensor, options: PrepOptions = PrepOptions()) -> RenderSketch:
    """What a render finishes on (:class:`RenderSketch`) for ``sketch`` ``(1, 3, H, W)`` in [0, 1].

    A scan or photo (paper not white, uneven light, a desk around the sheet) is replaced by its cleaned version
    and its ink map, so the render looks drawn on clean paper; digital line art on white paper is returned as it
    is (None ink: the finishing computes its own), so clean inputs render exactly as before.
    """
    rgb = sketch[0].permute(1, 2, 0).detach().cpu().numpy().astype(np.float32)
    work_rgb, _, size = read_input(rgb, work_side=int(options.work_side), full=False)
    from .paper import paper_is_white

    if paper_is_white(work_rgb, CLEAN_PAPER):
        return RenderSketch(sketch=sketch)
    prep = prepare_loaded(work_rgb, rgb, size, options)
    p = prep.paper
    note = (f"finished on the cleaned sketch: paper (RGB {p[0]:.2f}, {p[1]:.2f}, {p[2]:.2f}) and its uneven light "
            "flattened to white" + ("; the desk around the sheet removed" if prep.page_box != (0, 0, size[1], size[0])
                                    and any("desk" in n for n in prep.notes) else "")
            + " (keep_paper=True keeps the photo's paper)")
    out, kept = prep.cleaned, None
    if prep.work.fills.any():
        out, kept = _without_fills(prep.cleaned, prep.work), prep.cleaned.clamp(0, 1).to(sketch)
        note += ("; marker / colour fills taken as the designer's placeholder colour (the fabric replaces them; "
                 "a fill no region covers keeps its colour)")
    return RenderSketch(sketch=out.to(sketch), ink=prep.ink, note=note, outside=kept)


def _without_fills(cleaned: torch.Tensor, work: WorkImage) -> torch.Tensor:
    """The cleaned sketch with each flat colour fill *inside the drawing's closed outlines* divided by its own
    colour: there it is the designer's placeholder for the fabric, and its tone must not darken the fabric through
    the finishing's shading multiply, while lines drawn over it and its texture remain. A fill mostly outside
    every closed outline whose rim does not follow lines either (a marker shadow, a swash behind the figure) gets
    no fabric, so it keeps its colour instead of turning white. Each connected patch decides on its own."""
    H, W = cleaned.shape[-2:]
    cls = work.fills
    k = int(cls.max())
    # Paper (or fill) closed in by lines; small breaks in a pencil outline closed first (≤ 4 working px).
    closed = cv2.dilate(work.lines.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=2) > 0
    enclosed = morph.fill_holes(closed) & ~work.lines
    near = cv2.dilate(work.lines.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=3) > 0
    d = np.ones(cls.shape + (3,), np.float32)
    for c in range(1, k + 1):
        sel = (cls == c) & ~work.lines
        if not sel.any():
            continue
        colour = np.clip(np.median(work.rgb[sel], axis=0), 0.05, 1.0)
        # One colour class can be several patches (the same marker in and outside the outlines): each decides.
        comp, n = morph.label4(cls == c)
        rim = (comp > 0) & ~morph.erode_cross(comp > 0)
        # Inside: closed in by lines, or (an outline with wide breaks) its rim mostly runs along lines.
        inside = (morph.label_means(enclosed, comp, n) >= 0.5) | (morph.label_means(near[rim], comp[rim], n) >= 0.5)
        keep = np.concatenate([[False], inside])[comp]
        d[keep] = colour
    d = cv2.GaussianBlur(d, (0, 0), 1.0)
    if d.shape[:2] != (H, W):
        d = cv2.resize(d, (W, H), interpolation=cv2.INTER_LINEAR)
    dt = torch.from_numpy(np.ascontiguousarray(d.transpose(2, 0, 1)))[None]
    return (cleaned / dt).clamp(0, 1)

"""The web app's behaviour as plain functions: no Gradio here, so each one is unit-tested with plain values.

Every function takes the app context and/or the tab's :class:`~ui.state.Session` plus plain values (paths, numbers,
the ImageEditor's value dict) and returns plain values (a session, numpy images, strings, paths). They raise
:class:`~garmentstyle.errors.GarmentStyleError` for anything the designer can fix; :mod:`ui.app` turns those into
``gr.Error`` in one place. Images shown in the browser are uint8 numpy arrays (Gradio encodes them as PNG).
"""
from __future__ import annotations

import html
import queue
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from garmentstyle import encoders, io, samples, weights
from garmentstyle.api import Region, RenderResult, render as api_render
from garmentstyle.colour import COLOUR_MODES
from garmentstyle.errors import Cancelled, GarmentStyleError, ImageReadError, InputError, SegmentationError
from garmentstyle.transfer import RenderOptions

from .state import (
    DEFAULT_SWATCHES,
    DISPLAY_SIDE,
    MAX_UPLOAD_MB,
    MIN_SKETCH_SIDE,
    SKETCH_SUFFIXES,
    SWATCH_SUFFIXES,
    AppContext,
    RegionState,
    Session,
    ensure,
)

#: What a click on the sketch does.
CLICK_NEW = "New region"
CLICK_ADD = "Add to selected region"
CLICK_REMOVE = "Remove from selected region"
CLICK_ACTIONS: tuple[str, ...] = (CLICK_NEW, CLICK_ADD, CLICK_REMOVE)

#: How each colour mode reads in the UI (keys are exactly :data:`garmentstyle.colour.COLOUR_MODES`).
COLOUR_LABELS: dict[str, str] = {
    "swatch": "Keep the swatch's colours",
    "luminance": "Pattern only, keep the sketch's colours",
    "histogram": "Recolour the fabric to the sketch",
}
#: The brush editor's last layer: paint on it to take pixels out of every region.
REMOVE_LAYER = "✕ remove"
#: A region reduced below this many pixels, or this fraction of its size, by another region taking its area is
#: merged into the taker (what is left is its outline on the lines, not a region).
SLIVER_PX = 64
SLIVER_FRACTION = 0.02
#: A thumbnail's longest side.
THUMB_SIDE = 160


def colour_choices() -> list[tuple[str, str]]:
    """(label, value) pairs for the colour-mode radio, one per :data:`COLOUR_MODES` entry."""
    return [(COLOUR_LABELS.get(m, m), m) for m in COLOUR_MODES]


# ----------------------------------------------------------------------------------------------------- status line
def status_markdown() -> str:
    """One line: which encoder and segmenter are active, pretrained or offline fallback, and how to get weights."""
    enc = encoders.resolve_name("auto")
    if enc == "vgg19":
        enc_txt = "**Fabric encoder:** VGG19 (pretrained)"
    else:
        enc_txt = ("**Fabric encoder:** texture (offline fallback) · for finer fabric detail run "
                   "`garmentstyle weights download vgg19`")
    sam = weights.find("sam-vit-b")
    if sam is not None:
        seg_txt = "**Segmenter:** Segment Anything (sam-vit-b, pretrained)"
    else:
        seg_txt = ("**Segmenter:** line-art fill (offline) · for click-to-segment on any drawing run "
                   "`garmentstyle weights download sam-vit-b`")
    return f"{enc_txt}  \n{seg_txt}"


# ----------------------------------------------------------------------------------------------------- uploads
def _short(exc: GarmentStyleError, path: Path) -> str:
    """The library's message with the server-side path replaced by the file's name."""
    return str(exc).replace(str(path), path.name)


def validate_upload(path: Any, *, what: str, suffixes: Sequence[str] = SKETCH_SUFFIXES) -> Image.Image:
    """Check an uploaded image file: type (by name and by content), size in bytes, pixel count, decompression
    bombs, truncation. Returns the decoded, upright PIL image.

    Raises:
        ImageReadError: with a message naming the file (never the server path) and the fix.
    """
    if path is None or path == "":
        raise InputError(f"no {what} file was uploaded")
    p = Path(str(path))
    kinds = ", ".join(s.lstrip(".").upper() for s in suffixes if s not in (".jpeg", ".tif"))
    if p.suffix.lower() not in suffixes:
        raise ImageReadError(f"{p.name}: a {what} must be an image file ({kinds}); got a "
                             f"'{p.suffix or 'no extension'}' file")
    try:
        nbytes = p.stat().st_size
    except OSError:
        raise ImageReadError(f"{p.name}: the upload did not arrive; try again") from None
    if nbytes > MAX_UPLOAD_MB * 2**20:
        raise ImageReadError(f"{p.name} is {nbytes / 2**20:.0f} MB; the limit is {MAX_UPLOAD_MB} MB. Save a smaller "
                             "copy (a 3000 px PNG or a JPEG is plenty)")
    try:
        return io.open_pil(p)
    except ImageReadError as exc:
        raise ImageReadError(_short(exc, p)) from None


def _display_copy(img: torch.Tensor) -> np.ndarray:
    """``(1, 3, H, W)`` → uint8 ``(h, w, 3)`` with the longest side at most :data:`DISPLAY_SIDE`."""
    pil = io.to_pil(img)
    w, h = pil.size
    s = min(1.0, DISPLAY_SIDE / max(w, h))
    if s < 1.0:
        pil = pil.resize((max(1, round(w * s)), max(1, round(h * s))), Image.LANCZOS)
    return np.asarray(pil.convert("RGB"))


def load_sketch(ctx: AppContext, session: Optional[Session], path: Any, *, name: Optional[str] = None) -> Session:
    """Validate a sketch file, keep a normalised PNG copy in the session folder and start over with no regions."""
    session = ensure(ctx, session)
    pil = validate_upload(path, what="sketch", suffixes=SKETCH_SUFFIXES)
    w, h = pil.size
    if min(w, h) < MIN_SKETCH_SIDE:
        raise ImageReadError(f"{Path(str(path)).name} is only {w}×{h} px; a sketch needs at least "
                             f"{MIN_SKETCH_SIDE} px on each side")
    img = io.load_image(pil)  # flattened onto white paper, RGB
    stem = _safe(name or Path(str(path)).stem) or "sketch"
    dest = session.file(f"{stem}.png")
    io.save_image(img, dest)
    session.sketch_path = dest
    session.sketch_name = stem
    session.size = (int(img.shape[-2]), int(img.shape[-1]))
    session.display = _display_copy(img)
    session.regions = []
    session.current = None
    session.seg = None
    session.editor_uids = []
    session.result = None
    session.result_regions = []
    session.result_kind = ""
    return session


def load_sample(ctx: AppContext, session: Optional[Session], name: str) -> Session:
    """Load one of the bundled sample sketches by name."""
    return load_sketch(ctx, session, samples.sketch_path(name), name=name)


def _thumb(path: Path, side: int = THUMB_SIDE) -> np.ndarray:
    pil = io.open_pil(path).convert("RGB")
    pil.thumbnail((side, side), Image.LANCZOS)
    return np.asarray(pil)


def sample_sketches() -> list[tuple[np.ndarray, str]]:
    """(thumbnail, name) of every bundled sketch; empty when the samples folder is missing."""
    try:
        return [(_thumb(samples.sketch_path(n)), n) for n in samples.list_sketches()]
    except GarmentStyleError:
        return []


def sample_swatches() -> list[tuple[np.ndarray, str]]:
    """(thumbnail, name) of every bundled swatch; empty when the samples folder is missing."""
    try:
        return [(_thumb(samples.swatch_path(n), 96), n) for n in samples.list_swatches()]
    except GarmentStyleError:
        return []


def _require_sketch(session: Optional[Session]) -> Session:
    if session is None or not session.has_sketch:
        raise InputError("load a sketch first: upload one, or pick a sample in step 1")
    return session


def _require_region(session: Session) -> RegionState:
    r = session.current_region
    if r is None:
        raise InputError("select a region first: click inside the garment, or press “Find garment”")
    return r


# ----------------------------------------------------------------------------------------------------- regions
def _gap(gap: Any) -> Optional[int]:
    """The gap slider: 0 = automatic (None)."""
    g = int(round(float(gap or 0)))
    return None if g <= 0 else g


def _default_swatch(session: Session) -> tuple[str, str]:
    """A bundled swatch for a new region: the first in :data:`DEFAULT_SWATCHES` no region uses yet."""
    try:
        names = [n for n in DEFAULT_SWATCHES if n in samples.list_swatches()] or samples.list_swatches()
    except GarmentStyleError:
        return "", ""
    if not names:
        return "", ""
    used = {r.swatch_label for r in session.regions}
    n = next((n for n in names if n not in used), names[len(session.regions) % len(names)])
    return str(samples.swatch_path(n)), n


def _new_region(session: Session, mask: np.ndarray, name: str, *, points: Optional[list] = None) -> RegionState:
    sw, label = _default_swatch(session)
    r = RegionState(uid=session.take_uid(), name=session.unique_name(name), mask=mask, colour=session.colour_for_new(),
                    swatch=sw, swatch_label=label, points=list(points or []))
    return r


def _assign(session: Session, target: RegionState, mask: np.ndarray, *, replace: bool = False) -> None:
    """Give ``mask``'s pixels to ``target`` (added, or replacing its mask) and take them from every other region;
    regions left empty are dropped. Regions stay exclusive, so the list always says who owns a pixel."""
    target.mask = mask.copy() if replace else (target.mask | mask)
    for r in session.regions:
        if r is not target:
            before = r.area
            r.mask &= ~mask
            if r.mask.any() and r.area < max(SLIVER_PX, SLIVER_FRACTION * before):
                target.mask |= r.mask  # a sliver left on the lines: the taker gets it, the region goes
                r.mask[:] = False
    _drop_empty(session)


def _subtract(session: Session, region: RegionState, mask: np.ndarray) -> None:
    """Take ``mask`` out of ``region``; a sliver left on the lines goes too (the region is dropped)."""
    before = region.area
    region.mask &= ~mask
    if region.area < max(SLIVER_PX, SLIVER_FRACTION * before):
        region.mask[:] = False
    _drop_empty(session)


def _drop_empty(session: Session) -> None:
    session.regions = [r for r in session.regions if r.mask.any()]
    if session.current_region is None:
        session.current = session.regions[-1].uid if session.regions else None


def find_garment(ctx: AppContext, session: Optional[Session], gap: Any = 0) -> tuple[Session, str]:
    """Segment the sketch automatically: one region per garment part (or the whole garment). Replaces the regions.

    Returns the session and a sentence for the designer (what was found, by which method, any notes).
    """
    import garmentstyle.segment as seg_mod

    session = _require_sketch(session)
    sam = ctx.sam()
    options = seg_mod.SegmentOptions(gap=_gap(gap))
    if sam is not None:
        with ctx.sam_lock:
            seg = seg_mod.segment(session.sketch_path, method="sam", options=options, sam=sam)
    else:
        seg = seg_mod.segment(session.sketch_path, method="classical", options=options)
    session.seg = seg if getattr(seg, "partition", None) is not None else None
    infos = list(seg.regions) or []
    masks = [(r.name, r.mask.detach().cpu().numpy() > 0.5) for r in infos]
    if not masks:
        masks = [("garment", seg.garment.detach().cpu().numpy() > 0.5)]
    session.regions = []
    for name, m in masks:
        if m.any():
            session.regions.append(_new_region(session, m, name))
    if not session.regions:
        raise SegmentationError("no garment found in this sketch; click inside the garment to add regions by hand")
    session.current = session.regions[0].uid
    session.result = None
    method = "Segment Anything" if sam is not None else "line-art fill"
    n = len(session.regions)
    msg = (f"Found the garment in {n} part{'s' if n != 1 else ''} ({method}, confidence {seg.confidence:.0%}). "
           "Click a part to select it; change the click action to add to or remove from it.")
    if seg.notes:
        msg += " Notes: " + "; ".join(seg.notes)
    return session, msg


def _sam_mask(ctx: AppContext, session: Session, sam: Any, points: list) -> np.ndarray:
    import garmentstyle.segment as seg_mod

    with ctx.sam_lock:
        sam.set_image(session.sketch_path)
        pred = sam.predict([(x, y) for x, y, _ in points], [int(l) for _, _, l in points])
    mask = pred.mask.detach().cpu().numpy().astype(bool)
    refine = getattr(seg_mod, "refine_mask", None)
    if refine is not None and mask.any():
        try:
            mask = refine(mask, io.load_image(session.sketch_path)).numpy() > 0.5
        except GarmentStyleError:
            pass
    return mask


def click(ctx: AppContext, session: Optional[Session], x: float, y: float, action: str = CLICK_NEW,
          gap: Any = 0) -> tuple[Session, str]:
    """A click on the sketch at display pixel ``(x, y)``: make a new region there, add the area to the selected
    region, or remove it. SAM point prompts when SAM is available, else the enclosed area of the line art."""
    import garmentstyle.segment as seg_mod

    session = _require_sketch(session)
    if action not in CLICK_ACTIONS:
        raise InputError(f"unknown click action {action!r}; expected one of {', '.join(CLICK_ACTIONS)}")
    H, W = session.size
    s = session.display_scale
    px, py = min(W - 1.0, max(0.0, float(x) / s)), min(H - 1.0, max(0.0, float(y) / s))
    target = session.current_region
    if action != CLICK_NEW and target is None:
        action = CLICK_NEW  # nothing selected yet: the first click always makes a region
    sam = ctx.sam()
    if sam is not None:
        if action == CLICK_NEW:
            pts = [(px, py, 1)]
            mask = _sam_mask(ctx, session, sam, pts)
            if not mask.any():
                raise SegmentationError("nothing found under that click; click inside a garment part")
            r = _new_region(session, np.zeros((H, W), bool), "region", points=pts)
            session.regions.append(r)
            _assign(session, r, mask)
            session.current = r.uid
            return session, f"Added “{r.name}”."
        assert target is not None
        label = 1 if action == CLICK_ADD else 0
        if target.points:
            target.points = target.points + [(px, py, label)]
            mask = _sam_mask(ctx, session, sam, target.points)
            _assign(session, target, mask, replace=True)
        else:
            mask = _sam_mask(ctx, session, sam, [(px, py, 1)])
            if label:
                _assign(session, target, mask)
            else:
                _subtract(session, target, mask)
        return session, _click_message(session, target, action)

    gap_px = _gap(gap)
    seg = session.seg
    if seg is not None and (gap_px is None or gap_px == seg.gap):
        info = seg_mod.region_at(seg, px, py)
    else:
        info = seg_mod.region_at(session.sketch_path, px, py, gap=gap_px)
    mask = info.mask.detach().cpu().numpy() > 0.5
    if action == CLICK_NEW:
        r = _new_region(session, np.zeros((H, W), bool), "region")
        session.regions.append(r)
        _assign(session, r, mask)
        session.current = r.uid
        return session, f"Added “{r.name}” ({int(mask.sum()):,} px)."
    assert target is not None
    if action == CLICK_ADD:
        _assign(session, target, mask)
    else:
        _subtract(session, target, mask)
    return session, _click_message(session, target, action)


def _click_message(session: Session, target: RegionState, action: str) -> str:
    if session.region(target.uid) is None:
        return f"Removed the last of “{target.name}”; the region is gone."
    verb = "Added to" if action == CLICK_ADD else "Removed from"
    return f"{verb} “{target.name}” (now {target.area:,} px)."


def select_region(session: Optional[Session], name: Optional[str]) -> Session:
    session = _require_sketch(session)
    r = session.by_name(name or "")
    if r is None:
        raise InputError(f"there is no region called {name!r}")
    session.current = r.uid
    return session


_NAME_OK = re.compile(r"^[\w][\w \-.]{0,39}$")


def rename_region(session: Optional[Session], new_name: str) -> Session:
    session = _require_sketch(session)
    r = _require_region(session)
    name = (new_name or "").strip()
    if not _NAME_OK.match(name):
        raise InputError("a region name is 1–40 letters, digits, spaces, '-', '_' or '.', starting with a letter or "
                         f"digit; got {new_name!r}")
    other = session.by_name(name)
    if other is not None and other is not r:
        raise InputError(f"another region is already called {name!r}; choose a different name")
    r.name = name
    return session


def delete_region(session: Optional[Session]) -> Session:
    session = _require_sketch(session)
    r = _require_region(session)
    session.regions = [x for x in session.regions if x is not r]
    session.current = session.regions[-1].uid if session.regions else None
    return session


def merge_regions(session: Optional[Session], names: Sequence[str]) -> Session:
    """Merge the named regions into the selected one (it keeps its name and fabric)."""
    session = _require_sketch(session)
    r = _require_region(session)
    others = [session.by_name(n) for n in (names or []) if n != r.name]
    if not others or any(o is None for o in others):
        raise InputError("choose one or more other regions to merge into the selected one")
    for o in others:
        r.mask = r.mask | o.mask  # type: ignore[union-attr]
    session.regions = [x for x in session.regions if x not in others]
    return session


def clear_regions(session: Optional[Session]) -> Session:
    session = _require_sketch(session)
    session.regions = []
    session.current = None
    return session


# ----------------------------------------------------------------------------------------------------- views
def region_names(session: Optional[Session]) -> list[str]:
    return [r.name for r in session.regions] if session is not None else []


def current_name(session: Optional[Session]) -> Optional[str]:
    r = session.current_region if session is not None else None
    return r.name if r is not None else None


def _display_mask(session: Session, mask: np.ndarray) -> np.ndarray:
    assert session.display is not None
    h, w = session.display.shape[:2]
    if mask.shape == (h, w):
        return mask
    pil = Image.fromarray(mask.astype(np.uint8) * 255, "L").resize((w, h), Image.BILINEAR)
    return np.asarray(pil) > 127


def _edge(m: np.ndarray, width: int = 2) -> np.ndarray:
    from scipy import ndimage

    return m & ~ndimage.binary_erosion(m, iterations=width)


_FONT_CACHE: dict[int, Any] = {}


def _font(size: int):
    if size not in _FONT_CACHE:
        try:
            _FONT_CACHE[size] = ImageFont.load_default(size=size)
        except TypeError:  # Pillow without FreeType sizes
            _FONT_CACHE[size] = ImageFont.load_default()
    return _FONT_CACHE[size]


def overlay_image(session: Optional[Session], *, labels: bool = True) -> Optional[np.ndarray]:
    """The sketch at display size with every region tinted in its colour (the selected one stronger and outlined)
    and, with ``labels``, each region's name at its centre. None without a sketch."""
    if session is None or session.display is None:
        return None
    base = session.display.astype(np.float32) / 255.0
    out = base.copy()
    named = []
    for r in session.regions:
        m = _display_mask(session, r.mask)
        if not m.any():
            continue
        c = np.array(r.colour, np.float32) / 255.0
        strength = 0.6 if r.uid == session.current else 0.4
        tint = base * (1 - strength) + (base * c) * strength + 0.25 * strength * c  # keeps the lines dark
        out[m] = np.clip(tint[m], 0, 1)
        if r.uid == session.current:
            e = _edge(m, 3)
            out[e] = c
        ys, xs = np.nonzero(m)
        named.append((r, float(xs.mean()), float(ys.mean()), m))
    img = Image.fromarray((out * 255 + 0.5).astype(np.uint8), "RGB")
    if labels and named:
        draw = ImageDraw.Draw(img)
        size = max(13, min(28, img.width // 28))
        font = _font(size)
        for r, cx, cy, m in named:
            yi, xi = int(round(cy)), int(round(cx))
            if not m[min(yi, m.shape[0] - 1), min(xi, m.shape[1] - 1)]:  # centroid outside (a U shape)
                ys, xs = np.nonzero(m)
                k = len(ys) // 2
                xi, yi = int(xs[k]), int(ys[k])
            x0, y0, x1, y1 = draw.textbbox((xi, yi), r.name, font=font, anchor="mm")
            pad = max(3, size // 4)
            draw.rounded_rectangle((x0 - pad, y0 - pad, x1 + pad, y1 + pad), radius=pad, fill=r.colour,
                                   outline=(255, 255, 255), width=2 if r.uid == session.current else 1)
            draw.text((xi, yi), r.name, fill=(255, 255, 255), font=font, anchor="mm")
    return np.asarray(img)


def regions_html(session: Optional[Session]) -> str:
    """The region list: colour chip, name, area and fabric per region; the selected one highlighted."""
    if session is None or not session.has_sketch:
        return "<div class='gs-empty'>Load a sketch to begin.</div>"
    if not session.regions:
        return ("<div class='gs-empty'>No regions yet. Press <b>Find garment</b>, or click inside the sketch to "
                "add one.</div>")
    H, W = session.size
    rows = []
    for r in session.regions:
        sel = r.uid == session.current
        chip = "#%02x%02x%02x" % r.colour
        fabric = html.escape(r.swatch_label or "—")
        extra = []
        if abs(r.pattern - 1) > 1e-6:
            extra.append(f"×{r.pattern:g}")
        if r.rotation:
            extra.append(f"{r.rotation:g}°")
        if extra:
            fabric += f" <span class='gs-dim'>{' '.join(extra)}</span>"
        rows.append(
            f"<tr class='{'gs-sel' if sel else ''}' data-region='{html.escape(r.name)}'>"
            f"<td><span class='gs-chip' style='background:{chip}'></span></td>"
            f"<td class='gs-name'>{html.escape(r.name)}{' ◀' if sel else ''}</td>"
            f"<td class='gs-num'>{r.area:,} px</td><td class='gs-num'>{100 * r.area / (H * W):.1f}%</td>"
            f"<td>{fabric}</td></tr>")
    return ("<table class='gs-regions'><thead><tr><th></th><th>Region</th><th>Area</th><th>of sketch</th>"
            "<th>Fabric</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


# ----------------------------------------------------------------------------------------------------- brush editor
def editor_layer_names(session: Optional[Session]) -> list[str]:
    """One layer per region (paint adds to it) and a last one that removes from every region."""
    return region_names(session) + [REMOVE_LAYER]


def editor_value(session: Optional[Session]) -> Optional[dict]:
    """The ImageEditor's value: the tinted sketch as background and one empty layer per region; remembers which
    regions the layers stand for so :func:`apply_editor` maps them back even if names change meanwhile."""
    if session is None or session.display is None:
        return None
    session.editor_uids = [r.uid for r in session.regions]
    return {"background": overlay_image(session, labels=True), "layers": [], "composite": None}


def apply_editor(session: Optional[Session], value: Optional[dict]) -> tuple[Session, str]:
    """Apply brush strokes: paint on a region's layer adds it to that region, paint on the last layer removes it
    from every region (an eraser only erases strokes)."""
    session = _require_sketch(session)
    layers = list((value or {}).get("layers") or [])
    uids = session.editor_uids
    if not uids and not layers:
        raise InputError("open the brush editor and paint on a region's layer first")
    if len(layers) != len(uids) + 1:
        raise InputError("the regions changed since the brush editor was loaded; press “Reload regions into the "
                         "editor” and paint again")
    H, W = session.size
    changed = 0

    def native(layer: Any) -> np.ndarray:
        a = np.asarray(layer)
        if a.ndim == 3 and a.shape[2] == 4:
            m = a[..., 3] > 0
        elif a.ndim == 3:
            m = a.max(axis=2) > 0
        else:
            m = a > 0
        if m.shape != (H, W):
            m = np.asarray(Image.fromarray(m.astype(np.uint8) * 255, "L").resize((W, H), Image.NEAREST)) > 127
        return m

    for uid, layer in zip(uids, layers[:-1]):
        if layer is None:
            continue
        m = native(layer)
        r = session.region(uid)
        if r is None or not m.any():
            continue
        _assign(session, r, m)
        changed += 1
    remove = layers[-1]
    if remove is not None:
        m = native(remove)
        if m.any():
            for r in session.regions:
                r.mask &= ~m
            _drop_empty(session)
            changed += 1
    if not changed:
        return session, "No brush strokes to apply: pick a layer in the editor's layer list and paint."
    return session, "Applied the brush strokes."


# ----------------------------------------------------------------------------------------------------- fabrics
@dataclass
class FabricView:
    """The fabric controls' values for the selected region."""

    region: Optional[str]
    swatch: Optional[np.ndarray]
    label: str
    pattern: float
    rotation: float
    strength: float
    tileable: bool = False


def fabric_view(session: Optional[Session]) -> FabricView:
    r = session.current_region if session is not None else None
    if r is None:
        return FabricView(None, None, "", 1.0, 0.0, 1.0, False)
    sw = None
    if r.swatch:
        try:
            sw = _thumb(Path(r.swatch), 192)
        except GarmentStyleError:
            sw = None
    return FabricView(r.name, sw, r.swatch_label, r.pattern, r.rotation, r.strength, r.tileable)


def choose_sample_swatch(session: Optional[Session], name: str) -> Session:
    session = _require_sketch(session)
    r = _require_region(session)
    r.swatch = str(samples.swatch_path(name))
    r.swatch_label = name
    return session


def upload_swatch(ctx: AppContext, session: Optional[Session], path: Any) -> Session:
    """Validate an uploaded fabric image and give it to the selected region."""
    from garmentstyle.swatch import MIN_SWATCH_SIDE

    session = _require_sketch(session)
    r = _require_region(session)
    pil = validate_upload(path, what="swatch", suffixes=SWATCH_SUFFIXES)
    w, h = pil.size
    name = Path(str(path)).name
    if min(w, h) < MIN_SWATCH_SIDE:
        raise ImageReadError(f"{name} is only {w}×{h} px; a swatch needs at least {MIN_SWATCH_SIDE} px of fabric "
                             "on each side")
    dest = session.file(f"swatch-{_safe(Path(name).stem) or 'fabric'}.png")
    io.save_image(io.load_image(pil), dest)
    r.swatch = str(dest)
    r.swatch_label = name
    return session


def set_fabric(session: Optional[Session], *, pattern: float, rotation: float, strength: float,
               tileable: Optional[bool] = None) -> Session:
    session = _require_sketch(session)
    r = _require_region(session)
    if not pattern or pattern <= 0:
        raise InputError(f"pattern size must be above 0; got {pattern}")
    if strength is None or strength < 0:
        raise InputError(f"fabric strength must be 0 or more; got {strength}")
    r.pattern, r.rotation, r.strength = float(pattern), float(rotation or 0.0), float(strength)
    if tileable is not None:
        r.tileable = bool(tileable)
    return session


def fabric_to_all(session: Optional[Session]) -> Session:
    """Give every region the selected region's fabric and settings."""
    session = _require_sketch(session)
    r = _require_region(session)
    for o in session.regions:
        o.swatch, o.swatch_label, o.pattern, o.rotation, o.strength = (r.swatch, r.swatch_label, r.pattern,
                                                                       r.rotation, r.strength)
        o.tileable = r.tileable
    return session


# ----------------------------------------------------------------------------------------------------- render
def render_options(ctx: AppContext, *, size: Any, iterations: Any, colour: str, keep_sketch: bool,
                   shading_strength: float, seed: Any) -> RenderOptions:
    """The render options from the UI's controls on top of the app's base options (validated here)."""
    iters = int(iterations)
    every = max(1, min(ctx.base_options.preview_every or 5, max(1, iters // 4)))
    base = ctx.base_options.to_dict()
    base.update(size=int(size), iterations=iters, colour=colour, keep_sketch=bool(keep_sketch),
                shading_strength=float(shading_strength), seed=int(seed or 0), preview_every=every)
    return RenderOptions.from_dict(base)


def too_small(session: Session, size: int) -> list[str]:
    """Names of the regions too small to render at output ``size`` (see :func:`garmentstyle.api.region_fits`)."""
    from garmentstyle.api import region_fits

    return [r.name for r in session.regions if not region_fits(r.mask, int(size), sketch_size=session.size)]


def render_regions(session: Session, *, skip: Sequence[str] = ()) -> list[Region]:
    """The session's regions as API :class:`Region` objects (``skip``: names left out)."""
    if not session.regions:
        raise InputError("no regions to render: press “Find garment”, or click inside the sketch to add a region")
    out = []
    for r in session.regions:
        if r.name in skip:
            continue
        if not r.swatch:
            raise InputError(f"region “{r.name}” has no fabric; pick a swatch for it in step 3")
        out.append(Region(mask=torch.from_numpy(r.mask.astype(np.float32)), swatch=r.swatch, name=r.name,
                          scale=1.0 / r.pattern, rotation=r.rotation, style_weight=r.strength,
                          tileable=r.tileable))
    return out


@dataclass
class RenderUpdate:
    """One step of a render as the UI shows it.

    Attributes:
        image: the latest image, uint8 ``(H, W, 3)`` (a live preview while optimising, the render at the end).
        fraction: overall progress in [0, 1].
        message: what is happening.
        done: the last update.
        result: the finished :class:`RenderResult` (None until done, and when cancelled before it started).
    """

    image: Optional[np.ndarray]
    fraction: float
    message: str
    done: bool = False
    result: Optional[RenderResult] = None


def _u8(img: torch.Tensor) -> np.ndarray:
    return io.to_uint8(io.tensor_to_array(img))


_STAGE_WORDS = {"prepare": "Preparing", "targets": "Measuring the fabrics", "optimise": "Weaving",
                "finish": "Finishing"}


def render(ctx: AppContext, session: Optional[Session], options: RenderOptions, *, kind: str = "preview"
           ) -> Iterator[RenderUpdate]:
    """Render the session's regions, yielding live updates; the last update has ``done=True``.

    The render runs in a worker thread; the session's Cancel flag stops it at the next progress event and keeps the
    image so far. Closing this generator early (the browser went away) cancels the worker and waits for it, so one
    render at a time really is one.
    """
    session = _require_sketch(session)
    skipped = too_small(session, options.size) if kind == "preview" and options.size else []
    if skipped and len(skipped) == len(session.regions):
        raise InputError(f"every region is too small to render at {options.size} px; raise the preview size")
    regions = render_regions(session, skip=skipped)
    skip_note = (f" Too small for a {options.size} px preview, left as drawn: {', '.join(skipped)}."
                 if skipped else "")
    events: "queue.Queue[tuple[str, Any]]" = queue.Queue()
    cancel = session.cancel
    title = "Preview" if kind == "preview" else "Full render"

    optimising = False

    def on_progress(p) -> None:
        nonlocal optimising
        optimising = optimising or p.stage == "optimise"
        # The library keeps the image so far when Cancelled is raised during optimisation; before any optimisation
        # there is nothing to keep. Between levels (a "targets" event after optimising) it would lose the image,
        # so a cancel waits for the next optimisation step there.
        if cancel.is_set() and p.stage != "finish" and (p.stage == "optimise" or not optimising):
            raise Cancelled("cancelled by the designer")
        events.put(("progress", p))

    def work() -> None:
        try:
            events.put(("done", api_render(session.sketch_path, regions, options, on_progress=on_progress)))
        except BaseException as exc:  # handed to the generator, which re-raises it in the request's thread
            events.put(("error", exc))

    worker = threading.Thread(target=work, name=f"garmentstyle-render-{session.dir.name[:8]}", daemon=True)
    t0 = time.perf_counter()
    worker.start()
    try:
        yield RenderUpdate(None, 0.0, f"{title}: starting…")
        while True:
            kind_, value = events.get()
            if kind_ == "progress":
                p = value
                words = _STAGE_WORDS.get(p.stage, p.stage)
                msg = f"{title}: {words}"
                if p.stage == "optimise":
                    msg += f" · level {p.level + 1}/{p.levels} · step {p.step}/{p.total}"
                img = _u8(p.preview) if p.preview is not None else None
                yield RenderUpdate(img, p.fraction, msg)
            elif kind_ == "error":
                if isinstance(value, Cancelled):
                    yield RenderUpdate(None, 1.0, f"{title} cancelled before it started; nothing changed.",
                                       done=True)
                    return
                raise value
            else:
                result: RenderResult = value
                session.result = result
                session.result_regions = regions
                session.result_kind = kind
                w, h = result.report["output_size"]
                secs = time.perf_counter() - t0
                if result.report.get("cancelled"):
                    msg = f"{title} cancelled after {secs:.1f} s; kept the image so far ({w}×{h} px)."
                else:
                    msg = f"{title} done: {w}×{h} px in {secs:.1f} s."
                msg += skip_note
                yield RenderUpdate(_u8(result.image), 1.0, msg, done=True, result=result)
                return
    finally:
        if worker.is_alive():
            cancel.set()
            worker.join()
        cancel.clear()


def cancel(session: Optional[Session]) -> str:
    """Ask the running render of this tab to stop (it keeps the image so far)."""
    if session is None:
        return "Nothing to cancel."
    session.cancel.set()
    return "Cancelling… the render stops after its current step and keeps the image so far."


def arm(session: Optional[Session]) -> None:
    """Called just before a render is queued: a Cancel pressed from now on applies to that render."""
    if session is not None:
        session.cancel.clear()


def before_after(session: Optional[Session]) -> Optional[tuple[np.ndarray, np.ndarray]]:
    """(sketch, render) at the render's size, for the before/after slider."""
    res = session.result if session is not None else None
    if res is None:
        return None
    return _u8(res.sketch), _u8(res.image)


def report_markdown(session: Optional[Session]) -> str:
    res: Optional[RenderResult] = session.result if session is not None else None
    if res is None:
        return ""
    rep = res.report
    w, h = rep["output_size"]
    enc = rep["encoder"] + (" (pretrained)" if rep.get("encoder_pretrained") else " (offline fallback)")
    kind = "Preview" if session.result_kind == "preview" else "Full render"
    lines = [f"**{kind}** · {w}×{h} px · {rep.get('iterations', 0)} iterations · {rep.get('seconds', 0):.1f} s · "
             f"encoder {enc} · seed {rep['options']['seed']}"]
    if rep.get("cancelled"):
        lines.append("\nCancelled early: the image is what the render had reached.")
    notes = rep.get("notes", [])
    if notes:
        items = "".join(f"<li>{html.escape(str(n))}</li>" for n in notes)
        lines.append(f"\n<details><summary>{len(notes)} note{'s' if len(notes) != 1 else ''} from the renderer"
                     f"</summary><ul>{items}</ul></details>")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------- export
def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_")[:60]


def export(session: Optional[Session], transparent: bool = False) -> tuple[Path, Path]:
    """Write the last render as a PNG at its full resolution (transparent outside the garment if asked) and as a
    layered ZIP (render, sketch, line art, fabric, masks, swatches, recipe.json, report.json)."""
    from garmentstyle import export as export_mod

    if session is None or session.result is None:
        raise InputError("nothing to export yet: render a preview or a full render first")
    res: RenderResult = session.result
    w, h = res.report["output_size"]
    stem = f"{session.sketch_name or 'render'}-{session.result_kind or 'render'}-{w}x{h}"
    png = session.file(f"{stem}{'-transparent' if transparent else ''}.png")
    res.save(png, transparent=bool(transparent))
    zpath = session.file(f"{stem}-layers.zip")
    export_mod.bundle(res, session.result_regions, zpath,
                      swatch_sources=[r.swatch for r in session.result_regions], transparent=bool(transparent))
    session.exports = {"png": png, "zip": zpath}
    return png, zpath


__all__ = [
    "CLICK_ACTIONS", "CLICK_NEW", "CLICK_ADD", "CLICK_REMOVE", "COLOUR_LABELS", "REMOVE_LAYER", "FabricView",
    "RenderUpdate", "apply_editor", "arm", "before_after", "cancel", "choose_sample_swatch", "clear_regions", "click",
    "colour_choices", "current_name", "delete_region", "editor_layer_names", "editor_value", "export",
    "fabric_to_all", "fabric_view", "find_garment", "load_sample", "load_sketch", "merge_regions", "overlay_image",
    "region_names", "regions_html", "rename_region", "render", "render_options", "render_regions", "report_markdown",
    "too_small",
    "sample_sketches", "sample_swatches", "select_region", "set_fabric", "status_markdown", "upload_swatch",
    "validate_upload",
]

"""The web app's actions as plain functions (no Gradio): validate the designer's input, apply the pure region model
(:mod:`ui.model`) through the session's undo history, start renders (:mod:`ui.jobs`), write exports.

Each takes the app context and/or the tab's :class:`~ui.state.Session` plus plain values, and returns the session
and/or a sentence for the designer. They raise :class:`~garmentstyle.errors.GarmentStyleError` (in the designer's
words) for anything the designer can fix; :mod:`ui.app` turns those into a message in one place. Every value that
comes from the browser is checked here (type, finite, bounds): the browser is not trusted.
"""
from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

import numpy as np
from PIL import Image

from garmentstyle import encoders, io, samples, weights
from garmentstyle.errors import GarmentStyleError, ImageReadError, InputError, SegmentationError
from garmentstyle.options import MAX_SIZE, RenderOptions

from . import jobs, model as M, validate as Vd, views as V
from .state import (
    DEFAULT_SWATCHES,
    MAX_UPLOAD_MB,
    MIN_SKETCH_SIDE,
    SKETCH_SUFFIXES,
    SWATCH_SUFFIXES,
    AppContext,
    RenderRecord,
    Session,
    ensure,
)

#: What a click on the sketch does (the tool; Shift / Alt on a click pick add / remove whatever the tool).
TOOL_SELECT = "select"
TOOL_NEW = "new"
TOOL_ADD = "add"
TOOL_REMOVE = "remove"
TOOLS: tuple[str, ...] = (TOOL_SELECT, TOOL_NEW, TOOL_ADD, TOOL_REMOVE)
TOOL_LABELS: dict[str, str] = {TOOL_SELECT: "Select", TOOL_NEW: "New region", TOOL_ADD: "Add (Shift-click)",
                               TOOL_REMOVE: "Remove (Alt-click)"}

#: How each colour mode reads in the UI (keys are exactly :data:`garmentstyle.options.COLOUR_MODES`).
COLOUR_LABELS: dict[str, str] = {
    "swatch": "Keep the swatch's colours",
    "luminance": "Pattern only, keep the sketch's colours",
    "histogram": "Recolour the fabric to the sketch",
}
#: The brush editor's last layer: paint on it to take pixels out of every region.
REMOVE_LAYER = "✕ remove"
THUMB_SIDE = 160
#: Output size choices for the full render.
SIZE_SKETCH, SIZE_PRINT, SIZE_PX = "sketch", "print", "px"
SIZE_MODES = (SIZE_SKETCH, SIZE_PRINT, SIZE_PX)
MAX_DPI = 1200


def colour_choices() -> list[tuple[str, str]]:
    """(label, value) pairs for the colour-mode radio, one per colour mode."""
    from garmentstyle.options import COLOUR_MODES

    return [(COLOUR_LABELS.get(m, m), m) for m in COLOUR_MODES]


# ----------------------------------------------------------------------------------------------------- checks
#: A value from the browser as a finite number in bounds (see :mod:`ui.validate`, the one place values are checked).
number = Vd.number


def _choice(value: Any, what: str, allowed: Sequence[str], labels: Optional[dict] = None) -> str:
    return Vd.choice(value, what, allowed, labels)


# ----------------------------------------------------------------------------------------------------- status line
def status_markdown() -> tuple[str, str]:
    """(headline, details): the fabric engine and the region finder in the designer's words, and a fold-out with
    what is installed and how to get the rest."""
    enc = encoders.resolve_name("auto")
    sam = weights.find("sam-vit-b") is not None
    eng = ("Fabric engine: **full model** (VGG19)" if enc == "vgg19"
           else "Fabric engine: **offline** — install the full model for finer detail")
    seg = ("Region finder: **Segment Anything**" if sam
           else "Region finder: **line-art fill** — closed outlines work best")
    details = [f"* Fabric encoder: {'VGG19 (pretrained)' if enc == 'vgg19' else 'texture (offline fallback)'}."
               + ("" if enc == "vgg19" else " For finer fabric detail, on the server run "
                  "`garmentstyle weights download vgg19` and restart the app."),
               f"* Segmenter: {'Segment Anything (sam-vit-b, pretrained)' if sam else 'line-art fill (offline)'}."
               + ("" if sam else " For click-to-segment on any drawing run `garmentstyle weights download sam-vit-b`.")]
    return f"{eng} · {seg}", "\n".join(details)


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
    if not isinstance(path, (str, Path)):
        raise InputError(f"the {what} upload did not arrive as a file; try again")
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


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_")[:60]


def needs_confirm(session: Optional[Session]) -> bool:
    """Loading a new sketch would replace regions the designer made: ask first."""
    return bool(session is not None and session.snap is not None and session.snap.regions)


def load_sketch(ctx: AppContext, session: Optional[Session], path: Any, *, name: Optional[str] = None) -> Session:
    """Validate a sketch file, keep a normalised PNG copy in the session folder and start over with no regions
    (the undo history starts over too)."""
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
    set_sketch(session, dest, stem, io.to_uint8(io.tensor_to_array(img)))
    return session


def set_sketch(session: Session, path: Path, name: str, rgb: np.ndarray, snap: Optional[M.Snapshot] = None) -> None:
    """Make ``path`` (a PNG in the session folder, ``rgb`` its pixels) the session's sketch with ``snap``'s regions
    (none by default); clears the render and the undo history."""
    session.sketch_path = path
    session.sketch_name = name
    session.size = (int(rgb.shape[0]), int(rgb.shape[1]))
    session.frame = V.make_frame(rgb)
    session.history = M.History(snap or M.Snapshot.empty(session.size))
    session.seg = None
    session.editor_uids = []
    session.render = None
    session.sketch_cm = 0.0  # a new sketch's real size is not known yet (a project restores its own after this)


def load_sample(ctx: AppContext, session: Optional[Session], name: Any) -> Session:
    """Load one of the bundled sample sketches by name."""
    if not isinstance(name, str) or name not in samples.list_sketches():
        raise InputError(f"unknown sample sketch {str(name)[:40]!r}")
    return load_sketch(ctx, session, samples.sketch_path(name), name=name)


def sample_sketches() -> list[tuple[np.ndarray, str]]:
    """(thumbnail, name) of every bundled sketch; empty when the samples folder is missing."""
    try:
        return [(V.thumbnail(samples.sketch_path(n), THUMB_SIDE), n) for n in samples.list_sketches()]
    except GarmentStyleError:
        return []


def sample_swatches() -> list[tuple[np.ndarray, str]]:
    """(thumbnail, name) of every bundled swatch; empty when the samples folder is missing."""
    try:
        return [(V.thumbnail(samples.swatch_path(n), 96), n) for n in samples.list_swatches()]
    except GarmentStyleError:
        return []


def require_sketch(session: Optional[Session]) -> Session:
    if session is None or not session.has_sketch:
        raise InputError("load a sketch first: upload one, open a project, or pick a sample")
    return session


def _selected(session: Session) -> M.RegionEntry:
    r = session.snap.selected if session.snap is not None else None
    if r is None:
        raise InputError("select a region first: click a part of the sketch, or a row of the region table")
    return r


def _commit(session: Session, snap: M.Snapshot, *, key: Optional[tuple] = None) -> Session:
    assert session.history is not None
    session.history.push(snap, key=key)
    return session


# ----------------------------------------------------------------------------------------------------- regions
def _gap(gap: Any) -> Optional[int]:
    """The gap slider: 0 = automatic (None)."""
    from garmentstyle.segment.types import MAX_GAP

    g = number(gap if gap is not None else 0, "gap tolerance (px)", 0, MAX_GAP)
    g = int(round(g))
    return None if g <= 0 else g


def starting_fabrics(n: int) -> list[M.Fabric]:
    """Fabrics for the regions "Find garment" makes: the bundled ones in :data:`DEFAULT_SWATCHES` order."""
    try:
        names = [s for s in DEFAULT_SWATCHES if s in samples.list_swatches()] or samples.list_swatches()
    except GarmentStyleError:
        names = []
    if not names:
        return [M.Fabric()]
    return [M.Fabric(str(samples.swatch_path(names[i % len(names)])), names[i % len(names)]) for i in range(n)]


def find_garment(ctx: AppContext, session: Optional[Session], gap: Any = 0) -> tuple[Session, str]:
    """Segment the sketch automatically: one region per garment part (or the whole garment). Replaces the regions
    (one undo step)."""
    import garmentstyle.segment as seg_mod

    session = require_sketch(session)
    sam = ctx.sam()
    options = seg_mod.SegmentOptions(gap=_gap(gap))
    if sam is not None:
        with ctx.sam_lock:
            seg = seg_mod.segment(session.sketch_path, method="sam", options=options, sam=sam)
    else:
        seg = seg_mod.segment(session.sketch_path, method="classical", options=options)
    session.seg = seg if getattr(seg, "partition", None) is not None else None
    parts = [(r.name, _to_sketch(r.mask.detach().cpu().numpy() > 0.5, session.size)) for r in seg.regions]
    if not parts:
        parts = [("garment", _to_sketch(seg.garment.detach().cpu().numpy() > 0.5, session.size))]
    parts = [(n, m) for n, m in parts if m.any()]
    if not parts:
        raise SegmentationError("no garment found in this sketch; choose the New region tool and click inside the "
                                "garment to add regions by hand")
    _commit(session, M.replace_all(session.snap, parts, starting_fabrics(len(parts))))
    method = "Segment Anything" if sam is not None else "line-art fill"
    n = len(session.snap.regions)
    msg = (f"Found the garment in {n} part{'s' if n != 1 else ''} ({method}, confidence {seg.confidence:.0%}). "
           "Click a part to select it; Shift-click adds the area under the click to it, Alt-click removes it.")
    if seg.notes:
        msg += " Notes: " + "; ".join(seg.notes)
    return session, msg


def _sam_mask(ctx: AppContext, session: Session, sam: Any, points: Sequence) -> np.ndarray:
    import garmentstyle.segment as seg_mod

    with ctx.sam_lock:
        sam.set_image(session.sketch_path)
        pred = sam.predict([(x, y) for x, y, _ in points], [int(lab) for _, _, lab in points])
    mask = pred.mask.detach().cpu().numpy().astype(bool)
    refine = getattr(seg_mod, "refine_mask", None)
    if refine is not None and mask.any():
        try:
            mask = refine(mask, io.load_image(session.sketch_path)).numpy() > 0.5
        except GarmentStyleError:
            pass
    return mask


def _to_sketch(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A segmenter's mask at the sketch's own size (nearest), whatever size the segmenter worked at."""
    if mask.shape == tuple(size):
        return mask
    pil = Image.fromarray(mask.astype(np.uint8) * 255, "L").resize((size[1], size[0]), Image.NEAREST)
    return np.asarray(pil) > 127


def _area_at(ctx: AppContext, session: Session, px: float, py: float, gap: Any) -> np.ndarray:
    """The enclosed area of the line art under sketch pixel (px, py), or SAM's mask for a point there."""
    import garmentstyle.segment as seg_mod

    sam = ctx.sam()
    if sam is not None:
        mask = _sam_mask(ctx, session, sam, [(px, py, 1)])
        if not mask.any():
            raise SegmentationError("nothing found under that click; click inside a garment part")
        return _to_sketch(mask, session.size)
    gap_px = _gap(gap)
    seg = session.seg
    if seg is not None and (gap_px is None or gap_px == seg.gap):
        info = seg_mod.region_at(seg, px, py)
    else:
        info = seg_mod.region_at(session.sketch_path, px, py, gap=gap_px)
    return _to_sketch(info.mask.detach().cpu().numpy() > 0.5, session.size)


def click_tool(tool: Any, shift: Any = False, alt: Any = False) -> str:
    """The tool a click uses: Shift adds, Alt removes, otherwise the chosen tool."""
    tool = _choice(tool, "the click tool", TOOLS, TOOL_LABELS)
    if Vd.flag(alt, "Alt"):
        return TOOL_REMOVE
    if Vd.flag(shift, "Shift"):
        return TOOL_ADD
    return tool


def click(ctx: AppContext, session: Optional[Session], fx: Any, fy: Any, tool: Any = TOOL_SELECT, *,
          shift: Any = False, alt: Any = False, gap: Any = 0) -> tuple[Session, str]:
    """A click at ``(fx, fy)``, fractions of the sketch's width and height in [0, 1]:

    * select (the default tool): select the region under it;
    * Shift-click / Add tool: add the area under it to the selected region;
    * Alt-click / Remove tool: remove that area from the selected region (it goes back to where it came from);
    * New region tool: carve the area under it into a new region (with the last used fabric).
    """
    session = require_sketch(session)
    fx, fy = number(fx, "the click's x", 0, 1), number(fy, "the click's y", 0, 1)
    H, W = session.size
    px, py = min(W - 1.0, fx * W), min(H - 1.0, fy * H)
    snap = session.snap
    tool = click_tool(tool, shift, alt)
    under = snap.uid_at(px, py)
    if tool == TOOL_SELECT:
        if not under:
            raise InputError("no region here. To make one, choose the New region tool (or press N) and click; "
                             "Shift-click adds this area to the selected region")
        session.history.replace(M.select(snap, under))
        return session, f"Selected “{snap.region(under).name}”."
    if tool in (TOOL_ADD, TOOL_REMOVE) and snap.selected is None:
        if tool == TOOL_REMOVE:
            raise InputError("select a region first, then Alt-click an area to take it out of that region")
        tool = TOOL_NEW  # nothing selected yet: adding makes the first region
    target = snap.selected
    if ctx.sam() is not None and target is not None and target.points and tool in (TOOL_ADD, TOOL_REMOVE):
        return _sam_refine(ctx, session, target, px, py, tool)
    area = _area_at(ctx, session, px, py, gap)
    if tool == TOOL_NEW:
        pts = ((px, py, 1),) if ctx.sam() is not None else ()
        # No fabric chosen yet (a fresh sketch, or only Find garment's): the next bundled one, as Find garment gives
        # its parts, so the new region renders instead of stopping the render with "has no fabric".
        fabric = None if snap.last_fabric is not None else starting_fabrics(len(snap.regions) + 1)[-1]
        _commit(session, M.new_region(snap, area, points=pts, fabric=fabric))
        r = session.snap.selected
        return session, f"Added “{r.name}” ({session.snap.areas()[r.uid]:,} px) with {r.fabric.label or 'no fabric'}."
    if tool == TOOL_ADD:
        _commit(session, M.add_area(snap, target.uid, area))
    else:
        if not (snap.labels.array[area] == target.uid).any():
            raise InputError(f"that area is not part of “{target.name}”; Alt-click inside the selected region")
        _commit(session, M.remove_area(snap, target.uid, area))
    return session, _click_message(session, target, tool)


def _sam_refine(ctx: AppContext, session: Session, target: M.RegionEntry, px: float, py: float, tool: str
                ) -> tuple[Session, str]:
    """Segment Anything regions grow and shrink by adding point prompts to the region's own prompts."""
    label = 1 if tool == TOOL_ADD else 0
    pts = tuple(target.points) + ((px, py, label),)
    mask = _sam_mask(ctx, session, ctx.sam(), pts)
    snap = M.set_points(session.snap, target.uid, pts)
    old = snap.mask(target.uid)
    snap = M.add_area(snap, target.uid, mask & ~old) if (mask & ~old).any() else snap
    if (old & ~mask).any():
        snap = M.remove_area(snap, target.uid, old & ~mask)
    _commit(session, snap)
    return session, _click_message(session, target, tool)


def _click_message(session: Session, target: M.RegionEntry, tool: str) -> str:
    if session.snap.region(target.uid) is None:
        return f"Removed the last of “{target.name}”; the region is gone (Ctrl+Z brings it back)."
    verb = "Added to" if tool == TOOL_ADD else "Removed from"
    return f"{verb} “{target.name}” (now {session.snap.areas()[target.uid]:,} px)."


def _uid(value: Any) -> int:
    return int(number(value, "the region", 1, M.MAX_UID, integer=True))


def select_region(session: Optional[Session], uid: Any) -> Session:
    """Select a region by uid (a row of the table)."""
    session = require_sketch(session)
    uid = _uid(uid)
    if session.snap.region(uid) is None:
        raise InputError("that region no longer exists; pick one from the table")
    session.history.replace(M.select(session.snap, uid))
    return session


def select_by_name(session: Optional[Session], name: Any) -> Session:
    session = require_sketch(session)
    r = session.snap.by_name(name) if isinstance(name, str) else None
    if r is None:
        raise InputError(f"there is no region called {str(name)[:40]!r}")
    session.history.replace(M.select(session.snap, r.uid))
    return session


def rename_region(session: Optional[Session], new_name: Any) -> tuple[Session, str]:
    session = require_sketch(session)
    r = _selected(session)
    _commit(session, M.rename(session.snap, r.uid, new_name))
    return session, f"Renamed “{r.name}” to “{session.snap.region(r.uid).name}”."


def delete_region(session: Optional[Session]) -> tuple[Session, str]:
    session = require_sketch(session)
    r = _selected(session)
    _commit(session, M.delete(session.snap, r.uid))
    return session, f"Deleted “{r.name}” (Ctrl+Z brings it back)."


def merge_regions(session: Optional[Session], names: Any) -> tuple[Session, str]:
    """Merge the named regions into the selected one (it keeps its name and fabric)."""
    session = require_sketch(session)
    r = _selected(session)
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise InputError("choose one or more other regions to merge into the selected one")
    others = [session.snap.by_name(n) for n in names if n != r.name]
    if not others or any(o is None for o in others):
        raise InputError("choose one or more other regions to merge into the selected one")
    _commit(session, M.merge(session.snap, r.uid, [o.uid for o in others]))
    return session, f"Merged {', '.join('“' + o.name + '”' for o in others)} into “{r.name}”."


def undo(session: Optional[Session]) -> tuple[Session, str]:
    session = require_sketch(session)
    session.history.undo()
    return session, "Undone (Ctrl+Shift+Z redoes)."


def redo(session: Optional[Session]) -> tuple[Session, str]:
    session = require_sketch(session)
    session.history.redo()
    return session, "Redone."


# ----------------------------------------------------------------------------------------------------- brush editor
def editor_layer_names(session: Optional[Session]) -> list[str]:
    """One layer per region (paint adds to it) and a last one that removes from every region."""
    names = session.snap.names() if session is not None and session.snap is not None else []
    return names + [REMOVE_LAYER]


def editor_value(session: Optional[Session]) -> Optional[dict]:
    """The ImageEditor's value: the tinted sketch as background and one empty layer per region; remembers which
    regions the layers stand for so :func:`apply_editor` maps them back even if names change meanwhile."""
    if session is None or not session.has_sketch:
        return None
    session.editor_uids = [r.uid for r in session.snap.regions]
    return {"background": V.canvas_image(session.frame, session.snap, V.VIEW_COLOUR), "layers": [],
            "composite": None}


def _layer_mask(layer: Any, size: tuple[int, int]) -> np.ndarray:
    H, W = size
    a = np.asarray(layer)
    if a.ndim == 3 and a.shape[2] == 4:
        m = a[..., 3] > 0
    elif a.ndim == 3:
        m = a.max(axis=2) > 0
    elif a.ndim == 2:
        m = a > 0
    else:
        raise InputError("the brush editor sent a layer that is not an image; reload the regions into the editor")
    if m.shape != (H, W):
        m = np.asarray(Image.fromarray(m.astype(np.uint8) * 255, "L").resize((W, H), Image.NEAREST)) > 127
    return m


def apply_editor(session: Optional[Session], value: Any) -> tuple[Session, str]:
    """Apply brush strokes (one undo step): paint on a region's layer adds it to that region, paint on the last
    layer removes it from every region (an eraser only erases strokes)."""
    session = require_sketch(session)
    layers = list((value or {}).get("layers") or []) if isinstance(value, dict) else []
    uids = session.editor_uids
    if not uids and not layers:
        raise InputError("open the brush editor and paint on a region's layer first")
    if len(layers) != len(uids) + 1:
        raise InputError("the regions changed since the brush editor was loaded; press “Reload regions into the "
                         "editor” and paint again")
    strokes = [(uid, _layer_mask(layer, session.size)) for uid, layer in zip(uids, layers[:-1]) if layer is not None]
    erase = _layer_mask(layers[-1], session.size) if layers[-1] is not None else None
    if not any(m.any() for _, m in strokes) and (erase is None or not erase.any()):
        return session, "No brush strokes to apply: pick a layer in the editor's layer list and paint."
    _commit(session, M.paint(session.snap, strokes, erase))
    return session, "Applied the brush strokes (Ctrl+Z undoes them)."


# ----------------------------------------------------------------------------------------------------- fabrics
def _new_swatch(f: M.Fabric, path: str, label: str) -> M.Fabric:
    """The region's fabric with another swatch: its settings stay, its palette goes (the new swatch has other
    colours)."""
    return replace(f, swatch=path, label=label, colourway=())


def _give_fabric(session: Session, fabric: M.Fabric) -> Session:
    r = _selected(session)
    return _commit(session, M.set_fabric(session.snap, r.uid, fabric), key=("fabric", r.uid))


def choose_sample_swatch(session: Optional[Session], name: Any) -> Session:
    session = require_sketch(session)
    if not isinstance(name, str) or name not in samples.list_swatches():
        raise InputError(f"unknown sample swatch {str(name)[:40]!r}")
    f = _selected(session).fabric
    return _give_fabric(session, _new_swatch(f, str(samples.swatch_path(name)), name))


def choose_library_swatch(session: Optional[Session], index: Any) -> Session:
    """Give the selected region a swatch from this session's library (uploads, and a project's swatches)."""
    session = require_sketch(session)
    i = int(number(index, "the swatch", 0, max(0, len(session.library) - 1), integer=True))
    if not session.library:
        raise InputError("no uploaded swatches yet: upload one first")
    label, path = session.library[i]
    f = _selected(session).fabric
    return _give_fabric(session, _new_swatch(f, str(path), label))


def upload_swatch(ctx: AppContext, session: Optional[Session], path: Any) -> Session:
    """Validate an uploaded fabric image, keep it in the session's swatch library and give it to the selected
    region."""
    from garmentstyle.swatch import MIN_SWATCH_SIDE

    session = require_sketch(session)
    r = _selected(session)
    pil = validate_upload(path, what="swatch", suffixes=SWATCH_SUFFIXES)
    w, h = pil.size
    name = Path(str(path)).name
    if min(w, h) < MIN_SWATCH_SIDE:
        raise ImageReadError(f"{name} is only {w}×{h} px; a swatch needs at least {MIN_SWATCH_SIDE} px of fabric "
                             "on each side")
    dest = session.file(f"swatch-{_safe(Path(name).stem) or 'fabric'}.png")
    io.save_image(io.load_image(pil), dest)
    session.library.append((name, str(dest)))
    f = r.fabric
    return _give_fabric(session, _new_swatch(f, str(dest), name))


def set_fabric(session: Optional[Session], *, pattern: Any, rotation: Any, strength: Any,
               tileable: Any = None) -> Session:
    """The selected region's fabric settings (a slider drag is one undo step)."""
    session = require_sketch(session)
    r = _selected(session)
    f = r.fabric
    new = replace(f, pattern=number(pattern, "pattern size", *M.PATTERN_RANGE),
                  rotation=Vd.region("rotation", rotation if rotation is not None else 0, "pattern rotation (°)",
                                     lo=M.ROTATION_RANGE[0], hi=M.ROTATION_RANGE[1]),
                  strength=Vd.region("style_weight", strength, "fabric strength", lo=M.STRENGTH_RANGE[0],
                                     hi=M.STRENGTH_RANGE[1]),
                  tileable=f.tileable if tileable is None else Vd.flag(tileable, "“Blend the swatch's edges”"))
    if new == f:
        return session
    return _give_fabric(session, new)


def fabric_to_all(session: Optional[Session]) -> Session:
    """Give every region the selected region's fabric and settings."""
    session = require_sketch(session)
    return _commit(session, M.fabric_to_all(session.snap, _selected(session).uid))


def set_view(session: Optional[Session], mode: Any) -> Session:
    session = require_sketch(session)
    session.view = _choice(mode, "the canvas view", V.VIEWS)
    return session


# ----------------------------------------------------------------------------------------------------- render
def output_size(session: Session, mode: Any, *, cm: Any = 0, dpi: Any = 300, px: Any = 0) -> int:
    """The full render's longest side: 0 (the sketch's own size), a print size (the sketch's width in cm at
    ``dpi``), or a number of pixels. Raises an :class:`InputError` past the limit, saying how to get under it."""
    mode = _choice(mode, "the output size", SIZE_MODES)
    H, W = session.size
    if mode == SIZE_SKETCH:
        if max(H, W) > MAX_SIZE:
            raise InputError(f"the sketch is {W}×{H} px, above the {MAX_SIZE} px a render can be; choose a print "
                             "size or a number of pixels")
        return 0
    if mode == SIZE_PX:
        return Vd.option("size", px, "the output size in px", also=())
    width_cm = number(cm, "the print width in cm", 1, 500)
    d = number(dpi, "the print resolution (dpi)", 36, MAX_DPI)
    width_px = width_cm / 2.54 * d
    longest = round(width_px * max(H, W) / W)
    if longest > MAX_SIZE:
        raise InputError(f"{width_cm:g} cm at {d:g} dpi is {longest} px on the longest side, above the {MAX_SIZE} "
                         "px limit; choose a smaller print or a lower dpi")
    return max(32, longest)


def look_settings(colour: Any, keep_sketch: Any, shading_strength: Any, seed: Any) -> tuple:
    """The whole-render settings, validated: (colour, keep_sketch, shading_strength, seed)."""
    from garmentstyle.options import COLOUR_MODES

    return (_choice(colour, "the colour mode", COLOUR_MODES, COLOUR_LABELS),
            Vd.option("keep_sketch", keep_sketch, "“Keep the sketch's lines and shading”"),
            Vd.option("shading_strength", shading_strength, "shading strength"),
            Vd.option("seed", seed if seed not in (None, "") else 0, "the seed"))


def render_options(ctx: AppContext, *, size: Any, iterations: Any, look: tuple) -> RenderOptions:
    """The render options from the UI's controls on top of the app's base options (validated here)."""
    colour, keep, shading, seed = look
    base = ctx.base_options.to_dict()
    base.update(size=Vd.option("size", size, "the render size (px)"),
                iterations=Vd.option("iterations", iterations, "iterations", lo=1), colour=colour,
                keep_sketch=keep, shading_strength=shading, seed=seed)
    return RenderOptions.from_dict(base)


def too_small(session: Session, size: int) -> list[str]:
    """Names of the regions too small to render at output ``size`` (see :func:`garmentstyle.api.region_fits`)."""
    from garmentstyle.api import region_fits

    snap = session.snap
    areas = snap.areas()
    return [r.name for r in snap.regions
            if areas[r.uid] and not region_fits(snap.mask(r.uid), int(size), sketch_size=session.size)]


def render_regions(session: Session, *, skip: Sequence[str] = ()) -> list:
    """The session's regions as API :class:`~garmentstyle.api.Region` objects (``skip``: names left out)."""
    import torch

    from garmentstyle.api import Region

    snap = session.snap
    areas = snap.areas() if snap is not None else {}
    if snap is None or not any(areas.values()):
        raise InputError("no regions to render: press “Find garment”, or choose the New region tool and click "
                         "inside the sketch")
    out = []
    for r in snap.regions:
        if r.name in skip or not areas[r.uid]:  # an empty region (its area lent to another) has nothing to render
            continue
        if not r.fabric.swatch:
            raise InputError(f"region “{r.name}” has no fabric; pick a swatch for it")
        f = r.fabric
        grain: Any = f.grain
        if f.grain == "strokes" and f.strokes is not None:
            grain = f.strokes.array.astype(np.float32)  # a 0/1 map the sketch's size: the strokes themselves
        out.append(Region(mask=torch.from_numpy(snap.mask(r.uid).astype(np.float32)), swatch=f.swatch,
                          name=r.name, scale=1.0 / f.pattern, rotation=f.rotation, style_weight=f.strength,
                          tileable=f.tileable and f.prepare != "off", prepare=f.prepare,
                          colourway=list(f.colourway) or None, grain=grain, drape=f.drape))
    return out


def render(ctx: AppContext, session: Optional[Session], options: RenderOptions, *, kind: str = "preview",
           look: tuple = ()) -> Iterator[jobs.RenderUpdate]:
    """Render the session's regions through the app's render queue, yielding live updates; the last has
    ``done=True``. A finished render (or one cancelled with an image) becomes the render on screen, with its
    exports written (downloads always match the image on screen)."""
    from garmentstyle.api import render as api_render

    session = require_sketch(session)
    skipped = too_small(session, options.size) if kind == "preview" and options.size else []
    if skipped and len(skipped) == sum(1 for n in session.snap.areas().values() if n):
        raise InputError(f"every region is too small to render at {options.size} px; raise the preview size")
    regions = render_regions(session, skip=skipped)
    snap, sketch = session.snap, session.sketch_path
    title = "Preview" if kind == "preview" else "Full render"
    note = f" Too small for a {options.size} px preview, left as drawn: {', '.join(skipped)}." if skipped else ""
    session.rendering = True
    try:
        for u in jobs.run(ctx, session, lambda cb, token: api_render(sketch, regions, options, on_progress=cb,
                                                                     cancel=token),
                          title=title):
            if u.done:
                session.rendering = False  # before the last update: its downloads are the new render's
                if u.result is not None:
                    session.render = _record(session, u.result, regions, snap, look, kind)
                    u.message += note
                    session.render.message = u.message
            yield u
    finally:
        session.rendering = False


def _record(session: Session, result: Any, regions: list, snap: M.Snapshot, look: tuple, kind: str
            ) -> RenderRecord:
    w, h = result.report.output_size
    image = session.file(f"{session.sketch_name or 'render'}-{kind}-{w}x{h}.png")
    result.save(image)
    return RenderRecord(image=image, size=(w, h), kind=kind, snapshot=snap, look=tuple(look), result=result,
                        regions=regions)


def cancel(session: Optional[Session]) -> str:
    """Ask the running render of this tab to stop (it keeps the image so far when there is one)."""
    if session is None or not session.rendering:
        return "Nothing to cancel."
    session.cancel.set()
    return "Cancelling…"


def downloads_state(session: Optional[Session], look: Optional[tuple]) -> tuple[bool, str]:
    """(enabled, why not): the downloads match the image on screen only while no newer render runs and neither the
    regions, their fabrics nor the whole-render settings changed since it was rendered."""
    rec = session.render if session is not None else None
    if rec is None:
        return False, "Render first"
    if session.rendering:
        return False, "A newer render is running"
    if rec.snapshot is not None and not M.same_content(session.snap, rec.snapshot):
        return False, "Out of date: the regions or fabrics changed since this render"
    if look and rec.look and tuple(look) != rec.look:
        return False, "Out of date: the render settings changed since this render"
    return True, ""


def report_markdown(session: Optional[Session]) -> str:
    rec = session.render if session is not None else None
    if rec is None:
        return ""
    if rec.result is None:
        return f"**Reopened render** · {rec.size[0]}×{rec.size[1]} px (from the project file)"
    rep = rec.result.report
    w, h = rep.output_size
    enc = "full model" if rep.encoder_pretrained else "offline engine"
    kind = "Preview" if rec.kind == "preview" else "Full render"
    lines = [f"**{kind}** · {w}×{h} px · {rep.seconds:.1f} s · {enc} ({rep.encoder}) · seed "
             f"{rep.options.seed}"]
    if rep.cancelled:
        lines.append("\nCancelled early: the image is what the render had reached.")
    notes = list(rep.notes)
    if notes:
        import html

        items = "".join(f"<li>{html.escape(str(n))}</li>" for n in notes)
        lines.append(f"\n<details><summary>{len(notes)} note{'s' if len(notes) != 1 else ''} from the renderer"
                     f"</summary><ul>{items}</ul></details>")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------- export
def export(session: Optional[Session], transparent: Any = False) -> tuple[Path, Path]:
    """Write the render on screen as a PNG at its full resolution (transparent outside the garment if asked) and
    as the project file (the layered ZIP, reopenable: see :mod:`ui.project`). Fresh files every time."""
    from . import project

    if session is None or session.render is None:
        raise InputError("nothing to export yet: render a preview or a full render first")
    rec = session.render
    w, h = rec.size
    stem = f"{session.sketch_name or 'render'}-{rec.kind}-{w}x{h}"
    transparent = Vd.flag(transparent, "“Transparent background”")
    if rec.result is not None:
        png = session.file(f"{stem}{'-transparent' if transparent else ''}.png")
        rec.result.save(png, transparent=transparent)
    else:
        png = rec.image
    rec.png = png
    rec.zip = project.save(session, session.file(f"{stem}-project.zip"), look=rec.look)
    return png, rec.zip


__all__ = [
    "TOOLS", "TOOL_SELECT", "TOOL_NEW", "TOOL_ADD", "TOOL_REMOVE", "TOOL_LABELS", "COLOUR_LABELS", "REMOVE_LAYER",
    "SIZE_MODES", "apply_editor", "cancel", "choose_library_swatch", "choose_sample_swatch", "click", "click_tool",
    "colour_choices", "delete_region", "downloads_state", "editor_layer_names", "editor_value", "export",
    "fabric_to_all", "find_garment", "load_sample", "load_sketch", "look_settings", "merge_regions", "needs_confirm",
    "number", "output_size", "redo", "rename_region", "render", "render_options", "render_regions",
    "report_markdown", "require_sketch", "sample_sketches", "sample_swatches", "select_by_name", "select_region",
    "set_fabric", "set_sketch", "set_view", "starting_fabrics", "status_markdown", "too_small", "undo",
    "upload_swatch", "validate_upload",
]

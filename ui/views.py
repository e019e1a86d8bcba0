"""What the designer sees of a snapshot: the canvas overlay (colour masks, or each region's live fabric), the region
table, thumbnails. Pure functions of a :class:`~ui.model.Snapshot` and a :class:`DisplayFrame` (the sketch as shown),
returning uint8 ``(h, w, 3)`` arrays and HTML strings.

The live fabric view is the cheap half of a render: each region's swatch tiled at its pattern size and rotation
(:func:`garmentstyle.swatch.tile`, the tiling the renderer starts from), multiplied by the sketch's shading, at the
display size (longest side :data:`DISPLAY_SIDE` or less: a downsampled view). Tiles are cached per region and fabric, so a change to one
region re-tiles only that region: a pattern-size change shows in well under 100 ms.
"""
from __future__ import annotations

import html
import threading
from pathlib import Path
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .model import Fabric, RegionEntry, Snapshot

#: Longest side of the sketch as shown in the browser (clicks are mapped back to the sketch's own pixels).
DISPLAY_SIDE = 800
VIEW_COLOUR = "colour"
VIEW_FABRIC = "fabric"
VIEWS = (VIEW_FABRIC, VIEW_COLOUR)


@dataclass(eq=False)
class DisplayFrame:
    """The sketch as shown: ``image`` uint8 ``(h, w, 3)``, the map from display pixels to sketch pixels, the
    sketch's shading at display size, and the tile cache of the live fabric view."""

    image: np.ndarray
    sketch_size: tuple[int, int]  # (H, W)
    shading: np.ndarray  # (h, w) float32 in [0, 1]
    rows: np.ndarray = field(init=False)
    cols: np.ndarray = field(init=False)
    tiles: "OrderedDict[tuple, np.ndarray]" = field(default_factory=OrderedDict)
    swatches: dict = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        h, w = self.image.shape[:2]
        H, W = self.sketch_size
        self.rows = np.minimum(H - 1, ((np.arange(h) + 0.5) * H / h).astype(np.intp))
        self.cols = np.minimum(W - 1, ((np.arange(w) + 0.5) * W / w).astype(np.intp))

    @property
    def scale(self) -> float:
        """Display pixels per sketch pixel."""
        return self.image.shape[1] / self.sketch_size[1]

    def labels(self, snap: Snapshot) -> np.ndarray:
        """The label map at display size (nearest)."""
        return snap.labels.array[self.rows[:, None], self.cols[None, :]]


def make_frame(sketch_rgb: np.ndarray) -> DisplayFrame:
    """A :class:`DisplayFrame` for a sketch uint8 ``(H, W, 3)`` (shown with its longest side ≤ DISPLAY_SIDE)."""
    H, W = sketch_rgb.shape[:2]
    s = min(1.0, DISPLAY_SIDE / max(H, W))
    pil = Image.fromarray(sketch_rgb)
    if s < 1.0:
        pil = pil.resize((max(1, round(W * s)), max(1, round(H * s))), Image.LANCZOS)
    img = np.asarray(pil.convert("RGB"))
    return DisplayFrame(image=img, sketch_size=(H, W), shading=_shading(img))


def _shading(img: np.ndarray) -> np.ndarray:
    """The sketch's luminance relative to its paper white (as :func:`garmentstyle.finish.shading_map`)."""
    lum = img.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32) / 255.0
    paper = max(0.05, float(np.quantile(lum[:: max(1, lum.shape[0] // 256)], 0.98)))
    return np.clip(lum / paper, 0.0, 1.0)


# --------------------------------------------------------------------------------------------------- overlay
def _colour_lut(snap: Snapshot) -> np.ndarray:
    lut = np.zeros((snap.next_uid + 1, 3), np.float32)
    for r in snap.regions:
        lut[r.uid] = np.array(r.colour, np.float32) / 255.0
    return lut


def colour_overlay(frame: DisplayFrame, snap: Snapshot) -> np.ndarray:
    """The sketch with every region tinted in its colour (the selected one stronger), lines kept dark.

    Per pixel ``base·(1 − s) + base·c·s + s·c/4`` (``s`` 0.4, or 0.6 for the selected region; ``c`` its colour) is
    ``base·F + A`` with ``F`` and ``A`` per label, so two small tables and one gather do it (every canvas update
    draws this; ~2× faster than the per-pixel formula, the same bytes on the canvases checked)."""
    lab = frame.labels(snap)
    c = _colour_lut(snap)
    strength = np.full(len(c), 0.4, np.float32)
    if snap.current is not None and 0 < snap.current < len(c):
        strength[snap.current] = 0.6
    strength[0] = 0.0  # outside every region: the sketch as it is
    gain = (1 - strength)[:, None] + strength[:, None] * c
    lift = (0.25 * 255) * strength[:, None] * c + 0.5  # + 0.5: rounded by the cast below
    out = frame.image * gain[lab] + lift[lab]
    return np.clip(out, 0, 255).astype(np.uint8)


def prepared(frame: Optional[DisplayFrame], path: str, mode: str = "auto"):
    """The swatch file as the renderer uses it: :func:`garmentstyle.swatches.prepare` (``"auto"``: a photo becomes
    a seamless, evenly lit repeat; a seamless swatch is left as it is; ``"off"``: as given). Cached per frame and
    in the library's own cache. Raises the library's error for a swatch that cannot be prepared."""
    key = ("prepared", path, mode)
    hit = frame.swatches.get(key) if frame is not None else None
    if hit is None:
        from garmentstyle import swatches

        hit = swatches.prepare(path, mode, name=Path(path).stem)
        if frame is not None:
            frame.swatches[key] = hit
    return hit


def found_colours(frame: Optional[DisplayFrame], fabric: Fabric, k: int):
    """The ``k`` dominant colours of the fabric's prepared tile (largest first), as the render finds them
    (:func:`garmentstyle.colourway.find_colours`, seed 0). Cached per frame."""
    key = ("found", fabric.swatch, fabric.prepare, k)
    hit = frame.swatches.get(key) if frame is not None else None
    if hit is None:
        from garmentstyle import colourway

        hit = colourway.find_colours(prepared(frame, fabric.swatch, fabric.prepare).tile, k, seed=0)
        if frame is not None:
            frame.swatches[key] = hit
    return hit


def live_swatch(frame: Optional[DisplayFrame], fabric: Fabric):
    """The region's fabric tile ``(1, 3, h, w)`` as rendered: prepared, then recoloured to its palette (the palette
    editor) when it has one."""
    key = ("live", fabric.swatch, fabric.prepare, fabric.colourway)
    hit = frame.swatches.get(key) if frame is not None else None
    if hit is None:
        hit = prepared(frame, fabric.swatch, fabric.prepare).tile
        if fabric.colourway:
            from garmentstyle import colourway

            found = found_colours(frame, fabric, len(fabric.colourway))
            hit = colourway.recolour(hit, list(fabric.colourway), found=found).image
        if frame is not None:
            frame.swatches[key] = hit
    return hit


def _digest(mask: np.ndarray) -> int:
    """A content key for a region's display mask (the mapping depends on its exact shape)."""
    import zlib

    return zlib.crc32(np.packbits(np.asarray(mask) > 0).tobytes())


def _swatch_array(frame: DisplayFrame, fabric: Fabric):
    return live_swatch(frame, fabric)


def _mapping(frame: DisplayFrame, snap: Snapshot, r: RegionEntry):
    """Region ``r``'s grain/drape mapping at display size (:func:`garmentstyle.mapping.build` on the display's
    label map and sketch), or None for the plain straight tiling. Cached per region, its pixels and its settings."""
    f = r.fabric
    if f.grain == "straight" and f.drape == 0:
        return None
    mask = (frame.labels(snap) == r.uid).astype(np.float32)
    key = ("mapping", r.uid, _digest(mask), f.grain, f.strokes, f.rotation, f.drape)
    with frame.lock:
        hit = frame.tiles.get(key)
    if hit is not None:
        return hit
    from garmentstyle import mapping

    grain: Any = f.grain
    if f.grain == "strokes" and f.strokes is not None:
        grain = f.strokes.array[frame.rows[:, None], frame.cols[None, :]].astype(np.float32)
        if not grain.any():  # strokes thinner than a display pixel: keep every one (max over the cell)
            from garmentstyle.mapping.strokes import resize_strokes

            grain = resize_strokes(f.strokes.array, mask.shape)
    mp = mapping.build(mask, frame.image.astype(np.float32) / 255.0, grain=grain, rotation=f.rotation, drape=f.drape)
    with frame.lock:
        frame.tiles[key] = mp
    return mp


def _region_tile(frame: DisplayFrame, r: RegionEntry, box: tuple[int, int, int, int],
                 snap: Optional[Snapshot] = None) -> Optional[np.ndarray]:
    """Region ``r``'s fabric over ``box`` (y0, y1, x0, x1) of the live view, float32 ``(h, w, 3)`` (cached): the
    prepared, recoloured swatch laid straight at its pattern size and rotation, or through its grain/drape mapping."""
    f: Fabric = r.fabric
    if not f.swatch:
        return None
    bent = snap is not None and (f.grain != "straight" or f.drape > 0)
    key = (r.uid, f.swatch, f.pattern, f.rotation, f.prepare, f.colourway, box,
           (f.grain, f.strokes, f.drape, _digest(frame.labels(snap) == r.uid)) if bent else None)
    with frame.lock:
        hit = frame.tiles.get(key)
        if hit is not None:
            frame.tiles.move_to_end(key)
            return hit
    from garmentstyle import swatch

    try:
        sw = _swatch_array(frame, f)
    except Exception:  # a swatch that cannot be prepared shows as a colour mask, never breaks the view
        return None
    y0, y1, x0, x1 = box
    H, W = frame.image.shape[:2]
    zoom = frame.scale * f.pattern
    mp = None
    if bent:
        try:
            mp = _mapping(frame, snap, r)  # type: ignore[arg-type]
        except Exception:  # an unusable stroke set shows the straight grain (the render says why)
            mp = None
    if mp is not None:
        t = mp.preview(sw, zoom=zoom, size=(H, W))[..., y0:y1, x0:x1]
    else:
        # the pattern is anchored at the canvas centre, as the renderer's tiled start is (same place in every view)
        t = swatch.tile(sw, (y1 - y0, x1 - x0), zoom=zoom, rotation=f.rotation, origin=(W / 2 - x0, H / 2 - y0))
    arr = t[0].permute(1, 2, 0).numpy().astype(np.float32)
    with frame.lock:
        frame.tiles[key] = arr
        _trim_tiles(frame)
    return arr


#: The live view's tile cache holds at most this many bytes per session (the memory bound in docs/ui.md).
TILE_CACHE_BYTES = 64 * 2**20


def _trim_tiles(frame: DisplayFrame) -> None:
    total = sum(getattr(v, "nbytes", 0) for v in frame.tiles.values())
    while len(frame.tiles) > 1 and (total > TILE_CACHE_BYTES or len(frame.tiles) > 64):
        _, old = frame.tiles.popitem(last=False)
        total -= getattr(old, "nbytes", 0)


def fabric_overlay(frame: DisplayFrame, snap: Snapshot) -> np.ndarray:
    """The live fabric view: each region's tiled fabric × the sketch's shading at display size; regions without a
    usable swatch show their colour tint. uint8 ``(h, w, 3)``."""
    lab = frame.labels(snap)
    out = frame.image.astype(np.float32) / 255.0
    lut = None
    for r in snap.regions:
        m = lab == r.uid
        if not m.any():
            continue
        ys, xs = np.nonzero(m)
        box = (int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1)
        tile = _region_tile(frame, r, box, snap)
        sub = m[box[0]:box[1], box[2]:box[3]]
        view = out[box[0]:box[1], box[2]:box[3]]
        if tile is None:
            lut = _colour_lut(snap) if lut is None else lut
            c = lut[r.uid]
            view[sub] = view[sub] * 0.6 + (view[sub] * c) * 0.4 + 0.1 * c
        else:
            view[sub] = tile[sub] * frame.shading[box[0]:box[1], box[2]:box[3]][sub][:, None]
    return (np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8)


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


def _label_point(lab: np.ndarray, uid: int) -> Optional[tuple[int, int]]:
    ys, xs = np.nonzero(lab == uid)
    if not len(ys):
        return None
    cy, cx = int(round(ys.mean())), int(round(xs.mean()))
    if lab[min(cy, lab.shape[0] - 1), min(cx, lab.shape[1] - 1)] != uid:  # centroid outside (a U shape)
        k = len(ys) // 2
        cx, cy = int(xs[k]), int(ys[k])
    return cx, cy


def canvas_image(frame: DisplayFrame, snap: Snapshot, mode: str = VIEW_COLOUR, *, labels: bool = True
                 ) -> np.ndarray:
    """The canvas: colour masks or live fabric, the selected region outlined, each region's name on it."""
    img = fabric_overlay(frame, snap) if mode == VIEW_FABRIC else colour_overlay(frame, snap)
    h, w = img.shape[:2]
    lab = frame.labels(snap)
    sel = snap.selected
    out = img.copy()
    if sel is not None:
        e = _edge(lab == sel.uid, 3 if w > 600 else 2)
        out[e] = sel.colour
    if not labels or not snap.regions:
        return out
    pil = Image.fromarray(out, "RGB")
    draw = ImageDraw.Draw(pil)
    size = max(12, min(26, w // 30))
    font = _font(size)
    for r in snap.regions:
        pt = _label_point(lab, r.uid)
        if pt is None:
            continue
        x0, y0, x1, y1 = draw.textbbox(pt, r.name, font=font, anchor="mm")
        pad = max(3, size // 4)
        draw.rounded_rectangle((x0 - pad, y0 - pad, x1 + pad, y1 + pad), radius=pad, fill=_dark(r.colour),
                               outline=(255, 255, 255), width=2 if sel is not None and r.uid == sel.uid else 1)
        draw.text(pt, r.name, fill=(255, 255, 255), font=font, anchor="mm")
    return np.asarray(pil)


def _dark(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """A shade of ``rgb`` dark enough for white text (contrast ≥ 4.5:1)."""
    r, g, b = rgb
    k = 1.0
    while _contrast((255, 255, 255), (int(r * k), int(g * k), int(b * k))) < 4.6 and k > 0.1:
        k -= 0.05
    return int(r * k), int(g * k), int(b * k)


def _lum(rgb) -> float:
    def ch(c: float) -> float:
        c = c / 255.0
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = rgb
    return 0.2126 * ch(r) + 0.7152 * ch(g) + 0.0722 * ch(b)


def _contrast(a, b) -> float:
    la, lb = sorted((_lum(a), _lum(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


# --------------------------------------------------------------------------------------------------- table
def regions_html(snap: Optional[Snapshot], *, has_sketch: bool = True) -> str:
    """The region table: one row per region (a button: click or Enter selects it), colour chip, name, area,
    fabric; the selected row marked (``aria-pressed``)."""
    if snap is None or not has_sketch:
        return "<div class='gs-empty'>Load a sketch to begin.</div>"
    if not snap.regions:
        return ("<div class='gs-empty'>No regions yet. Press <b>Find garment</b>, or choose the <b>New region</b> "
                "tool and click inside the sketch.</div>")
    H, W = snap.shape
    areas = snap.areas()
    rows = []
    for r in snap.regions:
        sel = r.uid == snap.current
        chip = "#%02x%02x%02x" % r.colour
        f = r.fabric
        fabric = html.escape(f.label or "—")
        extra = []
        if abs(f.pattern - 1) > 1e-6:
            extra.append(f"×{f.pattern:g}")
        if f.rotation:
            extra.append(f"{f.rotation:g}°")
        if f.grain != "straight":
            extra.append("grain: " + ("seams" if f.grain == "auto" else "strokes"))
        if f.drape:
            extra.append(f"drape {f.drape:g}")
        if f.prepare == "off":
            extra.append("as given")
        if extra:
            fabric += f" <span class='gs-dim'>{' '.join(extra)}</span>"
        if f.colourway:
            fabric += " " + "".join(f"<span class='gs-chip' style='background:{c}' title='{c}'></span>"
                                    for c in f.colourway)
        name = html.escape(r.name)
        if not areas[r.uid]:
            fabric += " <span class='gs-dim'>(empty: its area was added to another region; Alt-click it there to "  \
                      "give it back)</span>"
        rows.append(
            f"<tr class='gs-row{' gs-sel' if sel else ''}' data-uid='{r.uid}' tabindex='0' role='button' "
            f"aria-pressed='{'true' if sel else 'false'}'>"
            f"<td><span class='gs-chip' style='background:{chip}' aria-hidden='true'></span></td>"
            f"<td class='gs-name'>{name}</td>"
            f"<td class='gs-num' title='{areas[r.uid]:,} px'>{100 * areas[r.uid] / (H * W):.1f}%</td>"
            f"<td>{fabric}</td></tr>")
    return ("<table class='gs-regions'><caption class='gs-sr'>Regions: click a row to select it</caption><thead>"
            "<tr><th scope='col'><span class='gs-sr'>Colour</span></th><th scope='col'>Region</th>"
            "<th scope='col'>Area</th><th scope='col'>Fabric</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


# --------------------------------------------------------------------------------------------------- fabric panel
@dataclass(frozen=True)
class SwatchArea:
    """What the fabric panel shows of a region's swatch: ``tile`` the prepared repeat, ``repeat3`` it tiled 3×3
    (seams would show here), ``photo`` the file as uploaded with the repeat that was cut outlined (uint8 RGB, at
    most :data:`PANEL_SIDE` px), ``words`` what was found and done, in the designer's words."""

    tile: np.ndarray
    repeat3: np.ndarray
    photo: np.ndarray
    words: str


PANEL_SIDE = 360


def _u8(t) -> np.ndarray:
    return (t[0].permute(1, 2, 0).clamp(0, 1).numpy() * 255 + 0.5).astype(np.uint8)


def _fit(img: np.ndarray, side: int = PANEL_SIDE, *, resample=Image.LANCZOS) -> tuple[np.ndarray, float]:
    h, w = img.shape[:2]
    k = min(1.0, side / max(h, w))
    if k >= 1.0:
        return img, 1.0
    return np.asarray(Image.fromarray(img).resize((max(1, round(w * k)), max(1, round(h * k))), resample)), k


def prepare_words(rep, *, pattern: float = 1.0, sketch_px_per_cm: Optional[float] = None) -> str:
    """The preparation report (:class:`garmentstyle.swatches.PrepareReport`) in the designer's words, and the size
    of one repeat on the garment (in cm when the sketch's real size is known)."""
    w, h = rep.tile_size
    if rep.action == "unchanged":
        lines = ["Already a seamless repeat: used exactly as it is."]
    elif rep.action == "as given":
        lines = ["Used as given (no preparation): a photo's edges may show as seams."]
    elif rep.action == "repeat":
        kind = "stripe" if rep.kind == "stripes" else "repeating pattern"
        lines = [f"Found a {kind}: cut one exact repeat ({w}×{h} px)" +
                 (f", averaged over {rep.cells} repeats of the photo" if rep.cells > 1 else "") + "."]
    elif rep.action.startswith("synthesize"):
        how = "with the full model" if "gram" in rep.action else "by stitching patches of the photo"
        lines = [f"No clean repeat (a random texture such as denim, knit or tweed): made a seamless {w}×{h} px "
                 f"tile {how}."]
    else:
        lines = [f"Evened out the light; {w}×{h} px."]
    if abs(rep.rotation) >= 0.05:
        lines.append(f"The photo was turned {abs(rep.rotation):.1f}° {'anticlockwise' if rep.rotation > 0 else 'clockwise'}: "
                     "straightened.")
    if rep.light_correction > 0 and rep.light_before > 0.005:
        lines.append(f"Uneven light removed (variation {100 * rep.light_before:.0f} % → {100 * rep.light_after:.1f} %).")
    if rep.action not in ("unchanged", "as given"):
        lines.append("Seams: " + ("none" if rep.seam_after < 1.3 else f"still visible (×{rep.seam_after:.1f})") + ".")
    repeat_sketch = rep.repeat_px * pattern
    size = f"{repeat_sketch:.0f} px of the sketch"
    if sketch_px_per_cm:
        size = f"{repeat_sketch / sketch_px_per_cm:.1f} cm on the garment ({size})"
    lines.append(f"One repeat is {size}.")
    lines.extend(rep.notes)
    return " ".join(lines)


def swatch_area(frame: Optional[DisplayFrame], fabric: Fabric, *, sketch_px_per_cm: Optional[float] = None
                ) -> SwatchArea:
    """The prepared tile, a 3×3 repeat of it (recoloured when the region has a palette: what the render uses) and
    the uploaded photo with the cut repeat outlined."""
    from garmentstyle import io

    prep = prepared(frame, fabric.swatch, fabric.prepare)
    live = _u8(live_swatch(frame, fabric))
    tile, _ = _fit(live, PANEL_SIDE // 2)
    big = np.tile(live, (3, 3, 1))
    repeat3, _ = _fit(big, PANEL_SIDE)
    photo, k = _fit(io.to_uint8(io.tensor_to_array(io.load_image(fabric.swatch))))
    corners = prep.outline() if fabric.prepare != "off" else None
    if corners:
        pil = Image.fromarray(photo)
        d = ImageDraw.Draw(pil)
        pts = [(x * k, y * k) for x, y in corners]
        width = max(2, round(photo.shape[1] / 150))
        d.line(pts + pts[:1], fill=(255, 255, 255), width=width + 2)
        d.line(pts + pts[:1], fill=(230, 25, 75), width=width)
        photo = np.asarray(pil)
    return SwatchArea(tile, repeat3, photo,
                      prepare_words(prep.report, pattern=fabric.pattern, sketch_px_per_cm=sketch_px_per_cm))


def palette_html(fabric: Fabric, found=None) -> str:
    """The palette editor's key: each found colour's chip, its share of the fabric, and what it becomes."""
    if not fabric.colourway:
        return "<div class='gs-empty'>The fabric keeps its own colours. Choose a number of colours to recolour it.</div>"
    rows = []
    for i, new in enumerate(fabric.colourway):
        c = found.colours[i] if found is not None and i < len(found.colours) else None
        old = c.hex if c is not None else new
        share = f"{100 * c.coverage:.0f} %" if c is not None else ""
        rows.append(f"<tr><td>{i + 1}</td><td><span class='gs-chip' style='background:{old}'></span> {old}</td>"
                    f"<td class='gs-num'>{share}</td><td>→</td>"
                    f"<td><span class='gs-chip' style='background:{new}'></span> {new}</td></tr>")
    return ("<table class='gs-regions'><caption class='gs-sr'>Palette: found colours and their replacements"
            "</caption><thead><tr><th>#</th><th>Found</th><th>Share</th><th></th><th>Becomes</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


def thumbnail(path, side: int = 160) -> np.ndarray:
    from garmentstyle import io

    pil = io.open_pil(path).convert("RGB")
    pil.thumbnail((side, side), Image.LANCZOS)
    return np.asarray(pil)


__all__ = ["DISPLAY_SIDE", "VIEWS", "VIEW_COLOUR", "VIEW_FABRIC", "DisplayFrame", "make_frame",
           "colour_overlay", "fabric_overlay", "canvas_image", "regions_html", "thumbnail", "prepared", "found_colours",
           "live_swatch", "SwatchArea", "swatch_area", "prepare_words", "palette_html"]

"""The fabric panel's actions as plain functions (no Gradio): the swatch's preparation, the palette editor
(colourways) and the grain (mode, brush strokes, drape) of the selected region.

Each validates what the browser sent (:mod:`ui.validate`), applies one pure edit of the region model
(:func:`ui.model.set_fabric`) as an undo step (a drag of one control is one step), and returns the session and a
sentence for the designer. The library does the work: :func:`garmentstyle.swatches.prepare`,
:func:`garmentstyle.colourway.find_colours` / ``recolour`` and :func:`garmentstyle.mapping.build` (through
:mod:`ui.views`, which draws them live on the canvas).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Optional

import numpy as np

from garmentstyle.errors import GarmentStyleError, InputError

from . import model as M, validate as Vd, views as V
from .handlers import _commit, _layer_mask, _selected, require_sketch
from .state import Session

GRAIN_LABELS = {"straight": "Straight (with the rotation)", "auto": "Along the sketch's seams and folds",
                "strokes": "Along my grain strokes"}


def _fabric(session: Optional[Session]) -> tuple[Session, M.RegionEntry, M.Fabric]:
    session = require_sketch(session)
    r = _selected(session)
    if not r.fabric.swatch:
        raise InputError(f"region “{r.name}” has no fabric yet; pick a swatch for it first")
    return session, r, r.fabric


def _set(session: Session, r: M.RegionEntry, fabric: M.Fabric, key: tuple) -> Session:
    if fabric == r.fabric:
        return session
    return _commit(session, M.set_fabric(session.snap, r.uid, fabric), key=key + (r.uid,))


# ----------------------------------------------------------------------------------------------------- swatch
def set_prepare(session: Optional[Session], use_raw: Any) -> tuple[Session, str]:
    """“Use the file as given”: on = the raw file (``prepare="off"``), off = prepared (``"auto"``)."""
    session, r, f = _fabric(session)
    raw = Vd.flag(use_raw, "“Use the file as given”")
    session = _set(session, r, replace(f, prepare="off" if raw else "auto", colourway=()), ("prepare",))
    return session, ("The swatch file is used as given." if raw else
                     "The swatch is prepared: a seamless, evenly lit repeat.")


def set_sketch_cm(session: Optional[Session], cm: Any) -> tuple[Session, str]:
    """The sketch's real height in cm (0 = unknown): pattern sizes are then also shown in cm."""
    session = require_sketch(session)
    v = Vd.option("sketch_cm", cm if cm not in (None, "") else 0, "the sketch's height in cm")
    session.sketch_cm = float(v)
    return session, (f"The sketch is {v:g} cm tall: pattern sizes are shown in cm." if v else
                     "The sketch's real size is not known: pattern sizes are in pixels.")


def sketch_cm(session: Optional[Session]) -> float:
    """The sketch's real height in cm (0 = unknown, or no session)."""
    return float(session.sketch_cm) if session is not None else 0.0


def sketch_cm_from(value: Any) -> float:
    """A saved sketch height (project or autosave) back as a number: anything that is not a valid height (wrong
    type, NaN, out of the option's bounds) is "unknown" (0), never an error that would lose the rest of the work."""
    if value is None:
        return 0.0
    try:
        return float(Vd.option("sketch_cm", value, "the sketch's height in cm"))
    except GarmentStyleError:
        return 0.0


def set_repeat_cm(session: Optional[Session], cm: Any) -> tuple[Session, str]:
    """True scale: one repeat of the selected region's fabric is ``cm`` wide on the garment. Sets the pattern size
    from the prepared repeat's width and the sketch's height in cm (which must be known)."""
    session, r, f = _fabric(session)
    h_cm = sketch_cm(session)
    if not h_cm:
        raise InputError("give the sketch's height in cm first; then a repeat's size in cm sets the pattern size")
    v = Vd.region("repeat_cm", cm, "the repeat's width in cm")
    rep = V.prepared(session.frame, f.swatch, f.prepare).report
    pattern = v * (session.size[0] / h_cm) / rep.repeat_px  # sketch px of one repeat / tile px of one repeat
    lo, hi = M.PATTERN_RANGE
    if not lo <= pattern <= hi:
        raise InputError(f"a {v:g} cm repeat on a {h_cm:g} cm sketch is a pattern size of {pattern:.3g}, outside "
                         f"{lo:g}…{hi:g}; check the sketch's height, or the repeat's size")
    session = _set(session, r, replace(f, pattern=pattern), ("pattern",))
    return session, f"One repeat of {f.label or 'the fabric'} is {v:g} cm: pattern size {pattern:.2f}."


# ----------------------------------------------------------------------------------------------------- palette
def set_palette_size(session: Optional[Session], k: Any) -> tuple[Session, str]:
    """Recolour the selected region's fabric with ``k`` colours (0 = its own colours): the ``k`` dominant colours of
    the prepared swatch are found and each starts as itself, ready to be replaced."""
    session, r, f = _fabric(session)
    k = int(Vd.number(k, "the number of colours", 0, M.MAX_PALETTE, integer=True))
    if k == 0:
        return _set(session, r, replace(f, colourway=()), ("palette-size",)), "The fabric keeps its own colours."
    if len(f.colourway) == k:
        return session, f"{k} colours, as before."
    try:
        found = V.found_colours(session.frame, f, k)
    except GarmentStyleError as exc:
        raise InputError(f"could not find {k} colours in {f.label or 'this swatch'}: {exc}") from None
    session = _set(session, r, replace(f, colourway=tuple(c.hex for c in found.colours)), ("palette-size",))
    msg = f"Found the {k} main colours of {f.label or 'the fabric'}; change any of them to recolour it."
    if found.notes:
        msg += " Note: " + "; ".join(found.notes)
    return session, msg


def set_palette_colour(session: Optional[Session], index: Any, colour: Any) -> tuple[Session, str]:
    """Replace dominant colour ``index`` (0 = the largest) of the selected region's fabric with ``colour``."""
    session, r, f = _fabric(session)
    if not f.colourway:
        raise InputError("choose how many colours to recolour first")
    i = int(Vd.number(index, "the palette colour", 0, len(f.colourway) - 1, integer=True))
    hex_ = Vd.hex_colour(colour, f"colour {i + 1}")
    if f.colourway[i].lower() == hex_.lower():  # e.g. the picker left without a change: no edit
        return session, f"Colour {i + 1} of “{r.name}” is {hex_}."
    cw = list(f.colourway)
    cw[i] = hex_
    session = _set(session, r, replace(f, colourway=tuple(cw)), ("palette", i))
    return session, f"Colour {i + 1} of “{r.name}” is now {hex_} (Ctrl+Z undoes)."


def leave_palette_colour(session: Optional[Session], index: int, colour: Any) -> tuple[Session, str]:
    """The designer left picker ``index``: apply a colour typed into its field (:func:`set_palette_colour`). A
    picker left after its palette shrank or went (the picker is being hidden) is no edit and no error."""
    f = session.snap.selected.fabric if session is not None and session.snap.selected is not None else None
    if f is None or not 0 <= int(index) < len(f.colourway):
        return session, ""
    return set_palette_colour(session, index, colour)


def reset_palette(session: Optional[Session]) -> tuple[Session, str]:
    """Every replacement back to the colour found in the swatch (the palette size stays)."""
    session, r, f = _fabric(session)
    if not f.colourway:
        return session, "The fabric has its own colours already."
    found = V.found_colours(session.frame, f, len(f.colourway))
    session = _set(session, r, replace(f, colourway=tuple(c.hex for c in found.colours)), ("palette-reset",))
    return session, "Back to the swatch's own colours."


# ----------------------------------------------------------------------------------------------------- grain
def set_grain(session: Optional[Session], mode: Any, drape: Any) -> tuple[Session, str]:
    """The selected region's grain mode (straight / along the sketch / along drawn strokes) and drape."""
    session, r, f = _fabric(session)
    mode = Vd.choice(mode, "the grain", M.GRAIN_CHOICES, GRAIN_LABELS)
    d = Vd.region("drape", drape if drape is not None else 0, "drape", lo=M.DRAPE_RANGE[0], hi=M.DRAPE_RANGE[1])
    if mode == "strokes" and f.strokes is None:
        raise InputError("draw grain strokes first: open “Grain brush”, draw lines along the warp on the region, "
                         "and press “Use these grain strokes”")
    session = _set(session, r, replace(f, grain=mode, drape=float(d)), ("grain",))
    return session, f"Grain of “{r.name}”: {GRAIN_LABELS[mode].lower()}; drape {float(d):g}."


def apply_grain_strokes(session: Optional[Session], value: Any) -> tuple[Session, str]:
    """The grain brush's strokes (any layer of the editor) become the selected region's grain (one undo step)."""
    session, r, f = _fabric(session)
    layers = list((value or {}).get("layers") or []) if isinstance(value, dict) else []
    masks = [_layer_mask(layer, session.size) for layer in layers if layer is not None]
    strokes = np.logical_or.reduce(masks) if masks else np.zeros(session.size, bool)
    if not strokes.any():
        raise InputError("no grain strokes: draw one or more lines along the warp of the fabric on the region")
    inside = strokes & session.snap.mask(r.uid)
    if not inside.any():
        raise InputError(f"the grain strokes are all outside “{r.name}”; draw them on the selected region")
    session = _set(session, r, replace(f, grain="strokes", strokes=M.Strokes(strokes)), ("strokes",))
    share = inside.sum() / strokes.sum()
    note = "" if share > 0.9 else f" ({100 * (1 - share):.0f} % of the strokes are outside the region; they count near it)"
    return session, f"“{r.name}” follows your grain strokes{note}."


def clear_grain_strokes(session: Optional[Session]) -> tuple[Session, str]:
    session, r, f = _fabric(session)
    session = _set(session, r, replace(f, grain="straight" if f.grain == "strokes" else f.grain, strokes=None),
                   ("strokes",))
    return session, f"Removed the grain strokes of “{r.name}”."


def grain_editor_value(session: Optional[Session]) -> Optional[dict]:
    """The grain brush's canvas: the sketch with the selected region tinted and its strokes so far."""
    if session is None or not session.has_sketch:
        return None
    bg = V.canvas_image(session.frame, session.snap, V.VIEW_COLOUR, labels=False)
    r = session.snap.selected
    if r is not None and r.fabric.strokes is not None:
        f = session.frame
        m = r.fabric.strokes.array[f.rows[:, None], f.cols[None, :]]
        bg = bg.copy()
        bg[m] = (20, 20, 20)
    return {"background": bg, "layers": [], "composite": None}


# ----------------------------------------------------------------------------------------------------- saving
def _strokes_png(strokes: M.Strokes) -> bytes:
    import io as _io

    from PIL import Image

    buf = _io.BytesIO()
    Image.fromarray(strokes.array.astype(np.uint8) * 255, "L").save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def fabric_extras(f: M.Fabric) -> dict:
    """The panel's settings of a fabric for a project's ``workspace.json`` (strokes as a base64 PNG)."""
    import base64

    d: dict = {"prepare": f.prepare, "colourway": list(f.colourway), "grain": f.grain, "drape": f.drape}
    if f.strokes is not None:
        d["strokes"] = {"w": f.strokes.shape[1], "h": f.strokes.shape[0],
                        "png": base64.b64encode(_strokes_png(f.strokes)).decode()}
    return d


def extras_from(d: dict) -> dict:
    """:func:`fabric_extras` read back (old projects have none: the defaults). Raises InputError for a damaged
    value (the Fabric checks the rest)."""
    import base64
    import binascii
    import io as _io

    from PIL import Image

    out: dict = {}
    for k in ("prepare", "grain"):
        if k in d:
            out[k] = d[k]
    if "drape" in d:
        out["drape"] = d["drape"]
    if "colourway" in d:
        cw = d["colourway"]
        if not isinstance(cw, list):
            raise InputError("a fabric's palette in the project is not readable")
        out["colourway"] = tuple(cw)
    st = d.get("strokes")
    if st is not None:
        try:
            pil = Image.open(_io.BytesIO(base64.b64decode(st["png"], validate=True)))
            if pil.size != (int(st["w"]), int(st["h"])) or pil.size[0] * pil.size[1] > 100_000_000:
                raise ValueError("size")
            out["strokes"] = M.Strokes(np.asarray(pil.convert("L")) > 127)
        except (KeyError, TypeError, ValueError, OSError, binascii.Error):
            raise InputError("a region's grain strokes in the project are damaged") from None
    return out


def recipe_extras(f: M.Fabric, strokes_member: str, files: dict) -> dict:
    """The panel's settings as recipe fields (:class:`garmentstyle.api.Region`); grain strokes are written to
    ``files[strokes_member]`` (black on white, the sketch's size) and named."""
    d: dict = {"prepare": f.prepare, "drape": f.drape, "grain": f.grain if f.grain != "strokes" else strokes_member}
    if f.colourway:
        d["colourway"] = list(f.colourway)
    if f.grain == "strokes" and f.strokes is not None:
        import io as _io

        from PIL import Image

        buf = _io.BytesIO()
        Image.fromarray(np.where(f.strokes.array, 0, 255).astype(np.uint8), "L").save(buf, format="PNG")
        files[strokes_member] = buf.getvalue()
    return d


__all__ = ["GRAIN_LABELS", "fabric_extras", "extras_from", "recipe_extras", "set_prepare", "set_sketch_cm",
           "set_repeat_cm", "sketch_cm", "sketch_cm_from", "set_palette_size", "set_palette_colour",
           "leave_palette_colour", "reset_palette", "set_grain",
           "apply_grain_strokes", "clear_grain_strokes", "grain_editor_value"]

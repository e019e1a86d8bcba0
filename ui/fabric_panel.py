"""The fabric panel's Gradio components and events (in the Fabric tab, under the swatch pickers): the prepared swatch
(tile, 3×3 repeat, the photo with the cut repeat outlined, what was done), the palette editor (colourways) and the
grain (mode, drape, grain brush) of the selected region.

Two calls from the layout: :func:`build` inside the Fabric tab, :func:`wire` after the workspace's events. The
panel refreshes itself whenever the region table changes (selection, undo/redo, a new swatch: the table shows each
region's fabric, palette and grain), so no other event needs to know about it. Actions are
:mod:`ui.fabric_handlers`; what is drawn is :mod:`ui.views`.
"""
from __future__ import annotations

import functools
import html
from typing import Any, Optional

import gradio as gr

from garmentstyle.errors import GarmentStyleError

from . import fabric_handlers as F, model as M, views as V
from .state import Session

QUIET = dict(show_progress="hidden")


def _load_colour_science() -> None:
    """Import colour-science now, before the server handles a request: without matplotlib it puts a stand-in
    ``matplotlib`` module in ``sys.modules``, and Gradio's per-request matplotlib guard fails on the one request
    during which that happens (its ``__enter__`` saw no matplotlib, its ``__exit__`` sees the stand-in)."""
    import numpy as np

    from garmentstyle import colourway

    colourway.srgb_to_lab(np.zeros(3))


def build(ui: Any) -> None:
    """The panel's components (inside the Fabric tab), stored on ``ui`` as ``ui.fp_*``."""
    _load_colour_science()
    with gr.Accordion("Swatch preparation", open=True, elem_id="gs-fp-swatch"):
        ui.fp_words = gr.Markdown("Select a region with a fabric to see how its swatch is prepared.",
                                  elem_id="gs-fp-words")
        with gr.Row():
            img = dict(type="filepath", interactive=False, format="png", height=180, buttons=[])
            ui.fp_photo = gr.Image(label="Your file (the cut repeat outlined)", elem_id="gs-fp-photo", **img)
            ui.fp_tile = gr.Image(label="Prepared repeat", elem_id="gs-fp-tile", **img)
            ui.fp_repeat = gr.Image(label="3×3 repeat (seams would show here)", elem_id="gs-fp-repeat", **img)
        with gr.Row():
            ui.fp_raw = gr.Checkbox(value=False, label="Use the file as given (no preparation)",
                                    elem_id="gs-fp-raw")
            ui.fp_sketch_cm = gr.Number(value=0, label="Sketch height in cm (0 = unknown)", elem_id="gs-fp-cm")
            ui.fp_repeat_cm = gr.Number(value=None, label="One repeat is … cm (sets the pattern size)",
                                        elem_id="gs-fp-repeat-cm")
    with gr.Accordion("Colourway (palette)", open=False, elem_id="gs-fp-palette"):
        ui.fp_k = gr.Slider(0, M.MAX_PALETTE, value=0, step=1, label="Colours to recolour (0 = the fabric's own)",
                            elem_id="gs-fp-k")
        ui.fp_key = gr.HTML(V.palette_html(M.Fabric()), elem_id="gs-fp-key")
        with gr.Row():
            ui.fp_colours = [gr.ColorPicker(value="#000000", label=f"Colour {i + 1}", visible=False,
                                            elem_id=f"gs-fp-c{i}", min_width=90) for i in range(M.MAX_PALETTE)]
        ui.fp_reset = gr.Button("Back to the swatch's colours", size="sm", elem_id="gs-fp-reset")
    with gr.Accordion("Grain and drape", open=False, elem_id="gs-fp-grain"):
        ui.fp_grain = gr.Radio([(F.GRAIN_LABELS[g], g) for g in M.GRAIN_CHOICES], value="straight",
                               label="The fabric runs", elem_id="gs-fp-grain-mode")
        ui.fp_drape = gr.Slider(M.DRAPE_RANGE[0], M.DRAPE_RANGE[1], value=0, step=0.05,
                                label="Drape (folds bend the pattern; 0 = off)", elem_id="gs-fp-drape")
        with gr.Accordion("Grain brush", open=False, elem_id="gs-fp-brush") as ui.fp_brush:
            gr.Markdown("Draw one or more lines along the warp (the way the fabric's threads run) on the selected "
                        "region, then press **Use these grain strokes**.")
            ui.fp_editor = gr.ImageEditor(type="numpy", image_mode="RGBA", format="png", sources=[], transforms=[],
                                          brush=gr.Brush(default_size=6, colors=["#111111"], color_mode="fixed"),
                                          eraser=gr.Eraser(default_size=12), interactive=True, height=380,
                                          label="Grain strokes", elem_id="gs-fp-editor")
            with gr.Row():
                ui.fp_apply = gr.Button("Use these grain strokes", variant="primary", elem_id="gs-fp-apply")
                ui.fp_clear = gr.Button("Remove the grain strokes", elem_id="gs-fp-clear")


def _outputs(ui: Any) -> list:
    return [ui.fp_words, ui.fp_photo, ui.fp_tile, ui.fp_repeat, ui.fp_raw, ui.fp_sketch_cm, ui.fp_k, ui.fp_key,
            *ui.fp_colours, ui.fp_grain, ui.fp_drape]


def _file(s: Session, name: str, img: Any, key: tuple) -> str:
    """``img`` as a PNG of the session's own, written once per content key (a file being served is never
    rewritten, and two tabs never share one: Gradio's own cache names files by content)."""
    files = s.__dict__.setdefault("fp_files", {})
    path = files.get((name, key))
    if path is None:
        from PIL import Image

        path = s.file(f"{name}.png")
        Image.fromarray(img).save(path, format="PNG", compress_level=1)
        files[(name, key)] = path
    return str(path)


def panel_view(ui: Any, s: Optional[Session]) -> dict:
    """The panel for the session's selected region (every panel component)."""
    r = s.snap.selected if s is not None and s.has_sketch else None
    f = r.fabric if r is not None else M.Fabric()
    out: dict = {ui.fp_raw: f.prepare == "off", ui.fp_k: len(f.colourway), ui.fp_grain: f.grain,
                 ui.fp_drape: f.drape, ui.fp_sketch_cm: F.sketch_cm(s)}
    found = None
    if r is None or not f.swatch:
        out.update({ui.fp_words: "Select a region with a fabric to see how its swatch is prepared.",
                    ui.fp_photo: None, ui.fp_tile: None, ui.fp_repeat: None})
    else:
        cm = F.sketch_cm(s)
        try:
            area = V.swatch_area(s.frame, f, sketch_px_per_cm=s.size[0] / cm if cm else None)
            found = V.found_colours(s.frame, f, len(f.colourway)) if f.colourway else None
            key = (f.swatch, f.prepare, f.colourway)
            out.update({ui.fp_words: f"**{html.escape(r.name)}** · {html.escape(f.label)}: {area.words}",
                        ui.fp_photo: _file(s, "swatch-photo", area.photo, key[:2]),
                        ui.fp_tile: _file(s, "swatch-tile", area.tile, key),
                        ui.fp_repeat: _file(s, "swatch-repeat", area.repeat3, key)})
        except GarmentStyleError as exc:
            out.update({ui.fp_words: f"⚠ {html.escape(str(exc))}", ui.fp_photo: None, ui.fp_tile: None,
                        ui.fp_repeat: None})
    out[ui.fp_key] = V.palette_html(f, found)
    for i, c in enumerate(ui.fp_colours):
        if i < len(f.colourway):
            old = found.colours[i].hex if found is not None else f.colourway[i]
            out[c] = gr.update(value=f.colourway[i], visible=True, label=f"Colour {i + 1} (was {old})")
        else:
            out[c] = gr.update(visible=False)  # plain updates, so a refresh can tell what it would resend
    return out


def refreshed_view(ui: Any, s: Optional[Session]) -> dict:
    """:func:`panel_view` for a refresh (the region table changed): drawn from the session as it is when the
    answer leaves, and only what differs from what this tab was last sent.

    Why: Gradio runs a tab's events side by side.
    - A refresh that read the regions before an edit and answered after it put the old values back over the edit's
      own answer — the palette's number of colours went back to 0 after a designer typed 3. So a refresh whose
      session changed while it was drawn draws again from the new state. (Answering "no change" instead, as
      before, left the panel blank for good when what changed meanwhile was not an edit of the panel — a switch of
      the canvas's view right after selecting the skirt: "Select a region with a fabric", 2 runs in 10 under load.)
    - A refresh that is up to date but resends a value the page already shows overwrites what the designer is
      typing into that box and has not yet committed (a "3" typed, then Enter sent 0). That holds when another
      region was selected too: the refresh for a click on the skirt, answered while the "3" for the skirt was
      being typed, wrote its 0 (the same 0 the page showed) over it — caught in a log of the app's answers. So a
      refresh always sends only what differs from the tab's last answer; only a tab that was never sent the panel,
      or whose last edit was refused, gets all of it."""
    for _ in range(REDRAWS):
        before = s.snap if s is not None else None
        out = panel_view(ui, s)
        if s is None or s.snap is before:
            return _news(s, out)
    return {c: gr.skip() for c in out}  # still changing: the edits' own answers carry the panel


#: Times a refresh draws the panel again when the session changed while it was drawn (then it answers nothing).
REDRAWS = 4


def edit_answer(ui: Any, s: Optional[Session], own: tuple = ()) -> dict:
    """The panel part of an edit's answer: like a refresh, only what differs from the tab's last answer, plus the
    edited components ``own`` always (the model may have normalised what was entered).

    Why: an edit that changes nothing (a picker left unchanged) still answers, after the ~1 s it takes to describe
    the found colours. Answered in full, it put every other picker's value back — over a hex code being typed into
    the next picker, which then applied the old colour (the browser colourway test, 1 run in ~12)."""
    panel = panel_view(ui, s)
    out = _news(s, panel)
    out.update({c: panel[c] for c in own if c in panel})
    return out


def _news(s: Optional[Session], out: dict) -> dict:
    """``out`` less what this tab was already sent (every value, when what it was sent is unknown); recorded."""
    sent = _sent(s)
    now = _record(s, out)
    if sent is None:
        return out
    return {c: gr.skip() if sent[1].get(id(c), _UNSENT) == now[1][id(c)] else v for c, v in out.items()}


_UNSENT = object()


def _sent(s: Optional[Session]) -> Optional[tuple]:
    """``(selected uid, {id(component): value or update})`` last sent to this tab's panel, or None when unknown."""
    return s.__dict__.get("fp_sent") if s is not None else None


def _record(s: Optional[Session], out: dict) -> tuple:
    """Remember ``out`` as what this tab's panel now shows (every answer that carries the panel records it)."""
    current = s.snap.current if s is not None and s.has_sketch else None
    now = (current, {id(c): v for c, v in out.items()})
    if s is not None:
        s.__dict__["fp_sent"] = now
    return now


def _forget_on_error(fn):
    """``fn(s, …)`` that, when it fails, forgets what the panel was sent: the page keeps what the designer entered,
    which the model refused, so the next refresh must send every value again."""
    @functools.wraps(fn)
    def call(s, *args):
        try:
            return fn(s, *args)
        except GarmentStyleError:
            if isinstance(s, Session):
                s.__dict__.pop("fp_sent", None)
            raise
    return call


def wire(ui: Any, ctx: Any) -> None:
    """The panel's events. Edits return the workspace (canvas, table, undo) and the panel."""
    from .app import _guard, workspace_view

    def guard(fn):  # a refused edit makes the next refresh resend the whole panel
        return _guard(_forget_on_error(fn))
    from .wiring import _edit_outputs

    def edited(s: Session, msg: str, *own: Any) -> dict:
        return {ui.session: s, **workspace_view(ui, s), **edit_answer(ui, s, own), ui.hint: msg}

    outs = _edit_outputs(ui) + [c for c in _outputs(ui) if c not in _edit_outputs(ui)]

    def on_refresh(s):
        return refreshed_view(ui, s)

    ui.table.change(on_refresh, [ui.session], _outputs(ui), api_visibility="undocumented", **QUIET)
    ui.fp_raw.input(guard(lambda s, v: edited(*F.set_prepare(s, v), ui.fp_raw)), [ui.session, ui.fp_raw], outs,
                    api_name="use_raw_swatch", **QUIET)
    ui.fp_sketch_cm.input(guard(lambda s, v: edited(*F.set_sketch_cm(s, v), ui.fp_sketch_cm)),
                          [ui.session, ui.fp_sketch_cm], outs, api_name="set_sketch_cm", **QUIET)
    ui.fp_repeat_cm.submit(guard(lambda s, v: edited(*F.set_repeat_cm(s, v))), [ui.session, ui.fp_repeat_cm], outs,
                           api_name="set_repeat_cm", **QUIET)
    ui.fp_k.input(guard(lambda s, k: edited(*F.set_palette_size(s, k), ui.fp_k)), [ui.session, ui.fp_k], outs,
                  trigger_mode="always_last", api_name="set_palette_size", **QUIET)
    for i, picker in enumerate(ui.fp_colours):
        pick = guard(lambda s, v, i=i, p=picker: edited(*F.set_palette_colour(s, i, v), p))
        picker.input(pick, [ui.session, picker], outs, trigger_mode="always_last",
                     api_name=f"set_palette_colour_{i + 1}", **QUIET)
        # Gradio's picker sends "input" only while its gradient or hue is dragged: a hex code typed into its field
        # (a designer's palette is hex codes) only changed the value in the page, and the render never saw it.
        # Leaving the picker ("blur") applies it; an unchanged colour is no edit (no undo step). Not "submit": Enter
        # sends it before the field's value is taken, and the answer would put the old colour back.
        left = guard(lambda s, v, i=i, p=picker: edited(*F.leave_palette_colour(s, i, v), p))
        picker.blur(left, [ui.session, picker], outs, trigger_mode="always_last", api_visibility="undocumented",
                    **QUIET)
    ui.fp_reset.click(guard(lambda s: edited(*F.reset_palette(s))), [ui.session], outs, api_name="reset_palette",
                      **QUIET)
    for c in (ui.fp_grain, ui.fp_drape):
        c.input(guard(lambda s, g, d: edited(*F.set_grain(s, g, d), ui.fp_grain, ui.fp_drape)),
                [ui.session, ui.fp_grain, ui.fp_drape], outs, trigger_mode="always_last",
                api_name="set_grain" if c is ui.fp_grain else None,
                api_visibility="public" if c is ui.fp_grain else "undocumented", **QUIET)
    ui.fp_brush.expand(lambda s: gr.ImageEditor(value=F.grain_editor_value(s)), [ui.session], [ui.fp_editor],
                       api_visibility="undocumented")
    ui.fp_apply.click(guard(lambda s, v: edited(*F.apply_grain_strokes(s, v))), [ui.session, ui.fp_editor], outs,
                      api_name="apply_grain_strokes", **QUIET)
    ui.fp_clear.click(guard(lambda s: edited(*F.clear_grain_strokes(s))), [ui.session], outs,
                      api_name="clear_grain_strokes", **QUIET)


__all__ = ["build", "wire", "panel_view"]

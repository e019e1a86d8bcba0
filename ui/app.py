"""The Gradio Blocks wiring of the designer's workspace. Behaviour lives in :mod:`ui.handlers` (actions),
:mod:`ui.model` (regions and undo), :mod:`ui.views` (what is drawn) and :mod:`ui.jobs` (renders); this module lays
out components, binds events, and turns the library's errors into a message in one place (:func:`_guard`).

Every event returns a dict keyed by component (only what changed), built by the ``*_view`` functions below.

    from ui.app import launch
    launch(port=7860)                 # what `garmentstyle ui` runs
"""
from __future__ import annotations

import functools
import html
import inspect
import os
import threading
from dataclasses import dataclass
from typing import Any, Optional

import gradio as gr
import numpy as np
from PIL import Image

from garmentstyle.errors import GarmentStyleError
from garmentstyle.options import MAX_SIZE, RenderOptions

from . import fabric_panel, handlers as H, model as M, project as P, views as V
from .canvas_js import CANVAS_JS, CANVAS_TEMPLATE, HEAD, TABLE_JS
from .state import MAX_UPLOAD_MB, PROJECT_SUFFIXES, SKETCH_SUFFIXES, SWATCH_SUFFIXES, AppContext, Session

TITLE = "garmentstyle"
#: Text and buttons at ≥ 4.5:1 contrast (WCAG AA): the default theme's subdued text, indigo-500 and red-500
#: buttons are below it.
THEME = gr.themes.Default(primary_hue="indigo", neutral_hue="slate", radius_size="md").set(
    body_text_color_subdued="*neutral_600", block_info_text_color="*neutral_600",
    button_primary_background_fill="*primary_700", button_primary_background_fill_hover="*primary_800",
    button_primary_text_color="white", button_cancel_background_fill="#b91c1c",
    button_cancel_background_fill_hover="#991b1b", button_cancel_text_color="white",
    button_secondary_text_color="*neutral_900")
#: Where the browser keeps the autosave (localStorage key).
AUTOSAVE_KEY = "garmentstyle-workspace"
#: The render's height: what the screen has left beside the sketch (CSS, so it follows the window).
LIVE_HEIGHT = "clamp(220px, calc(100vh - 330px), 900px)"
#: Canvas images kept per session (older ones are deleted; the browser fetched them long ago).
KEEP_CANVAS_FILES = 8

CSS = """
.gradio-container {max-width: 100% !important; padding: 6px 14px !important;}
#gs-header {align-items: center; gap: 12px; flex-wrap: nowrap;}
#gs-title {flex: 0 0 170px !important; width: 170px !important; min-width: 0 !important;}
#gs-title h1 {margin: 0; font-size: 1.3rem; white-space: nowrap;}
#gs-status {flex: 1 1 0 !important; min-width: 0 !important; padding: 4px 0 !important;}
#gs-status p {margin: 0; font-size: 0.88rem; color: var(--body-text-color);}
#gs-status-details {flex: 0 0 190px !important; width: 190px !important; min-width: 0 !important;
                    align-self: flex-start;}
#gs-status-details .label-wrap {padding: 2px 4px !important;}
/* the canvas and the render stay in view while the tab beside them scrolls (a palette or grain edit at the bottom of
   the Fabric tab shows live on the canvas, not off screen) */
#gs-canvas-col, #gs-render-col {position: sticky; top: 6px; align-self: flex-start;}
.gradio-container {overflow: clip !important;}  /* Gradio's "hidden" made it a scroll box: no sticky inside */
/* the canvas fills the screen below the header and the toolbar (side by side with the render) */
.gs-cv {position: relative; overflow: hidden; height: clamp(300px, calc(100vh - 305px), 900px);
        background: var(--background-fill-secondary); border-radius: 8px; outline-offset: 2px;
        display: flex; align-items: flex-start; justify-content: center;}
.gs-stage {position: relative; transform-origin: 0 0; height: 100%; display: inline-block;}
.gs-img {height: 100%; width: auto; max-width: none; display: block; cursor: crosshair; user-select: none;}
.gs-kbd {position: absolute; width: 18px; height: 18px; margin: -9px 0 0 -9px; border: 2px solid #111;
         border-radius: 50%; box-shadow: 0 0 0 2px #fff; pointer-events: none; display: none;}
.gs-cv-empty {margin: auto; color: var(--body-text-color); font-size: 1rem;}
.gs-zoombar {position: absolute; right: 8px; bottom: 8px; display: flex; gap: 4px; align-items: center;
             background: rgba(255,255,255,.92); border-radius: 6px; padding: 3px 6px;}
.gs-zb {min-width: 30px; padding: 2px 8px; border: 1px solid #475569; border-radius: 4px; background: #fff;
        color: #0f172a; cursor: pointer;}
.gs-zlabel {font-size: 0.8rem; color: #0f172a; min-width: 3em; text-align: right;}
#gs-toolbar {gap: 8px; align-items: flex-end;}
#gs-tool, #gs-view {padding: 4px 8px !important;}
#gs-tool .wrap, #gs-view .wrap {gap: 4px !important;}
#gs-tool label, #gs-view label {padding: 3px 8px !important;}
#gs-undo-redo {flex: 0 0 164px !important; min-width: 164px !important;}
#gs-undo-redo > .row {flex-wrap: nowrap !important; gap: 4px;}
#gs-undo-redo button {min-width: 76px !important; min-height: 34px;}
#gs-render-buttons {gap: 6px;}
#gs-live img {object-fit: contain;}
#gs-hintbar {gap: 8px; align-items: center; flex-wrap: nowrap;}
#gs-hint {min-height: 1.5em; font-size: 0.88rem; line-height: 1.25; flex: 1 1 0 !important; min-width: 0 !important;
          padding: 0 !important;}
#gs-hint p {margin: 0;}
#gs-hint p {color: var(--body-text-color);}
table.gs-regions {width: 100%; border-collapse: collapse; font-size: 0.85rem; margin: 0; table-layout: auto;}
#gs-regions {overflow-x: auto;}
table.gs-regions th, table.gs-regions td {padding: 5px 8px; border-bottom: 1px solid var(--border-color-primary);
                                          text-align: left;}
table.gs-regions th {font-weight: 600; font-size: 0.8rem; color: var(--body-text-color);}
table.gs-regions tr.gs-row {cursor: pointer;}
table.gs-regions tr.gs-row:hover td, table.gs-regions tr.gs-row:focus td {background: var(--background-fill-secondary);}
table.gs-regions tr.gs-sel td {background: var(--background-fill-secondary); font-weight: 700;}
table.gs-regions tr.gs-sel td.gs-name::before {content: "▶ ";}
.gs-chip {display: inline-block; width: 16px; height: 16px; border-radius: 4px; vertical-align: middle;
          border: 1px solid rgba(0,0,0,.4);}
.gs-num {text-align: right !important; font-variant-numeric: tabular-nums; white-space: nowrap;}
.gs-dim {color: var(--body-text-color); font-weight: normal;}
.gs-empty {padding: 10px; color: var(--body-text-color); font-style: italic;}
.gs-sr {position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap;}
#gs-progress progress {width: 100%; height: 12px;}
#gs-progress .gs-plabel {font-size: 0.9rem; color: var(--body-text-color);}
#gs-dl-note p {font-size: 0.85rem; color: var(--body-text-color); margin: 0;}
#gs-confirm {border: 2px solid #b45309; border-radius: 8px; padding: 8px;}
.gradio-container .block-info, .gradio-container [data-testid="block-info"] {color: var(--body-text-color) !important;}
.gradio-container .min_value, .gradio-container .max_value, .gradio-container .or {color: #475569 !important;}
.gradio-container button[role="tab"] {color: #334155;}
.gradio-container button[role="tab"][aria-selected="true"] {color: #3730a3;}
"""


# --------------------------------------------------------------------------------------------- errors, in one place
def _user_error(exc: GarmentStyleError) -> gr.Error:
    """The message shown to the designer: escaped (Gradio renders it as HTML; it may quote a file name), kept on
    screen until closed, and not logged as a crash (no traceback for a user error)."""
    return gr.Error(html.escape(str(exc)), duration=None, print_exception=False)


def _guard(fn):
    """Wrap a handler so a :class:`GarmentStyleError` (something the designer can fix) shows as a ``gr.Error``
    with its message; anything else is a bug and keeps its traceback. Works for plain functions and generators,
    and keeps the signature Gradio inspects (``gr.Progress``, ``gr.EventData``, ``gr.Request``)."""
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except GarmentStyleError as exc:
                raise _user_error(exc) from None
        return gen

    @functools.wraps(fn)
    def call(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except GarmentStyleError as exc:
            raise _user_error(exc) from None
    return call


def _hex(rgb) -> str:
    return "#%02x%02x%02x" % tuple(rgb)


class Tabs:
    """Open tabs' sessions by Gradio session hash, so a closed tab's session is released at once (Gradio itself
    keeps a closed tab's state for an hour)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._by_hash: dict[str, Session] = {}

    def own(self, request: Optional[gr.Request], session: Optional[Session]) -> None:
        h = getattr(request, "session_hash", None) if request is not None else None
        if h and isinstance(session, Session):
            with self._lock:
                old = self._by_hash.get(h)
                self._by_hash[h] = session
            if old is not None and old is not session:
                old.release()

    def close(self, request: Optional[gr.Request]) -> None:
        h = getattr(request, "session_hash", None) if request is not None else None
        with self._lock:
            s = self._by_hash.pop(h, None) if h else None
        if s is not None:
            s.release()

    def __len__(self) -> int:
        return len(self._by_hash)


@dataclass
class UI:
    """Every component an event reads or writes (so views can build dicts keyed by component)."""

    session: Any = None
    autosave: Any = None
    tabs: Any = None
    status: Any = None
    status_details: Any = None
    sketch_file: Any = None
    samples: Any = None
    project_file: Any = None
    save_project: Any = None
    project_out: Any = None
    confirm: Any = None
    confirm_text: Any = None
    confirm_yes: Any = None
    confirm_no: Any = None
    tool: Any = None
    view: Any = None
    undo: Any = None
    redo: Any = None
    find: Any = None
    gap: Any = None
    canvas: Any = None
    hint: Any = None
    table: Any = None
    name_box: Any = None
    rename: Any = None
    merge_dd: Any = None
    merge: Any = None
    delete: Any = None
    brush: Any = None
    editor: Any = None
    reload_editor: Any = None
    apply_editor: Any = None
    fabric_title: Any = None
    swatches: Any = None
    library: Any = None
    swatch_upload: Any = None
    swatch_preview: Any = None
    pattern: Any = None
    rotation: Any = None
    strength: Any = None
    tileable: Any = None
    all_fabric: Any = None
    colour: Any = None
    keep: Any = None
    shading: Any = None
    seed: Any = None
    preview_size: Any = None
    preview_iters: Any = None
    size_mode: Any = None
    print_cm: Any = None
    print_dpi: Any = None
    size_px: Any = None
    full_iters: Any = None
    size_note: Any = None
    preview: Any = None
    full: Any = None
    cancel: Any = None
    progress: Any = None
    live: Any = None
    compare: Any = None
    report: Any = None
    transparent: Any = None
    png: Any = None
    zip: Any = None
    dl_note: Any = None


# --------------------------------------------------------------------------------------------- views → dicts
def _canvas_value(s: Optional[Session]) -> Optional[dict]:
    """The canvas component's value: a fresh PNG in the session folder (never rewritten while served)."""
    if s is None or not s.has_sketch:
        return None
    img = V.canvas_image(s.frame, s.snap, s.view)
    path = s.file("canvas.png")
    Image.fromarray(img).save(path, format="PNG", compress_level=1)
    s.canvas_files.append(path)
    for old in s.canvas_files[:-KEEP_CANVAS_FILES]:
        old.unlink(missing_ok=True)
    s.canvas_files = s.canvas_files[-KEEP_CANVAS_FILES:]
    H_, W_ = s.size
    alt = f"Sketch {s.sketch_name}, {len(s.snap.regions)} regions" + (
        f", {s.snap.selected.name} selected" if s.snap.selected else "")
    return {"src": f"/gradio_api/file={path}", "w": W_, "h": H_, "alt": html.escape(alt, quote=True)}


def _thumb_file(s: Session, swatch: str) -> Optional[str]:
    """The swatch's thumbnail as a file of the session's own (written once per swatch; never rewritten)."""
    thumbs = s.__dict__.setdefault("thumbs", {})
    if swatch not in thumbs:
        try:
            img = V.thumbnail(swatch, 192)
        except (GarmentStyleError, OSError):
            return None
        path = s.file("swatch.png")
        Image.fromarray(img).save(path, format="PNG")
        thumbs[swatch] = str(path)
    return thumbs[swatch]


def _progress_html(fraction: float, label: str) -> str:
    pct = max(0, min(100, round(100 * fraction)))
    return (f"<div role='status' aria-live='polite'><progress value='{pct}' max='100' aria-label='Render progress'>"
            f"{pct}%</progress><div class='gs-plabel'>{html.escape(label)}</div></div>")


def workspace_view(ui: UI, s: Optional[Session], *, write: bool = True) -> dict:
    """The canvas, table, region controls, fabric controls and undo/redo state for the session (``write``: see
    :func:`downloads_view`)."""
    snap = s.snap if s is not None else None
    names = snap.names() if snap is not None else []
    sel = snap.selected if snap is not None else None
    f = sel.fabric if sel is not None else M.Fabric()
    swatch = _thumb_file(s, f.swatch) if sel is not None and f.swatch else None
    hist = s.history if s is not None else None
    out = {
        ui.canvas: _canvas_value(s),
        ui.table: V.regions_html(snap, has_sketch=s is not None and s.has_sketch),
        ui.name_box: gr.Textbox(value=sel.name if sel else ""),
        ui.merge_dd: gr.Dropdown(choices=[n for n in names if sel is None or n != sel.name], value=[], multiselect=True),
        ui.fabric_title: (f"Fabric of **{html.escape(sel.name)}**: {html.escape(f.label or 'none yet')}" if sel
                          else "Select a region to choose its fabric."),
        ui.swatch_preview: swatch,
        ui.pattern: f.pattern, ui.rotation: f.rotation, ui.strength: f.strength, ui.tileable: f.tileable,
        ui.undo: gr.Button(interactive=bool(hist and hist.can_undo)),
        ui.redo: gr.Button(interactive=bool(hist and hist.can_redo)),
        ui.library: gr.Gallery(value=[(p, lab) for lab, p in (s.library if s is not None else [])] or None),
    }
    out.update(downloads_view(ui, s, write=write))
    out.update(autosave_view(ui, s))
    return out


def _files_missing(s: Optional[Session]) -> bool:
    """True when the session has a render whose PNG or project ZIP is not written yet."""
    rec = s.render if s is not None else None
    return rec is not None and (rec.png is None or rec.zip is None)


def downloads_pending(s: Optional[Session]) -> bool:
    """True when the render on screen may be downloaded but its files are not written yet."""
    return _files_missing(s) and H.downloads_state(s, s.look if s is not None else None)[0]


def downloads_view(ui: UI, s: Optional[Session], *, write: bool = True) -> dict:
    """The download buttons: enabled with the files of the render on screen, or disabled saying why.

    ``write=False`` does not write missing files (a finished render is shown first, its PNG and project ZIP —
    up to a few seconds at print size — follow in a second answer): the buttons wait, saying so."""
    ok, why = H.downloads_state(s, s.look if s is not None else None)
    rec = s.render if s is not None else None
    missing = ok and _files_missing(s)
    if missing and not write:
        ok, why = False, "Preparing the downloads…"
    elif missing:
        try:
            H.export(s, s.transparent)
        except GarmentStyleError as exc:
            ok, why = False, str(exc)
    if not ok:
        return {ui.png: gr.DownloadButton("Download PNG", value=None, interactive=False),
                ui.zip: gr.DownloadButton("Download project (ZIP)", value=None, interactive=False),
                ui.dl_note: why}
    w, h = rec.size
    return {ui.png: gr.DownloadButton(f"Download PNG · {w}×{h}", value=str(rec.png), interactive=True),
            ui.zip: gr.DownloadButton("Download project (ZIP)", value=str(rec.zip), interactive=True),
            ui.dl_note: "The downloads are the render on screen."}


def render_view(ui: UI, s: Optional[Session]) -> dict:
    rec = s.render if s is not None else None
    if rec is None:
        return {ui.live: None, ui.compare: None, ui.report: "", ui.progress: ""}
    before = None
    if rec.result is not None:
        from garmentstyle import io

        if getattr(rec, "before", None) is None:
            rec.before = s.file("before.png")  # type: ignore[attr-defined]
            io.save_image(rec.result.sketch, rec.before)
        before = (str(rec.before), str(rec.image))
    return {ui.live: str(rec.image), ui.compare: before, ui.report: H.report_markdown(s),
            ui.progress: _progress_html(1.0, rec.message or "Render restored.")}


def autosave_view(ui: UI, s: Optional[Session]) -> dict:
    ctx = getattr(ui, "ctx", None)
    if ctx is None or s is None or not s.has_sketch:
        return {}
    return {ui.autosave: P.to_browser(ctx, s, s.look)}


def everything(ui: UI, s: Optional[Session], hint: str = "") -> dict:
    out = {ui.session: s, **workspace_view(ui, s), **render_view(ui, s), ui.hint: hint,
           ui.confirm: gr.Group(visible=False)}
    look = s.look if s is not None else None
    if look:
        out.update({ui.colour: look[0], ui.keep: look[1], ui.shading: look[2], ui.seed: look[3]})
    if s is not None and s.has_sketch:
        out[ui.tabs] = gr.Tabs(selected="tab-regions")  # a sketch is on the canvas: its regions are next
        out[ui.view] = s.view
        out[ui.size_note] = f"Sketch size: {s.size[1]}×{s.size[0]} px."
    return out


# --------------------------------------------------------------------------------------------- layout
def _header(ui: UI) -> None:
    headline, details = H.status_markdown()
    with gr.Row(elem_id="gs-header", equal_height=False):
        gr.HTML("<h1>garmentstyle</h1>", js_on_load=None, elem_id="gs-title")
        ui.status = gr.Markdown(headline, elem_id="gs-status")
        with gr.Accordion("Engine details", open=False, elem_id="gs-status-details"):
            ui.status_details = gr.Markdown(details)


def _sketch_tab(ui: UI, sample_sketches: list) -> None:
    with gr.Tab("Sketch", id="tab-sketch"):
        ui.sketch_file = gr.File(label=f"Upload a sketch (PNG, JPEG, WebP or TIFF, up to {MAX_UPLOAD_MB} MB)",
                                 file_types=list(SKETCH_SUFFIXES), type="filepath", height=120, elem_id="gs-upload")
        ui.samples = gr.Gallery(value=sample_sketches, label="…or pick a sample sketch", columns=4, rows=1,
                                height=150, allow_preview=False, format="png", interactive=False,
                                elem_id="gs-samples", buttons=[])
        with gr.Row():
            ui.project_file = gr.UploadButton("Open a project (ZIP)…", file_types=list(PROJECT_SUFFIXES),
                                              type="filepath", elem_id="gs-open")
            ui.save_project = gr.Button("Save the project (ZIP)", elem_id="gs-save")
        ui.project_out = gr.File(label="Your project file: click its name to download it", visible=False,
                                 interactive=False, elem_id="gs-project-out")
        with gr.Group(visible=False, elem_id="gs-confirm") as ui.confirm:
            ui.confirm_text = gr.Markdown("")
            with gr.Row():
                ui.confirm_yes = gr.Button("Replace my regions", variant="stop", elem_id="gs-confirm-yes")
                ui.confirm_no = gr.Button("Keep working on this sketch", elem_id="gs-confirm-no")


def _regions_tab(ui: UI, sam_available: bool) -> None:
    from garmentstyle.segment.types import MAX_GAP

    with gr.Tab("Regions", id="tab-regions"):
        ui.find = gr.Button("Find garment", variant="primary", elem_id="gs-find")
        ui.gap = gr.Slider(0, MAX_GAP, value=0, step=1, label="Gap tolerance (px; 0 = automatic)",
                           info="Closes small gaps in the outlines; raise it if a click floods the background.",
                           visible=not sam_available, elem_id="gs-gap")
        ui.table = gr.HTML(V.regions_html(None), elem_id="gs-regions", js_on_load=TABLE_JS)
        with gr.Row(equal_height=True):
            ui.name_box = gr.Textbox(label="Name of the selected region", scale=3, max_lines=1, elem_id="gs-rename")
            ui.rename = gr.Button("Rename", scale=1, elem_id="gs-rename-btn")
        with gr.Row(equal_height=True):
            ui.merge_dd = gr.Dropdown(choices=[], value=[], multiselect=True, label="Merge into the selected",
                                      scale=3, elem_id="gs-merge")
            ui.merge = gr.Button("Merge", scale=1, elem_id="gs-merge-btn")
        ui.delete = gr.Button("Delete the selected region", elem_id="gs-delete")
        with gr.Accordion("Touch up with the brush", open=False, elem_id="gs-brush") as ui.brush:
            gr.Markdown(f"One layer per region (layer list, bottom right of the canvas): paint to add to it; paint "
                        f"on **{H.REMOVE_LAYER}** to take pixels out of every region. Then **Apply**.")
            ui.editor = gr.ImageEditor(type="numpy", image_mode="RGBA", format="png", sources=[], transforms=[],
                                       layers=gr.LayerOptions(layers=[H.REMOVE_LAYER], allow_additional_layers=False),
                                       brush=gr.Brush(default_size=12, colors=[_hex(c) for c in M.PALETTE],
                                                      color_mode="defaults"),
                                       eraser=gr.Eraser(default_size=12), interactive=True, height=460,
                                       label="Brush touch-up", elem_id="gs-editor")
            with gr.Row():
                ui.reload_editor = gr.Button("Reload regions into the editor")
                ui.apply_editor = gr.Button("Apply brush strokes", variant="primary", elem_id="gs-apply")


def _fabric_tab(ui: UI, sample_swatches: list) -> None:
    with gr.Tab("Fabric", id="tab-fabric"):
        ui.fabric_title = gr.Markdown("Select a region to choose its fabric.", elem_id="gs-fabric-title")
        ui.swatches = gr.Gallery(value=sample_swatches, label="Bundled fabrics (click one to use it)", columns=4,
                                 height=170, allow_preview=False, format="png", interactive=False,
                                 elem_id="gs-swatches", buttons=[])
        ui.library = gr.Gallery(value=None, label="Your swatches (this session and project)", columns=4,
                                height=110, allow_preview=False, format="png", interactive=False,
                                elem_id="gs-library", buttons=[])
        with gr.Row():
            ui.swatch_preview = gr.Image(label="Fabric of the selected region", interactive=False, format="png",
                                         height=130, buttons=[], elem_id="gs-swatch", scale=1)
            with gr.Column(scale=1):
                ui.swatch_upload = gr.UploadButton("Upload a swatch…", file_types=list(SWATCH_SUFFIXES),
                                                   type="filepath", elem_id="gs-swatch-upload")
                ui.all_fabric = gr.Button("Use it for every region", elem_id="gs-all")
        ui.pattern = gr.Slider(M.PATTERN_RANGE[0], 8, value=1.0, step=0.05, label="Pattern size (× the swatch)",
                               elem_id="gs-pattern")
        ui.rotation = gr.Slider(-180, 180, value=0, step=1, label="Pattern rotation (°)", elem_id="gs-rotation")
        ui.strength = gr.Slider(0, 3, value=1.0, step=0.1, label="Fabric strength",
                                info="How strongly this region follows its fabric, relative to the others.",
                                elem_id="gs-strength")
        # The old "blend the edges" flag: swatch preparation (the fabric panel) does this now for every swatch, so the
        # control is hidden; it stays an input so old projects keep their value.
        ui.tileable = gr.Checkbox(value=False, label="Blend the swatch's edges (a photo that does not repeat)",
                                  elem_id="gs-tileable", visible=False)
        fabric_panel.build(ui)  # swatch preparation, colourway, grain (B: ui/fabric_panel.py)


def _settings_tab(ui: UI, ctx: AppContext) -> None:
    d = RenderOptions()
    with gr.Tab("Render", id="tab-settings"):
        ui.colour = gr.Radio(H.colour_choices(), value=d.colour, label="Colour (all regions)", elem_id="gs-colour")
        ui.keep = gr.Checkbox(value=d.keep_sketch, label="Keep the sketch's lines and shading", elem_id="gs-keep")
        ui.shading = gr.Slider(0, 1, value=d.shading_strength, step=0.05, label="Shading strength",
                               elem_id="gs-shading")
        ui.seed = gr.Number(value=d.seed, precision=0, label="Seed", minimum=0, elem_id="gs-seed")
        ui.preview_size = gr.Slider(64, 1024, value=ctx.preview_size, step=16, label="Preview size (px)",
                                    elem_id="gs-preview-size")
        ui.preview_iters = gr.Slider(1, 100, value=ctx.preview_iterations, step=1, label="Preview iterations",
                                     elem_id="gs-preview-iters")
        ui.size_mode = gr.Radio([("The sketch's own size", H.SIZE_SKETCH), ("Print size (cm at dpi)", H.SIZE_PRINT),
                                 ("Pixels (longest side)", H.SIZE_PX)],
                                value=H.SIZE_SKETCH if ctx.full_size == 0 else H.SIZE_PX,
                                label="Full render size", elem_id="gs-size-mode")
        ui.size_note = gr.Markdown("", elem_id="gs-size-note")
        with gr.Row():
            ui.print_cm = gr.Number(value=30, label="Print width (cm)", minimum=1, maximum=500, elem_id="gs-print-cm")
            ui.print_dpi = gr.Number(value=300, label="Print dpi", minimum=36, maximum=H.MAX_DPI,
                                     elem_id="gs-print-dpi")
            ui.size_px = gr.Number(value=ctx.full_size or 2048, precision=0, minimum=32, maximum=MAX_SIZE,
                                   label="Longest side (px)", elem_id="gs-size-px")
        ui.full_iters = gr.Slider(1, 500, value=ctx.full_iterations, step=1, label="Full render iterations",
                                  elem_id="gs-full-iters")


def _canvas_column(ui: UI) -> None:
    with gr.Row(equal_height=True, elem_id="gs-toolbar"):
        ui.tool = gr.Radio([(H.TOOL_LABELS[t], t) for t in H.TOOLS], value=H.TOOL_SELECT, label="Click tool",
                           elem_id="gs-tool", scale=5, min_width=300)
        ui.view = gr.Radio([("Fabric", V.VIEW_FABRIC), ("Colour masks", V.VIEW_COLOUR)], value=V.VIEW_COLOUR,
                           label="Show", elem_id="gs-view", scale=2, min_width=150)
    with gr.Row(equal_height=True, elem_id="gs-hintbar"):  # what a click did, beside the buttons that undo it
        with gr.Column(scale=0, min_width=160, elem_id="gs-undo-redo"), gr.Row():
            ui.undo = gr.Button("↶ Undo", interactive=False, elem_id="gs-undo", size="sm", min_width=72)
            ui.redo = gr.Button("↷ Redo", interactive=False, elem_id="gs-redo", size="sm", min_width=72)
        ui.hint = gr.Markdown("Load a sketch to begin (Sketch tab).", elem_id="gs-hint")
    ui.canvas = gr.HTML(None, html_template=CANVAS_TEMPLATE, js_on_load=CANVAS_JS, elem_id="gs-canvas")


def _render_column(ui: UI) -> None:
    with gr.Row(elem_id="gs-render-buttons"):
        ui.preview = gr.Button("Preview", variant="primary", elem_id="gs-preview", size="md", min_width=80)
        ui.full = gr.Button("Full render", variant="secondary", elem_id="gs-full", size="md", min_width=80)
        ui.cancel = gr.Button("Cancel", variant="stop", elem_id="gs-cancel", size="md", min_width=70)
    ui.progress = gr.HTML("", elem_id="gs-progress", js_on_load=None)
    ui.live = gr.Image(label="Render", interactive=False, format="png", elem_id="gs-live", height=LIVE_HEIGHT,
                       buttons=["fullscreen"], type="filepath")
    with gr.Row(equal_height=True):
        ui.png = gr.DownloadButton("Download PNG", interactive=False, variant="primary", elem_id="gs-png")
        ui.zip = gr.DownloadButton("Download project (ZIP)", interactive=False, elem_id="gs-zip")
    ui.dl_note = gr.Markdown("Render first", elem_id="gs-dl-note")
    with gr.Accordion("Before / after", open=False):
        ui.compare = gr.ImageSlider(label="Before / after", interactive=False, format="png", max_height=400,
                                    elem_id="gs-compare", buttons=["fullscreen"])
    ui.report = gr.Markdown("", elem_id="gs-report")
    ui.transparent = gr.Checkbox(label="Transparent background outside the garment", value=False,
                                 elem_id="gs-transparent")


def build_app(ctx: AppContext) -> gr.Blocks:
    """The Blocks app (queued) for one :class:`AppContext`; :func:`launch` serves it with the CSS and theme."""
    ui = UI()
    ui.ctx = ctx  # type: ignore[attr-defined]
    tabs = Tabs()
    sam_available = ctx.sam() is not None
    with gr.Blocks(title=TITLE, delete_cache=(3600, 6 * 3600), fill_width=True) as demo:
        ui.session = gr.State(None, delete_callback=lambda s: s.release() if isinstance(s, Session) else None)
        ui.autosave = gr.BrowserState(None, storage_key=AUTOSAVE_KEY)
        _header(ui)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=300):
                with gr.Tabs(elem_id="gs-tabs") as ui.tabs:
                    _sketch_tab(ui, H.sample_sketches())
                    _regions_tab(ui, sam_available)
                    _fabric_tab(ui, H.sample_swatches())
                    _settings_tab(ui, ctx)
            with gr.Column(scale=5, min_width=380, elem_id="gs-canvas-col"):
                _canvas_column(ui)
            with gr.Column(scale=4, min_width=320, elem_id="gs-render-col"):
                _render_column(ui)
        from . import validate, wiring

        wiring.wire(ui, ctx, tabs, demo)
        fabric_panel.wire(ui, ctx)
        validate.checked_by_handlers(demo.blocks.values())  # handlers check every value (no Gradio tracebacks)
    demo.queue(max_size=ctx.queue_size, default_concurrency_limit=4)
    demo.tabs = tabs  # type: ignore[attr-defined]
    demo.ui = ui  # type: ignore[attr-defined]
    return demo


def launch(*, host: str = "127.0.0.1", port: int = 7860, share: bool = False, ctx: Optional[AppContext] = None,
           preview_size: Optional[int] = None, preview_iterations: Optional[int] = None, device: str = "auto",
           init: str = "tiled", quiet: bool = False, block: bool = True) -> tuple[gr.Blocks, AppContext]:
    """Build and serve the app.

    Everything the app writes, and Gradio's own cache of uploads and outputs, lives in one temp folder (removed on
    exit); only that folder is served (no ``allowed_paths``). Renders go through the app's render queue, one at a
    time, on ``device`` ("auto": the GPU when there is one).
    """
    if ctx is None:
        kwargs: dict[str, Any] = {"base_options": RenderOptions(device=device, init=init)}
        if preview_size is not None:
            kwargs["preview_size"] = preview_size
        if preview_iterations is not None:
            kwargs["preview_iterations"] = preview_iterations
        ctx = AppContext.create(**kwargs)
    os.environ["GRADIO_TEMP_DIR"] = str(ctx.root)  # Gradio's cache inside the app's temp folder (read at build)
    demo = build_app(ctx)
    try:
        demo.launch(server_name=host, server_port=port, share=share, max_file_size=f"{MAX_UPLOAD_MB}mb",
                    show_error=False, quiet=quiet, prevent_thread_lock=not block, css=CSS, theme=THEME, head=HEAD,
                    run_history=False,  # no copy of sketches and regions in the browser's run history
                    footer_links=["gradio", "settings"])
    finally:
        if block:
            ctx.cleanup()
    return demo, ctx


__all__ = ["build_app", "launch", "CSS", "TITLE", "workspace_view", "downloads_view", "render_view", "everything"]

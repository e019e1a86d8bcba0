"""The events of the workspace: each binds components to a small function that calls :mod:`ui.handlers` and
returns a dict keyed by component (built by the views in :mod:`ui.app`). One ``wire_*`` function per area."""
from __future__ import annotations

from typing import Any, Optional

import gradio as gr
import numpy as np
from PIL import Image

from garmentstyle.errors import GarmentStyleError, InputError

from . import handlers as H, project as P
from .app import (UI, Tabs, _guard, _progress_html, downloads_pending, downloads_view, everything, render_view,
                  workspace_view)
from .state import AppContext, Session

#: Quiet events: no Gradio progress overlay (the hint and the progress line say what happens).
QUIET = dict(show_progress="hidden")


def _all(ui: UI) -> list:
    """Every component an ``everything`` view may write."""
    names = ["session", "autosave", "canvas", "table", "name_box", "merge_dd", "fabric_title", "swatch_preview",
             "pattern", "rotation", "strength", "tileable", "undo", "redo", "library", "png", "zip", "dl_note", "live",
             "compare", "report", "progress", "hint", "confirm", "colour", "keep", "shading", "seed", "view",
             "size_note", "tabs"]
    return [getattr(ui, n) for n in names]


def _edit_outputs(ui: UI, *, controls: bool = True) -> list:
    names = ["session", "autosave", "canvas", "table", "name_box", "merge_dd", "fabric_title", "swatch_preview",
             "undo", "redo", "library", "png", "zip", "dl_note", "hint"]
    if controls:
        names += ["pattern", "rotation", "strength", "tileable"]
    return [getattr(ui, n) for n in names]


def _png_file(s: Session, arr: np.ndarray, name: str) -> str:
    """A fresh PNG in the session folder (Gradio would otherwise cache images by content hash, and rewrite one file
    for two identical images while it is being served)."""
    path = s.file(name)
    Image.fromarray(arr).save(path, format="PNG", compress_level=1)
    s.canvas_files.append(path)
    return str(path)


def wire(ui: UI, ctx: AppContext, tabs: Tabs, demo: gr.Blocks) -> None:
    wire_session(ui, ctx, tabs, demo)
    wire_sketch(ui, ctx, tabs)
    wire_regions(ui, ctx)
    wire_brush(ui)
    wire_fabric(ui, ctx)
    wire_render(ui, ctx)


# --------------------------------------------------------------------------------------------- session
def wire_session(ui: UI, ctx: AppContext, tabs: Tabs, demo: gr.Blocks) -> None:
    def on_load(saved, request: gr.Request):
        s, msg = P.from_browser(ctx, saved)
        if s is None:
            return {ui.hint: msg or "Load a sketch to begin (Sketch tab)."}
        tabs.own(request, s)
        return everything(ui, s, msg)

    def on_unload(request: gr.Request):
        tabs.close(request)

    demo.load(_guard(on_load), [ui.autosave], _all(ui), api_visibility="undocumented", **QUIET)
    demo.unload(on_unload)


# --------------------------------------------------------------------------------------------- sketch / project
def wire_sketch(ui: UI, ctx: AppContext, tabs: Tabs) -> None:
    def ask(s: Session, kind: str, value: Any, what: str) -> dict:
        s.pending = (kind, value)
        n = len(s.snap.regions)
        text = (f"**Replace your {n} region{'s' if n != 1 else ''} of {s.sketch_name}** with {what}? Save the "
                "project first (Download project) if you want to come back to it.")
        return {ui.session: s, ui.confirm: gr.Group(visible=True), ui.confirm_text: text,
                ui.hint: "Waiting for your answer: replace the regions, or keep working."}

    def load(s: Optional[Session], kind: str, value: Any, request) -> dict:
        if kind == "sample":
            s = H.load_sample(ctx, s, value)
            msg = f"Loaded the sample {s.sketch_name} ({s.size[1]}×{s.size[0]} px). Press Find garment."
        elif kind == "project":
            s, msg = P.open_project(ctx, s, value)
        else:
            s = H.load_sketch(ctx, s, value)
            msg = f"Loaded {s.sketch_name} ({s.size[1]}×{s.size[0]} px). Press Find garment."
        tabs.own(request, s)
        return everything(ui, s, msg)

    def on_upload(s, path, request: gr.Request):
        if H.needs_confirm(s):
            H.validate_upload(path, what="sketch")
            return ask(s, "file", path, "the new sketch")
        return load(s, "file", path, request)

    def on_sample(s, evt: gr.SelectData, request: gr.Request):
        names = [n for _, n in H.sample_sketches()]
        name = names[evt.index] if isinstance(evt.index, int) and 0 <= evt.index < len(names) else None
        if H.needs_confirm(s):
            return ask(s, "sample", name, f"the sample {name}")
        return load(s, "sample", name, request)

    def on_project(s, path, request: gr.Request):
        if H.needs_confirm(s):
            return ask(s, "project", path, "the project")
        return load(s, "project", path, request)

    def on_confirm(s, request: gr.Request):
        if s is None or s.pending is None:
            return {ui.confirm: gr.Group(visible=False)}
        kind, value = s.pending
        s.pending = None
        return load(s, kind, value, request)

    def on_keep(s):
        if s is not None:
            s.pending = None
        return {ui.confirm: gr.Group(visible=False), ui.hint: "Kept your regions."}

    def on_save(s):  # a project at any time, with or without a render (the render's downloads need one)
        s = H.require_sketch(s)
        path = P.save(s, s.file(f"{s.sketch_name or 'garment'}-project.zip"), look=s.look)
        n = len(s.snap.regions)
        return {ui.project_out: gr.File(value=str(path), visible=True),
                ui.hint: f"Saved the project ({n} region{'s' if n != 1 else ''}); download it from the Sketch tab."}

    outs = _all(ui) + [ui.confirm_text]
    ui.save_project.click(_guard(on_save), [ui.session], [ui.project_out, ui.hint], api_name="save_project", **QUIET)
    ui.sketch_file.upload(_guard(on_upload), [ui.session, ui.sketch_file], outs, api_name="upload_sketch", **QUIET)
    ui.samples.select(_guard(on_sample), [ui.session], outs, api_visibility="undocumented", **QUIET)
    ui.project_file.upload(_guard(on_project), [ui.session, ui.project_file], outs, api_name="open_project", **QUIET)
    ui.confirm_yes.click(_guard(on_confirm), [ui.session], outs, api_name="confirm_replace", **QUIET)
    ui.confirm_no.click(on_keep, [ui.session], [ui.confirm, ui.hint], api_visibility="undocumented", **QUIET)


# --------------------------------------------------------------------------------------------- regions
def wire_regions(ui: UI, ctx: AppContext) -> None:
    def edited(s, msg: str) -> dict:
        return {ui.session: s, **workspace_view(ui, s), ui.hint: msg}

    def on_find(s, gap):
        s, msg = H.find_garment(ctx, s, gap)
        return edited(s, msg)

    def on_canvas(s, tool, gap, evt: gr.EventData):
        data = getattr(evt, "_data", None) or {}
        if not isinstance(data, dict):
            raise InputError("that click did not arrive; click again")
        s, msg = H.click(ctx, s, data.get("fx"), data.get("fy"), tool, shift=data.get("shift", False),
                         alt=data.get("alt", False), gap=gap)
        return edited(s, msg)

    def on_row(s, evt: gr.EventData):
        data = getattr(evt, "_data", None) or {}
        s = H.select_region(s, data.get("uid") if isinstance(data, dict) else None)
        return edited(s, f"Selected “{s.snap.selected.name}”.")

    def on_select_name(s, name):  # the API's way to select (scripts, tests)
        s = H.select_by_name(s, name)
        return edited(s, f"Selected “{s.snap.selected.name}”.")

    def on_rename(s, name):
        return edited(*H.rename_region(s, name))

    def on_merge(s, names):
        return edited(*H.merge_regions(s, names))

    def on_delete(s):
        return edited(*H.delete_region(s))

    def on_undo(s):
        return edited(*H.undo(s))

    def on_redo(s):
        return edited(*H.redo(s))

    outs = _edit_outputs(ui)
    seg = dict(concurrency_id="segment", concurrency_limit=2, **QUIET)
    ui.find.click(_guard(on_find), [ui.session, ui.gap], outs, api_name="find_garment", **seg)
    ui.canvas.click(_guard(on_canvas), [ui.session, ui.tool, ui.gap], outs, api_name="canvas_click",
                    trigger_mode="always_last", **seg)
    ui.table.click(_guard(on_row), [ui.session], outs, api_visibility="undocumented", **QUIET)
    sel_name = gr.Textbox(visible=False)
    sel_name.submit(_guard(on_select_name), [ui.session, sel_name], outs, api_name="select_region", **QUIET)
    ui.rename.click(_guard(on_rename), [ui.session, ui.name_box], outs, api_name="rename_region", **QUIET)
    ui.name_box.submit(_guard(on_rename), [ui.session, ui.name_box], outs, api_visibility="undocumented", **QUIET)
    ui.merge.click(_guard(on_merge), [ui.session, ui.merge_dd], outs, api_name="merge_regions", **QUIET)
    ui.delete.click(_guard(on_delete), [ui.session], outs, api_name="delete_region", **QUIET)
    ui.undo.click(_guard(on_undo), [ui.session], outs, api_name="undo", **QUIET)
    ui.redo.click(_guard(on_redo), [ui.session], outs, api_name="redo", **QUIET)


def wire_brush(ui: UI) -> None:
    def editor_update(s) -> Any:
        value = H.editor_value(s)
        if value is None:
            return gr.ImageEditor(value=None)
        h, w = value["background"].shape[:2]
        regions = s.snap.regions
        return gr.ImageEditor(value=value, canvas_size=(w, h),
                              layers=gr.LayerOptions(layers=H.editor_layer_names(s), allow_additional_layers=False),
                              brush=gr.Brush(default_size=max(4, w // 60),
                                             colors=["#%02x%02x%02x" % r.colour for r in regions] + ["#000000"],
                                             default_color=("#%02x%02x%02x" % regions[0].colour) if regions
                                             else "#000000", color_mode="defaults"))

    def on_open(s):
        return {ui.session: s, ui.editor: editor_update(s)}

    def on_apply(s, value):
        # The brush folds away, emptied: Gradio's ImageEditor, re-filled with a sketch-sized value while open, kept
        # re-encoding and uploading its layers (150 uploads, the page's main thread busy 5-19 s, so Undo after a
        # brush stroke took that long); opening it again loads the regions afresh (on_open).
        s, msg = H.apply_editor(s, value)
        return {ui.session: s, **workspace_view(ui, s), ui.hint: msg + " Open the brush again to paint more.",
                ui.editor: gr.ImageEditor(value=None), ui.brush: gr.Accordion(open=False)}

    ui.brush.expand(on_open, [ui.session], [ui.session, ui.editor], api_visibility="undocumented")
    ui.reload_editor.click(on_open, [ui.session], [ui.session, ui.editor], api_visibility="undocumented")
    ui.apply_editor.click(_guard(on_apply), [ui.session, ui.editor], _edit_outputs(ui) + [ui.editor, ui.brush],
                          api_name="apply_brush", **QUIET)


# --------------------------------------------------------------------------------------------- fabric
def wire_fabric(ui: UI, ctx: AppContext) -> None:
    swatch_names = [n for _, n in H.sample_swatches()]

    def changed(s, msg: str = "", *, controls: bool = True) -> dict:
        out = {ui.session: s, **workspace_view(ui, s), ui.hint: msg}
        if not controls:
            for c in (ui.pattern, ui.rotation, ui.strength, ui.tileable):
                out.pop(c, None)
        return out

    def on_sample(s, evt: gr.SelectData):
        i = evt.index if isinstance(evt.index, int) else -1
        if not 0 <= i < len(swatch_names):
            raise InputError("pick one of the bundled fabrics")
        return changed(H.choose_sample_swatch(s, swatch_names[i]), f"Fabric: {swatch_names[i]}.")

    def on_library(s, evt: gr.SelectData):
        return changed(H.choose_library_swatch(s, evt.index), "Fabric from your swatches.")

    def on_upload(s, path):
        return changed(H.upload_swatch(ctx, s, path), "Uploaded; it is in Your swatches for every region.")

    def on_settings(s, pattern, rotation, strength, tileable):
        return changed(H.set_fabric(s, pattern=pattern, rotation=rotation, strength=strength, tileable=tileable),
                       controls=False)

    def on_all(s):
        return changed(H.fabric_to_all(s), "Every region has this fabric now.")

    def on_view(s, mode):
        if s is None or not s.has_sketch:
            return {}
        return changed(H.set_view(s, mode), controls=False)

    outs = _edit_outputs(ui)
    ui.swatches.select(_guard(on_sample), [ui.session], outs, api_visibility="undocumented", **QUIET)
    ui.library.select(_guard(on_library), [ui.session], outs, api_visibility="undocumented", **QUIET)
    ui.swatch_upload.upload(_guard(on_upload), [ui.session, ui.swatch_upload], outs, api_name="upload_swatch",
                            **QUIET)
    quiet_outs = _edit_outputs(ui, controls=False)
    for c in (ui.pattern, ui.rotation, ui.strength, ui.tileable):
        c.input(_guard(on_settings), [ui.session, ui.pattern, ui.rotation, ui.strength, ui.tileable], quiet_outs,
                trigger_mode="always_last", api_visibility="undocumented", **QUIET)
    ui.all_fabric.click(_guard(on_all), [ui.session], outs, api_visibility="undocumented", **QUIET)
    ui.view.input(_guard(on_view), [ui.session, ui.view], quiet_outs, api_name="set_view", **QUIET)


# --------------------------------------------------------------------------------------------- render
def wire_render(ui: UI, ctx: AppContext) -> None:
    def on_look(s, colour, keep, shading, seed):
        look = H.look_settings(colour, keep, shading, seed)
        if s is None or not s.has_sketch:
            return {}
        s.look = look
        return {ui.session: s, **downloads_view(ui, s)}

    def run(s, size, iterations, look, kind):
        s = H.require_sketch(s)
        s.look = look
        options = H.render_options(ctx, size=size, iterations=iterations, look=look)
        gen = H.render(ctx, s, options, kind=kind, look=look)
        first = True
        for u in gen:
            out = {ui.progress: _progress_html(u.fraction, u.message)}
            if first:
                out.update(downloads_view(ui, s))
                first = False
            if u.image is not None and not u.done:
                out[ui.live] = _png_file(s, u.image, "live.png")
            if u.done:  # the render first, its files (seconds at print size) in a second, whole answer (the last
                # answer is all an API client sees; Gradio sends the browser only what changed)
                if u.result is not None:
                    out.update(render_view(ui, s))
                    out[ui.progress] = _progress_html(1.0, u.message)
                out[ui.session] = s
                out.update(workspace_view(ui, s, write=False))
                if downloads_pending(s):
                    yield dict(out)
                    out.update(downloads_view(ui, s))
            yield out

    def on_preview(s, size, iterations, colour, keep, shading, seed):
        yield from run(s, size, iterations, H.look_settings(colour, keep, shading, seed), "preview")

    def on_full(s, mode, cm, dpi, px, iterations, colour, keep, shading, seed):
        s = H.require_sketch(s)
        size = H.output_size(s, mode, cm=cm, dpi=dpi, px=px)
        yield from run(s, size, iterations, H.look_settings(colour, keep, shading, seed), "full")

    def on_size(s, mode, cm, dpi, px):
        if s is None or not s.has_sketch:
            return "Sketch size: load a sketch first."
        try:
            size = H.output_size(s, mode, cm=cm, dpi=dpi, px=px)
        except GarmentStyleError as exc:
            return f"⚠ {exc}"
        H_, W_ = s.size
        if size == 0:
            return f"The full render will be {W_}×{H_} px (the sketch's own size)."
        sc = size / max(H_, W_)
        return f"The full render will be {round(W_ * sc)}×{round(H_ * sc)} px."

    def on_cancel(s):
        return {ui.progress: _progress_html(0.0, H.cancel(s))} if s is not None and s.rendering else {}

    def on_transparent(s, value):
        if s is None or s.render is None:
            return {}
        s.transparent = bool(value)
        s.render.png = s.render.zip = None
        return downloads_view(ui, s)

    look = [ui.colour, ui.keep, ui.shading, ui.seed]
    for c in look:
        c.input(_guard(on_look), [ui.session, *look], [ui.session, ui.png, ui.zip, ui.dl_note],
                api_visibility="undocumented", **QUIET)
    outs = _edit_outputs(ui) + [ui.progress, ui.live, ui.compare, ui.report]
    kw = dict(concurrency_id="render", concurrency_limit=None, **QUIET)
    ui.preview.click(_guard(on_preview), [ui.session, ui.preview_size, ui.preview_iters, *look], outs,
                     api_name="render_preview", **kw)
    ui.full.click(_guard(on_full), [ui.session, ui.size_mode, ui.print_cm, ui.print_dpi, ui.size_px, ui.full_iters,
                                    *look], outs, api_name="render_full", **kw)
    ui.cancel.click(on_cancel, [ui.session], [ui.progress], queue=False, api_name="cancel")
    for c in (ui.size_mode, ui.print_cm, ui.print_dpi, ui.size_px):
        c.input(on_size, [ui.session, ui.size_mode, ui.print_cm, ui.print_dpi, ui.size_px], [ui.size_note],
                api_visibility="undocumented", **QUIET)
    ui.transparent.input(_guard(on_transparent), [ui.session, ui.transparent], [ui.png, ui.zip, ui.dl_note],
                         api_name="export", **QUIET)


__all__ = ["wire"]

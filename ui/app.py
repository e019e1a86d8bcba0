"""The Gradio Blocks wiring of the designer's web app. Behaviour lives in :mod:`ui.handlers`; this module only lays
out components, binds events, and turns the library's errors into ``gr.Error`` in one place (:func:`_guard`).

    from ui.app import launch
    launch(port=7860)                 # what `garmentstyle ui` runs
"""
import functools
import html
import inspect
import os
from typing import Any, Optional

import gradio as gr

from garmentstyle.errors import GarmentStyleError
from garmentstyle.transfer import MAX_SIZE, RenderOptions

from . import handlers as H
from .state import MAX_UPLOAD_MB, SKETCH_SUFFIXES, SWATCH_SUFFIXES, AppContext

TITLE = "garmentstyle"
THEME = gr.themes.Default(primary_hue="indigo", neutral_hue="slate", radius_size="md")

CSS = """
.gradio-container {max-width: 1400px !important; margin: auto;}
#gs-header h1 {margin: 0 0 2px 0; font-size: 1.6rem;}
#gs-header p {margin: 0; color: var(--body-text-color-subdued);}
#gs-status {font-size: 0.85rem; padding: 6px 12px; border-radius: 8px; background: var(--background-fill-secondary);}
#gs-status p {margin: 0;}
.gs-step h3 {margin: 18px 0 4px 0; border-bottom: 1px solid var(--border-color-primary); padding-bottom: 4px;}
.gs-step p {margin: 0; color: var(--body-text-color-subdued);}
#gs-hint {min-height: 1.5em; font-size: 0.9rem;}
#gs-regions table.gs-regions {width: 100%; border-collapse: collapse; font-size: 0.9rem; border: none !important;
                              margin: 0;}
#gs-regions table.gs-regions th, #gs-regions table.gs-regions td {border: none !important; padding: 5px 8px;
    border-bottom: 1px solid var(--border-color-primary) !important; background: none;}
#gs-regions table.gs-regions tr {border: none !important;}
#gs-regions table.gs-regions th {text-align: left; font-weight: 600; font-size: 0.8rem;
                                 color: var(--body-text-color-subdued);}
table.gs-regions tr.gs-sel td {background: var(--background-fill-secondary); font-weight: 600;}
.gs-chip {display: inline-block; width: 16px; height: 16px; border-radius: 4px; vertical-align: middle;
          border: 1px solid rgba(0,0,0,.25);}
.gs-num {text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap;}
.gs-dim {color: var(--body-text-color-subdued); font-weight: normal;}
.gs-empty {padding: 10px; color: var(--body-text-color-subdued); font-style: italic;}
#gs-render-status {min-height: 1.5em;}
#gs-progress {min-height: 44px;}
#gs-live img, #gs-canvas img {width: 100%; height: 100%; object-fit: contain;}
#gs-report details summary {cursor: pointer; color: var(--body-text-color-subdued);}
"""


# --------------------------------------------------------------------------------------------- errors, in one place
def _user_error(exc: GarmentStyleError) -> gr.Error:
    """The message shown to the designer: escaped (Gradio renders it as HTML; it may quote a file name), kept on
    screen until closed, and not logged as a crash."""
    return gr.Error(html.escape(str(exc)), duration=None, print_exception=False)


def _guard(fn):
    """Wrap a handler so a :class:`GarmentStyleError` (something the designer can fix) shows as a ``gr.Error``
    with its message; anything else is a bug and keeps its traceback. Works for plain functions and generators,
    and keeps the signature Gradio inspects (``gr.Progress``, ``gr.SelectData``)."""
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


# --------------------------------------------------------------------------------------------- the app
def build_app(ctx: AppContext) -> gr.Blocks:
    """The Blocks app (queued) for one :class:`AppContext`; :func:`launch` serves it with the CSS and theme."""
    defaults = RenderOptions()
    sample_sketches = H.sample_sketches()
    sample_swatches = H.sample_swatches()
    sketch_names = [n for _, n in sample_sketches]
    swatch_names = [n for _, n in sample_swatches]
    sam_available = ctx.sam() is not None
    from garmentstyle.segment.types import MAX_GAP

    with gr.Blocks(title=TITLE, delete_cache=(3600, 6 * 3600)) as demo:
        session = gr.State(None)

        # ---------------------------------------------------------------- header
        gr.HTML("<div id='gs-header'><h1>garmentstyle</h1><p>Put fabric swatches into the regions of a garment "
                "sketch: load a sketch, mark its regions, pick a fabric for each, render, export.</p></div>")
        status = gr.Markdown(H.status_markdown(), elem_id="gs-status")

        # ---------------------------------------------------------------- 1 sketch
        gr.Markdown("### 1 · Sketch\nUpload your flat or croquis, or start from a sample.", elem_classes="gs-step")
        with gr.Row(equal_height=True):
            sketch_file = gr.File(label="Upload a sketch (PNG, JPEG, WebP or TIFF, up to "
                                        f"{MAX_UPLOAD_MB} MB)", file_types=list(SKETCH_SUFFIXES), type="filepath",
                                  height=170, scale=2, elem_id="gs-upload")
            sample_gallery = gr.Gallery(value=sample_sketches, label="…or pick a sample", columns=4, rows=1,
                                        height=210, allow_preview=False, format="png", interactive=False, scale=3,
                                        elem_id="gs-samples", buttons=[])

        # ---------------------------------------------------------------- 2 regions
        gr.Markdown("### 2 · Regions\nFind the garment automatically, then click the sketch to add, remove or "
                    "split regions.", elem_classes="gs-step")
        with gr.Row():
            with gr.Column(scale=3):
                canvas = gr.Image(label="Sketch: click to add or remove a region", interactive=False, format="png",
                                  height=560, elem_id="gs-canvas", buttons=["fullscreen"],
                                  placeholder="Load a sketch in step 1")
                hint = gr.Markdown("", elem_id="gs-hint")
            with gr.Column(scale=2):
                find_btn = gr.Button("Find garment", variant="primary", elem_id="gs-find")
                click_action = gr.Radio(list(H.CLICK_ACTIONS), value=H.CLICK_NEW, label="A click on the sketch…",
                                        elem_id="gs-click-action")
                gap = gr.Slider(0, MAX_GAP, value=0, step=1, label="Gap tolerance (px; 0 = automatic)",
                                info="Closes small gaps in the outlines before filling; raise it if a click "
                                     "floods the background.", visible=not sam_available, elem_id="gs-gap")
                region_list = gr.HTML(H.regions_html(None), elem_id="gs-regions")
                region_dd = gr.Dropdown(choices=[], value=None, label="Selected region", interactive=True,
                                        elem_id="gs-region")
                with gr.Row(equal_height=True):
                    name_box = gr.Textbox(label="Rename to", scale=3, max_lines=1, elem_id="gs-rename")
                    rename_btn = gr.Button("Rename", scale=1, size="md")
                with gr.Row(equal_height=True):
                    merge_dd = gr.Dropdown(choices=[], value=[], multiselect=True, label="Merge into the selected",
                                           scale=3, elem_id="gs-merge")
                    merge_btn = gr.Button("Merge", scale=1, size="md")
                delete_btn = gr.Button("Delete the selected region", size="md", elem_id="gs-delete")
        with gr.Accordion("Touch up regions with the brush", open=False, elem_id="gs-brush") as brush_acc:
            gr.Markdown(f"Each region has its own layer (layer list, bottom right of the canvas). Choose a layer and "
                        f"paint to add to that region; paint on **{H.REMOVE_LAYER}** to take pixels out of every "
                        "region. The eraser undoes your strokes. Then press **Apply brush strokes**.")
            editor = gr.ImageEditor(type="numpy", image_mode="RGBA", format="png", sources=[], transforms=[],
                                    layers=gr.LayerOptions(layers=[H.REMOVE_LAYER], allow_additional_layers=False),
                                    brush=gr.Brush(default_size=12, colors=[_hex(c) for c in _palette()],
                                                   color_mode="defaults"),
                                    eraser=gr.Eraser(default_size=12), interactive=True, height=560,
                                    label="Brush touch-up", elem_id="gs-editor")
            with gr.Row():
                reload_btn = gr.Button("Reload regions into the editor", size="md")
                apply_btn = gr.Button("Apply brush strokes", variant="primary", size="md", elem_id="gs-apply")

        # ---------------------------------------------------------------- 3 fabrics
        gr.Markdown("### 3 · Fabrics\nChoose the fabric of the selected region, and how the fabric sits in the "
                    "sketch.", elem_classes="gs-step")
        fabric_title = gr.Markdown("Select a region to choose its fabric.", elem_id="gs-fabric-title")
        swatch_gallery = gr.Gallery(value=sample_swatches, label="Bundled fabrics (click one to use it)",
                                    columns=max(1, len(sample_swatches)), rows=1, height=200, allow_preview=False,
                                    format="png", interactive=False, elem_id="gs-swatches", buttons=[])
        with gr.Row():
            with gr.Column(scale=1, min_width=200):
                swatch_preview = gr.Image(label="Fabric of the selected region", interactive=False, format="png",
                                          height=200, buttons=[], elem_id="gs-swatch")
                swatch_upload = gr.UploadButton("Upload your own swatch…", file_types=list(SWATCH_SUFFIXES),
                                                type="filepath", size="md", elem_id="gs-swatch-upload")
                all_btn = gr.Button("Use it for every region", size="md")
            with gr.Column(scale=2):
                pattern = gr.Slider(0.25, 4, value=1.0, step=0.05, label="Pattern size (× the swatch)",
                                    elem_id="gs-pattern")
                rotation = gr.Slider(-180, 180, value=0, step=1, label="Pattern rotation (°)", elem_id="gs-rotation")
                strength = gr.Slider(0, 3, value=1.0, step=0.1, label="Fabric strength",
                                     info="How strongly this region follows its fabric, relative to the others.",
                                     elem_id="gs-strength")
                tileable = gr.Checkbox(value=False, label="Blend the swatch's edges (a photo that does not repeat)",
                                       info="Hides tiling seams of cloth photos; leave off for prints that repeat.",
                                       elem_id="gs-tileable")
            with gr.Column(scale=2):
                colour = gr.Radio(H.colour_choices(), value=defaults.colour, label="Colour (all regions)",
                                  elem_id="gs-colour")
                keep_sketch = gr.Checkbox(value=defaults.keep_sketch, label="Keep the sketch's lines and shading",
                                          elem_id="gs-keep")
                shading = gr.Slider(0, 1, value=defaults.shading_strength, step=0.05, label="Shading strength",
                                    elem_id="gs-shading")
                seed = gr.Number(value=defaults.seed, precision=0, label="Seed", minimum=0, elem_id="gs-seed")

        # ---------------------------------------------------------------- 4 render
        gr.Markdown("### 4 · Render\nA fast preview first; then the full render at the size you need.",
                    elem_classes="gs-step")
        with gr.Row():
            with gr.Column(scale=2, min_width=260):
                preview_size = gr.Slider(64, 1024, value=ctx.preview_size, step=16,
                                         label="Preview size (px, longest side)", elem_id="gs-preview-size")
                preview_iters = gr.Slider(1, 100, value=ctx.preview_iterations, step=1, label="Preview iterations",
                                          elem_id="gs-preview-iters")
                preview_btn = gr.Button("Preview", variant="primary", elem_id="gs-preview")
                full_size = gr.Slider(128, MAX_SIZE, value=ctx.full_size, step=64,
                                      label="Full render size (px, longest side)", elem_id="gs-full-size")
                full_iters = gr.Slider(1, 500, value=ctx.full_iterations, step=1, label="Full render iterations",
                                       elem_id="gs-full-iters")
                full_btn = gr.Button("Full render", variant="secondary", elem_id="gs-full")
                cancel_btn = gr.Button("Cancel", variant="stop", elem_id="gs-cancel")
                progress_slot = gr.HTML("", elem_id="gs-progress")  # where the progress bar shows
                render_status = gr.Markdown("", elem_id="gs-render-status")
            with gr.Column(scale=3):
                live = gr.Image(label="Render (updates while it works)", interactive=False, format="png", height=480,
                                elem_id="gs-live", buttons=["fullscreen"])
            with gr.Column(scale=3):
                compare = gr.ImageSlider(label="Before / after", interactive=False, format="png", max_height=480,
                                         elem_id="gs-compare", buttons=["fullscreen"])
        report = gr.Markdown("", elem_id="gs-report")

        # ---------------------------------------------------------------- 5 export
        gr.Markdown("### 5 · Export\nThe last render as a PNG at full resolution, and a layered ZIP (sketch, line "
                    "art, fabric, masks, swatches, and `recipe.json` for `garmentstyle render --recipe`).",
                    elem_classes="gs-step")
        with gr.Row(equal_height=True):
            transparent = gr.Checkbox(label="Transparent background outside the garment", value=False,
                                      elem_id="gs-transparent")
            png_btn = gr.DownloadButton("Download PNG", interactive=False, variant="primary", elem_id="gs-png")
            zip_btn = gr.DownloadButton("Download layered ZIP", interactive=False, elem_id="gs-zip")

        # ================================================================ wiring
        region_outputs = [canvas, region_list, region_dd, merge_dd, name_box, fabric_title, swatch_preview, pattern,
                          rotation, strength, tileable]

        def region_view(s) -> list:
            names = H.region_names(s)
            cur = H.current_name(s)
            fv = H.fabric_view(s)
            title = (f"Fabric for **{fv.region}**: {fv.label or 'none yet'}" if fv.region
                     else "Select a region to choose its fabric.")
            return [H.overlay_image(s), H.regions_html(s), gr.Dropdown(choices=names, value=cur),
                    gr.Dropdown(choices=[n for n in names if n != cur], value=[]), gr.Textbox(value=cur or ""),
                    title, fv.swatch, fv.pattern, fv.rotation, fv.strength, fv.tileable]

        render_reset = [live, compare, report, render_status, png_btn, zip_btn]

        def cleared_render() -> list:
            return [None, None, "", "", gr.DownloadButton(value=None, interactive=False),
                    gr.DownloadButton(value=None, interactive=False)]

        # -- 1 sketch
        def on_upload(s, path):
            s = H.load_sketch(ctx, s, path)
            return [s, *region_view(s), f"Loaded **{s.sketch_name}** ({s.size[1]}×{s.size[0]} px). Press "
                    "**Find garment**, or click inside the sketch.", *cleared_render()]

        def on_sample(s, evt: gr.SelectData):
            s = H.load_sample(ctx, s, sketch_names[evt.index])
            return [s, *region_view(s), f"Loaded the sample **{s.sketch_name}** ({s.size[1]}×{s.size[0]} px). "
                    "Press **Find garment**, or click inside the sketch.", *cleared_render()]

        load_outputs = [session, *region_outputs, hint, *render_reset]
        at_hint = dict(show_progress_on=[hint])  # progress and errors show in one place, not on every output
        sketch_file.upload(_guard(on_upload), [session, sketch_file], load_outputs, api_name="upload_sketch",
                           **at_hint)
        sample_gallery.select(_guard(on_sample), [session], load_outputs, api_visibility="undocumented", **at_hint)

        # -- 2 regions
        def on_find(s, gap):
            s, msg = H.find_garment(ctx, s, gap)
            return [s, *region_view(s), msg]

        def on_click(s, action, gap, evt: gr.SelectData):
            x, y = evt.index[0], evt.index[1]
            s, msg = H.click(ctx, s, x, y, action, gap)
            return [s, *region_view(s), msg]

        def on_select(s, name):
            s = H.select_region(s, name)
            return [s, *region_view(s)]

        def on_rename(s, name):
            s = H.rename_region(s, name)
            return [s, *region_view(s), f"Renamed to “{name.strip()}”."]

        def on_delete(s):
            s = H.delete_region(s)
            return [s, *region_view(s), "Deleted the region."]

        def on_merge(s, names):
            s = H.merge_regions(s, names)
            return [s, *region_view(s), "Merged."]

        seg_kw = dict(concurrency_id="segment", concurrency_limit=2, **at_hint)
        edit_outputs = [session, *region_outputs, hint]
        find_btn.click(_guard(on_find), [session, gap], edit_outputs, api_name="find_garment", **seg_kw)
        canvas.select(_guard(on_click), [session, click_action, gap], edit_outputs, api_visibility="undocumented",
                      trigger_mode="always_last", **seg_kw)
        region_dd.input(_guard(on_select), [session, region_dd], [session, *region_outputs], api_name="select_region",
                        show_progress_on=[region_dd])
        rename_btn.click(_guard(on_rename), [session, name_box], edit_outputs, api_name="rename_region", **at_hint)
        name_box.submit(_guard(on_rename), [session, name_box], edit_outputs, api_visibility="undocumented",
                        **at_hint)
        delete_btn.click(_guard(on_delete), [session], edit_outputs, api_name="delete_region", **at_hint)
        merge_btn.click(_guard(on_merge), [session, merge_dd], edit_outputs, api_name="merge_regions", **at_hint)

        # -- brush editor
        def editor_update(s):
            value = H.editor_value(s)
            if value is None:
                return gr.ImageEditor(value=None)
            h, w = value["background"].shape[:2]
            regions = s.regions
            return gr.ImageEditor(value=value, canvas_size=(w, h),
                                  layers=gr.LayerOptions(layers=H.editor_layer_names(s), allow_additional_layers=False),
                                  brush=gr.Brush(default_size=max(4, w // 60),
                                                 colors=[_hex(r.colour) for r in regions] + ["#000000"],
                                                 default_color=_hex(regions[0].colour) if regions else "#000000",
                                                 color_mode="defaults"))

        def on_editor_load(s):
            return [s, editor_update(s)]

        def on_apply(s, value):
            s, msg = H.apply_editor(s, value)
            return [s, *region_view(s), msg, editor_update(s)]

        brush_acc.expand(on_editor_load, [session], [session, editor], api_visibility="undocumented")
        reload_btn.click(on_editor_load, [session], [session, editor], api_visibility="undocumented")
        apply_btn.click(_guard(on_apply), [session, editor], [*edit_outputs, editor], api_visibility="undocumented",
                        **at_hint)

        # -- 3 fabrics
        def on_swatch_sample(s, evt: gr.SelectData):
            s = H.choose_sample_swatch(s, swatch_names[evt.index])
            return [s, *region_view(s)]

        def on_swatch_upload(s, path):
            s = H.upload_swatch(ctx, s, path)
            return [s, *region_view(s)]

        def on_fabric(s, pattern_size, pattern_rotation, fabric_strength, blend_edges):
            s = H.set_fabric(s, pattern=pattern_size, rotation=pattern_rotation, strength=fabric_strength,
                             tileable=blend_edges)
            return [s, H.regions_html(s)]

        def on_fabric_all(s):
            s = H.fabric_to_all(s)
            return [s, *region_view(s)]

        at_fabric = dict(show_progress_on=[fabric_title])
        swatch_gallery.select(_guard(on_swatch_sample), [session], [session, *region_outputs], **at_fabric,
                              api_visibility="undocumented")
        swatch_upload.upload(_guard(on_swatch_upload), [session, swatch_upload], [session, *region_outputs],
                             api_name="upload_swatch", **at_fabric)
        for sl in (pattern, rotation, strength, tileable):
            sl.input(_guard(on_fabric), [session, pattern, rotation, strength, tileable], [session, region_list],
                     trigger_mode="always_last", show_progress="hidden", api_visibility="undocumented")
        all_btn.click(_guard(on_fabric_all), [session], [session, *region_outputs], api_visibility="undocumented",
                      **at_fabric)

        # -- 4 render
        look = [colour, keep_sketch, shading, seed]

        def run_render(s, size, iterations, colour, keep_sketch, shading_strength, seed, kind, progress):
            options = H.render_options(ctx, size=size, iterations=iterations, colour=colour, keep_sketch=keep_sketch,
                                       shading_strength=shading_strength, seed=seed)
            for u in H.render(ctx, s, options, kind=kind):
                progress(u.fraction, desc=u.message)
                if not u.done:
                    yield [gr.skip() if u.image is None else u.image, u.message, gr.skip(), gr.skip(), s]
                elif u.result is None:
                    yield [gr.skip(), u.message, gr.skip(), gr.skip(), s]
                else:
                    yield [u.image, u.message, H.before_after(s), H.report_markdown(s), s]

        def on_preview(s, size, iterations, colour, keep_sketch, shading_strength, seed, progress=gr.Progress()):
            yield from run_render(s, size, iterations, colour, keep_sketch, shading_strength, seed, "preview",
                                  progress)

        def on_full(s, size, iterations, colour, keep_sketch, shading_strength, seed, progress=gr.Progress()):
            yield from run_render(s, size, iterations, colour, keep_sketch, shading_strength, seed, "full", progress)

        def on_export(s, transparent):
            if s is None or s.result is None:
                return [gr.DownloadButton(value=None, interactive=False),
                        gr.DownloadButton(value=None, interactive=False)]
            png, zpath = H.export(s, transparent)
            w, h = s.result.report["output_size"]
            return [gr.DownloadButton(f"Download PNG · {w}×{h}", value=str(png), interactive=True),
                    gr.DownloadButton("Download layered ZIP", value=str(zpath), interactive=True)]

        render_kw = dict(concurrency_id="render", concurrency_limit=1, show_progress_on=[progress_slot])
        render_outputs = [live, render_status, compare, report, session]
        for btn, fn, size_in, iters_in, name in (
            (preview_btn, on_preview, preview_size, preview_iters, "render_preview"),
            (full_btn, on_full, full_size, full_iters, "render_full"),
        ):
            (btn.click(H.arm, [session], None, queue=False, api_visibility="undocumented")
                .then(_guard(fn), [session, size_in, iters_in, *look], render_outputs, api_name=name, **render_kw)
                .success(_guard(on_export), [session, transparent], [png_btn, zip_btn], api_visibility="undocumented",
                         show_progress_on=[progress_slot]))
        cancel_btn.click(H.cancel, [session], [render_status], queue=False, api_name="cancel")
        transparent.input(_guard(on_export), [session, transparent], [png_btn, zip_btn], api_name="export",
                          show_progress_on=[progress_slot])

        demo.load(H.status_markdown, None, [status], api_visibility="undocumented")
    # Bounded queue; render events are limited to one at a time by their shared concurrency id (above).
    demo.queue(max_size=ctx.queue_size, default_concurrency_limit=4)
    return demo


def _palette():
    from .state import PALETTE

    return PALETTE


def launch(*, host: str = "127.0.0.1", port: int = 7860, share: bool = False, ctx: Optional[AppContext] = None,
           preview_size: Optional[int] = None, preview_iterations: Optional[int] = None, device: str = "auto",
           quiet: bool = False, block: bool = True) -> tuple[gr.Blocks, AppContext]:
    """Build and serve the app.

    Everything the app writes, and Gradio's own cache of uploads and outputs, lives in one temp folder (removed on
    exit); only that folder is served (no ``allowed_paths``). Renders go through a bounded queue, one at a time, on
    ``device`` ("auto": the GPU when there is one).
    """
    if ctx is None:
        kwargs: dict[str, Any] = {"base_options": RenderOptions(device=device)}
        if preview_size is not None:
            kwargs["preview_size"] = preview_size
        if preview_iterations is not None:
            kwargs["preview_iterations"] = preview_iterations
        ctx = AppContext.create(**kwargs)
    os.environ["GRADIO_TEMP_DIR"] = str(ctx.root)  # Gradio's cache inside the app's temp folder (read at build)
    demo = build_app(ctx)
    try:
        demo.launch(server_name=host, server_port=port, share=share, max_file_size=f"{MAX_UPLOAD_MB}mb",
                    show_error=False, quiet=quiet, prevent_thread_lock=not block, css=CSS, theme=THEME,
                    footer_links=["gradio", "settings"])
    finally:
        if block:
            ctx.cleanup()
    return demo, ctx


__all__ = ["build_app", "launch", "CSS", "TITLE"]

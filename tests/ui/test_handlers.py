"""The web app's handlers as plain functions: uploads, regions, brush edits, fabrics, render, cancel, export."""
from __future__ import annotations

import io as _io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from garmentstyle import colourway as cw, samples
from garmentstyle.errors import GarmentStyleError, ImageReadError, InputError, SegmentationError
from ui import handlers as H, model as M, project as P, views as V
from ui.state import ensure

DRESS = samples.sketch_path("dress")  # 640×768, two parts: bodice (top), skirt (bottom)
BODICE_XY = (320, 300)  # sketch pixels inside the bodice
SKIRT_XY = (320, 600)


def _f(session, xy):
    """Sketch pixel (x, y) → the fractions a canvas click sends."""
    H_, W_ = session.size
    return (xy[0] + 0.5) / W_, (xy[1] + 0.5) / H_


@pytest.fixture
def dress(ctx):
    return H.load_sample(ctx, None, "dress")


@pytest.fixture
def found(ctx, dress):
    session, _ = H.find_garment(ctx, dress, 0)
    return session


# ------------------------------------------------------------------------------------------------ uploads
class TestUploads:
    def test_sample_loads_and_resets(self, ctx):
        s = H.load_sample(ctx, None, "dress")
        assert s.size == (768, 640)
        assert s.sketch_path.is_file() and s.sketch_path.suffix == ".png"
        assert s.sketch_path.is_relative_to(ctx.root)
        assert s.frame.image.shape[:2] == (768, 640) and s.frame.image.dtype == np.uint8
        assert s.snap.regions == () and s.snap.current is None and not s.history.can_undo

    def test_upload_normalises_to_png_in_the_session_folder(self, ctx, tmp_path):
        src = tmp_path / "my sketch.jpg"
        Image.open(DRESS).convert("RGB").save(src, quality=90)
        s = H.load_sketch(ctx, None, src)
        assert s.sketch_name == "my_sketch"
        assert Image.open(s.sketch_path).format == "PNG"
        assert s.sketch_path.is_relative_to(s.dir)

    def test_large_sketch_is_shown_smaller_and_clicks_map_back(self, ctx, tmp_path):
        src = tmp_path / "big.png"
        Image.open(DRESS).resize((1280, 1536)).save(src)
        s = H.load_sketch(ctx, None, src)
        assert max(s.frame.image.shape[:2]) == V.DISPLAY_SIDE
        s, msg = H.click(ctx, s, 640 / 1280, 1200 / 1536, H.TOOL_NEW)  # the skirt
        assert s.snap.shape == (1536, 1280) and s.snap.mask(s.snap.current)[1200, 640]

    @pytest.mark.parametrize("suffix", [".webp", ".tif", ".jpeg"])
    def test_every_advertised_format_loads(self, ctx, tmp_path, suffix):
        src = tmp_path / f"dress{suffix}"
        Image.open(DRESS).convert("RGB").save(src)
        s = H.load_sketch(ctx, None, src)
        assert s.size == (768, 640) and s.sketch_name == "dress"

    @pytest.mark.parametrize("name", ["notes.txt", "drawing.svg", "noextension"])
    def test_wrong_type_is_refused_by_name(self, ctx, tmp_path, name):
        p = tmp_path / name
        p.write_bytes(b"hello")
        with pytest.raises(ImageReadError, match="must be an image file"):
            H.load_sketch(ctx, None, p)

    def test_not_an_image_is_refused_by_content(self, ctx, tmp_path):
        p = tmp_path / "fake.png"
        p.write_text("this is not a png")
        with pytest.raises(ImageReadError, match="not an image file") as exc:
            H.load_sketch(ctx, None, p)
        assert str(tmp_path) not in str(exc.value)  # the server path never reaches the browser

    def test_truncated_image_is_refused(self, ctx, tmp_path):
        full = tmp_path / "full.png"
        Image.open(DRESS).save(full)
        cut = tmp_path / "cut.png"
        cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
        with pytest.raises(ImageReadError, match="damaged or truncated"):
            H.load_sketch(ctx, None, cut)

    def test_decompression_bomb_is_refused(self, ctx, tmp_path):
        bomb = tmp_path / "bomb.png"
        Image.new("1", (10_000, 6_000)).save(bomb)  # 60 MP in a few kB
        assert bomb.stat().st_size < 100_000
        with pytest.raises(ImageReadError, match="too large|decompression bomb"):
            H.load_sketch(ctx, None, bomb)

    def test_oversized_file_is_refused(self, ctx, tmp_path, monkeypatch):
        import ui.handlers

        monkeypatch.setattr(ui.handlers, "MAX_UPLOAD_MB", 0)
        p = tmp_path / "a.png"
        Image.open(DRESS).save(p)
        with pytest.raises(ImageReadError, match="the limit is 0 MB"):
            H.load_sketch(ctx, None, p)

    def test_tiny_sketch_is_refused(self, ctx, tmp_path):
        p = tmp_path / "tiny.png"
        Image.new("RGB", (40, 40), "white").save(p)
        with pytest.raises(ImageReadError, match="at least 64 px"):
            H.load_sketch(ctx, None, p)

    def test_nothing_uploaded(self, ctx):
        with pytest.raises(InputError, match="no sketch file"):
            H.load_sketch(ctx, None, None)


    def test_wrong_typed_upload(self, ctx):
        with pytest.raises(InputError, match="did not arrive as a file"):
            H.load_sketch(ctx, None, 5)


# ------------------------------------------------------------------------------------------------ regions
def _owner(s, xy):
    return s.snap.uid_at(*xy)


class TestClicks:
    def test_find_garment_makes_one_region_per_part_with_fabrics(self, ctx, dress):
        s, msg = H.find_garment(ctx, dress, 0)
        assert len(s.snap.regions) == 2
        assert "Found the garment in 2 parts" in msg and "line-art fill" in msg and "Shift-click" in msg
        assert s.snap.current == s.snap.regions[0].uid
        assert [r.fabric.label for r in s.snap.regions] == ["tartan", "floral"]
        assert s.history.can_undo  # one undo step back to no regions

    def test_needs_a_sketch(self, ctx):
        with pytest.raises(InputError, match="load a sketch first"):
            H.find_garment(ctx, None, 0)
        with pytest.raises(InputError, match="load a sketch first"):
            H.click(ctx, ensure(ctx, None), 0.1, 0.1)

    def test_a_plain_click_selects_and_changes_nothing_else(self, ctx, found):
        before = found.snap
        skirt = _owner(found, SKIRT_XY)
        bodice = _owner(found, BODICE_XY)
        s, msg = H.click(ctx, found, *_f(found, BODICE_XY))
        assert s.snap.current == bodice and "Selected" in msg
        s, msg = H.click(ctx, s, *_f(s, SKIRT_XY))
        assert s.snap.current == skirt
        assert M.same_content(s.snap, before) and s.snap.names() == before.names()  # nothing replaced or renamed
        with pytest.raises(InputError, match="no region here"):
            H.click(ctx, s, 0.01, 0.01)

    def test_shift_adds_and_alt_gives_the_area_back(self, ctx, found):
        bodice, skirt = _owner(found, BODICE_XY), _owner(found, SKIRT_XY)
        s, _ = H.click(ctx, found, *_f(found, BODICE_XY))  # select the bodice
        areas = s.snap.areas()
        s, msg = H.click(ctx, s, *_f(s, SKIRT_XY), shift=True)
        assert "Added to" in msg and _owner(s, SKIRT_XY) == bodice
        s, msg = H.click(ctx, s, *_f(s, SKIRT_XY), alt=True)
        assert "Removed from" in msg and _owner(s, SKIRT_XY) == skirt  # back to the region it came from
        assert s.snap.areas() == areas
        with pytest.raises(InputError, match="not part of"):
            H.click(ctx, s, *_f(s, SKIRT_XY), alt=True)

    def test_new_region_tool_carves_with_the_last_fabric(self, ctx, found):
        s = H.choose_sample_swatch(found, "denim")
        s, msg = H.click(ctx, s, *_f(s, SKIRT_XY), H.TOOL_NEW)
        new = s.snap.selected
        assert "Added “region”" in msg and new.fabric.label == "denim" and _owner(s, SKIRT_XY) == new.uid

    def test_new_region_before_any_fabric_choice_gets_a_bundled_fabric_and_renders(self, ctx, found):
        """After Find garment (or on a fresh sketch) no fabric was chosen yet: a New region gets the next bundled
        fabric, as Find garment's parts do, so a render does not stop with "has no fabric"."""
        s, msg = H.click(ctx, found, *_f(found, BODICE_XY), H.TOOL_NEW)
        new = s.snap.selected
        want = H.starting_fabrics(len(s.snap.regions))[-1]
        assert new.fabric.swatch == want.swatch and f"with {want.label}" in msg, msg
        assert len(H.render_regions(s)) == len([n for n in s.snap.areas().values() if n])
        fresh = H.load_sample(ctx, None, "dress")  # no regions at all yet
        d, _ = H.click(ctx, fresh, *_f(fresh, SKIRT_XY), H.TOOL_NEW)
        assert d.snap.selected.fabric.swatch == H.starting_fabrics(1)[0].swatch

    def test_first_add_makes_a_region(self, ctx, dress):
        s, _ = H.click(ctx, dress, *_f(dress, SKIRT_XY), shift=True)
        assert len(s.snap.regions) == 1

    def test_click_on_background_with_the_new_tool_says_what_to_do(self, ctx, dress):
        with pytest.raises(SegmentationError, match="background"):
            H.click(ctx, dress, 0.005, 0.005, H.TOOL_NEW)

    @pytest.mark.parametrize("fx,fy", [(float("nan"), 0.5), (0.5, float("inf")), (1.5, 0.5), ("a", 0.5),
                                       (None, 0.5), (True, 0.5)])
    def test_bad_click_coordinates(self, ctx, found, fx, fy):
        with pytest.raises(InputError, match="click's"):
            H.click(ctx, found, fx, fy)

    def test_unknown_tool_and_gap(self, ctx, found):
        with pytest.raises(InputError, match="click tool"):
            H.click(ctx, found, 0.5, 0.5, "paint")
        with pytest.raises(InputError, match="gap tolerance"):
            H.click(ctx, found, *_f(found, SKIRT_XY), H.TOOL_NEW, gap=float("nan"))

    def test_gap_slider_is_used(self, ctx, dress):
        s, _ = H.click(ctx, dress, *_f(dress, SKIRT_XY), H.TOOL_NEW, gap=6)
        assert s.snap.areas()[s.snap.current] > 1000

    def test_undo_redo_of_click_merge_rename_delete(self, ctx, found):
        start = found.snap
        s, _ = H.click(ctx, found, *_f(found, BODICE_XY))
        s, _ = H.click(ctx, s, *_f(s, SKIRT_XY), shift=True)
        after_add = s.snap
        a, b = (r.name for r in start.regions)
        s = H.select_by_name(s, a) if s.snap.by_name(a) else s
        s, _ = H.rename_region(s, "bodice")
        s, _ = H.undo(s)
        assert M.same_content(s.snap, after_add)
        s, _ = H.undo(s)
        assert M.same_content(s.snap, start)
        s, _ = H.redo(s)
        assert M.same_content(s.snap, after_add)
        s, _ = H.undo(s)
        s = H.select_by_name(s, b)
        s, _ = H.merge_regions(s, [a])
        assert s.snap.names() == [b]
        s, _ = H.undo(s)
        assert s.snap.names() == [a, b]
        s, _ = H.delete_region(s)
        s, _ = H.undo(s)
        assert M.same_content(s.snap, start)
        with pytest.raises(InputError, match="choose one or more"):
            H.merge_regions(s, "not a list")

    def test_table_row_selects_by_uid(self, found):
        uid = found.snap.regions[1].uid
        assert H.select_region(found, uid).snap.current == uid
        for bad in (0, -1, 2**80, "x", float("nan"), 999):
            with pytest.raises(InputError):
                H.select_region(found, bad)
        html_ = V.regions_html(found.snap)
        assert html_.count("data-uid=") == 2 and "role='button'" in html_ and "aria-pressed='true'" in html_


class TestSamClicks:
    def test_points_accumulate_on_the_selected_region(self, sam_ctx):
        s = H.load_sample(sam_ctx, None, "dress")
        s, _ = H.click(sam_ctx, s, *_f(s, BODICE_XY), H.TOOL_NEW)
        uid = s.snap.current
        area1 = s.snap.areas()[uid]
        s, _ = H.click(sam_ctx, s, *_f(s, SKIRT_XY), shift=True)
        assert [p[2] for p in s.snap.selected.points] == [1, 1] and s.snap.areas()[uid] > area1
        s, _ = H.click(sam_ctx, s, *_f(s, SKIRT_XY), alt=True)
        assert [p[2] for p in s.snap.selected.points] == [1, 1, 0] and _owner(s, SKIRT_XY) != uid
        assert sam_ctx.fake.calls[-1][-1][1] == 0  # the last prompt is a negative point

    def test_find_garment_uses_sam(self, sam_ctx):
        s = H.load_sample(sam_ctx, None, "dress")
        s, msg = H.find_garment(sam_ctx, s, 0)
        assert "Segment Anything" in msg and len(s.snap.regions) == 2


# ------------------------------------------------------------------------------------------------ brush editor
class TestEditor:
    def _layers(self, s, paint: dict[int, tuple[slice, slice]]):
        h, w = s.frame.image.shape[:2]
        layers = []
        for i in range(len(s.editor_uids) + 1):
            a = np.zeros((h, w, 4), np.uint8)
            if i in paint:
                a[paint[i]] = (255, 0, 0, 255)
            layers.append(a)
        return {"background": None, "layers": layers, "composite": None}

    def test_paint_adds_remove_layer_removes_and_undo(self, found):
        H.editor_value(found)
        assert H.editor_layer_names(found) == found.snap.names() + [H.REMOVE_LAYER]
        first = found.snap.regions[0].uid
        before = found.snap
        y0 = 700  # the skirt's hem (the display is the sketch's size here)
        s, msg = H.apply_editor(found, self._layers(found, {0: (slice(y0, y0 + 20), slice(300, 340))}))
        assert "Applied" in msg and s.snap.uid_at(320, 710) == first
        s, _ = H.apply_editor(s, self._layers(s, {len(s.editor_uids): (slice(y0, y0 + 20), slice(300, 340))}))
        assert s.snap.uid_at(320, 710) == 0
        s, _ = H.undo(s)
        s, _ = H.undo(s)
        assert M.same_content(s.snap, before)

    def test_stale_editor_and_no_strokes(self, found):
        H.editor_value(found)
        value = self._layers(found, {})
        _, msg = H.apply_editor(found, value)
        assert "No brush strokes" in msg
        H.delete_region(found)
        H.editor_value(found)
        with pytest.raises(InputError, match="regions changed"):
            H.apply_editor(found, value)


# ------------------------------------------------------------------------------------------------ fabrics
class TestFabrics:
    def test_sample_upload_library_settings_all(self, ctx, found, tmp_path):
        s = H.choose_sample_swatch(found, "denim")
        assert s.snap.selected.fabric.label == "denim"
        sw = tmp_path / "linen.jpg"
        Image.open(samples.swatch_path("stripes")).convert("RGB").save(sw)
        s = H.upload_swatch(ctx, s, sw)
        assert s.snap.selected.fabric.label == "linen.jpg" and Path(s.snap.selected.fabric.swatch).is_relative_to(s.dir)
        assert [lab for lab, _ in s.library] == ["linen.jpg"]
        s = H.select_region(s, s.snap.regions[1].uid)
        s = H.choose_library_swatch(s, 0)
        assert s.snap.selected.fabric.label == "linen.jpg"
        s = H.set_fabric(s, pattern=2.0, rotation=45, strength=1.5)
        f = s.snap.selected.fabric
        assert (f.pattern, f.rotation, f.strength) == (2.0, 45.0, 1.5)
        assert "×2" in V.regions_html(s.snap) and "45°" in V.regions_html(s.snap)
        s = H.fabric_to_all(s)
        assert all(r.fabric == f for r in s.snap.regions)

    @pytest.mark.parametrize("kw,match", [(dict(pattern=0), "pattern size"), (dict(pattern=float("nan")), "finite"),
                                          (dict(strength=-1), "fabric strength"), (dict(rotation="x"), "rotation"),
                                          (dict(pattern=None), "pattern size")])
    def test_bad_settings(self, found, kw, match):
        base = dict(pattern=1.0, rotation=0, strength=1.0)
        base.update(kw)
        with pytest.raises(InputError, match=match):
            H.set_fabric(found, **base)

    def test_bad_swatches(self, ctx, found, tmp_path):
        small = tmp_path / "small.png"
        Image.new("RGB", (8, 8), "red").save(small)
        with pytest.raises(ImageReadError, match="at least 16 px"):
            H.upload_swatch(ctx, found, small)
        with pytest.raises(InputError, match="unknown sample swatch"):
            H.choose_sample_swatch(found, "velvet")
        with pytest.raises(InputError, match="swatch"):
            H.choose_library_swatch(found, 3)

    def test_a_slider_drag_is_one_undo_step(self, found):
        n = len(found.history.past)
        for p in (1.1, 1.2, 1.3, 1.4):
            H.set_fabric(found, pattern=p, rotation=0, strength=1.0)
        assert len(found.history.past) == n + 1
        H.undo(found)
        assert found.snap.selected.fabric.pattern == 1.0

    def test_regions_for_the_api(self, found):
        H.set_fabric(found, pattern=2.0, rotation=30, strength=0.5, tileable=True)
        regions = H.render_regions(found)
        assert [r.name for r in regions] == found.snap.names()
        assert regions[0].scale == 0.5 and regions[0].rotation == 30 and regions[0].style_weight == 0.5
        assert regions[0].tileable and tuple(regions[0].mask.shape) == found.size

    def test_colour_choices_cover_every_mode(self):
        from garmentstyle.options import COLOUR_MODES

        assert [v for _, v in H.colour_choices()] == list(COLOUR_MODES)


class TestLiveFabric:
    def test_the_overlay_shows_the_fabric_and_follows_pattern_size(self, found):
        s = found
        colour = V.canvas_image(s.frame, s.snap, V.VIEW_COLOUR, labels=False)
        fab1 = V.canvas_image(s.frame, s.snap, V.VIEW_FABRIC, labels=False)
        import time

        t0 = time.process_time()  # CPU s: other sessions' load does not count
        H.set_fabric(s, pattern=2.5, rotation=0, strength=1.0)
        fab2 = V.canvas_image(s.frame, s.snap, V.VIEW_FABRIC, labels=False)
        secs = time.process_time() - t0
        sel = s.frame.labels(s.snap) == s.snap.current
        other = (s.frame.labels(s.snap) > 0) & ~sel
        diff = np.abs(fab1.astype(int) - fab2.astype(int)).sum(axis=2)
        assert diff[sel].mean() > 10  # the selected region's fabric changed …
        assert diff[other].mean() == 0  # … and nothing else did
        assert np.abs(fab1.astype(int) - colour.astype(int))[sel].mean() > 10  # fabric, not the colour tint
        assert (fab1[~(s.frame.labels(s.snap) > 0)] == s.frame.image[~(s.frame.labels(s.snap) > 0)]).all()
        assert secs < 0.5, secs  # CPU: 0.22 s measured at load 12 (wall 1.5 s there)

    def test_a_missing_swatch_shows_the_colour_tint(self, found):
        r = found.snap.regions[0]
        found.history.push(M.set_fabric(found.snap, r.uid, M.Fabric("/nonexistent.png", "gone")))
        img = V.canvas_image(found.frame, found.snap, V.VIEW_FABRIC)
        assert img.shape == found.frame.image.shape


# ------------------------------------------------------------------------------------------------ render/export
def _look(**kw):
    base = dict(colour="swatch", keep_sketch=True, shading_strength=1.0, seed=0)
    base.update(kw)
    return H.look_settings(base["colour"], base["keep_sketch"], base["shading_strength"], base["seed"])


def _options(ctx, **kw):
    return H.render_options(ctx, size=kw.pop("size", ctx.preview_size),
                            iterations=kw.pop("iterations", ctx.preview_iterations), look=_look(**kw))


class TestRender:
    def test_options_and_their_checks(self, ctx):
        o = _options(ctx, colour="luminance", seed=7)
        assert (o.size, o.iterations, o.colour, o.seed) == (96, 3, "luminance", 7)
        for kw, match in [(dict(colour="sepia"), "colour"), (dict(seed=2**80), "seed"), (dict(seed=-1), "seed"),
                          (dict(seed=1.5), "whole"), (dict(shading_strength=float("nan")), "shading"),
                          (dict(seed="zero"), "seed")]:
            with pytest.raises(InputError, match=match):
                _look(**kw)
        with pytest.raises(InputError, match="iterations"):
            _options(ctx, iterations=float("inf"))

    def test_full_render_size_defaults_to_the_sketch(self, ctx, found, tmp_path):
        from ui.state import AppContext

        assert AppContext.create(tmp_path / "other").full_size == 0
        assert H.output_size(found, H.SIZE_SKETCH) == 0
        assert H.output_size(found, H.SIZE_PX, px=1000) == 1000
        # 20 cm wide at 150 dpi: 1181 px wide, 1417 px on the long side of a 640×768 sketch
        assert H.output_size(found, H.SIZE_PRINT, cm=20, dpi=150) == round(20 / 2.54 * 150 * 768 / 640)
        with pytest.raises(InputError, match="above the 4096 px limit"):
            H.output_size(found, H.SIZE_PRINT, cm=100, dpi=300)
        with pytest.raises(InputError, match="dpi"):
            H.output_size(found, H.SIZE_PRINT, cm=10, dpi=float("nan"))
        last = list(H.render(ctx, found, _options(ctx, size=0, iterations=1), kind="full"))[-1]
        assert last.done and last.image.shape == (768, 640, 3)  # the sketch's own size

    def test_needs_regions(self, ctx, dress):
        with pytest.raises(InputError, match="no regions"):
            list(H.render(ctx, dress, _options(ctx)))

    def test_preview_streams_then_finishes_and_downloads_follow(self, ctx, found):
        look = _look()
        found.look = look
        assert H.downloads_state(found, look) == (False, "Render first")
        updates = list(H.render(ctx, found, _options(ctx), look=look))
        assert updates[0].fraction == 0.0 and not updates[0].done
        assert all(0.0 <= u.fraction <= 1.0 for u in updates)
        last = updates[-1]
        assert last.done and "Preview done" in last.message and last.image.shape == (96, 80, 3)
        rec = found.render
        assert rec.kind == "preview" and rec.size == (80, 96) and rec.image.is_file()
        assert H.downloads_state(found, look)[0]
        H.select_region(found, found.snap.regions[1].uid)  # selecting does not change the render
        assert H.downloads_state(found, look)[0]
        H.set_fabric(found, pattern=2.0, rotation=0, strength=1.0)
        assert H.downloads_state(found, look) == (False, "Out of date: the regions or fabrics changed since this "
                                                         "render")
        H.undo(found)
        assert H.downloads_state(found, look)[0]  # back to what is on screen
        assert not H.downloads_state(found, _look(seed=3))[0]
        md = H.report_markdown(found)
        assert "80×96" in md and "offline engine" in md

    def test_cancel_before_start_changes_nothing(self, ctx, found):
        found.cancel.set()
        updates = list(H.render(ctx, found, _options(ctx)))
        assert updates[-1].done and updates[-1].result is None and "cancelled" in updates[-1].message
        assert found.render is None and not found.cancel.is_set() and not found.rendering

    def test_cancel_midway_keeps_the_image_and_is_quick(self, noise_ctx):
        import time

        s = H.load_sample(noise_ctx, None, "dress")
        s, _ = H.find_garment(noise_ctx, s, 0)
        gen = H.render(noise_ctx, s, _options(noise_ctx, iterations=400))
        for u in gen:
            if u.image is not None and not u.done:
                assert H.cancel(s) == "Cancelling…"
                t0 = time.perf_counter()
                break
        rest = list(gen)
        assert time.perf_counter() - t0 < 1.5
        assert rest[-1].done and rest[-1].cancelled and rest[-1].result is not None
        assert rest[-1].result.report.cancelled is True and "kept the image so far" in rest[-1].message

    def test_waiting_renders_say_how_many_are_ahead(self, ctx, found):
        ticket = ctx.renders.ticket()
        assert ctx.renders.try_start(ticket, 1)  # someone else's render holds the slot
        gen = H.render(ctx, found, _options(ctx))
        assert next(gen).message == "Waiting for 1 render ahead of you…"
        ctx.renders.leave(ticket)
        assert list(gen)[-1].done

    def test_closing_the_stream_stops_the_worker(self, noise_ctx):
        import threading

        s = H.load_sample(noise_ctx, None, "dress")
        s, _ = H.find_garment(noise_ctx, s, 0)
        gen = H.render(noise_ctx, s, _options(noise_ctx, iterations=400))
        next(gen)
        next(gen)
        gen.close()  # the browser went away
        for t in threading.enumerate():
            if t.name.startswith("garmentstyle-render"):
                t.join(timeout=5)
        assert not any(t.name.startswith("garmentstyle-render") for t in threading.enumerate())

    def test_export_png_transparent_and_project(self, ctx, found):
        with pytest.raises(InputError, match="nothing to export"):
            H.export(found)
        list(H.render(ctx, found, _options(ctx)))
        png, zpath = H.export(found, transparent=False)
        assert png.name == "dress-preview-80x96.png" and png.is_relative_to(found.dir)
        im = Image.open(png)
        assert im.format == "PNG" and im.size == (80, 96) and im.mode == "RGB"
        png_t, _ = H.export(found, transparent=True)
        alpha = np.asarray(Image.open(png_t))[..., 3]
        assert png_t.name.endswith("-transparent.png") and alpha[0, 0] == 0 and alpha.max() == 255
        with zipfile.ZipFile(zpath) as zf:
            names = set(zf.namelist())
            recipe = json.loads(zf.read("recipe.json"))
        assert {"render.png", "sketch.png", "lineart.png", "recipe.json", "report.json",
                "project/workspace.json", "project/sketch.png", "project/labels.png"} <= names
        assert recipe["options"]["seed"] == 0 and len(recipe["regions"]) == 2


# ------------------------------------------------------------------------------------------------ projects
class TestProjects:
    def _edited(self, ctx, found, tmp_path):
        s, _ = H.rename_region(found, "skirt")
        sw = tmp_path / "linen.png"
        Image.open(samples.swatch_path("stripes")).save(sw)
        s = H.upload_swatch(ctx, s, sw)
        s = H.set_fabric(s, pattern=1.5, rotation=20, strength=2.0, tileable=True)
        s.look = _look(seed=5)
        return s

    def test_save_and_open_restores_everything(self, ctx, found, tmp_path):
        s = self._edited(ctx, found, tmp_path)
        list(H.render(ctx, s, _options(ctx, seed=5), look=s.look))
        _, zpath = H.export(s)
        o, msg = P.open_project(ctx, None, zpath)
        assert "2 regions and its render" in msg
        assert o.snap.names() == s.snap.names() and o.size == s.size
        assert np.array_equal(o.snap.labels.array > 0, s.snap.labels.array > 0)
        for a, b in zip(o.snap.regions, s.snap.regions):
            assert np.array_equal(o.snap.mask(a.uid), s.snap.mask(b.uid)) and a.colour == b.colour
            fa, fb = a.fabric, b.fabric
            assert (fa.label, fa.pattern, fa.rotation, fa.strength, fa.tileable) == \
                (fb.label, fb.pattern, fb.rotation, fb.strength, fb.tileable)
            assert np.array_equal(np.asarray(Image.open(fa.swatch).convert("RGB")),
                                  np.asarray(Image.open(fb.swatch).convert("RGB")))
        assert o.snap.selected.name == s.snap.selected.name
        assert [lab for lab, _ in o.library] == ["linen.png"]
        assert np.array_equal(np.asarray(Image.open(o.render.image)), np.asarray(Image.open(s.render.image)))
        assert o.render.look == s.look and H.downloads_state(o, s.look)[0]

    def test_a_swatch_changed_on_disk_is_saved_as_it_is_now(self, ctx, found, tmp_path):
        """The project keeps each swatch's encoded PNG between saves (the app saves after every render), keyed by
        the file's version: a swatch rewritten in place is saved with its new pixels. PNG members are stored, not
        deflated a second time."""
        s = self._edited(ctx, found, tmp_path)
        list(H.render(ctx, s, _options(ctx)))

        def saved_swatches(path):
            with zipfile.ZipFile(path) as zf:
                assert all(i.compress_type == zipfile.ZIP_STORED for i in zf.infolist() if i.filename.endswith(".png"))
                assert zf.getinfo("recipe.json").compress_type == zipfile.ZIP_DEFLATED
                return {n: np.asarray(Image.open(_io.BytesIO(zf.read(n))).convert("RGB"))
                        for n in zf.namelist() if "swatches/" in n}

        library = s.library[0][1]  # the uploaded linen as the app keeps it
        first = saved_swatches(P.save(s, tmp_path / "a.zip"))
        assert saved_swatches(P.save(s, tmp_path / "b.zip")).keys() == first.keys()
        Image.open(samples.swatch_path("gingham")).convert("RGB").resize(Image.open(library).size).save(library)
        now = np.asarray(Image.open(library).convert("RGB"))
        second = saved_swatches(P.save(s, tmp_path / "c.zip"))
        assert any(np.array_equal(a, now) for a in second.values())
        assert not any(np.array_equal(a, now) for a in first.values())

    def test_a_project_without_a_render_and_a_plain_export(self, ctx, found, tmp_path):
        path = P.save(found, tmp_path / "p.zip")
        o, msg = P.open_project(ctx, None, path)
        assert o.render is None and o.snap.names() == found.snap.names()
        with zipfile.ZipFile(path) as zf:
            recipe = json.loads(zf.read("recipe.json"))
        assert recipe["sketch"] == "project/sketch.png" and len(recipe["regions"]) == 2
        # a ZIP without project/ (the CLI's export) opens through its recipe
        plain = tmp_path / "plain.zip"
        with zipfile.ZipFile(path) as src, zipfile.ZipFile(plain, "w") as dst:
            for n in src.namelist():
                if not n.startswith("project/") or n == "project/sketch.png" or n.startswith("project/swatches"):
                    dst.writestr(n, src.read(n))
        o2, msg = P.open_project(ctx, None, plain)
        assert "from its recipe" in msg and o2.snap.names() == found.snap.names()

    @pytest.mark.parametrize("damage", ["not a zip", "no workspace", "bad json", "bad labels", "bad name",
                                        "nan pattern", "dotdot"])
    def test_damaged_projects_give_one_clear_message(self, ctx, found, tmp_path, damage):
        good = P.save(found, tmp_path / "p.zip")
        bad = tmp_path / "bad.zip"
        with zipfile.ZipFile(good) as zf:
            files = {n: zf.read(n) for n in zf.namelist()}
        ws = json.loads(files["project/workspace.json"])
        if damage == "not a zip":
            bad.write_bytes(b"hello")
        else:
            if damage == "no workspace":
                del files["project/workspace.json"], files["recipe.json"]
            elif damage == "bad json":
                files["project/workspace.json"] = b"{nope"
            elif damage == "bad labels":
                files["project/labels.png"] = b"garbage"
            elif damage == "bad name":
                ws["regions"][0]["name"] = "<b>"
            elif damage == "nan pattern":
                ws["regions"][0]["fabric"]["pattern"] = float("nan")
            elif damage == "dotdot":
                ws["sketch"] = "../../etc/passwd"
            if damage in ("bad name", "nan pattern", "dotdot"):
                files["project/workspace.json"] = json.dumps(ws).encode()
            with zipfile.ZipFile(bad, "w") as zf:
                for n, d in files.items():
                    zf.writestr(n, d)
        with pytest.raises(GarmentStyleError):
            P.open_project(ctx, None, bad)

    def test_browser_autosave_round_trip_and_its_checks(self, ctx, found, tmp_path):
        s = self._edited(ctx, found, tmp_path)
        list(H.render(ctx, s, _options(ctx, seed=5), look=s.look))
        data = json.loads(json.dumps(P.to_browser(ctx, s, s.look)))  # what localStorage keeps
        assert len(json.dumps(data)) < 50_000
        o, msg = P.from_browser(ctx, data)
        assert "Restored" in msg and o.snap.names() == s.snap.names()
        assert all(np.array_equal(o.snap.mask(a.uid), s.snap.mask(b.uid))
                   for a, b in zip(o.snap.regions, s.snap.regions))
        assert o.snap.selected.fabric.label == "linen.png" and o.render is not None
        for key, value in [("sketch", "/etc/passwd"), ("sketch", "../../../etc/passwd"), ("labels", "!!!"),
                           ("regions", "x")]:
            evil = dict(data, **{key: value})
            o, msg = P.from_browser(ctx, evil)
            assert o is None and msg
        assert P.from_browser(ctx, None) == (None, "")


def test_status_line_in_designer_words():
    headline, details = H.status_markdown()
    assert "Fabric engine: **offline** — install the full model for finer detail" in headline
    assert "line-art fill" in headline and "garmentstyle weights download vgg19" in details


def test_samples_gallery():
    sketches = H.sample_sketches()
    assert [n for _, n in sketches] == samples.list_sketches()
    assert all(max(t.shape[:2]) <= H.THUMB_SIDE for t, _ in sketches)
    assert len(H.sample_swatches()) == len(samples.list_swatches())


def test_session_release_drops_the_heavy_parts(ctx, found):
    list(H.render(ctx, found, _options(ctx)))
    found.release()
    assert found.history is None and found.render is None and found.frame is None and not found.has_sketch


def test_preview_leaves_out_regions_too_small_for_its_size(ctx):
    s = H.load_sample(ctx, None, "trousers")  # its pockets are a few pixels at 96 px
    s, _ = H.find_garment(ctx, s, 0)
    small = H.too_small(s, 96)
    assert small and len(small) < len(s.snap.regions)
    last = list(H.render(ctx, s, _options(ctx)))[-1]
    assert last.done and "left as drawn" in last.message and small[0] in last.message
    assert [r.name for r in s.render.regions] == [n for n in s.snap.names() if n not in small]


# ------------------------------------------------------------------------------------------------ fabric panel
from ui import fabric_handlers as FH  # noqa: E402


def _fabric_view(s):
    return V.canvas_image(s.frame, s.snap, V.VIEW_FABRIC, labels=False).astype(int)


def _changed(a, b):
    return np.abs(a - b).max(axis=2) > 0


def _panel_ui():
    """Stand-ins for the fabric panel's components (the handlers key their answers by component)."""
    from types import SimpleNamespace

    names = ("fp_words", "fp_photo", "fp_tile", "fp_repeat", "fp_raw", "fp_sketch_cm", "fp_k", "fp_key",
             "fp_grain", "fp_drape")
    return SimpleNamespace(**{n: object() for n in names}, fp_colours=[object() for _ in range(M.MAX_PALETTE)])


class TestPalette:
    def test_a_palette_recolours_the_region_live_and_nothing_else(self, found):
        s = found
        sel = s.frame.labels(s.snap) == s.snap.current
        before = _fabric_view(s)
        s, msg = FH.set_palette_size(s, 3)
        f = s.snap.selected.fabric
        found3 = V.found_colours(s.frame, f, 3)
        assert f.colourway == tuple(c.hex for c in found3.colours) and "3 main colours" in msg
        assert [c.coverage for c in found3.colours] == sorted((c.coverage for c in found3.colours), reverse=True)
        identity = _fabric_view(s)
        s, _ = FH.set_palette_colour(s, 0, "#00FF00")
        assert s.snap.selected.fabric.colourway[0] == "#00ff00"
        green = _fabric_view(s)
        ch = _changed(identity, green)
        assert ch[sel].mean() > 0.3 and not ch[~sel].any()  # inside the region only
        # the largest found colour became green: about that share of the region is now vivid green — green's hue
        # (within 20° of #00ff00's) at two thirds of its chroma or more. (Not "G > 200, R and B < 80": #00ff00 is on
        # the gamut's surface, so a texture moved to it keeps its shading only as darker greens and paler
        # highlights; clipping each channel made them all (0, 255, 0) and flattened the texture.)
        lab = cw.srgb_to_lab(green[sel] / 255.0)
        target = cw.srgb_to_lab(np.array([0.0, 1.0, 0.0]))
        turn = np.degrees(np.arctan2(lab[:, 2], lab[:, 1]) - np.arctan2(target[2], target[1]))
        hue_off = np.abs((turn + 180.0) % 360.0 - 180.0)
        vivid = (hue_off < 20.0) & (np.hypot(lab[:, 1], lab[:, 2]) > 2 / 3 * np.hypot(target[1], target[2]))
        assert vivid.mean() > 0.75 * found3.colours[0].coverage, (vivid.mean(), found3.colours[0].coverage)
        s, _ = H.undo(s)
        assert np.array_equal(_fabric_view(s), identity)  # undo restores the overlay exactly
        s, _ = H.undo(s)
        assert np.array_equal(_fabric_view(s), before) and s.snap.selected.fabric.colourway == ()
        s, _ = H.redo(s)
        s, _ = H.redo(s)
        assert np.array_equal(_fabric_view(s), green)

    def test_a_refresh_that_an_edit_overtook_draws_the_new_state(self, found, monkeypatch):
        """The panel refreshes when the region table changes, beside the tab's other events. A refresh that read
        the regions before an edit must not answer with the old values after it (the palette's size went back to 0
        after a designer typed 3, seen in the browser test under load), nor answer nothing (when what changed
        meanwhile was not a panel edit, nothing else draws the panel: it stayed blank for a selected skirt): it
        draws again from the new state. A session that keeps changing gets no answer rather than an old one."""
        import gradio as gr

        from ui import fabric_panel as FP

        ui = _panel_ui()
        assert FP.refreshed_view(ui, found)[ui.fp_k] == 0  # nothing in between: the panel as it is
        real, edits = V.palette_html, []

        def meanwhile(*a, **kw):  # the designer's edit lands while the refresh is drawing
            if not edits:
                edits.append(FH.set_palette_size(found, 3)[0])
            return real(*a, **kw)

        monkeypatch.setattr(V, "palette_html", meanwhile)
        out = FP.refreshed_view(ui, found)
        assert edits and len(edits[0].snap.selected.fabric.colourway) == 3
        assert out[ui.fp_k] == 3 and out[ui.fp_key] != gr.skip()  # the edit's state, not the old 0 nor nothing
        n = [0]

        def always(*a, **kw):  # a session that changes during every drawing
            n[0] += 1
            FH.set_palette_size(found, 2 if n[0] % 2 else 3)
            return real(*a, **kw)

        monkeypatch.setattr(V, "palette_html", always)
        out = FP.refreshed_view(ui, found)
        assert n[0] == FP.REDRAWS and all(v == gr.skip() for v in out.values())

    def test_an_up_to_date_refresh_resends_only_what_changed(self, found):
        """A refresh that lands while the designer is typing into a panel box must not put the value the page already
        shows back into it (a "3" typed into the palette size, then Enter sent 0): it sends only what differs from
        the tab's last answer — also when another region is selected (a refresh for a click on the skirt landing
        late wrote 0 over the "3" being typed for it). A refused edit sends the whole panel again."""
        import gradio as gr

        from ui import fabric_panel as FP

        ui = _panel_ui()
        first = FP.refreshed_view(ui, found)
        assert first[ui.fp_k] == 0 and first[ui.fp_words] != gr.skip()
        again = FP.refreshed_view(ui, found)
        assert again and all(v == gr.skip() for v in again.values())  # nothing changed: nothing sent
        s, _ = FH.set_palette_size(found, 2)
        changed = FP.refreshed_view(ui, s)
        assert changed[ui.fp_k] == 2 and changed[ui.fp_key] != gr.skip()
        assert changed[ui.fp_grain] == gr.skip() and changed[ui.fp_drape] == gr.skip()
        back = s.snap.current
        s = H.select_region(s, next(r.uid for r in s.snap.regions if r.uid != back))
        other = FP.refreshed_view(ui, s)  # the other region: its own words and palette size, the same grain
        assert other[ui.fp_words] != gr.skip() and other[ui.fp_k] == 0 and other[ui.fp_grain] == gr.skip()
        s = H.select_region(s, back)
        again = FP.refreshed_view(ui, s)
        assert again[ui.fp_k] == 2 and again[ui.fp_words] == first[ui.fp_words]
        assert again[ui.fp_drape] == gr.skip()

        def refused(s):
            raise GarmentStyleError("no")

        with pytest.raises(GarmentStyleError):
            FP._forget_on_error(refused)(s)
        assert all(v != gr.skip() for v in FP.refreshed_view(ui, s).values())

    def test_an_edit_answers_only_what_changed_and_its_own_box(self, found):
        """An edit that changes nothing (a picker left as it was) still answers ~1 s later; answered in full it put
        every other picker's value back over a hex code being typed into the next one, which then applied the old
        colour. An edit's answer now carries what changed and the edited box itself, nothing else."""
        import gradio as gr

        from ui import fabric_panel as FP

        ui = _panel_ui()
        c0, c1, c2 = ui.fp_colours[:3]
        s, _ = FH.set_palette_size(found, 3)
        first = FP.edit_answer(ui, s, (ui.fp_k,))  # the tab was never sent the panel: all of it
        assert all(v != gr.skip() for v in first.values())
        s, _ = FH.set_palette_colour(s, 0, "#5b2333")
        picked = FP.edit_answer(ui, s, (c0,))
        assert picked[c0]["value"] == "#5b2333" and picked[ui.fp_key] != gr.skip()
        assert picked[c1] == gr.skip() and picked[c2] == gr.skip() and picked[ui.fp_k] == gr.skip()
        s, _ = FH.leave_palette_colour(s, 0, "#5b2333")  # no edit
        left = FP.edit_answer(ui, s, (c0,))
        assert left[c0]["value"] == "#5b2333"  # its own box, as the model has it
        assert all(v == gr.skip() for c, v in left.items() if c is not c0)

    def test_a_colour_drag_is_one_undo_step_and_reset_goes_back(self, found):
        s, _ = FH.set_palette_size(found, 2)
        steps = len(s.history.past)
        for c in ("#100000", "#200000", "#300000"):
            FH.set_palette_colour(s, 1, c)
        assert len(s.history.past) == steps + 1 and s.snap.selected.fabric.colourway[1] == "#300000"
        s, _ = FH.reset_palette(s)
        assert s.snap.selected.fabric.colourway == tuple(c.hex for c in V.found_colours(
            s.frame, s.snap.selected.fabric, 2).colours)

    def test_leaving_a_picker_unchanged_is_no_edit(self, found):
        """The picker also reports when the designer leaves it (a typed hex code applies then); leaving it without a
        change must not add an undo step or change the fabric."""
        s, _ = FH.set_palette_size(found, 2)
        steps, before = len(s.history.past), s.snap.selected.fabric
        s, msg = FH.set_palette_colour(s, 1, before.colourway[1].upper())
        assert len(s.history.past) == steps and s.snap.selected.fabric == before and "is now" not in msg
        s, msg = FH.leave_palette_colour(s, 1, "#123456")  # a hex code typed, then the picker left: applied
        assert len(s.history.past) == steps + 1 and "is now #123456" in msg
        s, msg = FH.leave_palette_colour(s, 5, "#654321")  # a picker left as the palette shrank: nothing happens
        assert len(s.history.past) == steps + 1 and msg == ""

    def test_the_palette_reaches_the_render_and_a_new_swatch_drops_it(self, found):
        s, _ = FH.set_palette_size(found, 2)
        FH.set_palette_colour(s, 0, "#1b2a49")
        uid = s.snap.current
        region = next(r for r in H.render_regions(s) if r.name == s.snap.region(uid).name)
        assert region.colourway[0] == "#1b2a49" and len(region.colourway) == 2
        H.choose_sample_swatch(s, "stripes")
        assert s.snap.selected.fabric.colourway == ()

    @pytest.mark.parametrize("call,match", [
        (lambda s: FH.set_palette_size(s, 99), "number of colours"),
        (lambda s: FH.set_palette_size(s, float("nan")), "finite"),
        (lambda s: FH.set_palette_colour(s, 0, "#00ff00"), "how many colours"),
        (lambda s: FH.set_palette_colour(FH.set_palette_size(s, 2)[0], 5, "#00ff00"), "palette colour"),
        (lambda s: FH.set_palette_colour(FH.set_palette_size(s, 2)[0], 0, "green-ish"), "a colour like"),
    ])
    def test_bad_palette_values(self, found, call, match):
        with pytest.raises(InputError, match=match):
            call(found)


class TestSwatchArea:
    @pytest.fixture
    def photo(self, tmp_path):
        from garmentstyle.testing import degrade

        tile = degrade.load_tile(samples.swatch_path("gingham"))
        p = degrade.photograph(tile, degrade.PhotoSpec(size=(420, 360), rotation=2.5, zoom=1.2))
        path = tmp_path / "phone photo.jpg"
        Image.fromarray((p.image * 255 + 0.5).astype(np.uint8)).save(path, quality=85)
        return path, p

    def test_a_phone_photo_is_prepared_and_shown_with_its_repeat(self, ctx, found, photo):
        path, truth = photo
        s = H.upload_swatch(ctx, found, path)
        f = s.snap.selected.fabric
        area = V.swatch_area(s.frame, f)
        prep = V.prepared(s.frame, f.swatch, "auto")
        assert prep.report.action == "repeat"
        assert "Found a repeating pattern" in area.words and "straightened" in area.words
        assert "light removed" in area.words.lower()
        # the 3×3 preview is the prepared tile tiled: its thirds are equal
        t = V._u8(prep.tile)
        assert area.repeat3.shape[0] <= V.PANEL_SIDE
        assert np.array_equal(np.tile(t, (3, 3, 1))[: t.shape[0], : t.shape[1]], t)
        # the photo has the cut repeat outlined (the outline colour is there, and not in the raw photo)
        red = lambda im: ((im[..., 0] > 200) & (im[..., 1] < 60) & (im[..., 2] < 110)).sum()  # noqa: E731
        raw = np.asarray(Image.open(s.snap.selected.fabric.swatch).convert("RGB"))
        assert red(area.photo) > 50 and red(raw) == 0
        # the live view uses the prepared tile, not the photo
        live = V._u8(V.live_swatch(s.frame, f))
        assert live.shape == t.shape

    def test_the_raw_file_toggle_and_true_size(self, ctx, found, photo):
        s = H.upload_swatch(ctx, found, photo[0])
        sel = s.frame.labels(s.snap) == s.snap.current
        prepared = _fabric_view(s)
        s, msg = FH.set_prepare(s, True)
        f = s.snap.selected.fabric
        assert f.prepare == "off" and "as given" in msg
        assert "Used as given" in V.swatch_area(s.frame, f).words
        raw = _fabric_view(s)
        assert _changed(prepared, raw)[sel].mean() > 0.3 and not _changed(prepared, raw)[~sel].any()
        assert next(r for r in H.render_regions(s) if r.name == s.snap.selected.name).prepare == "off"
        s, _ = H.undo(s)
        assert s.snap.selected.fabric.prepare == "auto"
        words = V.swatch_area(s.frame, s.snap.selected.fabric).words
        assert " cm " not in words and "px of the sketch" in words
        with pytest.raises(InputError, match="sketch's height in cm first"):
            FH.set_repeat_cm(s, 5)
        s, _ = FH.set_sketch_cm(s, 120)
        s, msg = FH.set_repeat_cm(s, 6)  # one repeat 6 cm wide on a 120 cm tall sketch
        assert "6.0 cm on the garment" in V.swatch_area(s.frame, s.snap.selected.fabric,
                                                        sketch_px_per_cm=s.size[0] / 120).words
        with pytest.raises(InputError, match="outside"):
            FH.set_repeat_cm(s, 5000)
        s, _ = H.undo(s)
        words = V.swatch_area(s.frame, s.snap.selected.fabric, sketch_px_per_cm=s.size[0] / 120).words
        rep = V.prepared(s.frame, s.snap.selected.fabric.swatch, "auto").report
        assert f"{rep.repeat_px * s.snap.selected.fabric.pattern / (s.size[0] / 120):.1f} cm on the garment" in words
        with pytest.raises(InputError, match="height in cm"):
            FH.set_sketch_cm(s, float("nan"))
        with pytest.raises(InputError, match="on or off"):
            FH.set_prepare(s, "yes")


class TestGrain:
    def test_auto_grain_and_drape_bend_the_live_fabric_of_the_region_only(self, found):
        s = found
        sel = s.frame.labels(s.snap) == s.snap.current
        straight = _fabric_view(s)
        steps = len(s.history.past)
        s, msg = FH.set_grain(s, "auto", 0)
        auto = _fabric_view(s)
        ch = _changed(straight, auto)
        assert ch[sel].mean() > 0.3 and not ch[~sel].any()
        s, _ = FH.set_grain(s, "auto", 1.0)
        draped = _fabric_view(s)
        assert _changed(auto, draped)[sel].mean() > 0.05
        r = next(x for x in H.render_regions(s) if x.name == s.snap.selected.name)
        assert r.grain == "auto" and r.drape == 1.0
        for _ in range(len(s.history.past) - steps):  # one step, or two if the machine was slow between them
            s, _ = H.undo(s)
        assert np.array_equal(_fabric_view(s), straight)

    def test_grain_strokes_from_the_brush(self, found):
        s = found
        uid = s.snap.current
        with pytest.raises(InputError, match="draw grain strokes first"):
            FH.set_grain(s, "strokes", 0)
        mask = s.snap.mask(uid)
        ys, xs = np.nonzero(mask)
        layer = np.zeros((*s.size, 4), np.uint8)
        cy, x0, x1 = int(np.median(ys)), int(np.percentile(xs, 20)), int(np.percentile(xs, 80))
        for x in range(x0, x1):  # a diagonal stroke across the region (45°)
            y = cy + (x - (x0 + x1) // 2)
            layer[max(0, y - 2):y + 3, x, 3] = 255
        straight = _fabric_view(s)
        s, msg = FH.apply_grain_strokes(s, {"background": None, "layers": [layer], "composite": None})
        f = s.snap.selected.fabric
        assert f.grain == "strokes" and f.strokes.pixels == int((layer[..., 3] > 0).sum())
        bent = _fabric_view(s)
        sel = s.frame.labels(s.snap) == uid
        assert _changed(straight, bent)[sel].mean() > 0.3 and not _changed(straight, bent)[~sel].any()
        r = next(x for x in H.render_regions(s) if x.name == s.snap.selected.name)
        assert isinstance(r.grain, np.ndarray) and r.grain.shape == s.size and r.grain.max() == 1.0
        s, _ = FH.clear_grain_strokes(s)
        assert s.snap.selected.fabric.strokes is None and s.snap.selected.fabric.grain == "straight"
        empty = {"layers": [np.zeros((*s.size, 4), np.uint8)]}
        with pytest.raises(InputError, match="no grain strokes"):
            FH.apply_grain_strokes(s, empty)
        outside = np.zeros((*s.size, 4), np.uint8)
        outside[2:6, 2:40, 3] = 255
        with pytest.raises(InputError, match="outside"):
            FH.apply_grain_strokes(s, {"layers": [outside]})
        with pytest.raises(InputError, match="drape must be between"):
            FH.set_grain(s, "auto", 5)
        with pytest.raises(InputError, match="the grain must be one of"):
            FH.set_grain(s, "diagonal", 0)


def test_palette_grain_and_strokes_survive_the_project_and_reach_its_recipe(ctx, found, tmp_path):
    from garmentstyle import recipe as R

    s, _ = FH.set_palette_size(found, 2)
    FH.set_palette_colour(s, 1, "#e4c59e")
    uid = s.snap.current
    layer = np.zeros((*s.size, 4), np.uint8)
    ys, xs = np.nonzero(s.snap.mask(uid))
    layer[int(np.median(ys)) - 2:int(np.median(ys)) + 2, xs.min():xs.max(), 3] = 255
    FH.apply_grain_strokes(s, {"layers": [layer]})
    FH.set_grain(s, "strokes", 0.4)
    FH.set_prepare(s, True)
    f = s.snap.selected.fabric
    assert f.colourway == () and f.prepare == "off"  # the raw file has other colours: the palette goes
    FH.set_prepare(s, False)
    FH.set_palette_size(s, 2)
    FH.set_palette_colour(s, 1, "#e4c59e")
    FH.set_sketch_cm(s, 170)
    f = s.snap.selected.fabric
    path = P.save(s, tmp_path / "p.zip")
    o, _ = P.open_project(ctx, None, path)
    assert FH.sketch_cm(o) == 170.0  # the sketch's real height comes back with the project…
    b, _ = P.from_browser(ctx, json.loads(json.dumps(P.to_browser(ctx, s, s.look))))
    assert FH.sketch_cm(b) == 170.0  # …and with the browser's autosave
    H.load_sample(ctx, o, "jacket")
    assert FH.sketch_cm(o) == 0.0  # another sketch: its size is not known
    for bad in ("tall", float("nan"), -5, [170]):
        assert FH.sketch_cm_from(bad) == 0.0
    g = P.open_project(ctx, None, path)[0].snap.by_name(s.snap.selected.name).fabric
    assert (g.colourway, g.grain, g.drape, g.prepare, g.strokes) == (f.colourway, "strokes", 0.4, "auto", f.strokes)
    out = tmp_path / "unzipped"
    with zipfile.ZipFile(path) as zf:
        zf.extractall(out)
    rec = R.load(out / "recipe.json")
    region = next(r for r in rec.regions if r.name == s.snap.selected.name)
    assert tuple(region.colourway) == f.colourway and region.drape == 0.4 and region.prepare == "auto"
    strokes = np.asarray(Image.open(region.grain).convert("L")) < 128
    assert np.array_equal(strokes, f.strokes.array)

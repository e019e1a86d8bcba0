"""The web app's handlers as plain functions: uploads, regions, brush edits, fabrics, render, cancel, export."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from garmentstyle import samples
from garmentstyle.errors import GarmentStyleError, ImageReadError, InputError, SegmentationError
from ui import handlers as H
from ui.state import PALETTE, ensure

DRESS = samples.sketch_path("dress")  # 640×768, two parts: bodice (top), skirt (bottom)
BODICE_XY = (320, 300)  # sketch pixels inside the bodice
SKIRT_XY = (320, 600)


def _display(session, xy):
    s = session.display_scale
    return xy[0] * s, xy[1] * s


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
        assert s.display.shape == (768, 640, 3) and s.display.dtype == np.uint8
        assert s.regions == [] and s.current is None

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
        assert max(s.display.shape[:2]) == 1024
        s, msg = H.click(ctx, s, *(v * s.display_scale for v in (640, 1200)))  # skirt, in sketch pixels
        assert s.regions[0].mask.shape == (1536, 1280)
        assert s.regions[0].mask[1200, 640]

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


# ------------------------------------------------------------------------------------------------ regions
class TestRegions:
    def test_find_garment_makes_one_region_per_part_with_fabrics(self, ctx, dress):
        s, msg = H.find_garment(ctx, dress, 0)
        assert len(s.regions) == 2
        assert "Found the garment in 2 parts" in msg and "line-art fill" in msg
        assert s.current == s.regions[0].uid
        assert [r.swatch_label for r in s.regions] == ["tartan", "floral"]
        assert all(Path(r.swatch).is_file() for r in s.regions)
        assert len({r.colour for r in s.regions}) == 2
        both = s.regions[0].mask & s.regions[1].mask
        assert not both.any()  # exclusive

    def test_needs_a_sketch(self, ctx):
        with pytest.raises(InputError, match="load a sketch first"):
            H.find_garment(ctx, None, 0)
        with pytest.raises(InputError, match="load a sketch first"):
            H.click(ctx, ensure(ctx, None), 10, 10)

    def test_click_new_add_remove(self, ctx, dress):
        s, msg = H.click(ctx, dress, *_display(dress, BODICE_XY), H.CLICK_NEW)
        assert len(s.regions) == 1 and "Added" in msg
        bodice = s.regions[0]
        assert bodice.mask[BODICE_XY[1], BODICE_XY[0]] and not bodice.mask[SKIRT_XY[1], SKIRT_XY[0]]
        s, msg = H.click(ctx, s, *_display(s, SKIRT_XY), H.CLICK_ADD)
        assert len(s.regions) == 1 and s.regions[0].mask[SKIRT_XY[1], SKIRT_XY[0]]
        s, msg = H.click(ctx, s, *_display(s, BODICE_XY), H.CLICK_REMOVE)
        assert not s.regions[0].mask[BODICE_XY[1], BODICE_XY[0]] and s.regions[0].mask[SKIRT_XY[1], SKIRT_XY[0]]
        assert "Removed from" in msg
        s, msg = H.click(ctx, s, *_display(s, SKIRT_XY), H.CLICK_REMOVE)
        assert s.regions == [] and s.current is None and "gone" in msg

    def test_removing_a_part_leaves_no_sliver_on_its_lines(self, ctx, found):
        skirt = found.current_region
        assert skirt.mask[SKIRT_XY[1], SKIRT_XY[0]]
        s, _ = H.click(ctx, found, *_display(found, SKIRT_XY), H.CLICK_REMOVE)
        assert len(s.regions) == 1 and skirt not in s.regions

    def test_first_click_always_makes_a_region(self, ctx, dress):
        s, _ = H.click(ctx, dress, *_display(dress, SKIRT_XY), H.CLICK_ADD)
        assert len(s.regions) == 1

    def test_new_region_takes_its_pixels_from_the_others(self, ctx, found):
        skirt = next(r for r in found.regions if r.mask[SKIRT_XY[1], SKIRT_XY[0]])
        s, _ = H.click(ctx, found, *_display(found, SKIRT_XY), H.CLICK_NEW)
        new = s.current_region
        assert new is not skirt and new.mask[SKIRT_XY[1], SKIRT_XY[0]]
        assert skirt not in s.regions  # it lost all its pixels to the new region
        assert new.swatch_label not in {r.swatch_label for r in s.regions if r is not new}  # a fabric of its own
        owners = sum(r.mask.astype(int) for r in s.regions)
        assert owners.max() == 1

    def test_click_on_background_says_what_to_do(self, ctx, dress):
        with pytest.raises(SegmentationError, match="background"):
            H.click(ctx, dress, 5, 5)

    def test_gap_slider_is_used(self, ctx, dress):
        s, _ = H.click(ctx, dress, *_display(dress, SKIRT_XY), H.CLICK_NEW, gap=6)
        assert s.regions[0].area > 1000

    def test_unknown_action(self, ctx, dress):
        with pytest.raises(InputError, match="unknown click action"):
            H.click(ctx, dress, 1, 1, "paint")

    def test_select_rename_delete_merge(self, ctx, found):
        a, b = (r.name for r in found.regions)
        s = H.select_region(found, b)
        assert H.current_name(s) == b
        s = H.rename_region(s, "skirt")
        assert H.region_names(s) == [a, "skirt"]
        with pytest.raises(InputError, match="already called"):
            H.rename_region(H.select_region(s, a), "skirt")
        with pytest.raises(InputError, match="region name"):
            H.rename_region(s, "<script>")
        s = H.select_region(s, "skirt")
        total = sum(r.area for r in s.regions)
        s = H.merge_regions(s, [a])
        assert H.region_names(s) == ["skirt"] and s.regions[0].area == total
        with pytest.raises(InputError, match="choose one or more"):
            H.merge_regions(s, [])
        s = H.delete_region(s)
        assert s.regions == [] and s.current is None
        with pytest.raises(InputError, match="select a region first"):
            H.delete_region(s)
        with pytest.raises(InputError, match="no region called"):
            H.select_region(s, "nope")

    def test_views(self, ctx, found):
        img = H.overlay_image(found)
        assert img.shape == found.display.shape and img.dtype == np.uint8
        y, x = BODICE_XY[1] + 40, BODICE_XY[0] + 40  # away from the name label
        assert not np.array_equal(img[y, x], found.display[y, x])  # tinted
        assert np.array_equal(img[5, 5], found.display[5, 5])  # the paper outside stays as it is
        table = H.regions_html(found)
        assert table.count("<tr class=") == 2 and "tartan" in table and "px" in table
        found.regions[0].name = "<b>x</b>"
        assert "<b>x</b>" not in H.regions_html(found) and "&lt;b&gt;x&lt;/b&gt;" in H.regions_html(found)
        assert "Load a sketch" in H.regions_html(None)
        assert H.overlay_image(None) is None


class TestSamClicks:
    def test_points_accumulate_on_the_selected_region(self, sam_ctx):
        s = H.load_sample(sam_ctx, None, "dress")
        s, _ = H.click(sam_ctx, s, *_display(s, BODICE_XY), H.CLICK_NEW)
        r = s.current_region
        assert r.points == [(*map(float, BODICE_XY), 1)]
        area1 = r.area
        s, _ = H.click(sam_ctx, s, *_display(s, SKIRT_XY), H.CLICK_ADD)
        assert [p[2] for p in r.points] == [1, 1] and r.area > area1
        s, _ = H.click(sam_ctx, s, *_display(s, SKIRT_XY), H.CLICK_REMOVE)
        assert [p[2] for p in r.points] == [1, 1, 0] and not r.mask[SKIRT_XY[1], SKIRT_XY[0]]
        assert sam_ctx.fake.calls[-1][-1][1] == 0  # the last prompt is a negative point

    def test_find_garment_uses_sam(self, sam_ctx):
        s = H.load_sample(sam_ctx, None, "dress")
        s, msg = H.find_garment(sam_ctx, s, 0)
        assert "Segment Anything" in msg and len(s.regions) == 2


# ------------------------------------------------------------------------------------------------ brush editor
class TestEditor:
    def _layers(self, s, paint: dict[int, tuple[slice, slice]]):
        h, w = s.display.shape[:2]
        layers = []
        for i in range(len(s.editor_uids) + 1):
            a = np.zeros((h, w, 4), np.uint8)
            if i in paint:
                a[paint[i]] = (255, 0, 0, 255)
            layers.append(a)
        return {"background": None, "layers": layers, "composite": None}

    def test_layers_are_named_after_regions(self, found):
        value = H.editor_value(found)
        assert value["background"].shape == found.display.shape and value["layers"] == []
        assert H.editor_layer_names(found) == [r.name for r in found.regions] + [H.REMOVE_LAYER]
        assert found.editor_uids == [r.uid for r in found.regions]

    def test_paint_adds_and_remove_layer_removes(self, found):
        H.editor_value(found)
        first = found.regions[0]
        y0 = 700  # the skirt's hem area in the display (display = sketch size here)
        s, msg = H.apply_editor(found, self._layers(found, {0: (slice(y0, y0 + 20), slice(300, 340))}))
        assert "Applied" in msg and first.mask[y0 + 10, 320]
        assert not any(r.mask[y0 + 10, 320] for r in s.regions if r is not first)
        s, _ = H.apply_editor(s, self._layers(s, {len(s.editor_uids): (slice(y0, y0 + 20), slice(300, 340))}))
        assert not any(r.mask[y0 + 10, 320] for r in s.regions)

    def test_layers_at_another_size_are_rescaled(self, found):
        H.editor_value(found)
        value = self._layers(found, {})
        value["layers"] = [np.array(Image.fromarray(a).resize((320, 384))) for a in value["layers"]]
        value["layers"][0][350:360, 150:170, 3] = 255
        s, _ = H.apply_editor(found, value)
        assert s.regions[0].mask[710, 320]

    def test_stale_editor_is_refused(self, found):
        H.editor_value(found)
        value = self._layers(found, {})
        H.delete_region(found)
        H.editor_value(found)
        with pytest.raises(InputError, match="regions changed"):
            H.apply_editor(found, value)

    def test_no_strokes(self, found):
        H.editor_value(found)
        _, msg = H.apply_editor(found, self._layers(found, {}))
        assert "No brush strokes" in msg


# ------------------------------------------------------------------------------------------------ fabrics
class TestFabrics:
    def test_sample_upload_settings_all(self, ctx, found, tmp_path):
        s = H.choose_sample_swatch(found, "denim")
        assert H.fabric_view(s).label == "denim" and H.fabric_view(s).swatch.ndim == 3
        sw = tmp_path / "linen.jpg"
        Image.open(samples.swatch_path("stripes")).convert("RGB").save(sw)
        s = H.upload_swatch(ctx, s, sw)
        r = s.current_region
        assert r.swatch_label == "linen.jpg" and Path(r.swatch).is_relative_to(s.dir)
        s = H.set_fabric(s, pattern=2.0, rotation=45, strength=1.5)
        assert (r.pattern, r.rotation, r.strength) == (2.0, 45.0, 1.5)
        assert "×2" in H.regions_html(s) and "45°" in H.regions_html(s)
        s = H.fabric_to_all(s)
        assert all(o.swatch == r.swatch and o.pattern == 2.0 for o in s.regions)
        with pytest.raises(InputError, match="pattern size"):
            H.set_fabric(s, pattern=0, rotation=0, strength=1)

    def test_bad_swatches(self, ctx, found, tmp_path):
        small = tmp_path / "small.png"
        Image.new("RGB", (8, 8), "red").save(small)
        with pytest.raises(ImageReadError, match="at least 16 px"):
            H.upload_swatch(ctx, found, small)
        with pytest.raises(InputError, match="unknown sample swatch"):
            H.choose_sample_swatch(found, "velvet")

    def test_region_regions_for_the_api(self, found):
        H.set_fabric(found, pattern=2.0, rotation=30, strength=0.5)
        regions = H.render_regions(found)
        assert [r.name for r in regions] == H.region_names(found)
        assert regions[0].scale == 0.5 and regions[0].rotation == 30 and regions[0].style_weight == 0.5
        assert tuple(regions[0].mask.shape) == found.size
        assert not regions[0].tileable
        H.set_fabric(found, pattern=2.0, rotation=30, strength=0.5, tileable=True)
        assert H.render_regions(found)[0].tileable and H.fabric_view(found).tileable

    def test_colour_choices_cover_every_mode(self):
        from garmentstyle.colour import COLOUR_MODES

        assert [v for _, v in H.colour_choices()] == list(COLOUR_MODES)


# ------------------------------------------------------------------------------------------------ render/export
def _options(ctx, **kw):
    base = dict(size=ctx.preview_size, iterations=ctx.preview_iterations, colour="swatch", keep_sketch=True,
                shading_strength=1.0, seed=0)
    base.update(kw)
    return H.render_options(ctx, **base)


class TestRender:
    def test_options_derive_from_render_options(self, ctx):
        from garmentstyle.errors import OptionsError

        o = _options(ctx, colour="luminance", seed=7)
        assert (o.size, o.iterations, o.colour, o.seed) == (96, 3, "luminance", 7)
        assert o.encoder == ctx.base_options.encoder and o.preview_every >= 1
        with pytest.raises(OptionsError, match="colour"):
            _options(ctx, colour="sepia")

    def test_needs_regions(self, ctx, dress):
        with pytest.raises(InputError, match="no regions"):
            list(H.render(ctx, dress, _options(ctx)))

    def test_preview_streams_then_finishes(self, ctx, found):
        updates = list(H.render(ctx, found, _options(ctx)))
        assert updates[0].fraction == 0.0 and not updates[0].done
        assert all(0.0 <= u.fraction <= 1.0 for u in updates)
        last = updates[-1]
        assert last.done and last.result is found.result and "Preview done" in last.message
        assert last.image.shape == (96, 80, 3)
        assert found.result_kind == "preview" and len(found.result_regions) == 2
        before, after = H.before_after(found)
        assert before.shape == after.shape == (96, 80, 3)
        md = H.report_markdown(found)
        assert "80×96" in md and "texture (offline fallback)" in md
        assert not found.cancel.is_set()

    def test_cancel_before_start_changes_nothing(self, ctx, found):
        found.cancel.set()
        updates = list(H.render(ctx, found, _options(ctx)))
        assert updates[-1].done and updates[-1].result is None and "cancelled before it started" in updates[-1].message
        assert found.result is None and not found.cancel.is_set()

    def test_cancel_midway_keeps_the_image(self, noise_ctx):
        s = H.load_sample(noise_ctx, None, "dress")
        s, _ = H.find_garment(noise_ctx, s, 0)
        gen = H.render(noise_ctx, s, _options(noise_ctx, iterations=400))
        for u in gen:
            if u.image is not None and not u.done:
                assert "Cancelling" in H.cancel(s)
                break
        rest = list(gen)
        assert rest[-1].done and rest[-1].result is not None
        assert rest[-1].result.report["cancelled"] is True and "cancelled after" in rest[-1].message
        assert rest[-1].result.report["iterations"] < 400

    def test_closing_the_stream_stops_the_worker(self, noise_ctx):
        import threading

        s = H.load_sample(noise_ctx, None, "dress")
        s, _ = H.find_garment(noise_ctx, s, 0)
        gen = H.render(noise_ctx, s, _options(noise_ctx, iterations=400))
        next(gen)
        next(gen)
        gen.close()  # the browser went away
        assert not any(t.name.startswith("garmentstyle-render") for t in threading.enumerate())
        assert not s.cancel.is_set()

    def test_export_png_transparent_and_zip(self, ctx, found):
        with pytest.raises(InputError, match="nothing to export"):
            H.export(found)
        list(H.render(ctx, found, _options(ctx)))
        png, zpath = H.export(found, transparent=False)
        assert png.name == "dress-preview-80x96.png" and png.is_relative_to(found.dir)
        im = Image.open(png)
        assert im.format == "PNG" and im.size == (80, 96) and im.mode == "RGB"
        png_t, _ = H.export(found, transparent=True)
        im_t = Image.open(png_t)
        assert png_t.name.endswith("-transparent.png") and im_t.mode == "RGBA"
        alpha = np.asarray(im_t)[..., 3]
        assert alpha[0, 0] == 0 and alpha.max() == 255
        with zipfile.ZipFile(zpath) as zf:
            names = set(zf.namelist())
            recipe = json.loads(zf.read("recipe.json"))
        assert {"render.png", "sketch.png", "lineart.png", "recipe.json", "report.json"} <= names
        assert {f"masks/{n}.png" for n in H.region_names(found)} <= names
        assert recipe["options"]["seed"] == 0 and len(recipe["regions"]) == 2


def test_status_line_names_the_fallbacks_and_the_commands():
    md = H.status_markdown()
    assert "texture (offline fallback)" in md and "garmentstyle weights download vgg19" in md
    assert "line-art fill" in md and "garmentstyle weights download sam-vit-b" in md


def test_samples_gallery():
    sketches = H.sample_sketches()
    assert [n for _, n in sketches] == samples.list_sketches()
    assert all(max(t.shape[:2]) <= H.THUMB_SIDE for t, _ in sketches)
    assert len(H.sample_swatches()) == len(samples.list_swatches())


def test_palette_is_distinct():
    assert len(set(PALETTE)) == len(PALETTE)


def test_errors_are_garmentstyle_errors():
    """Everything a designer can cause is a GarmentStyleError (the one thing ui.app turns into gr.Error)."""
    for exc in (ImageReadError, InputError, SegmentationError):
        assert issubclass(exc, GarmentStyleError)


def test_preview_leaves_out_regions_too_small_for_its_size(ctx):
    s = H.load_sample(ctx, None, "trousers")  # its pockets are a few pixels at 96 px
    s, _ = H.find_garment(ctx, s, 0)
    small = H.too_small(s, 96)
    assert small and len(small) < len(s.regions)
    last = list(H.render(ctx, s, _options(ctx)))[-1]
    assert last.done and "left as drawn" in last.message and small[0] in last.message
    assert [r.name for r in s.result_regions] == [n for n in H.region_names(s) if n not in small]
    with pytest.raises(GarmentStyleError, match="only .* px inside"):  # a full render says so instead
        list(H.render(ctx, s, _options(ctx), kind="full"))

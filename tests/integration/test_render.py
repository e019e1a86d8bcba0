"""The whole pipeline at tiny sizes: exact composite outside the masks, texture moving toward the swatch, two
regions keeping their own fabrics, cancellation, and bad input."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import garmentstyle as gs
from garmentstyle import swatch as swatch_ops
from garmentstyle.errors import Cancelled, ImageReadError, InputError, MaskError, OptionsError, WeightsNotFoundError
from tests.conftest import checker, draw_sketch, stripes
from garmentstyle.metrics import texture_distance

RED = (0.85, 0.1, 0.1)
CREAM = (0.95, 0.9, 0.75)
NAVY = (0.1, 0.15, 0.5)
WHITE = (1.0, 1.0, 1.0)


def fast(**kw) -> gs.RenderOptions:
    base = dict(size=96, iterations=4, preview_every=2)
    base.update(kw)
    return gs.RenderOptions(**base)


def test_nothing_outside_the_masks_changes(toy):
    sketch, left, right = toy
    res = gs.render(sketch, [gs.Region(left, checker(RED, CREAM), name="l")], fast(init="noise"))
    out = (res.image[0] * 255).round()
    ref = (sketch[0] * 255).round()
    outside = left < 0.5
    assert torch.equal(out[:, outside], ref[:, outside])
    assert not torch.equal(out[:, left >= 0.5], ref[:, left >= 0.5])
    assert res.report.encoder == "texture" and res.report.encoder_pretrained is False


def test_texture_moves_toward_the_swatch(toy):
    sketch, left, right = toy
    mask = ((left + right) > 0).float()
    sw = checker(RED, CREAM, period=8)
    canvas = swatch_ops.tile(sw, (96, 96))
    start = gs.render(sketch, [gs.Region(mask, sw)], fast(init="noise", iterations=0, keep_sketch=False))
    done = gs.render(sketch, [gs.Region(mask, sw)], fast(init="noise", iterations=40, keep_sketch=False))
    d0 = texture_distance(start.fabric, mask, canvas)
    d1 = texture_distance(done.fabric, mask, canvas)
    assert d1 < 0.6 * d0, (d0, d1)
    first = done.report.levels[-1].first_losses["total"]
    assert done.report.final_losses["total"] < 0.2 * first


def test_two_regions_each_take_their_own_fabric(toy):
    sketch, left, right = toy
    red = stripes(RED, CREAM, period=8)
    navy = stripes(NAVY, WHITE, period=8, vertical=True)
    res = gs.render(sketch, [gs.Region(left, red, name="left"), gs.Region(right, navy, name="right")],
                    fast(init="noise", iterations=30, keep_sketch=False))
    f = res.fabric[0]
    core_l = torch.zeros_like(left, dtype=torch.bool)
    core_l[20:76, 18:40] = True
    core_r = torch.zeros_like(right, dtype=torch.bool)
    core_r[20:76, 56:78] = True
    mean_l, mean_r = f[:, core_l].mean(1), f[:, core_r].mean(1)
    assert mean_l[0] > mean_l[2] + 0.15  # red-ish on the left
    assert mean_r[2] > mean_r[0] + 0.15  # blue on the right
    # no bleeding: strongly blue pixels are rare on the left, strongly red ones rare on the right
    assert float(((f[2] - f[0]) > 0.3)[core_l].float().mean()) < 0.05
    assert float(((f[0] - f[2]) > 0.3)[core_r].float().mean()) < 0.05
    assert [r.name for r in res.report.regions] == ["left", "right"]


def test_keep_sketch_keeps_lines_and_shading(toy):
    sketch, left, right = toy
    sw = torch.ones(1, 3, 32, 32) * torch.tensor([0.2, 0.6, 0.9]).view(1, 3, 1, 1)
    res = gs.render(sketch, [gs.Region(left, sw)], fast(iterations=0))
    seam_col = res.image[0, :, 40, 47]  # the seam (columns 47–48) inside the left mask
    assert float(seam_col.max()) < 0.05  # the seam line stays black over the fabric
    lum_left, lum_right = res.image[0, :, 40, 16].mean(), res.image[0, :, 40, 44].mean()
    assert float(lum_left) < float(lum_right)  # shading gradient survives (darker at the left)
    flat = gs.render(sketch, [gs.Region(left, sw)], fast(iterations=0, keep_sketch=False))
    assert torch.allclose(flat.image[0, :, 40, 30], sw[0, :, 0, 0], atol=0.02)  # flat fabric, no shading


def test_luminance_mode_keeps_the_sketch_colour(toy):
    sketch, left, _ = toy
    res = gs.render(sketch, [gs.Region(left, checker(RED, NAVY))], fast(colour="luminance", keep_sketch=False))
    inside = res.image[0][:, left >= 0.5]
    assert float((inside.max(0).values - inside.min(0).values).max()) < 0.03  # grey: the sketch has no colour


def test_histogram_mode_notes_an_uncoloured_sketch(toy):
    sketch, left, _ = toy
    res = gs.render(sketch, [gs.Region(left, checker(RED, NAVY))], fast(colour="histogram"))
    assert any("uncoloured" in n for n in res.report.notes)


def test_pattern_scale_is_the_same_from_preview_to_final(toy):
    sketch, left, _ = toy
    sw = stripes(RED, CREAM, period=16, size=64)
    small = gs.render(sketch, [gs.Region(left, sw, scale=0.5)], fast(size=96, iterations=0, keep_sketch=False))
    big = gs.render(sketch, [gs.Region(left, sw, scale=0.5)], fast(size=192, iterations=0, keep_sketch=False))
    down = torch.nn.functional.interpolate(big.fabric, size=(96, 96), mode="bilinear", antialias=True)
    inside = left >= 0.5
    assert float((down[0][:, inside] - small.fabric[0][:, inside]).abs().mean()) < 0.08


def test_cancel_returns_the_current_image(toy):
    sketch, left, _ = toy
    seen = []

    def cancel(p):
        seen.append(p.stage)
        if p.stage == "optimise" and p.step >= 2:
            raise Cancelled()

    res = gs.render(sketch, [gs.Region(left, checker(RED, CREAM))], fast(iterations=50, init="noise"),
                    on_progress=cancel)
    assert res.report.cancelled and res.report.iterations < 50
    assert seen[0] == "prepare" and seen[-1] == "finish"


def test_progress_previews_are_whole_images(toy):
    sketch, left, _ = toy
    previews = []
    gs.render(sketch, [gs.Region(left, checker(RED, CREAM))], fast(iterations=4, preview_every=2, init="noise"),
              on_progress=lambda p: previews.append(p.preview) if p.preview is not None else None)
    assert previews and all(p.shape == (1, 3, 96, 96) for p in previews)


def test_adam_runs_and_respects_the_mask(toy):
    sketch, left, _ = toy
    res = gs.render(sketch, [gs.Region(left, checker(RED, CREAM))], fast(optimizer="adam", init="noise"))
    assert torch.equal((res.image[0][:, left < 0.5] * 255).round(), (sketch[0][:, left < 0.5] * 255).round())


def test_tiled_start_is_kept_by_the_texture_encoder_and_the_report_says_so(toy):
    sketch, left, _ = toy
    res = gs.render(sketch, [gs.Region(left, checker(RED, CREAM), name="l")], fast(iterations=20))
    level = res.report.levels[-1]
    assert res.report.iterations == 0 and level.converged_early
    assert level.kept["l"].startswith("tiled")
    # the outcome is decided before anything is measured: no targets, noise floors or optimiser (issue 11)
    assert level.stopped == "decided" and level.evaluations == 0 and not level.noise_floor
    assert (res.report.target_cache.hits, res.report.target_cache.misses) == (0, 0)


def test_small_region_skips_deep_layers_and_says_so():
    sketch, left, _ = draw_sketch(160, 160)
    tiny = torch.zeros(160, 160)
    tiny[70:90, 70:90] = 1
    res = gs.render(sketch, [gs.Region(tiny, checker(RED, CREAM), name="pocket")],
                    fast(size=160, iterations=2, init="noise"))
    skipped = res.report.skipped_layers["pocket"]
    assert skipped and len(skipped) < len(res.report.layers)
    assert any(n.startswith("pocket: layer(s)") and "matched on the other layers" in n for n in res.report.notes)
    # a tiled start the encoder keeps as it is matches no layer, so none is "skipped" and no note says so (issue 11)
    kept = gs.render(sketch, [gs.Region(tiny, checker(RED, CREAM), name="pocket")], fast(size=160))
    assert kept.report.levels[-1].stopped == "decided" and kept.report.skipped_layers["pocket"] == []
    assert not any("skipped" in n for n in kept.report.notes)


def test_a_region_no_layer_fits_is_said_to_be_unmatched():
    from garmentstyle.api import _skipped_layer_notes

    notes = _skipped_layer_notes({"a": ["l1", "l2"], "b": ["l2"], "c": []}, ("l1", "l2"))
    assert len(notes) == 2 and "not matched" in notes[0] and "matched on the other layers" in notes[1]


# ------------------------------------------------------------------------------------------------ bad input
def test_bad_masks(toy, tmp_path):
    sketch, left, _ = toy
    sw = checker(RED, CREAM)
    with pytest.raises(MaskError, match="empty"):
        gs.render(sketch, [gs.Region(torch.zeros(96, 96), sw)], fast())
    with pytest.raises(MaskError, match="whole image"):
        gs.render(sketch, [gs.Region(torch.ones(96, 96), sw)], fast())
    with pytest.raises(MaskError, match="sketch is 96×96"):
        gs.render(sketch, [gs.Region(torch.ones(50, 60), sw)], fast())
    speck = torch.zeros(96, 96)
    speck[10:13, 10:13] = 1
    with pytest.raises(MaskError, match="at least"):
        gs.render(sketch, [gs.Region(speck, sw)], fast())
    soft = left * 0.7
    soft[20:30] = 0.3
    res = gs.render(sketch, [gs.Region(soft, sw)], fast(iterations=0))
    assert any("not binary" in n for n in res.report.notes)


def test_bad_swatches_regions_and_options(toy, tmp_path):
    sketch, left, _ = toy
    with pytest.raises(InputError, match="at least 16"):
        gs.render(sketch, [gs.Region(left, torch.rand(1, 3, 8, 8))], fast())
    with pytest.raises(InputError, match="no regions"):
        gs.render(sketch, [], fast())
    with pytest.raises(OptionsError):
        gs.Region(left, torch.rand(1, 3, 32, 32), scale=0)
    with pytest.raises(InputError, match="named"):
        gs.render(sketch, [gs.Region(left, checker(RED, CREAM), name="a")] * 2, fast())
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(ImageReadError):
        gs.render(tmp_path / "broken.png", [gs.Region(left, checker(RED, CREAM))], fast())
    with pytest.raises(WeightsNotFoundError, match="weights download vgg19"):
        gs.render(sketch, [gs.Region(left, checker(RED, CREAM))], fast(encoder="vgg19"))
    with pytest.raises(OptionsError, match="CUDA"):
        if torch.cuda.is_available():
            pytest.skip("a GPU is present")
        gs.render(sketch, [gs.Region(left, checker(RED, CREAM))], fast(device="cuda"))


def test_save_and_transparent_export(toy, tmp_path):
    from PIL import Image

    sketch, left, _ = toy
    res = gs.render(sketch, [gs.Region(left, checker(RED, CREAM))], fast(iterations=0))
    p = res.save(tmp_path / "r.png")
    t = res.save(tmp_path / "t.png", transparent=True)
    assert Image.open(p).mode == "RGB"
    a = np.asarray(Image.open(t))[..., 3]
    assert a[left.numpy() < 0.5].max() == 0 and a[48, 20] == 255


def test_vgg19_path_end_to_end_with_a_local_checkpoint(toy, tmp_path, monkeypatch):
    # Real ImageNet weights cannot be downloaded here: a randomly initialised features-only checkpoint exercises the
    # same code path (lookup, load, 1/C² layer weights, content loss on conv4_2), and the report names the encoder.
    from torchvision.models.vgg import cfgs, make_layers  # torchvision's features only (no 120 M classifier)

    torch.manual_seed(0)
    state = {f"features.{k}": v for k, v in make_layers(cfgs["E"]).state_dict().items()}
    torch.save(state, tmp_path / "vgg19-features.pth")
    monkeypatch.setenv("GARMENTSTYLE_WEIGHTS", str(tmp_path))
    sketch, left, _ = draw_sketch(128, 128)
    res = gs.render(sketch, [gs.Region(left, checker(RED, CREAM))],
                    fast(size=128, iterations=3, init="noise", content_weight=0.5))
    assert res.report.encoder == "vgg19" and res.report.encoder_pretrained
    assert "content" in res.report.final_losses
    assert res.report.evaluations > 0
    outside = left < 0.5
    assert torch.equal((res.image[0][:, outside] * 255).round(), (sketch[0][:, outside] * 255).round())


def test_mask_that_misses_the_garment_is_reported(toy):
    sketch, left, _ = toy
    off = torch.zeros(96, 96)
    off[0:10, 0:80] = 1  # a strip of blank paper above the garment
    res = gs.render(sketch, [gs.Region(off, checker(RED, CREAM), name="oops")], fast(iterations=0))
    assert any("oops" in n and "blank page" in n for n in res.report.notes)
    ok = gs.render(sketch, [gs.Region(left, checker(RED, CREAM), name="fine")], fast(iterations=0))
    assert not any("blank page" in n for n in ok.report.notes)



def test_cancel_between_levels_still_returns_an_image(toy):
    sketch, left, _ = toy

    def cancel(p):
        if p.stage == "targets" and p.level == 1:
            raise Cancelled()

    res = gs.render(sketch, [gs.Region(left, checker(RED, CREAM))], fast(init="noise", levels=2, iterations=2),
                    on_progress=cancel)
    assert res.report.cancelled and res.image.shape == (1, 3, 96, 96)


def test_region_fits_reports_tiny_regions():
    from garmentstyle.api import region_fits

    m = torch.zeros(400, 400)
    m[100:120, 100:120] = 1
    assert region_fits(m, 0) and not region_fits(m, 64)


def test_large_outputs_are_optimised_at_a_bounded_size(toy, monkeypatch):
    from garmentstyle import transfer

    monkeypatch.setattr(transfer, "MAX_WORK_PIXELS", 48 * 48)
    sketch, left, right = draw_sketch(192, 192)
    sw = stripes(RED, CREAM, period=8, size=32)
    res = gs.render(sketch, [gs.Region(left, sw, name="l")], fast(size=192, iterations=2, keep_sketch=False))
    assert res.image.shape == (1, 3, 192, 192)
    assert max(res.report.work_size) < 192
    assert any("memory bound" in n for n in res.report.notes)
    # the tiled start is rebuilt at full resolution: crisp stripes, not an upsampled blur
    core = res.fabric[0, 1, 40:150, 40:80]  # green: 0.1 in the red stripes, 0.9 in the cream
    assert float(core.max() - core.min()) > 0.6
    assert float(((core > 0.3) & (core < 0.7)).float().mean()) < 0.25


@pytest.mark.parametrize("sketch_name, part, swatch_name", [
    ("fluent_dress", "garment", "acg_denim.png"),
    ("ocal_woman_coat_skirt", "skirt", "acg_tartan_green.png"),
])
def test_real_sketches_and_swatches(shared_data, sketch_name, part, swatch_name):
    sketch = shared_data / "sketches" / f"{sketch_name}.png"
    mask_p = shared_data / "masks" / f"{sketch_name}__{part}.png"
    swatch = shared_data / "swatches" / swatch_name
    res = gs.render(sketch, [gs.Region(mask_p, swatch, name=part, scale=0.5)], fast(size=192, iterations=3))
    m = res.masks[0]
    sk = res.sketch
    assert torch.equal((res.image[0][:, m == 0] * 255).round(), (sk[0][:, m == 0] * 255).round())
    canvas = swatch_ops.tile(gs.api.io.load_image(swatch), (192, 192),
                             zoom=res.report.regions[0].repeat_px_output / 128)
    d_sketch = texture_distance(sk, m, canvas)
    d_fabric = texture_distance(res.fabric, m, canvas)
    assert d_fabric < 0.2 * d_sketch, (d_sketch, d_fabric)

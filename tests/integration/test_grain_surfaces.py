"""Region(grain=…, drape=…) end to end: the render uses the mapping (stripes fan out on the skirt), the report says
what ran, the CLI parses @grain/@drape, and a bundle's recipe renders the same regions again (strokes included)."""
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

import garmentstyle as gs
from garmentstyle import export
from garmentstyle.commands.render import _parse_region
from garmentstyle.errors import OptionsError
from garmentstyle.mapping import synthetic

ROOT = Path(__file__).resolve().parents[2]
SKETCH = ROOT / "samples/sketches/dress.png"
SKIRT = ROOT / "samples/masks/dress__skirt.png"
FAST = gs.RenderOptions(size=256, iterations=0, encoder="texture")


def _stripes_file(tmp_path):
    p = tmp_path / "stripes.png"
    gs.io.save_image(synthetic.stripes().repeat(1, 1, 2, 2), p)
    return p


def test_auto_grain_render_differs_from_straight_only_inside_and_reports(tmp_path):
    sw = _stripes_file(tmp_path)
    straight = gs.render(SKETCH, [gs.Region(SKIRT, sw, name="skirt")], FAST)
    auto = gs.render(SKETCH, [gs.Region(SKIRT, sw, name="skirt", grain="auto", drape=0.3)], FAST)
    rep = auto.report.regions[0]
    assert rep.grain == "auto" and rep.drape == 0.3 and rep.mapping.source == "auto"
    assert straight.report.regions[0].mapping is None
    outside = auto.alpha == 0
    assert torch.equal(auto.image[0][:, outside], straight.image[0][:, outside])
    assert (auto.image - straight.image).abs().amax(1)[0][auto.alpha > 0.9].mean() > 0.05


def test_cli_parses_grain_and_drape():
    _, r = _parse_region(f"{SKIRT}={SKIRT}@grain=auto,drape=0.5", 1.0, 0.0)
    assert r.grain == "auto" and r.drape == 0.5
    _, r = _parse_region(f"{SKIRT}={SKIRT}@grain=strokes.png", 1.0, 0.0)
    assert r.grain == "strokes.png"
    with pytest.raises(OptionsError, match="grain must be straight, auto or a strokes image"):
        _parse_region(f"{SKIRT}={SKIRT}@grain=diagonal", 1.0, 0.0)
    with pytest.raises(OptionsError):
        _parse_region(f"{SKIRT}={SKIRT}@drape=-1", 1.0, 0.0)


def test_recipe_round_trip_keeps_grain_strokes_and_drape(tmp_path):
    sw = _stripes_file(tmp_path)
    sk = gs.io.load_image(SKETCH)
    strokes = np.full((sk.shape[-2], sk.shape[-1], 3), 255, np.uint8)
    strokes[420:700, 300:306] = (255, 0, 0)  # one stroke down the skirt's middle, slightly tilted below
    strokes[600:700, 306:312] = (255, 0, 0)
    regions = [gs.Region(ROOT / "samples/masks/dress__bodice.png", sw, name="bodice", drape=0.2),
               gs.Region(SKIRT, sw, name="skirt", grain=strokes, drape=0.4)]
    result = gs.render(SKETCH, regions, FAST)
    path = export.bundle(result, regions, tmp_path / "b.zip")
    with zipfile.ZipFile(path) as zf:
        zf.extractall(tmp_path / "b")
    recipe = json.loads((tmp_path / "b/recipe.json").read_text())
    assert [r["grain"] for r in recipe["regions"]] == ["straight", "grain/skirt.png"]
    assert [r["drape"] for r in recipe["regions"]] == [0.2, 0.4]
    _, again, options = export.load_recipe(tmp_path / "b/recipe.json")
    assert again[0].grain == "straight" and again[0].drape == 0.2 and again[1].drape == 0.4
    assert Path(again[1].grain).is_file()
    redo = gs.render(tmp_path / "b/sketch.png", again, options)
    assert redo.report.regions[1].mapping.source == "strokes"
    diff = (redo.image - result.image).abs()[0].amax(0)
    assert float(diff[result.alpha > 0.9].mean()) < 0.03  # the same fabric placement (resampling aside)


def test_auto_in_a_recipe_round_trips(tmp_path):
    from garmentstyle import recipe

    (tmp_path / "m.png").write_bytes(SKIRT.read_bytes())
    (tmp_path / "s.png").write_bytes(SKETCH.read_bytes())
    (tmp_path / "grain.png").write_bytes(SKETCH.read_bytes())  # any image the sketch's size
    data = {"garmentstyle_recipe": 1, "sketch": "s.png",
            "regions": [{"mask": "m.png", "swatch": "s.png", "name": "a", "grain": "auto", "drape": 0.5},
                        {"mask": "m.png", "swatch": "s.png", "name": "b", "grain": "grain.png"}]}
    r = recipe.parse(data, tmp_path)
    assert r.regions[0].grain == "auto" and r.regions[0].drape == 0.5
    assert Path(r.regions[1].grain) == (tmp_path / "grain.png").resolve() or Path(r.regions[1].grain).samefile(
        tmp_path / "grain.png")
    data["regions"][1]["grain"] = "../outside.png"
    with pytest.raises(gs.errors.InputError):
        recipe.parse(data, tmp_path)

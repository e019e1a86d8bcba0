"""Swatch preparation end to end (issue 7): a phone-style photo in a render, true scale in cm, the report entry,
recipes (bundle → recipe → same fields and scale), `garmentstyle swatch prepare`, and `@prepare=…` on --region."""
from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from PIL import Image

import garmentstyle as gs
from garmentstyle import export, io
from garmentstyle.cli import main
from garmentstyle.errors import OptionsError
from garmentstyle.testing.degrade import PhotoSpec, photograph, procedural_tartan

from tests.conftest import draw_sketch


@pytest.fixture(scope="module")
def photo_file(tmp_path_factory):
    ph = photograph(procedural_tartan((57, 43)), PhotoSpec(size=(480, 400), zoom=1.5, rotation=2.5))
    path = tmp_path_factory.mktemp("photo") / "tartan_photo.jpg"
    Image.fromarray((ph.image * 255 + 0.5).astype(np.uint8)).save(path, quality=90)
    return path


def _opts(**kw) -> gs.RenderOptions:
    return gs.RenderOptions(**{"size": 96, "iterations": 2, "preview_every": 0, **kw})


def test_true_scale_from_centimetres_and_the_report_entry(photo_file):
    sketch, left, _ = draw_sketch()
    res = gs.render(sketch, [gs.Region(left, photo_file, name="l", swatch_cm=24.0)], _opts(sketch_cm=48.0))
    r = res.report.regions[0]
    prep = r.prepare
    assert prep.action == "repeat" and prep.kind == "periodic" and abs(prep.rotation - 2.5) < 0.5
    # 480 px photo = 24 cm → 20 file px/cm; 96 px sketch = 48 cm → 2 sketch px/cm; scale = 10 (× tile px per file px)
    assert r.scale == pytest.approx(10.0 * prep.tile_px_per_source_px, rel=1e-3)
    res2 = gs.render(sketch, [gs.Region(left, photo_file, name="l", repeat_cm=4.0)], _opts(sketch_dpi=2 * 2.54))
    r2 = res2.report.regions[0]
    assert r2.repeat_px_sketch * r2.prepare.tile_px_per_source_px == pytest.approx(
        8.0 * r2.prepare.tile_size[0] / r2.prepare.repeat_px, rel=1e-3)
    with pytest.raises(OptionsError, match="sketch's size is unknown.*--sketch-cm"):
        gs.render(sketch, [gs.Region(left, photo_file, name="l", swatch_cm=24.0)], _opts())


def test_tileable_is_an_alias_and_contradictions_are_refused(photo_file):
    assert gs.Region("m", "s", tileable=True).prepare == "auto"
    with pytest.raises(OptionsError, match="contradicts"):
        gs.Region("m", "s", tileable=True, prepare="off")
    with pytest.raises(OptionsError, match="prepare"):
        gs.Region("m", "s", prepare="tidy")


def test_recipe_round_trip_keeps_preparation_and_true_scale(photo_file, tmp_path):
    sketch, left, _ = draw_sketch()
    region = gs.Region(left, photo_file, name="l", prepare="repeat", swatch_cm=24.0, rotation=10.0)
    res = gs.render(sketch, [region], _opts(sketch_cm=48.0))
    zp = export.bundle(res, [region], tmp_path / "b.zip")
    with zipfile.ZipFile(zp) as zf:
        zf.extractall(tmp_path / "b")
    entry = json.loads((tmp_path / "b" / "recipe.json").read_text())["regions"][0]
    assert (entry["prepare"], entry["swatch_cm"], entry["repeat_cm"]) == ("repeat", 24.0, None)
    assert entry["scale"] > 0  # the pixel scale is stored too
    sk, regions, options = export.load_recipe(tmp_path / "b" / "recipe.json")
    assert (regions[0].prepare, regions[0].swatch_cm, regions[0].rotation) == ("repeat", 24.0, 10.0)
    assert options.sketch_cm == 48.0
    again = gs.render(sk, regions, options)
    assert again.report.regions[0].scale == pytest.approx(res.report.regions[0].scale, rel=1e-3)


def test_cli_swatch_prepare_writes_tile_and_report_and_never_touches_the_photo(photo_file, tmp_path, capsys):
    before = photo_file.read_bytes()
    out, rep = tmp_path / "tile.png", tmp_path / "tile.json"
    assert main(["swatch", "prepare", str(photo_file), "--out", str(out), "--report", str(rep)]) == 0
    assert "repeat" in capsys.readouterr().out
    data = json.loads(rep.read_text())
    assert data["action"] == "repeat" and len(data["lattice_px"]) == 2 and len(data["outline_px"]) == 4
    assert Image.open(out).size == tuple(data["tile_size"])
    assert photo_file.read_bytes() == before
    flat = tmp_path / "flat.png"
    Image.new("RGB", (64, 64), (90, 90, 90)).save(flat)
    assert main(["swatch", "prepare", str(flat), "--out", str(tmp_path / "x.png"), "--mode", "repeat"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("garmentstyle: error:") and "flat colour" in err[-1]
    assert not (tmp_path / "x.png").exists()


def test_cli_render_region_keys_and_sketch_size(photo_file, tmp_path, capsys):
    sketch, left, _ = draw_sketch()
    io.save_image(sketch, tmp_path / "s.png")
    io.save_mask(left, tmp_path / "m.png")
    out, rep = tmp_path / "o.png", tmp_path / "r.json"
    rc = main(["render", str(tmp_path / "s.png"), "--region", f"{tmp_path / 'm.png'}={photo_file}@swatch_cm=24",
               "--sketch-cm", "48", "--out", str(out), "--report", str(rep), "--size", "96", "--iterations", "2",
               "--quiet"])
    assert rc == 0
    assert "swatch m: repeat" in capsys.readouterr().err
    r = json.loads(rep.read_text())["regions"][0]
    assert r["swatch_cm"] == 24.0 and r["prepare"]["action"] == "repeat"
    rc = main(["render", str(tmp_path / "s.png"), "--region", f"{tmp_path / 'm.png'}={photo_file}@prepare=off",
               "--out", str(out), "--report", str(rep), "--size", "96", "--iterations", "2", "--quiet"])
    assert rc == 0 and json.loads(rep.read_text())["regions"][0]["prepare"]["action"] == "as given"

"""`garmentstyle render` as a user runs it: bundled samples, report, recipe round trip, one-line errors."""
from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from PIL import Image

from garmentstyle import samples
from garmentstyle.cli import main

FAST = ["--size", "96", "--iterations", "2", "--quiet"]


def test_render_bundled_sample_with_report_and_bundle(tmp_path, capsys):
    m = samples.mask_paths("dress")
    out, rep, zp = tmp_path / "dress.png", tmp_path / "r.json", tmp_path / "b.zip"
    rc = main(["render", str(samples.sketch_path("dress")),
               "--region", f"{m['bodice']}={samples.swatch_path('tartan')}@scale=2",
               "--region", f"{m['skirt']}={samples.swatch_path('polka_dots')}@name=skirt,rotation=15,tileable=1",
               "--out", str(out), "--report", str(rep), "--bundle", str(zp), *FAST])
    assert rc == 0
    img = Image.open(out)
    assert img.format == "PNG" and max(img.size) == 96
    report = json.loads(rep.read_text())
    assert report["encoder"] == "texture" and report["encoder_pretrained"] is False
    assert [r["name"] for r in report["regions"]] == ["bodice", "skirt"]
    assert report["regions"][1]["rotation"] == 15 and report["regions"][1]["tileable"] is True
    assert json.loads(zipfile.ZipFile(zp).read("recipe.json"))["regions"][1]["tileable"] is True
    for key in ("device", "output_size", "iterations", "seconds", "final_losses"):
        assert key in report
    err = capsys.readouterr().err
    assert "offline fallback" in err and "garmentstyle weights download vgg19" in err
    names = zipfile.ZipFile(zp).namelist()
    for n in ("render.png", "render_transparent.png", "sketch.png", "lineart.png", "recipe.json",
              "masks/bodice.png", "masks/skirt.png"):
        assert n in names


def test_recipe_reproduces_the_render(tmp_path):
    m = samples.mask_paths("tshirt")
    zp = tmp_path / "b.zip"
    out = tmp_path / "a.png"
    assert main(["render", str(samples.sketch_path("tshirt")), "--region",
                 f"{m['body']}={samples.swatch_path('stripes')}", "--out", str(out), "--bundle", str(zp),
                 "--seed", "3", *FAST]) == 0
    zipfile.ZipFile(zp).extractall(tmp_path / "x")
    again = tmp_path / "again.png"
    assert main(["render", "--recipe", str(tmp_path / "x" / "recipe.json"), "--out", str(again), "--quiet"]) == 0
    a, b = np.asarray(Image.open(out)).astype(int), np.asarray(Image.open(again)).astype(int)
    assert a.shape == b.shape and np.abs(a - b).mean() < 1.0


@pytest.mark.parametrize("args, message", [
    (["--region", "MISSING.png=x.png"], "no such file"),
    (["--region", "nomask"], "expected MASK=SWATCH"),
    ([], "no regions"),
    (["--region", "{mask}={swatch}@speed=3"], "unknown option"),
    (["--region", "{mask}={swatch}@tileable=maybe"], "tileable must be 1 or 0"),
    (["--region", "{mask}={swatch}", "--encoder", "vgg19"], "weights download vgg19"),
    (["--region", "{mask}={tiny}"], "at least 16"),
    (["--region", "{empty}={swatch}"], "empty"),
])
def test_errors_are_one_line_exit_2_and_no_output(tmp_path, capsys, args, message):
    m = samples.mask_paths("dress")
    Image.new("RGB", (8, 8)).save(tmp_path / "tiny.png")
    w, h = Image.open(samples.sketch_path("dress")).size
    Image.new("L", (w, h)).save(tmp_path / "empty.png")
    fill = {"mask": str(m["skirt"]), "swatch": str(samples.swatch_path("denim")), "tiny": str(tmp_path / "tiny.png"),
            "empty": str(tmp_path / "empty.png")}
    args = [a.format(**fill) for a in args]
    out = tmp_path / "o.png"
    rc = main(["render", str(samples.sketch_path("dress")), *args, "--out", str(out), *FAST])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert err[-1].startswith("garmentstyle: error:") and message in err[-1]
    assert "Traceback" not in "\n".join(err)
    assert not out.exists() and not list(tmp_path.glob("*.part"))


def test_console_script_entry_point(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "garmentstyle", "render", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "--region" in proc.stdout and "--init" in proc.stdout


def test_render_auto_segments_then_renders(tmp_path, capsys):
    out = tmp_path / "auto.png"
    rc = main(["render", str(samples.sketch_path("tshirt")), "--auto", "--swatch", str(samples.swatch_path("stripes")),
               "--region", f"part02={samples.swatch_path('denim')}", "--out", str(out), "--report",
               str(tmp_path / "r.json"), *FAST])
    assert rc == 0
    rep = json.loads((tmp_path / "r.json").read_text())
    assert rep["segmenter"] == "classical"
    assert [r["name"] for r in rep["regions"]] == ["garment", "part02"]
    assert "segmenter: classical" in capsys.readouterr().err
    sketch = np.asarray(Image.open(samples.sketch_path("tshirt")).convert("RGB").resize(Image.open(out).size))
    assert np.abs(np.asarray(Image.open(out)).astype(int) - sketch.astype(int)).mean() > 5  # fabric went in


def test_render_auto_unknown_part_lists_the_parts(tmp_path, capsys):
    rc = main(["render", str(samples.sketch_path("tshirt")), "--auto", "--region",
               f"sleeve={samples.swatch_path('denim')}", "--out", str(tmp_path / "o.png"), *FAST])
    assert rc == 2 and "part01" in capsys.readouterr().err


def test_default_render_is_at_the_sketchs_own_size_and_print_size_is_cm_at_dpi(tmp_path, capsys):
    """No --size: the output is the sketch's own size (a print-resolution scan stays print resolution); --print-cm
    at --print-dpi sets the width in cm instead."""
    import time

    m = samples.mask_paths("dress")
    w, h = Image.open(samples.sketch_path("dress")).size
    region = ["--region", f"{m['skirt']}={samples.swatch_path('denim')}"]
    out = tmp_path / "own.png"
    t0 = time.perf_counter()
    assert main(["render", str(samples.sketch_path("dress")), *region, "--out", str(out), "--quiet"]) == 0
    took = time.perf_counter() - t0
    assert Image.open(out).size == (w, h)
    assert took < 60, f"a default render of a bundled sample took {took:.0f} s"
    out2 = tmp_path / "print.png"
    assert main(["render", str(samples.sketch_path("dress")), *region, "--out", str(out2), "--quiet",
                 "--print-cm", "5", "--print-dpi", "100", "--iterations", "2"]) == 0
    pw = round(5 / 2.54 * 100)  # 197 px wide; the height follows the sketch's proportions
    assert abs(Image.open(out2).size[0] - pw) <= 1 and abs(Image.open(out2).size[1] - pw * h / w) <= 1
    capsys.readouterr()
    rc = main(["render", str(samples.sketch_path("dress")), *region, "--out", str(tmp_path / "x.png"), "--quiet",
               "--print-cm", "5", "--size", "96"])
    assert rc == 2 and "not both" in capsys.readouterr().err
    rc = main(["render", str(samples.sketch_path("dress")), *region, "--out", str(tmp_path / "y.png"), "--quiet",
               "--print-cm", "200", "--print-dpi", "600"])
    assert rc == 2 and "above the limit" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists() and not (tmp_path / "y.png").exists()

"""`--region` quoting for file names holding = @ , and the script-friendly `--mask … --swatch … [--with …]`."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from garmentstyle.cli import main
from garmentstyle.commands.render import _parse_region
from garmentstyle.errors import InputError


@pytest.mark.parametrize("text,mask,swatch,extra", [
    ("m.png=s.png", "m.png", "s.png", {}),
    ("'run=1/m.png'='tartan@2x.png'@scale=2", "run=1/m.png", "tartan@2x.png", {"scale": 2.0}),
    ('"run=1/m.png"="a,b@c.png"@name="x, y",rotation=5', "run=1/m.png", "a,b@c.png", {"name": "x, y",
                                                                                      "rotation": 5.0}),
    (r"run\=1/m.png=tartan\@2x.png@weight=2", "run=1/m.png", "tartan@2x.png", {"style_weight": 2.0}),
    (r"C:\sk\m.png=C:\sw\s.png", r"C:\sk\m.png", r"C:\sw\s.png", {}),  # other backslashes are kept
    ("m.png=s.png@tileable=1", "m.png", "s.png", {"tileable": True}),
])
def test_parse(text, mask, swatch, extra):
    got_mask, region = _parse_region(text, 1.0, 0.0)
    assert got_mask == mask and region.mask == mask and region.swatch == swatch
    for k, v in extra.items():
        assert getattr(region, k) == v


@pytest.mark.parametrize("text,needle", [
    ("m.png=tartan@2x.png", "quote it"),
    ("'m.png=s.png", "unclosed ' quote"),
    ("m.png", "expected MASK=SWATCH"),
    ("m.png=s.png@scale=big", "scale must be a number"),
    ("m.png=s.png@scale=1e-300", "scale must be 0.01…100"),
    ("m.png=s.png@scale=nan", "finite"),
])
def test_parse_errors(text, needle):
    with pytest.raises(InputError) as info:
        _parse_region(text, 1.0, 0.0)
    assert needle in str(info.value)


@pytest.fixture
def awkward(tmp_path):
    """A sketch, and a mask and swatch whose folder and file names hold = and @."""
    d = tmp_path / "run=1"
    d.mkdir()
    sk = np.full((64, 64), 255, np.uint8)
    sk[8:56, 8] = 0
    Image.fromarray(sk).save(tmp_path / "sketch.png")
    m = np.zeros((64, 64), np.uint8)
    m[10:54, 10:54] = 255
    Image.fromarray(m).save(d / "body=front.png")
    sw = ((np.indices((24, 24)).sum(0) % 8) < 4).astype(np.uint8) * 200
    Image.fromarray(sw).convert("RGB").save(d / "tartan@2x.png")
    return tmp_path, d / "body=front.png", d / "tartan@2x.png"


def test_quoted_region_and_mask_swatch_flags_render_the_same(awkward, monkeypatch, capsys):
    tmp, mask, swatch = awkward
    seen = []

    def fake_render(sketch, regions, options, **kw):  # the render itself is tested elsewhere: check what it gets
        seen.append([(str(r.mask), str(r.swatch), r.name, r.scale) for r in regions])
        raise InputError("stop here")

    monkeypatch.setattr("garmentstyle.api.render", fake_render)
    base = ["render", str(tmp / "sketch.png"), "--out", str(tmp / "o.png"), "--quiet"]
    assert main([*base, "--region", f"'{mask}'='{swatch}'@scale=2,name=body"]) == 2
    assert main([*base, "--region", str(mask).replace("=", "\\=") + "=" + str(swatch).replace("@", "\\@")
                 + "@scale=2,name=body"]) == 2
    assert main([*base, "--mask", str(mask), "--swatch", str(swatch), "--with", "scale=2,name=body"]) == 2
    assert seen[0] == seen[1] == seen[2] == [(str(mask), str(swatch), "body", 2.0)]
    capsys.readouterr()


def test_unquoted_awkward_name_says_how_to_quote(awkward, capsys):
    tmp, mask, swatch = awkward
    rc = main(["render", str(tmp / "sketch.png"), "--region", f"{mask}={tmp / 'run=1' / 'x.png'}",
               "--out", str(tmp / "o.png"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and "no such file" in err and "quote it" in err and not (tmp / "o.png").exists()


def test_mask_without_swatch_and_stray_swatch(awkward, capsys):
    tmp, mask, swatch = awkward
    base = ["render", str(tmp / "sketch.png"), "--out", str(tmp / "o.png"), "--quiet"]
    assert main([*base, "--mask", str(mask)]) == 2
    assert "--swatch FILE right after it" in capsys.readouterr().err
    assert main([*base, "--swatch", str(swatch)]) == 2
    assert "belongs after its --mask" in capsys.readouterr().err


def test_mask_swatch_real_render(awkward, capsys):
    tmp, mask, swatch = awkward
    rc = main(["render", str(tmp / "sketch.png"), "--mask", str(mask), "--swatch", str(swatch),
               "--out", str(tmp / "o.png"), "--size", "64", "--iterations", "1", "--quiet"])
    assert rc == 0, capsys.readouterr().err
    out = np.asarray(Image.open(tmp / "o.png").convert("L"), np.float32)
    assert out[20:44, 20:44].std() > 10  # the stripes are in the region

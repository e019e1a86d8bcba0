"""Finite numbers everywhere (NaN/inf pixels refused with how many and where) and bounded work (an oversized
output refused up front, from the file header, before a large scan is decoded)."""
from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from PIL import Image

import garmentstyle as gs
from garmentstyle import io, samples
from garmentstyle.cli import main
from garmentstyle.errors import ImageReadError, InputError, OptionsError


def _float_tiff(path, nan_at=((3, 7),), inf_at=((10, 20),)):
    a = np.random.default_rng(0).random((40, 50)).astype(np.float32)
    for y, x in nan_at:
        a[y, x] = np.nan
    for y, x in inf_at:
        a[y, x] = np.inf
    Image.fromarray(a, "F").save(path)
    return path


def test_float_tiff_with_nan_is_refused_not_black(tmp_path):
    p = _float_tiff(tmp_path / "s.tif")
    for reader in (io.load_image, io.load_mask):
        with pytest.raises(ImageReadError) as info:
            reader(p)
        msg = str(info.value)
        assert "2 pixels are NaN or infinite" in msg and "x=7, y=3" in msg and "x 7–20, y 3–10" in msg


def test_clean_float_tiff_keeps_its_values(tmp_path):
    a = np.linspace(0, 1, 40 * 50, dtype=np.float32).reshape(40, 50)
    Image.fromarray(a, "F").save(tmp_path / "ok.tif")
    img = io.load_image(tmp_path / "ok.tif")
    assert torch.allclose(img[0, 0], torch.from_numpy(a), atol=1e-6)


@pytest.mark.parametrize("kind", ["array", "tensor"])
def test_render_refuses_non_finite_arrays(kind):
    sk, m, _ = _sketch()
    bad = sk.copy()
    bad[5, 5, 1] = np.nan
    src = bad if kind == "array" else torch.from_numpy(bad).permute(2, 0, 1)[None]
    with pytest.raises(InputError, match="1 pixel is NaN or infinite"):
        gs.render(src, [gs.Region(m, samples.swatch_path("denim"))], gs.RenderOptions(size=64, iterations=1))


def test_nan_swatch_and_mask_refused():
    sk, m, sw = _sketch()
    sw_bad = sw.copy()
    sw_bad[0, 0] = np.inf
    with pytest.raises(InputError, match="swatch|NaN or infinite"):
        gs.render(sk, [gs.Region(m, sw_bad)], gs.RenderOptions(size=64, iterations=1))
    m_bad = m.copy()
    m_bad[30, 30] = np.nan
    with pytest.raises(InputError, match="NaN or infinite"):
        gs.render(sk, [gs.Region(m_bad, sw)], gs.RenderOptions(size=64, iterations=1))


def _sketch():
    sk = np.ones((64, 64, 3), np.float32)
    sk[8:56, 8] = sk[8:56, 55] = 0
    m = np.zeros((64, 64), np.float32)
    m[10:54, 10:54] = 1
    sw = (np.indices((24, 24)).sum(0) % 8 < 4).astype(np.float32)[..., None].repeat(3, 2)
    return sk, m, sw


def test_native_size_above_the_output_limit_is_refused_from_the_header(tmp_path, capsys):
    """A 9000×700 sketch (cheap on disk) at size 0: refused before decoding, with the limit and the fix."""
    p = tmp_path / "wide.png"
    Image.new("1", (9000, 700), 1).save(p)
    m = tmp_path / "m.png"
    Image.new("1", (9000, 700), 0).save(m)
    t0 = time.perf_counter()
    with pytest.raises(OptionsError, match="above the 4096 px limit.*--size 4096"):
        gs.render(p, [gs.Region(m, samples.swatch_path("denim"))], gs.RenderOptions(size=0))
    assert time.perf_counter() - t0 < 1.0
    rc = main(["render", str(p), "--region", f"{m}={samples.swatch_path('denim')}", "--size", "0",
               "--out", str(tmp_path / "o.png"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and "4096 px limit" in err and not (tmp_path / "o.png").exists()


def test_too_many_pixels_says_how_far_to_downscale(tmp_path):
    p = tmp_path / "huge.png"
    Image.new("1", (10_000, 6_000), 1).save(p)  # 60 MP, a few kB
    with pytest.raises(ImageReadError, match=r"limit 50 MP\); scale it down to at most 9128×5477 px"):
        io.load_image(p)
    assert io.peek_size(p) == (6000, 10_000) and io.peek_size(np.zeros((2, 2))) is None

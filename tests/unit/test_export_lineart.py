"""The bundle's lineart.png is the ink layer the render laid over the fabric (issue 9): the sketch's own line
pixels at the finishing's ink opacity — lines opaque, paper and light shading clear (the old layer was the shading
map, so shading came out as a grey veil)."""
from __future__ import annotations

import io as _io
import zipfile

import numpy as np
import torch
from PIL import Image

import garmentstyle as gs
from garmentstyle import export, finish
from tests.conftest import checker, draw_sketch


def test_bundle_lineart_is_the_ink_layer(tmp_path):
    sketch, left, right = draw_sketch()
    res = gs.render(sketch, [gs.Region(left, checker((0.8, 0.1, 0.1), (0.9, 0.9, 0.8)), name="l")],
                    gs.RenderOptions(size=96, preview_every=0, keep_paper=True))
    path = export.bundle(res, [gs.Region(left, checker((0.8, 0.1, 0.1), (0.9, 0.9, 0.8)), name="l")],
                         tmp_path / "b.zip")
    with zipfile.ZipFile(path) as zf:
        art = np.asarray(Image.open(_io.BytesIO(zf.read("lineart.png"))).convert("RGBA")).astype(np.float32) / 255
    ink = finish.ink_map(res.sketch)[0, 0].numpy()
    assert np.abs(art[..., 3] - ink).max() <= 1 / 255 + 1e-6  # the opacity the finishing used
    sk = res.sketch[0].permute(1, 2, 0).numpy()
    lines = ink > 0.99
    assert lines.sum() > 50 and np.abs(art[..., :3][lines] - sk[lines]).max() <= 1 / 255 + 1e-6  # its own pixels
    lum = sk.mean(axis=2)
    shading = (lum > 0.6) & (lum < 0.97) & (ink == 0)  # the toy's light shading: not line art
    assert shading.sum() > 50 and (art[..., 3][shading] == 0).all()


def test_render_result_keeps_the_prepared_ink():
    sketch, left, _ = draw_sketch()
    res = gs.render(sketch, [gs.Region(left, checker((0.8, 0.1, 0.1), (0.9, 0.9, 0.8)), name="l")],
                    gs.RenderOptions(size=96, preview_every=0))
    layer = res.ink_layer()
    assert layer.shape == res.image.shape[-2:] and float(layer.min()) >= 0 and float(layer.max()) <= 1
    if res.ink is None:  # clean line art: the finishing derived the ink from the sketch
        assert torch.equal(layer, finish.ink_map(res.sketch)[0, 0])

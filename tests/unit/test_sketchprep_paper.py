"""Digital line art with soft shading is white paper: a render finishes on the sketch as drawn (its shading kept),
not on a "cleaned" copy whose shading was flattened away as if it were uneven light."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from garmentstyle.sketchprep import for_render

SAMPLES = sorted((Path(__file__).resolve().parents[2] / "samples" / "sketches").glob("*.png"))


def _tensor(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))[None]


@pytest.mark.parametrize("path", SAMPLES, ids=[p.stem for p in SAMPLES])
def test_shaded_digital_sketch_is_finished_as_drawn(path):
    rgb = np.asarray(Image.open(path).convert("RGB"), np.float32) / 255.0
    sketch = _tensor(rgb)
    prep = for_render(sketch)
    assert prep.note is None and prep.ink is None and prep.outside is None
    assert torch.equal(prep.sketch, sketch)  # the shading is the designer's, not light to flatten


def test_the_same_drawing_on_vignetted_cream_paper_is_still_cleaned():
    rgb = np.asarray(Image.open(SAMPLES[0]).convert("RGB"), np.float32) / 255.0
    h, w = rgb.shape[:2]
    yy, xx = np.mgrid[:h, :w]
    light = 1.0 - 0.25 * (((yy - h / 2) / h) ** 2 + ((xx - w / 2) / w) ** 2) * 4
    photo = rgb * np.array([0.95, 0.91, 0.82], np.float32) * light[..., None].astype(np.float32)
    prep = for_render(_tensor(photo))
    assert prep.note and "cleaned sketch" in prep.note
    corner = prep.sketch[0, :, :20, :20].reshape(3, -1).median(dim=1).values
    assert corner.min() > 0.95  # the cream, vignetted paper is white again

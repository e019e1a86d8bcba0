"""A marker flat photographed on cream paper: a fill inside an outline that a region covers becomes fabric; a fill
inside an outline that no region covers keeps the designer's colour (it used to render white: the finishing had
divided every placeholder fill out of the cleaned sketch)."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from garmentstyle import Region, RenderOptions, render

H, W = 320, 360
MARKER = np.array([0.85, 0.40, 0.35], np.float32)  # a red marker


def _photo() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rgb = np.ones((H, W, 3), np.float32) * np.array([0.93, 0.89, 0.80], np.float32)  # cream paper
    yy, xx = np.mgrid[:H, :W]
    rgb *= (1.0 - 0.10 * (((yy - H / 2) ** 2 + (xx - W / 2) ** 2) / (H / 2) ** 2))[..., None]  # vignette
    left = np.zeros((H, W), bool)
    right = np.zeros((H, W), bool)
    left[60:260, 40:170] = True
    right[60:260, 190:320] = True
    rgb[left | right] *= MARKER
    for x0, x1 in ((40, 170), (190, 320)):
        cv2.rectangle(rgb, (x0, 60), (x1, 260), (0.05, 0.05, 0.05), 3)
    return np.clip(rgb, 0, 1), left, right


def _swatch() -> np.ndarray:
    sw = np.ones((32, 32, 3), np.float32) * np.array([0.15, 0.35, 0.75], np.float32)  # blue, seamless
    sw[:, :16] *= 0.8
    return sw


@pytest.mark.slow
def test_uncovered_marker_fill_keeps_its_colour_and_covered_one_gets_fabric():
    rgb, left, right = _photo()
    res = render(rgb, [Region(mask=left.astype(np.float32), swatch=_swatch(), name="left", prepare="off")],
                 RenderOptions(size=0, seed=0))
    img = res.image[0].permute(1, 2, 0).numpy()
    core = np.zeros((H, W), bool)
    core[90:230, 70:140] = True
    right_core = np.zeros((H, W), bool)
    right_core[90:230, 220:290] = True
    fabric = np.median(img[core], axis=0)
    kept = np.median(img[right_core], axis=0)
    assert fabric[2] > fabric[0] + 0.2, f"the covered panel shows the blue fabric, not the marker: {fabric}"
    assert kept[0] > kept[2] + 0.2, f"the uncovered panel keeps its red marker (was white): {kept}"
    paper = np.median(img[5:40, 5:40].reshape(-1, 3), axis=0)
    assert paper.min() > 0.95, f"the paper around the drawing is cleaned to white: {paper}"
    assert any("keeps its colour" in n for n in res.report.notes)

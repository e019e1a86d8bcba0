"""Sketch preparation is cached per sketch content (the UI's previews and a batch render one sketch many times):
the same render either way, and a caller changing a result in place cannot change the cache."""
from __future__ import annotations

import torch

import garmentstyle as gs
from garmentstyle import api
from tests.conftest import checker, draw_sketch


def _grey_paper():
    sketch, left, _ = draw_sketch()
    paper = torch.tensor([0.82, 0.78, 0.70]).view(1, 3, 1, 1)  # a cream photo of the page: sketch prep cleans it
    return sketch * paper, left


def test_cached_sketch_preparation_gives_the_same_render_and_is_not_aliased():
    sketch, left = _grey_paper()
    region = [gs.Region(left, checker((0.8, 0.1, 0.1), (0.9, 0.9, 0.8)), name="l")]
    opts = gs.RenderOptions(size=0, preview_every=0)
    api.SKETCH_PREP.clear()
    first = gs.render(sketch, region, opts)
    assert any("cleaned sketch" in n for n in first.report.notes)
    again = gs.render(sketch.clone(), region, opts)  # same content, another tensor: a cache hit
    assert torch.equal(first.image, again.image) and torch.equal(first.sketch, again.sketch)
    assert first.report.notes == again.report.notes
    again.sketch.zero_()  # the caller's copy, not the cache's
    if again.ink is not None:
        again.ink.zero_()
    third = gs.render(sketch, region, opts)
    assert torch.equal(first.image, third.image)

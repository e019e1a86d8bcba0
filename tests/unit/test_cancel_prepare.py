"""A cancel lands during swatch preparation too (issue 11: "cancel is not checked during swatch preparation"): a
phone photo's synthesis takes seconds, and the render must stop within one row of quilting blocks, keep nothing
half-made in the cache, and raise ``Cancelled`` (stage "prepare": no image exists yet)."""
from __future__ import annotations

import numpy as np
import pytest

from garmentstyle import RenderOptions, api
from garmentstyle.api import Region
from garmentstyle.errors import Cancelled
from garmentstyle.progress import CancelToken
from garmentstyle.swatches import CACHE, pipeline, quilt as quilt_mod
from garmentstyle.testing.degrade import PhotoSpec, photograph, procedural_noise
from tests.conftest import draw_sketch


def _photo() -> np.ndarray:
    return photograph(procedural_noise(128), PhotoSpec(size=(360, 300), zoom=1.0, rotation=2.0, seed=3)).image


def test_quilting_stops_at_the_first_row_after_a_cancel():
    rows = []

    def check() -> None:
        rows.append(1)
        if len(rows) == 2:
            raise Cancelled("cancelled at prepare", checkpoint="prepare")

    src = procedural_noise(128)
    with pytest.raises(Cancelled):
        quilt_mod.quilt(src, 96, block=24, check=check)
    assert len(rows) == 2  # checked before every row, and nothing ran after the raising check


def test_render_cancelled_during_swatch_synthesis_raises_and_caches_nothing(monkeypatch):
    sketch, left, _ = draw_sketch()
    token = CancelToken()
    rows = {"n": 0}
    real = pipeline.quilt

    def quilt_then_cancel(*a, check=None, **kw):
        def cancelling_check() -> None:
            rows["n"] += 1
            if rows["n"] == 2:
                token.cancel()  # the designer presses Cancel while the tile is being quilted
            check()
        return real(*a, check=cancelling_check, **kw)

    monkeypatch.setattr(pipeline, "quilt", quilt_then_cancel)
    CACHE.clear()
    with pytest.raises(Cancelled) as err:
        api.render(sketch, [Region(mask=left, swatch=_photo(), prepare="synthesize")],
                   RenderOptions(size=96, iterations=1), cancel=token)
    assert err.value.checkpoint == "prepare"
    assert rows["n"] == 2  # stopped at the next row of blocks, not after the whole tile
    assert CACHE.misses >= 1 and CACHE.hits == 0 and len(CACHE) == 0  # the stopped preparation left nothing


def test_an_uncancelled_render_prepares_the_same_tile_as_prepare_alone():
    """The checks observe; they do not change the tile."""
    photo = _photo()
    CACHE.clear()
    a = pipeline.prepare(photo, "synthesize", use_cache=False).tile
    b = pipeline.prepare(photo, "synthesize", use_cache=False, check=lambda: None).tile
    assert (a == b).all()

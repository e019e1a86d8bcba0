"""The page note is cheap: a mask inside the drawing never runs the partition; one on the page is confirmed by it."""
from __future__ import annotations

import torch

from garmentstyle import pagecheck
from garmentstyle.segment import lineart
from tests.conftest import draw_sketch


def test_mask_inside_the_drawing_skips_the_partition(monkeypatch):
    sketch, left, _ = draw_sketch(160, 160)

    def boom(*a, **k):
        raise AssertionError("partition must not run for a mask inside the drawing")

    monkeypatch.setattr(lineart, "partition", boom)
    assert pagecheck.PageCheck(sketch).fraction_on_page(left) < 0.1


def test_mask_on_the_page_is_confirmed_by_the_partition(monkeypatch):
    sketch, left, _ = draw_sketch(160, 160)
    off = torch.zeros(160, 160)
    off[:, :18] = 1  # a band left of the drawing: blank page
    calls = []
    real = lineart.partition
    monkeypatch.setattr(lineart, "partition", lambda s, *a, **k: calls.append(1) or real(s, *a, **k))
    frac = pagecheck.PageCheck(sketch).fraction_on_page(off)
    assert calls and frac is not None and frac > 0.9


def test_large_scans_are_checked_on_a_small_copy():
    sketch, left, _ = draw_sketch(1100, 700)
    check = pagecheck.PageCheck(sketch)
    assert check.fraction_on_page(left) < 0.1
    assert max(check._cheap_page().shape) <= pagecheck.CHEAP_SIDE

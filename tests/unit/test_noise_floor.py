"""The noise floor (a second sample of each fabric, the stop rule's "as matched as it can be"): measured before the
optimiser only for a start that is a sample of the fabric; a noise or sketch start measures it at its first check,
after the first gradient — and stops there when it is met, for L-BFGS and Adam alike."""
from __future__ import annotations

import pytest
import torch

import garmentstyle as gs
from garmentstyle import losses, samples, transfer
from garmentstyle.optimise import CHECK_EVERY


@pytest.fixture
def regions():
    m = samples.mask_paths("dress")
    return [gs.Region(m["bodice"], samples.swatch_path("tartan"), name="bodice"),
            gs.Region(m["skirt"], samples.swatch_path("floral"), name="skirt")]


def _render(regions, monkeypatch, **kw):
    """Render at 64 px with the offline encoder; returns the result and whether each GuidedStyleLoss call had
    gradients enabled, in order."""
    calls: list[bool] = []
    real = losses.GuidedStyleLoss.forward

    def recorded(self, image):
        calls.append(torch.is_grad_enabled())
        return real(self, image)

    monkeypatch.setattr(losses.GuidedStyleLoss, "forward", recorded)
    opts = gs.RenderOptions(size=64, encoder="texture", levels=1, iterations=kw.pop("iterations", CHECK_EVERY), **kw)
    return gs.render(samples.sketch_path("dress"), regions, opts), calls


@pytest.mark.parametrize("init", ["noise", "content"])
def test_a_noise_or_sketch_start_measures_the_floor_after_its_first_gradient(regions, monkeypatch, init):
    res, calls = _render(regions, monkeypatch, init=init)
    assert calls[0] is True  # the first evaluation is the optimiser's, with its gradient
    assert calls.count(False) == 1  # one floor pass, later
    assert calls.index(False) > 1
    assert set(res.report.levels[-1].noise_floor) == {"bodice", "skirt"}


def test_a_fabric_start_measures_the_floor_before_the_optimiser(regions, monkeypatch):
    res, calls = _render(regions, monkeypatch, init="style")  # the stretched swatch (tiled is decided offline)
    assert calls[0] is False and calls.count(False) == 1
    assert set(res.report.levels[-1].noise_floor) == {"bodice", "skirt"}


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
@pytest.mark.parametrize("init, stops_after", [("noise", CHECK_EVERY), ("style", 0)])
def test_a_met_floor_stops_a_noise_start_at_its_first_check_and_a_fabric_start_at_once(
        regions, monkeypatch, optimizer, init, stops_after):
    monkeypatch.setattr(transfer, "FLOOR_FACTOR", 1e12)  # every loss is "at the floor"
    res, _ = _render(regions, monkeypatch, init=init, optimizer=optimizer, iterations=3 * CHECK_EVERY)
    level = res.report.levels[-1]
    assert level.stopped == "noise floor" and level.iterations == stops_after

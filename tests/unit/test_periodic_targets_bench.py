"""The premises of ``bench/bench_vgg19.py --only circular`` (style targets on an exactly periodic canvas with
circular padding, measured against the current method — not integrated, see bench/RESULTS.md): the canvas wraps
seamlessly and is the swatch tiled at the rounded zoom, and with circular padding its Grams do not depend on how many
repeats the canvas holds (every cell is a cell of the infinite tiling). If these broke, the bench would compare
something else than it says."""
from __future__ import annotations

import dataclasses
import importlib.util
import sys
from pathlib import Path

import torch

from garmentstyle import swatch as sw_ops
from garmentstyle.encoders.vgg19 import VGG19Encoder

_BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_vgg19.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_vgg19_under_test", _BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass resolves annotations through sys.modules
    spec.loader.exec_module(module)
    return module


def test_periodic_canvas_wraps_and_circular_grams_are_exact():
    bv = _bench()
    torch.manual_seed(0)
    swatch = torch.rand(1, 3, 48, 40)
    enc = VGG19Encoder(None)
    layers = ("relu1_1", "relu2_1", "relu3_1")  # stride 4
    # 48×40 px repeats whole both ways only at zooms of k/8: 0.75 is the one within 2 % of 0.748 (30×36 px)
    plan = bv.periodic_plan(enc, (48, 40), 0.748, layers, tol=0.02)
    assert plan is not None and abs(plan.zoom / 0.748 - 1) <= 0.02 and plan.period == (36, 30)
    assert all(s % p == 0 and s % 4 == 0 for s, p in zip(plan.size, plan.period))
    canvas = bv.periodic_canvas(swatch, plan)
    py, px = plan.period
    assert torch.equal(canvas, torch.roll(canvas, (py, px), dims=(2, 3)))  # seamless, bit for bit
    tiled = sw_ops.tile(swatch, plan.size, zoom=plan.zoom, origin=(0.0, 0.0))
    assert torch.allclose(canvas, tiled, atol=1e-5)  # the swatch as tile() lays it at the rounded zoom
    one = bv.periodic_targets(enc, swatch, plan, layers)
    more = bv.periodic_targets(enc, swatch, dataclasses.replace(plan, size=(2 * plan.size[0], 3 * plan.size[1])),
                               layers)
    for n in layers:
        assert float((one[n] - more[n]).norm() / more[n].norm()) < 1e-5, n

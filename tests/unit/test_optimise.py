"""optimise(): one loop for L-BFGS and Adam; the observation cadence never changes the iterates."""
from __future__ import annotations

import math

import pytest
import torch

from garmentstyle.errors import Cancelled
from garmentstyle.optimise import CHECK_EVERY, optimise


def _criterion():
    g = torch.Generator().manual_seed(0)
    A = torch.randn(12, 12, generator=g)
    target = torch.rand(1, 3, 6, 6, generator=g)

    def crit(x):
        f = torch.tanh(x.reshape(3, -1).T @ A[:3]) if x.shape[1] == 3 else x.reshape(1, -1)
        gram = f.T @ f / f.shape[0]
        tg = torch.tanh(target.reshape(3, -1).T @ A[:3])
        style = (gram - tg.T @ tg / tg.shape[0]).square().sum()
        return {"style": style, "total": style}

    return crit, torch.rand(1, 3, 6, 6, generator=g)


@pytest.mark.parametrize("method", ["lbfgs", "adam"])
def test_same_iterates_whatever_the_observation_cadence(method):
    crit, x0 = _criterion()
    outs, seen = [], {}
    for every in (0, 1, CHECK_EVERY):
        steps: list[int] = []
        res = optimise(crit, x0, steps=7, method=method, lr=0.05, observe_every=every,
                       observe=lambda s, losses, x: steps.append(s) if x is not None else None)
        outs.append(res)
        seen[every] = steps
    assert all(torch.equal(outs[0].x, r.x) for r in outs[1:])
    assert all(r.steps == outs[0].steps and r.evaluations == outs[0].evaluations for r in outs[1:])
    assert seen[0] == [] and seen[1] == list(range(1, outs[0].steps + 1))
    assert outs[0].last["total"] < outs[0].first["total"]


def test_lbfgs_reuses_the_evaluation_at_its_start():
    crit, x0 = _criterion()
    calls = [0]

    def counted(x):
        calls[0] += 1
        return crit(x)

    res = optimise(counted, x0, steps=6)
    assert res.evaluations == calls[0]
    assert res.evaluations <= 1 + 6 * 3  # no extra evaluation per step() call


def test_stop_rule_runs_at_the_fixed_interval():
    crit, x0 = _criterion()
    at: list[float] = []

    def stop(now, previous):
        at.append(now["total"])
        return "enough" if previous is not None else None

    res = optimise(crit, x0, steps=50, stop=stop, check_every=4)
    assert res.stopped == "enough" and res.steps == 8 and len(at) == 3  # at the start, after 4 and 8


def test_stop_at_start_builds_no_optimiser():
    crit, x0 = _criterion()
    res = optimise(crit, x0, steps=10, stop=lambda now, prev: "floor")
    assert res.steps == 0 and res.stopped == "floor" and torch.equal(res.x, x0) and res.evaluations == 1


def test_zero_steps_measures_without_gradient():
    crit, x0 = _criterion()
    res = optimise(crit, x0, steps=0)
    assert res.steps == 0 and res.first == res.last and res.evaluations == 1


def test_cancel_keeps_the_current_image():
    crit, x0 = _criterion()
    n = [0]

    def checkpoint(name):
        n[0] += 1
        if n[0] == 3:
            raise Cancelled(checkpoint=name)

    res = optimise(crit, x0, steps=20, checkpoint=checkpoint)
    assert res.stopped == "cancelled" and res.steps == 3 and not torch.equal(res.x, x0)


@pytest.mark.parametrize("method", ["adam", "lbfgs"])
def test_divergence_keeps_the_last_good_image(method):
    """Every evaluation after the 12th is NaN: the result is the last good image, and L-BFGS does not spend its line
    search budget again and again on a direction that only leads to NaN."""
    crit, x0 = _criterion()
    k = [0]

    def bad(x):
        k[0] += 1
        out = crit(x)
        if k[0] > 12:
            out = {n: v * math.nan for n, v in out.items()}
        return out

    res = optimise(bad, x0, steps=30, method=method)
    assert torch.isfinite(res.x).all()
    if method == "adam":
        assert res.stopped == "diverged"
    else:  # its line search backs away from NaN to the last good point, where no step is left
        assert res.stopped in ("diverged", "stalled") and res.evaluations <= 12 + 2 * 26


@pytest.mark.parametrize("kw", [dict(method="sgd"), dict(check_every=0)])
def test_bad_arguments(kw):
    crit, x0 = _criterion()
    with pytest.raises(ValueError):
        optimise(crit, x0, steps=2, **kw)


_IMPORTS_PROBE = """
import sys
import garmentstyle as gs
from garmentstyle import samples
m = samples.mask_paths("dress")
regions = [gs.Region(m["skirt"], samples.swatch_path("denim"), name="skirt")]
gs.render(samples.sketch_path("dress"), regions, gs.RenderOptions(size=96))
print("default", "torch._dynamo" in sys.modules)
for method in ("lbfgs", "adam"):
    r = gs.render(samples.sketch_path("dress"), regions,
                  gs.RenderOptions(size=96, init="noise", iterations=3, levels=1, optimizer=method))
    print(method, "torch._dynamo" in sys.modules, r.report.iterations)
"""


def test_no_render_imports_dynamo():
    """torch.optim's first use imports TorchDynamo (~1 s, more than four 256 px VGG19 evaluations) for a compiler
    nothing here uses; the solvers are our own, so neither the default render nor an optimised one imports it."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, GARMENTSTYLE_CACHE="off")
    out = subprocess.run([sys.executable, "-c", _IMPORTS_PROBE], capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split("\n")[:3] == ["default False", "lbfgs False 3", "adam False 3"], out.stdout

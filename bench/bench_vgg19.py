"""VGG19 encoder benchmarks (issue 11), with a randomly initialised features-only checkpoint (the timing does not
depend on the weights; ImageNet weights cannot be downloaded here).

  nice -n 10 .venv/bin/python bench/bench_vgg19.py [--only setup|precision|linesearch|targets|circular]
      [--size 192] [--sizes 128 192 256] [--iterations 12 ...] [--seeds 0 1] [--threads 2] [--json out.json]

Timings are reported in wall and process-CPU seconds; on a shared machine compare ratios from the same run.

(1) set-up: the time from ``render()`` to the first gradient evaluation (encoder build from the checkpoint, style
    targets, noise floors, content target, guides), in units of one evaluation (forward + backward of the
    :class:`~garmentstyle.losses.GuidedStyleLoss` the render builds) — measured on the real render path by timing the
    loss's calls, first in a fresh encoder cache (a first render) and then warm;
(2) bf16 vs fp32 (``precision``): seconds per evaluation and the final style loss and patch distance after the same
    iterations from the same noise start, on the bundled dress (two regions);
(3) strong-Wolfe line search vs none (``garmentstyle.optimise.LINE_SEARCH``): style loss and patch distance reached
    and wall time, for the texture encoder and VGG19, from noise, same iterations — quality per second;
(4) ``targets``: style targets measured for every style layer (the rule before issue 11's set-up work: a pass to
    relu5_1 on a canvas sized for relu5_1) vs only for the layers each region uses (the pass stops at the deepest,
    the canvas is sized for it): set-up, and the final style loss and patch distance of the same noise-start render;
    ``--rules used_layers periodic --tol 0.02`` compares the current rule with (5)'s periodic canvas instead (the
    style loss is each render's own, against its own targets: compare the patch distances);
(5) ``circular`` (research, not in the library): style targets on an exactly periodic canvas with circular padding
    (the zoom rounded, within ``--tols``, so one repeat is a whole number of px; canvas a multiple of lcm(repeat,
    stride)) vs the current zero-padded canvas, both against a large-canvas reference (``--ref-side``; with
    ``--ref-shift`` also one with the tiling moved): relative Gram error per layer and the measurement's time, on the
    bundled and/or ../shared/data swatches (``--swatches``) at the dress's repeats for 256 / 384 / 512 px renders.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import garmentstyle as gs  # noqa: E402
from garmentstyle import encoders, io, losses, optimise, samples, swatch as sw_ops  # noqa: E402
from garmentstyle.metrics import texture_distance  # noqa: E402
from garmentstyle.precision import cpu_has_native_bf16  # noqa: E402


_CHECKPOINT_SCRIPT = """
import sys, torch
from torchvision.models.vgg import cfgs, make_layers
torch.manual_seed(0)
state = {f"features.{k}": v for k, v in make_layers(cfgs["E"]).state_dict().items()}
torch.save(state, sys.argv[1])
"""


def random_checkpoint(folder: Path) -> Path:
    """A features-only VGG19 state dict with torchvision's random init, where ``weights.require`` looks. Written by
    a child process: importing torchvision here would import ``torch._dynamo`` (~1.3 s) into the measured process,
    which a user's ``garmentstyle render`` never does, and hide that cost from the set-up figures."""
    path = folder / "vgg19-features.pth"
    subprocess.run([sys.executable, "-c", _CHECKPOINT_SCRIPT, str(path)], check=True)
    return path


class LossClock:
    """Times every grad-enabled call of GuidedStyleLoss.forward (+ its backward, up to the next call) in a render."""

    def __init__(self) -> None:
        self.t0 = self.c0 = 0.0
        self.calls: list[float] = []
        self.cpu: list[float] = []  # process CPU seconds at the same calls (less bent by a loaded machine)
        self._orig = losses.GuidedStyleLoss.forward

    def __enter__(self):
        clock = self

        def forward(mod, image):
            if torch.is_grad_enabled():
                clock.calls.append(time.perf_counter())
                clock.cpu.append(time.process_time())
            return clock._orig(mod, image)

        losses.GuidedStyleLoss.forward = forward
        self.t0, self.c0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        losses.GuidedStyleLoss.forward = self._orig
        self.t1 = time.perf_counter()

    def setup_s(self) -> float:
        return self.calls[0] - self.t0

    def per_eval_s(self, cpu: bool = False) -> float:
        marks = self.cpu if cpu else self.calls
        gaps = sorted(b - a for a, b in zip(marks, marks[1:]))
        return gaps[len(gaps) // 2] if gaps else float("nan")  # median: robust to a shared machine's pauses

    def setup_cpu_s(self) -> float:
        return self.cpu[0] - self.c0

    def facts(self) -> dict:
        """Set-up and the median evaluation, wall and process CPU seconds, and set-up in evaluations of each."""
        wall, cpu = self.per_eval_s(), self.per_eval_s(cpu=True)
        return {"setup_s": round(self.setup_s(), 3), "per_eval_s": round(wall, 3),
                "setup_evals": round(self.setup_s() / wall, 2), "setup_cpu_s": round(self.setup_cpu_s(), 3),
                "per_eval_cpu_s": round(cpu, 3), "setup_evals_cpu": round(self.setup_cpu_s() / cpu, 2)}


def dress(size: int):
    m = samples.mask_paths("dress")
    regions = [gs.Region(m["bodice"], samples.swatch_path("tartan"), name="bodice"),
               gs.Region(m["skirt"], samples.swatch_path("floral"), name="skirt")]
    return samples.sketch_path("dress"), regions


def quality(res, regions) -> dict:
    """Final style loss (the render's own, summed over regions) and the mean patch distance per region."""
    dists = []
    for i, rg in enumerate(regions):
        sw = io.load_image(rg.swatch)
        zoom = res.report.regions[i].repeat_px_output / sw.shape[-1]
        canvas = sw_ops.tile(sw, (192, 192), zoom=zoom)
        dists.append(texture_distance(res.fabric, (res.masks[i] >= 0.5).float(), canvas))
    return {"style_loss": res.report.final_losses.get("style"), "patch_distance": round(sum(dists) / len(dists), 4)}


def run(sketch, regions, **kw):
    with LossClock() as clock:
        res = gs.render(sketch, regions, gs.RenderOptions(preview_every=0, **kw))
    return res, clock


def setup_bench(size: int, iterations: int, precision: str = "auto") -> dict:
    """Set-up before the first gradient, cold (first render of the process) and warm. ``precision`` "auto" measures
    the style targets in bf16 where it is native and optimises in fp32 on CPUs; "fp32" keeps both fp32."""
    sketch, regions = dress(size)
    from garmentstyle import transfer

    encoders.ENCODER_CACHE.clear()
    transfer.TARGETS.clear()
    kw = dict(size=size, encoder="vgg19", init="noise", iterations=iterations, levels=1, precision=precision)
    cold_res, cold = run(sketch, regions, **kw)  # a first render: the encoder is built from the checkpoint
    warm_res, warm = run(sketch, regions, **kw)  # again: encoder cached, targets cached
    wall, cpu = warm.per_eval_s(), warm.per_eval_s(cpu=True)
    return {"size": list(warm_res.report.output_size), "evaluations": warm_res.report.evaluations,
            "per_eval_s": round(wall, 3), "per_eval_cpu_s": round(cpu, 3),
            "setup_cold_s": round(cold.setup_s(), 3), "setup_cold_evals": round(cold.setup_s() / wall, 2),
            "setup_cold_evals_cpu": round(cold.setup_cpu_s() / cpu, 2),
            "setup_warm_s": round(warm.setup_s(), 3), "setup_warm_evals": round(warm.setup_s() / wall, 2),
            "setup_warm_evals_cpu": round(warm.setup_cpu_s() / cpu, 2), "precision": precision,
            "target_precision": cold_res.report.target_precision, "quality": quality(cold_res, regions),
            "note": "set-up = render() start → first grad evaluation, in units of the warm render's median evaluation"}


def _precision_run(mode: str, sketch, regions, **kw):
    """``mode`` "fp32" / "bf16", or "fp32-2t": fp32 with the other thread count (the same arithmetic summed in
    another order: how far two runs drift apart from rounding alone, the yardstick for bf16's differences)."""
    if mode != "fp32-2t":
        return run(sketch, regions, precision=mode, **kw)
    before = torch.get_num_threads()
    torch.set_num_threads(2 if before == 1 else 1)
    try:
        return run(sketch, regions, precision="fp32", **kw)
    finally:
        torch.set_num_threads(before)


def precision_bench(sizes: list[int], iterations: list[int], seeds: list[int],
                    modes: tuple[str, ...] = ("fp32", "bf16")) -> dict:
    """fp32 vs bf16 (interleaved per case): seconds per evaluation (wall and CPU), why each stopped, and the final
    style loss and patch distance, for every size × iteration budget × noise seed."""
    out: dict = {"cpu_native_bf16": cpu_has_native_bf16(), "cases": {}}
    for size in sizes:
        sketch, regions = dress(size)
        for its in iterations:
            for seed in seeds:
                case: dict = {}
                for prec in modes:
                    res, clock = _precision_run(prec, sketch, regions, size=size, encoder="vgg19", init="noise",
                                                iterations=its, levels=1, seed=seed)
                    case[prec] = {"precision_used": res.report.precision, **clock.facts(),
                                  "iterations": res.report.iterations, "evaluations": res.report.evaluations,
                                  "stopped": res.report.levels[-1].stopped, **quality(res, regions)}
                    print("precision", size, its, seed, prec, case[prec], flush=True)
                f = case["fp32"]
                for prec in modes[1:]:
                    b = case[prec]
                    case[f"{prec}_over_fp32"] = {
                        "time_per_eval": round(b["per_eval_s"] / f["per_eval_s"], 3),
                        "cpu_per_eval": round(b["per_eval_cpu_s"] / f["per_eval_cpu_s"], 3),
                        "style_loss": round(b["style_loss"] / f["style_loss"] - 1, 4),
                        "patch_distance": round(b["patch_distance"] / f["patch_distance"] - 1, 4)}
                    print("precision", size, its, seed, f"{prec}/fp32", case[f"{prec}_over_fp32"], flush=True)
                out["cases"][f"{size}/{its}/seed{seed}"] = case
    return out


class AllLayerTargets:
    """Within the block, style targets are measured as before: for all style layers (the values of the used ones
    are then taken), on the canvas those layers need."""

    def __enter__(self):
        from garmentstyle import transfer

        self._orig = orig = transfer.style_targets

        def old_rule(encoder, swatch, *, layers, **kw):
            every = tuple(encoder.style_layers)
            got = orig(encoder, swatch, layers=every, **kw)
            return {n: got[n] for n in layers}

        transfer.style_targets = old_rule
        return self

    def __exit__(self, *exc):
        from garmentstyle import transfer

        transfer.style_targets = self._orig


class PeriodicTargets:
    """Within the block, a render's style targets are measured by :func:`periodic_targets` (circular padding on an
    exactly periodic canvas, zoom rounded within ``tol``) wherever that canvas has fewer pixels than the current one
    and the region is not rotated; elsewhere as before."""

    def __init__(self, tol: float) -> None:
        self.tol = tol
        self.used = 0

    def __enter__(self):
        from garmentstyle import transfer

        self._orig = orig = transfer._measure_targets

        def periodic_rule(encoder, swatch, *, zoom, rotation, layers, luminance_only, autocast=None):
            plan = None
            if rotation % 360.0 == 0.0:
                plan = periodic_plan(encoder, tuple(swatch.shape[-2:]), zoom, layers, tol=self.tol)
            side = transfer._canvas_side(encoder, layers, max(swatch.shape[-2:]) * zoom)
            if plan is None or plan.size[0] * plan.size[1] >= side * side:
                return orig(encoder, swatch, zoom=zoom, rotation=rotation, layers=layers,
                            luminance_only=luminance_only, autocast=autocast)
            self.used += 1
            return periodic_targets(encoder, swatch, plan, layers, luminance_only)

        transfer._measure_targets = periodic_rule
        return self

    def __exit__(self, *exc):
        from garmentstyle import transfer

        transfer._measure_targets = self._orig


TARGET_RULES = ("all_layers", "used_layers", "periodic")


def targets_bench(sizes: list[int], iterations: int, seeds: list[int],
                  rules: tuple[str, ...] = ("all_layers", "used_layers"), tol: float = 0.02) -> dict:
    """Target rules, interleaved, fresh target cache (and no disk cache) for every render: "all_layers" (every style
    layer measured, the rule before issue 11's set-up work), "used_layers" (the current rule), "periodic"
    (:class:`PeriodicTargets`)."""
    from garmentstyle import transfer

    out: dict = {}
    before = os.environ.get("GARMENTSTYLE_CACHE")
    os.environ["GARMENTSTYLE_CACHE"] = "off"  # every rule measures its own targets (they share keys)
    try:
        for size in sizes:
            sketch, regions = dress(size)
            for seed in seeds:
                for rule in rules:
                    transfer.TARGETS.clear()
                    kw = dict(size=size, encoder="vgg19", init="noise", iterations=iterations, levels=1,
                              precision="fp32", seed=seed)
                    block = {"all_layers": AllLayerTargets, "periodic": lambda: PeriodicTargets(tol)}.get(rule)
                    if block is None:
                        res, clock = run(sketch, regions, **kw)
                    else:
                        with block() as b:
                            res, clock = run(sketch, regions, **kw)
                    key = f"{size}/seed{seed}/{rule}"
                    out[key] = {**clock.facts(), "evaluations": res.report.evaluations, **quality(res, regions)}
                    if rule == "periodic":
                        out[key]["periodic_measurements"] = b.used
                    print("targets", key, out[key], flush=True)
    finally:
        if before is None:
            os.environ.pop("GARMENTSTYLE_CACHE", None)
        else:
            os.environ["GARMENTSTYLE_CACHE"] = before
    return out


#: Repeats (output px) of the dress's fabrics at 256 / 384 / 512 px renders (tartan and floral, 256 px swatches).
RENDER_REPEATS = (85.2, 128.0, 170.8)
#: The VGG19 layer sets the targets are measured for: the dress's at 256-512 px (to relu4_1) and larger renders'.
LAYER_SETS = {"relu4_1": ("relu1_1", "relu2_1", "relu3_1", "relu4_1"),
              "relu5_1": ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")}


@dataclasses.dataclass(frozen=True)
class PeriodicPlan:
    """An exactly periodic target canvas: the swatch at ``zoom`` repeats every ``period`` ``(Py, Px)`` canvas px, and
    the canvas ``size`` ``(H, W)`` is a multiple of the period and of the deepest layer's stride."""

    zoom: float
    period: tuple[int, int]
    size: tuple[int, int]


def _axis_period(n: int, zoom: float) -> int | None:
    """Canvas px of one repeat of a swatch side of ``n`` px at ``zoom``, as ``swatch.tile`` lays it (``n × zoom``
    each way, shrunk or not), when that is a whole number of px; else None."""
    p = n * zoom
    return int(round(p)) if abs(p - round(p)) < 1e-6 and round(p) >= 4 else None


def _multiple_at_least(step: int, low: int) -> int:
    return step * max(1, math.ceil(low / step))


def periodic_plan(encoder, swatch_hw: tuple[int, int], zoom: float, layers: tuple[str, ...], *, tol: float,
                  min_side: int = 0) -> PeriodicPlan | None:
    """The idea under test: round the zoom (≤ ``tol``) so one repeat is a whole number of px each way, choosing
    among the nearby whole repeats the one whose canvas — a multiple of lcm(repeat, deepest stride), ≥ ``min_side``
    — has the fewest pixels. None when no whole repeat is within ``tol``. (Rotation 0 only: a rotated tiling is not
    periodic on the pixel grid.)"""
    stride = max(encoder.geometry[n].stride for n in layers)
    h, w = swatch_hw
    best = None
    for px in range(math.ceil(w * zoom * (1 - tol)), math.floor(w * zoom * (1 + tol)) + 1):
        zx = px / w
        py = _axis_period(h, zx)
        if px < 4 or py is None:
            continue
        size = tuple(_multiple_at_least(math.lcm(q, stride), min_side) for q in (py, px))
        cost = (size[0] * size[1], abs(zx / zoom - 1))
        if best is None or cost < best[0]:
            best = (cost, PeriodicPlan(zx, (py, px), size))
    return None if best is None else best[1]


def periodic_canvas(swatch: torch.Tensor, plan: PeriodicPlan) -> torch.Tensor:
    """The swatch tiled on ``plan``'s canvas: one repeat sampled as ``swatch.tile`` samples it (prefiltered when
    shrunk, cubic, a swatch corner at the origin), then copied whole, so the canvas is periodic bit for bit."""
    (py, px), (hh, ww) = plan.period, plan.size
    if plan.zoom < 0.999:  # tile's own prefilter to (py, px), then whole-pixel copies
        one = sw_ops.tile(swatch, (py, px), zoom=plan.zoom, origin=(0.0, 0.0))
    else:
        h, w = swatch.shape[-2:]
        v = (torch.arange(py, dtype=swatch.dtype) + 0.5) * (h / py) - 0.5
        u = (torch.arange(px, dtype=swatch.dtype) + 0.5) * (w / px) - 0.5
        vv, uu = torch.meshgrid(v, u, indexing="ij")
        one = sw_ops.wrap_sample(swatch, uu, vv)
    return one.repeat(1, 1, hh // py, ww // px)


def circular_features(encoder, image: torch.Tensor, layers: tuple[str, ...]) -> dict[str, torch.Tensor]:
    """VGG19's taps with every convolution padded circularly (the encoder's own pass pads with zeros): on an exactly
    periodic image whose sides are multiples of the deepest stride, every cell is a cell of the infinite tiling."""
    from torch.nn import functional as F
    from garmentstyle.encoders.vgg19 import _TAPS

    by_index = {_TAPS[n]: n for n in layers}
    x, out = encoder.norm(image), {}
    for i, m in enumerate(encoder.body):
        x = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="circular"), m.weight, m.bias) if isinstance(m, torch.nn.Conv2d) \
            else m(x)
        if i in by_index:
            out[by_index[i]] = x
        if i >= max(by_index):
            break
    return out


@torch.no_grad()
def periodic_targets(encoder, swatch: torch.Tensor, plan: PeriodicPlan, layers: tuple[str, ...],
                     luminance_only: bool = False) -> dict[str, torch.Tensor]:
    """Targets on ``plan``'s periodic canvas with circular padding: the plain Gram over every cell."""
    from garmentstyle import colour

    canvas = periodic_canvas(swatch, plan)
    if luminance_only:
        canvas = colour.luminance(canvas).expand(-1, 3, -1, -1)
    feats = circular_features(encoder, canvas, layers)
    return {n: losses.gram(feats[n].float())[0] for n in layers}


@torch.no_grad()
def _reference_targets(encoder, swatch, zoom: float, layers, side: int, origin=None) -> dict:
    """Targets the current way (zero padding, cells whose field lies inside) on a large ``side`` canvas: the
    yardstick both methods are compared with. ``origin`` shifts the tiling (how much the phase alone moves it)."""
    from garmentstyle import guidance
    canvas = sw_ops.tile(swatch, (side, side), zoom=zoom, origin=origin)
    feats = encoder(canvas, layers)
    guides = guidance.propagate(torch.ones(1, side, side), encoder.geometry,
                                {n: tuple(f.shape[-2:]) for n, f in feats.items()})
    return {n: losses.guided_gram(feats[n].float(), guides[n])[0][0] for n in layers}


def _rel_errors(got: dict, ref: dict) -> dict:
    return {n: float((got[n] - ref[n]).norm() / ref[n].norm()) for n in ref}


def _timed(fn, repeats: int = 2):
    """``fn()``'s value and its best wall time of ``repeats`` calls."""
    best, value = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - t0)
    return value, best


def _swatch_set(which: str) -> list[tuple[str, torch.Tensor]]:
    out = [(n, io.load_image(samples.swatch_path(n))) for n in samples.list_swatches()] if which != "real" else []
    real = ROOT.parent / "shared" / "data" / "swatches"
    if which != "bundled" and real.is_dir():
        out += [(p.stem, io.load_image(p)) for p in sorted(real.iterdir()) if p.suffix in (".png", ".jpg")]
    return out


def circular_bench(swatches: str, layer_sets: list[str], tols: list[float], ref_side: int,
                   min_side: int = 0, ref_shift: float = 0.0) -> dict:
    """Style targets on the current zero-padded canvas vs an exactly periodic canvas with circular padding
    (:func:`periodic_plan` at each zoom tolerance), both against a large-canvas reference: relative error
    ‖G − G_ref‖ / ‖G_ref‖ per layer, and the measurement's time (best of 2, interleaved). ``ref_shift`` (px):
    also a second reference with the tiling's origin moved by that much on both axes — how far the yardstick itself
    moves with the tiling's phase — and every error against it ("*_err_shifted")."""
    from garmentstyle import transfer
    from garmentstyle.encoders.vgg19 import VGG19Encoder

    torch.manual_seed(0)
    enc = VGG19Encoder(None)  # random weights, as the checkpoint the other benches write
    out: dict = {}
    for name, sw in _swatch_set(swatches):
        for rep in RENDER_REPEATS:
            zoom = rep / max(sw.shape[-2:])
            for ls in layer_sets:
                layers = LAYER_SETS[ls]
                ref = _reference_targets(enc, sw, zoom, layers, ref_side)
                ref2 = None
                if ref_shift:
                    ref2 = _reference_targets(enc, sw, zoom, layers, ref_side,
                                              origin=(ref_side / 2 + ref_shift, ref_side / 2 + ref_shift))
                cur, t_cur = _timed(lambda: transfer._measure_targets(enc, sw, zoom=zoom, rotation=0.0,
                                                                      layers=layers, luminance_only=False))
                row = {"old_side": transfer._canvas_side(enc, layers, rep),
                       "old_err": _rel_errors(cur, ref), "old_s": round(t_cur, 4)}
                if ref2 is not None:
                    row.update(ref_vs_shifted=_rel_errors(ref2, ref), old_err_shifted=_rel_errors(cur, ref2))
                for tol in tols:
                    plan = periodic_plan(enc, tuple(sw.shape[-2:]), zoom, layers, tol=tol, min_side=min_side)
                    if plan is None:
                        row[f"tol{tol}"] = None
                        continue
                    new, t_new = _timed(lambda: periodic_targets(enc, sw, plan, layers))
                    row[f"tol{tol}"] = {"size": plan.size, "period": plan.period,
                                        "zoom_change": round(plan.zoom / zoom - 1, 5),
                                        "err": _rel_errors(new, ref), "s": round(t_new, 4)}
                    if ref2 is not None:
                        row[f"tol{tol}"]["err_shifted"] = _rel_errors(new, ref2)
                key = f"{name}/{rep}/{ls}"
                out[key] = row
                print("circular", key, _circular_line(row), flush=True)
    return out


def _circular_line(row: dict) -> str:
    """One line per case: old side, max error over layers and time, then each tolerance's."""
    parts = [f"old {row['old_side']}px err {100 * max(row['old_err'].values()):.2f}% {row['old_s']:.3f}s"]
    if "ref_vs_shifted" in row:
        parts.append(f"shifted ref: ref {100 * max(row['ref_vs_shifted'].values()):.2f}% "
                     f"old {100 * max(row['old_err_shifted'].values()):.2f}%")
    for k, v in row.items():
        if k.startswith("tol"):
            parts.append(f"{k}: none" if v is None else
                         f"{k}: {v['size'][0]}x{v['size'][1]} dz {100 * v['zoom_change']:+.2f}% "
                         f"err {100 * max(v['err'].values()):.2f}% {v['s']:.3f}s"
                         + (f" (shifted {100 * max(v['err_shifted'].values()):.2f}%)" if "err_shifted" in v else ""))
    return " | ".join(parts)


def line_search_bench(size: int, iterations: int) -> dict:
    sketch, regions = dress(size)
    out = {}
    for enc in ("texture", "vgg19"):
        for ls in ("strong_wolfe", None):
            optimise.LINE_SEARCH = ls
            try:
                t0 = time.perf_counter()
                res, clock = run(sketch, regions, size=size, encoder=enc, init="noise", iterations=iterations,
                                 levels=1, precision="fp32")
                wall = time.perf_counter() - t0
            finally:
                optimise.LINE_SEARCH = "strong_wolfe"
            key = f"{enc}/{ls or 'none'}"
            out[key] = {"seconds": round(wall, 2), "iterations": res.report.iterations,
                        "evaluations": res.report.evaluations,
                        "evals_per_iteration": round(res.report.evaluations / max(1, res.report.iterations), 2),
                        **quality(res, regions)}
            print("line search", key, out[key], flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=192, help="setup, linesearch: render size")
    ap.add_argument("--iterations", type=int, nargs="+", default=[12], help="iteration budget(s)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto",
                    help="setup: the render's precision (auto: bf16 style targets where native, fp32 optimisation)")
    ap.add_argument("--only", choices=("setup", "precision", "linesearch", "targets", "circular"))
    ap.add_argument("--swatches", choices=("bundled", "real", "all"), default="all", help="circular: which swatches")
    ap.add_argument("--layer-sets", nargs="+", choices=tuple(LAYER_SETS), default=["relu4_1"],
                    help="circular: deepest layer of each target set")
    ap.add_argument("--tols", type=float, nargs="+", default=[0.01, 0.02], help="circular: zoom tolerances")
    ap.add_argument("--ref-side", type=int, default=1024, help="circular: the reference canvas side")
    ap.add_argument("--ref-shift", type=float, default=0.0,
                    help="circular: also a reference with the tiling's origin moved by this many px")
    ap.add_argument("--min-side", type=int, default=0, help="circular: smallest periodic canvas side")
    ap.add_argument("--rules", nargs="+", choices=TARGET_RULES, default=["all_layers", "used_layers"],
                    help="targets: the target rules compared")
    ap.add_argument("--tol", type=float, default=0.02, help="targets: the periodic rule's zoom tolerance")
    ap.add_argument("--sizes", type=int, nargs="+", default=[128, 192, 256], help="targets, precision: render sizes")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="targets, precision: noise seeds")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--cache-dir", type=Path,
                    help="style targets on disk (garmentstyle.target_store); default a fresh empty folder, so the "
                         "first render measures them. Run twice with the same folder: the second run's cold set-up "
                         "is a new process's first render with the targets on disk")
    ap.add_argument("--rounding-yardstick", action="store_true",
                    help="precision: also fp32 with the other thread count (rounding-order drift alone)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    tmp = Path(tempfile.mkdtemp(prefix="gs-vgg-"))
    random_checkpoint(tmp)
    os.environ["GARMENTSTYLE_WEIGHTS"] = str(tmp)
    os.environ["GARMENTSTYLE_CACHE"] = str(args.cache_dir or tmp / "cache")
    out: dict = {"torch": torch.__version__, "threads": torch.get_num_threads(), "load_1min": os.getloadavg()[0]}
    if args.only in (None, "setup"):
        out["setup"] = setup_bench(args.size, 4, args.precision)
        print("setup", out["setup"], flush=True)
    if args.only in (None, "precision"):
        modes = ("fp32", "bf16", "fp32-2t") if args.rounding_yardstick else ("fp32", "bf16")
        out["precision"] = precision_bench(args.sizes, args.iterations, args.seeds, modes)
    if args.only in (None, "linesearch"):
        out["line_search"] = line_search_bench(args.size, args.iterations[0])
    if args.only == "targets":
        out["targets"] = targets_bench(args.sizes, args.iterations[0], args.seeds, tuple(args.rules), args.tol)
    if args.only == "circular":
        out["circular"] = circular_bench(args.swatches, args.layer_sets, args.tols, args.ref_side,
                                         args.min_side, args.ref_shift)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

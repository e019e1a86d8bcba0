"""VGG19 encoder benchmarks (issue 11), with a randomly initialised features-only checkpoint (the timing does not
depend on the weights; ImageNet weights cannot be downloaded here).

  nice -n 10 .venv/bin/python bench/bench_vgg19.py [--only setup|precision|linesearch|targets] [--size 192]
      [--sizes 128 192 256] [--iterations 12 ...] [--seeds 0 1] [--threads 2] [--json out.json]

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
    the canvas is sized for it): set-up, and the final style loss and patch distance of the same noise-start render.
"""
from __future__ import annotations

import argparse
import json
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


def setup_bench(size: int, iterations: int) -> dict:
    sketch, regions = dress(size)
    from garmentstyle import transfer

    encoders.ENCODER_CACHE.clear()
    transfer.TARGETS.clear()
    kw = dict(size=size, encoder="vgg19", init="noise", iterations=iterations, levels=1, precision="fp32")
    cold_res, cold = run(sketch, regions, **kw)  # a first render: the encoder is built from the checkpoint
    warm_res, warm = run(sketch, regions, **kw)  # again: encoder cached, targets cached
    wall, cpu = warm.per_eval_s(), warm.per_eval_s(cpu=True)
    return {"size": list(warm_res.report.output_size), "evaluations": warm_res.report.evaluations,
            "per_eval_s": round(wall, 3), "per_eval_cpu_s": round(cpu, 3),
            "setup_cold_s": round(cold.setup_s(), 3), "setup_cold_evals": round(cold.setup_s() / wall, 2),
            "setup_cold_evals_cpu": round(cold.setup_cpu_s() / cpu, 2),
            "setup_warm_s": round(warm.setup_s(), 3), "setup_warm_evals": round(warm.setup_s() / wall, 2),
            "setup_warm_evals_cpu": round(warm.setup_cpu_s() / cpu, 2),
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


def targets_bench(sizes: list[int], iterations: int, seeds: list[int]) -> dict:
    """Old (all layers) vs new (used layers) target rule, interleaved, fresh target cache for every render."""
    from garmentstyle import transfer

    out: dict = {}
    for size in sizes:
        sketch, regions = dress(size)
        for seed in seeds:
            for rule in ("all_layers", "used_layers"):
                transfer.TARGETS.clear()
                kw = dict(size=size, encoder="vgg19", init="noise", iterations=iterations, levels=1,
                          precision="fp32", seed=seed)
                if rule == "all_layers":
                    with AllLayerTargets():
                        res, clock = run(sketch, regions, **kw)
                else:
                    res, clock = run(sketch, regions, **kw)
                key = f"{size}/seed{seed}/{rule}"
                out[key] = {**clock.facts(), "evaluations": res.report.evaluations, **quality(res, regions)}
                print("targets", key, out[key], flush=True)
    return out


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
    ap.add_argument("--only", choices=("setup", "precision", "linesearch", "targets"))
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
        out["setup"] = setup_bench(args.size, 4)
        print("setup", out["setup"], flush=True)
    if args.only in (None, "precision"):
        modes = ("fp32", "bf16", "fp32-2t") if args.rounding_yardstick else ("fp32", "bf16")
        out["precision"] = precision_bench(args.sizes, args.iterations, args.seeds, modes)
    if args.only in (None, "linesearch"):
        out["line_search"] = line_search_bench(args.size, args.iterations[0])
    if args.only == "targets":
        out["targets"] = targets_bench(args.sizes, args.iterations[0], args.seeds)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

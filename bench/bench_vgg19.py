"""VGG19 encoder benchmarks (issue 11), with a randomly initialised features-only checkpoint (the timing does not
depend on the weights; ImageNet weights cannot be downloaded here).

  nice -n 10 .venv/bin/python bench/bench_vgg19.py [--size 192] [--iterations 12] [--threads 2] [--json out.json]

(1) set-up: the time from ``render()`` to the first gradient evaluation (encoder build from the checkpoint, style
    targets, noise floors, content target, guides), in units of one evaluation (forward + backward of the
    :class:`~garmentstyle.losses.GuidedStyleLoss` the render builds) — measured on the real render path by timing the
    loss's calls, first in a fresh encoder cache (a first render) and then warm;
(2) bf16 vs fp32 (``precision``): seconds per evaluation and the final style loss and patch distance after the same
    iterations from the same noise start, on the bundled dress (two regions);
(3) strong-Wolfe line search vs none (``garmentstyle.optimise.LINE_SEARCH``): style loss and patch distance reached
    and wall time, for the texture encoder and VGG19, from noise, same iterations — quality per second.
"""
from __future__ import annotations

import argparse
import json
import os
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


def random_checkpoint(folder: Path) -> Path:
    """A features-only VGG19 state dict with torchvision's random init, where ``weights.require`` looks."""
    from torchvision.models.vgg import cfgs, make_layers

    torch.manual_seed(0)
    state = {f"features.{k}": v for k, v in make_layers(cfgs["E"]).state_dict().items()}
    path = folder / "vgg19-features.pth"
    torch.save(state, path)
    return path


class LossClock:
    """Times every grad-enabled call of GuidedStyleLoss.forward (+ its backward, up to the next call) in a render."""

    def __init__(self) -> None:
        self.t0 = 0.0
        self.calls: list[float] = []
        self._orig = losses.GuidedStyleLoss.forward

    def __enter__(self):
        clock = self

        def forward(mod, image):
            if torch.is_grad_enabled():
                clock.calls.append(time.perf_counter())
            return clock._orig(mod, image)

        losses.GuidedStyleLoss.forward = forward
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        losses.GuidedStyleLoss.forward = self._orig
        self.t1 = time.perf_counter()

    def setup_s(self) -> float:
        return self.calls[0] - self.t0

    def per_eval_s(self) -> float:
        gaps = [b - a for a, b in zip(self.calls, self.calls[1:])]
        gaps.sort()
        return gaps[len(gaps) // 2] if gaps else float("nan")  # median: robust to a shared machine's pauses


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
    t0 = time.perf_counter()
    enc = encoders.get("vgg19")
    build_s = time.perf_counter() - t0
    return {"size": list(warm_res.report.output_size), "evaluations": warm_res.report.evaluations,
            "per_eval_s": round(warm.per_eval_s(), 3),
            "setup_cold_s": round(cold.setup_s(), 3), "setup_cold_evals": round(cold.setup_s() / warm.per_eval_s(), 2),
            "setup_warm_s": round(warm.setup_s(), 3), "setup_warm_evals": round(warm.setup_s() / warm.per_eval_s(), 2),
            "encoder_get_cached_s": round(build_s, 4), "note": "set-up = render() start → first grad evaluation"}


def precision_bench(size: int, iterations: int) -> dict:
    sketch, regions = dress(size)
    out = {"cpu_native_bf16": cpu_has_native_bf16()}
    for prec in ("fp32", "bf16"):
        res, clock = run(sketch, regions, size=size, encoder="vgg19", init="noise", iterations=iterations,
                         levels=1, precision=prec)
        out[prec] = {"precision_used": res.report.precision, "per_eval_s": round(clock.per_eval_s(), 3),
                     "evaluations": res.report.evaluations, "seconds": res.report.seconds, **quality(res, regions)}
        print("precision", prec, out[prec], flush=True)
    f, b = out["fp32"], out["bf16"]
    out["bf16_over_fp32_time"] = round(b["per_eval_s"] / f["per_eval_s"], 3)
    out["style_loss_rel_diff"] = round(abs(b["style_loss"] - f["style_loss"]) / f["style_loss"], 4)
    out["patch_distance_rel_diff"] = round(abs(b["patch_distance"] - f["patch_distance"]) / f["patch_distance"], 4)
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
    ap.add_argument("--size", type=int, default=192)
    ap.add_argument("--iterations", type=int, default=12)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", choices=("setup", "precision", "linesearch"))
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    tmp = Path(tempfile.mkdtemp(prefix="gs-vgg-"))
    random_checkpoint(tmp)
    os.environ["GARMENTSTYLE_WEIGHTS"] = str(tmp)
    out: dict = {"torch": torch.__version__, "threads": torch.get_num_threads(), "load_1min": os.getloadavg()[0]}
    if args.only in (None, "setup"):
        out["setup"] = setup_bench(args.size, 4)
        print("setup", out["setup"], flush=True)
    if args.only in (None, "precision"):
        out["precision"] = precision_bench(args.size, args.iterations)
    if args.only in (None, "linesearch"):
        out["line_search"] = line_search_bench(args.size, args.iterations)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

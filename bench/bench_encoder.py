"""The offline encoder: a direct multi-scale random-filter network (Ustyuzhaninov et al. 2017: kernels 3…23 px at
full resolution) vs garmentstyle's pyramid (3/5/7 px at full resolution + 7 px on ½…1/16 levels).

  .venv/bin/python bench/bench_encoder.py [--evals 150] [--size 128]

Prints (1) seconds per evaluation (forward + backward of the Gram loss) at 128/256/512 px and (2) texture synthesis
quality from noise with the same number of L-BFGS evaluations: patch distance to the swatch (×100, lower is better).
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("GARMENTSTYLE_CACHE", "off")  # measure the work itself, not the style-target disk cache
sys.path.insert(0, str(ROOT))

from garmentstyle import guidance, io, losses, samples, swatch as sw_ops  # noqa: E402
from garmentstyle.encoders.base import Encoder, LayerGeometry, Normalize  # noqa: E402
from garmentstyle.encoders.texture import TextureEncoder  # noqa: E402
from garmentstyle.metrics import texture_distance  # noqa: E402
from garmentstyle.transfer import style_targets  # noqa: E402

torch.set_num_threads(2)


class DirectMultiScale(Encoder):
    """The reference: one conv layer per kernel size, all at full resolution (the prototype's "multi-scale")."""

    name = "direct"

    def __init__(self, sizes=(3, 5, 7, 11, 15, 23), filters: int = 64, seed: int = 0) -> None:
        super().__init__()
        self.norm = Normalize()
        gen = torch.Generator().manual_seed(seed)
        self.convs = nn.ModuleDict()
        self.geometry = {}
        for k in sizes:
            conv = nn.Conv2d(3, filters, k, padding=k // 2, padding_mode="reflect", bias=False)
            with torch.no_grad():
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=gen) * math.sqrt(2.0 / (3 * k * k)))
            conv.weight.requires_grad_(False)
            self.convs[f"k{k}"] = conv
            self.geometry[f"k{k}"] = LayerGeometry(field=k, stride=1, channels=filters)
        self.style_layers = tuple(self.convs)
        self.layer_weights = {n: 1.0 for n in self.style_layers}

    def forward(self, image, layers=None):
        x = self.norm(image)
        return {n: F.relu(c(x)) for n, c in self.convs.items() if layers is None or n in layers}


def loss_fn(enc: Encoder, swatch: torch.Tensor, size: int):
    layers = enc.style_layers
    targets = style_targets(enc, swatch, zoom=1.0, rotation=0.0, layers=layers, luminance_only=False, cache=None)
    with torch.no_grad():
        sizes = {n: tuple(v.shape[-2:]) for n, v in enc(torch.zeros(1, 3, size, size), layers).items()}
    guides = guidance.propagate(torch.ones(1, size, size), enc.geometry, sizes)
    use = losses.usable_layers(guides, layers, min_cells=16)
    # the render's own objective (imported, not re-implemented): each layer normalised by its target's energy
    terms = losses.style_terms([targets], use, gram_norm="target", layer_weights={n: 1.0 for n in layers})
    criterion = losses.GuidedStyleLoss(enc, guides, terms, ["swatch"], range_weight=0.0)
    return lambda x: criterion(x)["style"]


def per_eval_seconds(enc: Encoder, size: int, repeats: int = 3) -> float:
    sw = torch.rand(1, 3, 64, 64)
    loss = loss_fn(enc, sw, size)
    x = torch.rand(1, 3, size, size, requires_grad=True)
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        loss(x).backward()
        best = min(best, time.perf_counter() - t0)
    return best


def synthesise(enc: Encoder, swatch: torch.Tensor, size: int, evals: int) -> tuple[torch.Tensor, float]:
    loss = loss_fn(enc, swatch, size)
    x = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(0)).requires_grad_(True)
    opt = torch.optim.LBFGS([x], max_iter=evals, max_eval=evals, history_size=50, line_search_fn="strong_wolfe",
                            tolerance_grad=0, tolerance_change=0)

    def closure():
        opt.zero_grad()
        v = loss(x) + 10 * (F.relu(x - 1) + F.relu(-x)).square().mean()
        v.backward()
        return v

    t0 = time.perf_counter()
    opt.step(closure)
    return x.detach().clamp(0, 1), time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--evals", type=int, default=150)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--swatches", default="tartan,polka_dots,denim,houndstooth")
    args = ap.parse_args()
    direct, pyramid = DirectMultiScale(), TextureEncoder()
    print("| px | direct 3…23 px (s/eval) | pyramid (s/eval) | speed-up |")
    print("|---|---|---|---|")
    for size in (128, 256, 512):
        d, p = per_eval_seconds(direct, size), per_eval_seconds(pyramid, size)
        print(f"| {size} | {d:.3f} | {p:.3f} | {d / p:.1f}× |", flush=True)
    print()
    print(f"| swatch ({args.size} px, {args.evals} evaluations from noise) | direct: distance (s) | "
          "pyramid: distance (s) |")
    print("|---|---|---|")
    for name in args.swatches.split(","):
        sw = io.load_image(samples.swatch_path(name))
        sw = sw_ops.stretch(sw, (sw.shape[-2] // 2, sw.shape[-1] // 2))  # a repeat that fits the canvas
        canvas = sw_ops.tile(sw, (256, 256))
        ones = torch.ones(args.size, args.size)
        row = []
        for enc in (direct, pyramid):
            img, secs = synthesise(enc, sw, args.size, args.evals)
            row.append(f"{texture_distance(img, ones, canvas):.2f} ({secs:.0f})")
            io.save_image(img, f"/tmp/gs-encoder-{enc.name}-{name}.png")
        print(f"| {name} | {row[0]} | {row[1]} |", flush=True)


if __name__ == "__main__":
    main()

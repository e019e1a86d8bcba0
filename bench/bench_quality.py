"""Render quality on real swatches (../shared/data) and the bundled ones: texture distance inside the garment.

  .venv/bin/python bench/bench_quality.py [--size 256] [--iterations 60] [--out-dir /tmp/gs-quality]

Distance = sliced Wasserstein between 7×7 colour patches inside the mask and patches of the swatch tiled at the same
scale, ×100 (lower is better; two samples of one swatch: ~0.1–0.5). Rows: the sketch itself, the tiled-swatch
baseline, garmentstyle's default render (tiled start + guided optimisation with the baseline check), and a plain
noise start (the guided optimisation alone). Saves a contact sheet per swatch to --out-dir to look at.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("GARMENTSTYLE_CACHE", "off")  # measure the work itself, not the style-target disk cache
sys.path.insert(0, str(ROOT))

import garmentstyle as gs  # noqa: E402
from garmentstyle import io, samples, swatch as sw_ops  # noqa: E402
from garmentstyle.metrics import texture_distance  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "swatches"
torch.set_num_threads(2)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--iterations", type=int, default=60)
    ap.add_argument("--sketch", default="dress")
    ap.add_argument("--out-dir", type=Path, default=Path("/tmp/gs-quality"))
    args = ap.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    swatches = [samples.swatch_path(n) for n in samples.list_swatches()]
    if SHARED.is_dir():
        swatches += sorted(p for p in SHARED.iterdir() if p.suffix in (".png", ".jpg"))
    else:
        print(f"(../shared/data not found at {SHARED}: bundled swatches only)")
    sketch = samples.sketch_path(args.sketch)
    mask_p = samples.mask_paths(args.sketch)["garment"]
    print(f"| swatch | sketch | tiled baseline | default (s) | noise start, {args.iterations} it (s) | default kept |")
    print("|---|---|---|---|---|---|")
    for sp in swatches:
        swatch = io.load_image(sp)
        scale = 0.5 if max(swatch.shape[-2:]) <= 128 else 1.0  # small photo tiles: show them a little larger
        region = [gs.Region(mask_p, sp, scale=scale)]
        base = gs.render(sketch, region, gs.RenderOptions(size=args.size, iterations=0, keep_sketch=False))
        t0 = time.perf_counter()
        dflt = gs.render(sketch, region, gs.RenderOptions(size=args.size, keep_sketch=False))
        t_d = time.perf_counter() - t0
        t0 = time.perf_counter()
        noise = gs.render(sketch, region, gs.RenderOptions(size=args.size, init="noise", iterations=args.iterations,
                                                           keep_sketch=False))
        t_n = time.perf_counter() - t0
        mask = base.masks[0]
        zoom = base.report.regions[0].repeat_px_output / swatch.shape[-1]
        canvas = sw_ops.tile(swatch, (256, 256), zoom=zoom)
        d = [texture_distance(x, mask, canvas) for x in (base.sketch, base.fabric, dflt.fabric, noise.fabric)]
        kept = next(iter(dflt.report.levels[-1].kept.values()), "start at noise floor")
        print(f"| {sp.name} | {d[0]:.2f} | {d[1]:.2f} | {d[2]:.2f} ({t_d:.1f}) | {d[3]:.2f} ({t_n:.1f}) | "
              f"{kept.split(' (')[0]} |", flush=True)
        sheet = Image.new("RGB", (args.size * 3, args.size), "white")
        for i, r in enumerate((base, dflt, noise)):
            final = gs.api.finish.compose(r.sketch, r.fabric, gs.api.finish.region_alphas(r.masks))
            sheet.paste(io.to_pil(final), (i * args.size, 0))
        sheet.save(args.out_dir / f"{sp.stem}.png")


if __name__ == "__main__":
    main()

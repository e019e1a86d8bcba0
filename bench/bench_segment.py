#!/usr/bin/env python
"""Segmentation benchmark: classical speed at 1024 px, IoU on the samples and on ../shared/data, SAM encoder cost.

    python bench/bench_segment.py                 # everything (SAM vit_b encoder: ~1 min on 2 CPU cores)
    python bench/bench_segment.py --no-sam        # classical only
    python bench/bench_segment.py --repeats 5

Prints Markdown tables (pasted into bench/RESULTS.md (Segmentation)). IoU definitions:

* **garment IoU**: the auto garment (``segment(method="classical")``) against the ground-truth garment mask (for
  sketches with several garment masks, their union).
* **part IoU** (flats): for each ground-truth part, the union of the predicted parts lying mostly (> 50 %) inside it.
* **per-garment IoU** (figures with two garments): the same matching, per garment mask.
* **IoU off the lines**: the garment IoU counted on paper pixels only (line pixels ignored), to show how much of a
  gap is only where the outline's ink is split between garment and background by the ground truth's convention.

SAM: a randomly initialised vit_b (the timing does not depend on the weights): image-encoder time for one
1024 × 1024 sketch (the cached embedding is then reused per click), and the per-click ``predict`` time.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from garmentstyle.segment import SamSegmenter, build_sam, lineart, segment  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"


def sample_items() -> list[tuple[str, Path, dict[str, Path]]]:
    """(name, sketch, {part: mask}) for the project's samples (generated into a temp folder if not in the repo)."""
    try:
        from garmentstyle import samples as S

        return [(n, S.sketch_path(n), dict(S.mask_paths(n))) for n in S.list_sketches()]
    except Exception:  # samples not bundled: draw them into a temporary folder
        pass
    base = ROOT / "samples"
    if not (base / "sketches").is_dir():
        import subprocess
        import tempfile

        base = Path(tempfile.mkdtemp(prefix="gs-samples-"))
        subprocess.run([sys.executable, str(ROOT / "samples" / "make_samples.py"), "--out", str(base)], check=True)
    out = []
    for p in sorted((base / "sketches").glob("*.png")):
        mp = {m.stem.split("__", 1)[1]: m for m in sorted((base / "masks").glob(f"{p.stem}__*.png"))}
        out.append((p.stem, p, mp))
    return out


def shared_items() -> list[tuple[str, Path, dict[str, Path]]]:
    out = []
    for p in sorted((SHARED / "sketches").glob("*.png")):
        mp = {m.stem.split("__", 1)[1]: m for m in sorted((SHARED / "masks").glob(f"{p.stem}__*.png"))}
        out.append((p.stem, p, mp))
    return out


def read_mask(p: Path) -> np.ndarray:
    return np.asarray(Image.open(p).convert("L")) > 127


def iou(a: np.ndarray, b: np.ndarray, where: np.ndarray | None = None) -> float:
    if where is not None:
        a, b = a[where], b[where]
    u = (a | b).sum()
    return float((a & b).sum() / u) if u else 1.0


def matched(labels: np.ndarray, gt: np.ndarray) -> np.ndarray:
    ids = [k for k in range(1, int(labels.max()) + 1) if (labels == k).any() and gt[labels == k].mean() > 0.5]
    return np.isin(labels, ids)


def bench_quality(items, title: str) -> list[str]:
    rows = [f"### {title}", "", "| sketch | layout | conf. | parts | garment IoU | IoU off the lines | parts / garments (IoU) |",
            "|---|---|---|---|---|---|---|"]
    garment_ious = []
    for name, sketch, masks in items:
        seg = segment(sketch, method="classical")
        g = seg.garment.numpy() > 0.5
        lab = seg.labels.numpy()
        gt_parts = {k: read_mask(v) for k, v in masks.items()}
        if "garment" in gt_parts:
            gt = gt_parts.pop("garment")
        else:
            gt = np.logical_or.reduce(list(gt_parts.values()))
        grey = lineart.to_grey(sketch)
        paper = grey >= lineart.ink_threshold(grey)
        gi = iou(g, gt)
        garment_ious.append(gi)
        parts = []
        if len(gt_parts) >= 1 and not (len(gt_parts) == 1 and next(iter(gt_parts.values())).sum() == gt.sum()):
            for k, m in gt_parts.items():
                parts.append(f"{k} {iou(matched(lab, m), m):.3f}")
        rows.append(
            f"| {name} | {seg.layout} | {seg.confidence:.2f} | {len(seg.regions)} | {gi:.3f} | {iou(g, gt, paper):.3f} | "
            f"{', '.join(parts) or '—'} |"
        )
    rows += ["", f"mean garment IoU: **{statistics.mean(garment_ious):.3f}** (min {min(garment_ious):.3f})", ""]
    return rows


def upscale(path: Path, long_side: int = 1024) -> np.ndarray:
    im = Image.open(path).convert("RGB")
    s = long_side / max(im.size)
    im = im.resize((round(im.size[0] * s), round(im.size[1] * s)), Image.BICUBIC)
    return np.asarray(im).astype(np.float32) / 255.0


def bench_speed(items, repeats: int) -> list[str]:
    rows = ["### Classical speed at 1024 px (long side, bicubic upscale)", "",
            "| sketch | size | median s | min s | regions |", "|---|---|---|---|---|"]
    all_t = []
    for name, sketch, _ in items:
        img = upscale(sketch)
        times = []
        for _ in range(repeats):
            lineart.clear_cache()
            t = time.perf_counter()
            seg = segment(img, method="classical")
            times.append(time.perf_counter() - t)
        all_t += times
        rows.append(f"| {name} | {img.shape[1]}×{img.shape[0]} | {statistics.median(times):.3f} | {min(times):.3f} | "
                    f"{len(seg.regions)} |")
    rows += ["", f"all runs: median **{statistics.median(all_t):.3f} s**, max {max(all_t):.3f} s", ""]
    return rows


def bench_sam(size: int = 1024) -> list[str]:
    t = time.perf_counter()
    sam = build_sam("sam-vit-b", checkpoint=None)
    t_build = time.perf_counter() - t
    seg = SamSegmenter(sam=sam)
    rng = np.random.default_rng(0)
    img = (rng.random((size, size, 3)) * 255).astype(np.uint8)
    t = time.perf_counter()
    seg.set_image(img)
    t_embed = time.perf_counter() - t
    t = time.perf_counter()
    seg.set_image(img)
    t_cached = time.perf_counter() - t
    times = []
    for i in range(5):
        t = time.perf_counter()
        seg.predict([[size / 2 + i, size / 2]], [1])
        times.append(time.perf_counter() - t)
    return [
        "### SAM vit_b on this CPU (random initialisation; the cost does not depend on the weights)", "",
        "| step | seconds |", "|---|---|",
        f"| build the model (no checkpoint) | {t_build:.2f} |",
        f"| image encoder, one {size}×{size} sketch (`set_image`, first time) | {t_embed:.2f} |",
        f"| `set_image` again, same sketch (cache hit) | {t_cached:.4f} |",
        f"| `predict`, one click (median of 5) | {statistics.median(times):.3f} |",
        "",
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--no-sam", action="store_true", help="skip the SAM vit_b timing")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    lines = [
        f"_{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__}, "
        f"{time.strftime('%Y-%m-%d')}; command: `python bench/bench_segment.py`_",
        "",
    ]
    samples = sample_items()
    lines += bench_quality(samples, "Samples (procedural flats, known masks)")
    if (SHARED / "sketches").is_dir():
        shared = shared_items()
        lines += bench_quality(shared, "Real sketches (../shared/data)")
    else:
        shared = []
        lines += ["(../shared/data absent: real-sketch IoU skipped)", ""]
    lines += bench_speed(samples + shared, args.repeats)
    if not args.no_sam:
        lines += bench_sam()
    print("\n".join(lines))


if __name__ == "__main__":
    main()

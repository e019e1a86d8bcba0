#!/usr/bin/env python
"""Segmentation benchmark on clean and degraded sketches: auto-garment IoU, click IoU, time, calibration.

    python bench/bench_segment.py --out bench/SEGMENT_RESULTS.md          # everything (~10 min on 2 busy cores)
    python bench/bench_segment.py --variants 1 --no-sam                    # quicker
    python bench/bench_segment.py --sam                                    # + SAM vit_b encoder timing

Sets:

* **flats**: the project's samples (procedural flats) and ../shared/data's flats (fluent_*, ocal_tshirt), clean;
* **croquis**: ../shared/data's figures (ocal_woman_*), clean;
* **scans**: every sketch above degraded ``--variants`` times by :mod:`garmentstyle.testing.degrade_sketch`
  (pencil / pen re-drawn thin with 2-6 px gaps, grey / cream paper, vignette, shadow, warm cast, 1-3° rotation,
  keystone, JPEG 66-74, 1300-3000 px, some with marker fills), ground truth carried through the same geometry.

IoU: the auto garment (``segment(method="classical")``) against the ground-truth garment (the union of the part
masks where there is no garment mask). A refusal (SegmentationError) counts as IoU 0. **Click IoU**: one click at
the deepest point of each ground-truth part (``region_at(seg, x, y)``, scope "part") against that part. Time: the
whole ``segment`` call from the file (read, prepare, partition, pick, map back), at 3000 px long side.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.ndimage as ndi
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from garmentstyle.errors import SegmentationError  # noqa: E402
from garmentstyle.segment import lineart, region_at, segment  # noqa: E402
from garmentstyle.testing.degrade_sketch import degrade, load_item, random_options  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
FIGURES = ("ocal_woman_coat_skirt", "ocal_woman_green_dress", "ocal_woman_shirt_trousers")


@dataclass
class Item:
    name: str
    sketch: Path
    masks: dict[str, Path]
    kind: str  # "flat" | "croquis"


def items() -> list[Item]:
    out = []
    for base, pre in ((ROOT / "samples", ""), (SHARED, "")):
        for p in sorted((base / "sketches").glob("*.png")):
            mp = {m.stem.split("__", 1)[1]: m for m in sorted((base / "masks").glob(f"{p.stem}__*.png"))}
            if mp:
                out.append(Item(pre + p.stem, p, mp, "croquis" if p.stem in FIGURES else "flat"))
    return out


def read_mask(p) -> np.ndarray:
    return np.asarray(Image.open(p).convert("L")) > 127


def iou(a: np.ndarray, b: np.ndarray) -> float:
    u = (a | b).sum()
    return float((a & b).sum() / u) if u else 1.0


def iou_off_lines(a: np.ndarray, b: np.ndarray) -> float:
    """IoU with a band around the truth's outline left out of both masks (±0.4 % of the long side, ≥ 2 px): what
    the score is when it does not matter which side of a drawn outline the mask stops (the ocal croquis' truth
    stops inside the outline, the pick includes it). Reported beside the strict IoU, never instead of it."""
    k = max(2, int(round(0.004 * max(b.shape))))
    band = ndi.binary_dilation(b, iterations=k) & ~ndi.binary_erosion(b, iterations=k)
    u = ((a | b) & ~band).sum()
    return float(((a & b) & ~band).sum() / u) if u else 1.0


def garment_gt(masks: dict[str, np.ndarray]) -> np.ndarray:
    if "garment" in masks:
        return masks["garment"]
    return np.logical_or.reduce(list(masks.values()))


@dataclass
class Case:
    name: str
    set: str
    image: object  # path or (H, W, 3) uint8
    masks: dict[str, np.ndarray]
    desc: str


def degraded_cases(its: list[Item], variants: int, cache: Path) -> list[Case]:
    cases = []
    cache.mkdir(parents=True, exist_ok=True)
    for k, it in enumerate(its):
        rgb, masks = load_item(it.sketch, it.masks)
        for v in range(variants):
            seed = 1000 + 17 * k + v
            o = random_options(seed, kind=("photo", "scan")[(k + v) % 2], marker=(k + v) % 3 == 0)
            f = cache / f"{it.name}_{seed}.jpg"
            mf = cache / f"{it.name}_{seed}.npz"
            if f.exists() and mf.exists():
                dm = dict(np.load(mf))
            else:
                d = degrade(rgb, masks, o)
                Image.fromarray(d.image).save(f, quality=97)
                np.savez_compressed(mf, **d.masks)
                dm = d.masks
            desc = f"{o.kind}, {o.style} {o.line_lightness:.2f}, {o.long_side} px{', marker' if o.marker else ''}"
            cases.append(Case(f"{it.name}#{v}", f"scans ({it.kind})", f, dm, desc))
    return cases


@dataclass
class Row:
    case: Case
    iou: float
    iou_off: float
    conf: float
    layout: str
    seconds: float
    refused: str
    clicks: list[tuple[str, float]]
    notes: list[str]


def click_point(m: np.ndarray) -> tuple[int, int]:
    d = ndi.distance_transform_edt(m)
    y, x = np.unravel_index(int(np.argmax(d)), d.shape)
    return int(x), int(y)


def run_case(c: Case) -> Row:
    lineart.clear_cache()
    t = time.perf_counter()
    try:
        seg = segment(c.image, method="classical")
    except SegmentationError as e:
        return Row(c, 0.0, 0.0, 0.0, "-", time.perf_counter() - t, str(e)[:90], [], [])
    dt = time.perf_counter() - t
    g = seg.garment.numpy() > 0.5
    gt = garment_gt(c.masks)
    clicks = []
    # Clicks are scored where the ground truth names parts (the samples' parts, the croquis' garments); a
    # garment-only mask says nothing about which part a click means.
    parts = {k: v for k, v in c.masks.items() if k != "garment"}
    for k, m in parts.items():
        if m.sum() < 50:
            continue
        x, y = click_point(m)
        try:
            r = region_at(seg, x, y)
            clicks.append((k, iou(r.mask.numpy() > 0.5, m)))
        except SegmentationError:
            clicks.append((k, 0.0))
    return Row(c, iou(g, gt), iou_off_lines(g, gt), seg.confidence, seg.layout, dt, "", clicks, seg.notes)


def table(rows: list[Row], title: str) -> list[str]:
    out = [f"### {title}", "", "| sketch | input | layout | conf. | garment IoU | off the lines | clicks (part IoU) "
           "| s | note |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        cl = ", ".join(f"{k} {v:.2f}" for k, v in r.clicks) or "—"
        note = r.refused or next((n for n in r.notes if "could be" in n or "broken outline" in n or "figure" in n), "")
        out.append(f"| {r.case.name} | {r.case.desc} | {r.layout} | {r.conf:.2f} | {r.iou:.3f} | {r.iou_off:.3f} "
                   f"| {cl} | "
                   f"{r.seconds:.2f} | {note[:80]} |")
    ious = [r.iou for r in rows]
    cl = [v for r in rows for _, v in r.clicks]
    ref = sum(1 for r in rows if r.refused)
    off = statistics.mean(r.iou_off for r in rows)
    out += ["", f"mean garment IoU **{statistics.mean(ious):.3f}** (min {min(ious):.3f}; off the lines {off:.3f}; "
                f"{len(rows)} sketches, "
                f"{ref} refused); click IoU mean **{statistics.mean(cl) if cl else float('nan'):.3f}**, "
                f"≥ 0.75 on {sum(v >= 0.75 for v in cl)}/{len(cl)}", ""]
    return out


def calibration(rows: list[Row]) -> list[str]:
    bins = [(0.0, 0.3), (0.3, 0.5), (0.5, 0.7), (0.7, 0.85), (0.85, 1.01)]
    out = ["### Calibration (all sketches above: confidence vs actual garment IoU)", "",
           "| confidence | sketches | mean IoU | min IoU | IoU < 0.7 |", "|---|---|---|---|---|"]
    for lo, hi in bins:
        rs = [r for r in rows if lo <= r.conf < hi and not r.refused]
        if not rs:
            out.append(f"| {lo:.2f}–{min(hi, 1):.2f} | 0 | — | — | — |")
            continue
        v = [r.iou for r in rs]
        out.append(f"| {lo:.2f}–{min(hi, 1):.2f} | {len(rs)} | {statistics.mean(v):.3f} | {min(v):.3f} | "
                   f"{sum(x < 0.7 for x in v)} |")
    bad = [r for r in rows if r.iou < 0.7 and r.conf >= 0.7 and not r.refused]
    out += ["", f"confidence ≥ 0.7 while IoU < 0.7: **{len(bad)}** "
                f"({', '.join(f'{r.case.name} {r.conf:.2f}/{r.iou:.2f}' for r in bad) or 'none'})", ""]
    return out


def bench_speed(its: list[Item], cache: Path, repeats: int) -> list[str]:
    out = ["### Time per sketch at 3000 px (degraded scan / photo JPEG, whole `segment` call)", "",
           "| sketch | size | median s | min s |", "|---|---|---|---|"]
    allt = []
    for k, it in enumerate(its):
        f = cache / f"{it.name}_3000.jpg"
        if not f.exists():
            rgb, masks = load_item(it.sketch, it.masks)
            d = degrade(rgb, masks, random_options(500 + k, long_side=3000))
            Image.fromarray(d.image).save(f, quality=95)
        ts = []
        refused = ""
        for _ in range(repeats):
            lineart.clear_cache()
            from garmentstyle import sketchprep

            sketchprep._CACHE.clear()
            t = time.perf_counter()
            try:
                segment(f, method="classical")
            except SegmentationError as e:  # timed all the same, but said: a refusal is not a segmentation
                refused = f" (**refused**: {str(e)[:60]}…)"
            ts.append(time.perf_counter() - t)
        allt += ts
        w, h = Image.open(f).size
        out.append(f"| {it.name}{refused} | {w}×{h} | {statistics.median(ts):.2f} | {min(ts):.2f} |")
    out += ["", f"all runs: median **{statistics.median(allt):.2f} s**, min {min(allt):.2f} s, max {max(allt):.2f} s "
                f"(load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)", ""]
    return out


def bench_bad(its: list[Item], cache: Path) -> list[str]:
    """Bad input: what segment says (or how long it takes) on pages that are not a clean single drawing."""
    import cv2

    from garmentstyle.testing.degrade_sketch import DegradeOptions

    out = ["### Bad input", "", "| input | result | s |", "|---|---|---|"]
    by = {it.name: it for it in its}
    cases: list[tuple[str, object]] = []
    blank = degrade(np.ones((600, 450, 3), np.float32), {}, DegradeOptions(kind="photo", long_side=2000, seed=4))
    cases.append(("blank sheet, phone photo 2000 px", blank.image))
    if (SHARED / "swatches" / "acg_denim.png").exists():
        cases.append(("a photo (denim swatch)", SHARED / "swatches" / "acg_denim.png"))
    if FIGURES[0] in by and FIGURES[1] in by:
        a = np.asarray(Image.open(by[FIGURES[0]].sketch).convert("RGB"))
        b = np.asarray(Image.open(by[FIGURES[1]].sketch).convert("RGB"))
        cases.append(("two figures side by side", np.concatenate([a, b], 1)))
    if "dress" in by:
        d = np.asarray(Image.open(by["dress"].sketch).convert("RGB"))
        cases.append(("dress cropped through its straps (touches the edge)", d[140:]))
        txt = d.copy()
        for i, line in enumerate(("Style 12 - cotton poplin", "full skirt, 8 panels", "A.B. 2026")):
            cv2.putText(txt, line, (10, 40 + 24 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (50, 50, 50), 1, cv2.LINE_AA)
        cases.append(("dress with text annotations", txt))
    big = cache / "dress_3000.jpg"
    if big.exists():
        im = np.asarray(Image.open(big))
        f48 = cache / "dress_48mp.jpg"
        if not f48.exists():
            Image.fromarray(cv2.resize(im, (6000, 8000), interpolation=cv2.INTER_CUBIC)).save(f48, quality=85)
        cases.append(("48 MP scan (6000×8000)", f48))
        f50 = cache / "dress_50mp.jpg"
        if not f50.exists():
            Image.fromarray(cv2.resize(im, (6100, 8200), interpolation=cv2.INTER_CUBIC)).save(f50, quality=85)
        cases.append(("50 MP scan (6100×8200)", f50))
    from garmentstyle.errors import GarmentStyleError

    for name, src in cases:
        lineart.clear_cache()
        t = time.perf_counter()
        try:
            seg = segment(src, method="classical")
            res = (f"{seg.layout}, garment {float((seg.garment > 0.5).float().mean()):.0%} of the page, "
                   f"conf. {seg.confidence:.2f}; " + "; ".join(n[:70] for n in seg.notes[:2]))
        except GarmentStyleError as e:
            res = f"refused: {str(e)[:120]}"
        out.append(f"| {name} | {res} | {time.perf_counter() - t:.1f} |")
    return out + [""]


def bench_sam(size: int = 1024) -> list[str]:
    from garmentstyle.segment import SamSegmenter, build_sam

    sam = build_sam("sam-vit-b", checkpoint=None)
    seg = SamSegmenter(sam=sam)
    img = (np.random.default_rng(0).random((size, size, 3)) * 255).astype(np.uint8)
    t = time.perf_counter()
    seg.set_image(img)
    t_embed = time.perf_counter() - t
    times = []
    for i in range(5):
        t = time.perf_counter()
        seg.predict([[size / 2 + i, size / 2]], [1])
        times.append(time.perf_counter() - t)
    return ["### SAM vit_b on this CPU (random initialisation; the cost does not depend on the weights)", "",
            f"image encoder {t_embed:.2f} s per sketch; `predict` per click {statistics.median(times):.3f} s", ""]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--variants", type=int, default=2, help="degraded versions per sketch")
    ap.add_argument("--repeats", type=int, default=1, help="timing repeats at 3000 px")
    ap.add_argument("--sam", action="store_true", help="also time SAM vit_b (random weights)")
    ap.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "gs-degraded"),
                    help="where the degraded images are kept between runs")
    ap.add_argument("--out", default=None, help="write the Markdown here too")
    args = ap.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    cache = Path(args.cache)
    its = items()
    lines = [
        f"_{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores (shared), torch "
        f"{torch.__version__}, {time.strftime('%Y-%m-%d %H:%M')}; command: `python bench/bench_segment.py "
        f"{' '.join(sys.argv[1:])}`_",
        "",
    ]
    clean = [Case(it.name, it.kind, it.sketch, {k: read_mask(v) for k, v in it.masks.items()}, "clean") for it in its]
    rows_flat = [run_case(c) for c in clean if c.set == "flat"]
    rows_cro = [run_case(c) for c in clean if c.set == "croquis"]
    deg = degraded_cases(its, args.variants, cache)
    rows_deg = [run_case(c) for c in deg]
    lines += table(rows_flat, "Flats, clean (samples + ../shared/data)")
    lines += table(rows_cro, "Croquis, clean (../shared/data)")
    lines += table([r for r in rows_deg if r.case.set == "scans (flat)"], "Scans and phone photos of the flats")
    lines += table([r for r in rows_deg if r.case.set == "scans (croquis)"], "Scans and phone photos of the croquis")
    lines += calibration(rows_flat + rows_cro + rows_deg)
    lines += bench_speed([it for it in its if it.name in ("dress", "jacket", "fluent_coat", FIGURES[0])], cache,
                         args.repeats)
    lines += bench_bad(its, cache)
    if args.sam:
        lines += bench_sam()
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()

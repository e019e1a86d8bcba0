"""Issue 9 benchmark: grain mapping cost, orientation figures, auto vs straight on flats, drape contact sheet, the
README's before/after images.

    .venv/bin/python bench/bench_mapping.py [--out bench/out/mapping] [--docs docs/img] [--skip-cost]

Orientation = a structure-tensor estimate of the direction of vertical stripes (a 24 px stripe swatch laid through
the mapping), compared with the known grain: the seams of a synthetic flared skirt, the panel seams of
samples/sketches/dress.png's skirt, the arcs of a curved sleeve with two drawn grain strokes. Costs are for
``mapping.build`` on a ~1 MP region, with ``swatch.tile`` of the same canvas measured in the same run as the
reference (the shared 2-core machine is noisy: read the ratio).
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("GARMENTSTYLE_CACHE", "off")  # measure the work itself, not the style-target disk cache
sys.path.insert(0, str(ROOT))

from garmentstyle import finish, io, mapping, swatch  # noqa: E402
from garmentstyle.mapping import synthetic  # noqa: E402
from garmentstyle.mapping.orient import axis_difference, axis_of_angle, orientation  # noqa: E402

DATA = ROOT.parent / "shared" / "data"


def best_of(fn, n=3):
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def cost() -> list[str]:
    rows = ["| region (≈1 MP inside) | build s | swatch.tile of the canvas s (reference) | ratio |", "|---|---|---|---|"]
    skirt = synthetic.flared_skirt(1100)  # 1.0 MP inside a 1.2 MP sketch
    sleeve = synthetic.curved_sleeve((2350, 2700))  # 1.15 MP inside a 6.3 MP sketch (and its strokes image)
    cases = [("flared skirt, grain=auto", skirt, "auto", 0.0), ("flared skirt, auto + drape 0.5", skirt, "auto", 0.5),
             ("curved sleeve, 2 grain strokes", sleeve, sleeve.strokes, 0.0),
             ("flared skirt, straight + drape 0.5", skirt, "straight", 0.5)]
    for label, syn, grain, drape in cases:
        area = int(syn.mask.sum())
        t_build, m = best_of(lambda: mapping.build(syn.mask, syn.sketch, grain=grain, drape=drape))
        sw = synthetic.stripes()
        t_tile, _ = best_of(lambda: swatch.tile(sw, syn.mask.shape))
        rows.append(f"| {label} ({area / 1e6:.2f} MP of {syn.mask.shape[1]}×{syn.mask.shape[0]}) | {t_build:.3f} | "
                    f"{t_tile:.3f} | {t_build / t_tile:.1f}× |")
    return rows


def _stripe_dev(m, grain_axis, where, size):
    fab = m.preview(synthetic.stripes(), zoom=1.0, size=size)
    return axis_difference(synthetic.stripe_axis(fab), grain_axis)[where]


def orientation_figures() -> list[str]:
    rows = ["| case | straight: median (p90) ° | mapped: median (p90) ° | mapping |", "|---|---|---|---|"]
    syn = synthetic.flared_skirt(400)
    s = _stripe_dev(mapping.build(syn.mask, syn.sketch), syn.grain, syn.measure, syn.mask.shape)
    m = mapping.build(syn.mask, syn.sketch, grain="auto")
    a = _stripe_dev(m, syn.grain, syn.measure, syn.mask.shape)
    rows.append(f"| synthetic flared skirt, seams 0/±12/±24°, 4–16 px beside them | {np.median(s):.1f} "
                f"({np.percentile(s, 90):.1f}) | {np.median(a):.1f} ({np.percentile(a, 90):.1f}) | auto |")
    sk = io.load_image(ROOT / "samples/sketches/dress.png")
    mask = io.load_mask(ROOT / "samples/masks/dress__skirt.png")
    from scipy import ndimage

    lum = sk[0].mean(0).numpy()
    region = mask.numpy() >= 0.5
    inner = ndimage.distance_transform_edt(region) > 8
    seam = (lum < 0.5) & inner
    seam_axis = orientation(seam.astype(float), sigma=1, rho=2).axis
    dist, (iy, ix) = ndimage.distance_transform_edt(~seam, return_indices=True)
    near = (dist >= 4) & (dist <= 14) & inner & (np.abs(np.degrees(0.5 * np.angle(seam_axis[iy, ix]))) > 45)
    s = _stripe_dev(mapping.build(mask, sk), seam_axis[iy, ix], near, mask.shape)
    a = _stripe_dev(mapping.build(mask, sk, grain="auto"), seam_axis[iy, ix], near, mask.shape)
    rows.append(f"| samples dress.png skirt, 4–14 px beside its panel seams | {np.median(s):.1f} "
                f"({np.percentile(s, 90):.1f}) | {np.median(a):.1f} ({np.percentile(a, 90):.1f}) | auto |")
    syn = synthetic.curved_sleeve()
    s = _stripe_dev(mapping.build(syn.mask, syn.sketch), syn.grain, syn.measure, syn.mask.shape)
    a = _stripe_dev(mapping.build(syn.mask, syn.sketch, grain=syn.strokes), syn.grain, syn.measure, syn.mask.shape)
    rows.append(f"| synthetic sleeve bent 5–75°, inside | {np.median(s):.1f} ({np.percentile(s, 90):.1f}) | "
                f"{np.median(a):.1f} ({np.percentile(a, 90):.1f}) | 2 grain strokes |")
    return rows


def _flats():
    from garmentstyle import samples

    for name in samples.list_sketches():
        for part, path in samples.mask_paths(name).items():
            yield f"samples/{name}/{part}", samples.sketch_path(name), path
    if DATA.is_dir():
        for mpath in sorted((DATA / "masks").glob("*.png")):
            sk_name = mpath.stem.split("__")[0]
            yield f"shared/{mpath.stem}", DATA / "sketches" / f"{sk_name}.png", mpath


def _truth(name: str, mask: np.ndarray) -> tuple[complex | np.ndarray, str]:
    """The grain a pattern cutter would use on a flat: along a sleeve's length (its principal axis), else the
    vertical; None where there is no one answer (a whole garment with sleeves, a flared skirt: reported only)."""
    if "sleeve" in name:
        ys, xs = np.nonzero(mask >= 0.5)
        cov = np.cov(np.stack([xs, ys]).astype(float))
        vals, vecs = np.linalg.eigh(cov)
        v = vecs[:, -1]
        return complex(axis_of_angle(math.atan2(v[1], v[0]))), "along the sleeve"
    return complex(axis_of_angle(math.pi / 2)), "vertical"


def flats() -> tuple[list[str], dict]:
    rows = ["| region | auto used | straight off truth ° | auto off truth ° | auto − straight ° | truth |",
            "|---|---|---|---|---|---|"]
    worse = []
    for name, skp, mp in _flats():
        sk = io.load_image(skp)
        mask = io.load_mask(mp)
        if sk.shape[-2:] != mask.shape:
            continue
        m_auto = mapping.build(mask, sk, grain="auto")
        m_str = mapping.build(mask, sk)
        region = mask.numpy() >= 0.5
        from scipy import ndimage

        inner = ndimage.distance_transform_edt(region) > 10
        if inner.sum() < 200:
            inner = region
        truth, label = _truth(name, mask.numpy())
        s = float(np.median(_stripe_dev(m_str, truth, inner, mask.shape)))
        a = float(np.median(_stripe_dev(m_auto, truth, inner, mask.shape)))
        if any(k in name.split("/")[-1] for k in ("garment", "skirt", "dress", "sleeve")):
            label += " (no single truth: reported only)"  # a sleeve's principal axis is not its grain when short
        elif a > s + 1.0:
            worse.append(name)
        rows.append(f"| {name} | {m_auto.stats.source} | {s:.1f} | {a:.1f} | {a - s:+.1f} | {label} |")
    return rows, {"worse": worse}


def contact_sheet(out: Path) -> Path:
    from garmentstyle import samples

    gingham = io.load_image(ROOT / "samples/swatches/gingham.png")
    tiles = []
    for name in ("dress", "trousers", "jacket"):
        sk = io.load_image(samples.sketch_path(name))
        mask = io.load_mask(samples.mask_paths(name)["garment"])
        row = []
        for drape in (0.0, 0.5, 1.0):
            m = mapping.build(mask, sk, drape=drape)
            fab = m.preview(gingham, zoom=0.5, size=tuple(mask.shape))
            row.append(finish.compose(sk, fab, finish.region_alphas(mask[None])))
        tiles.append(torch.cat(row, -1))
    w = max(t.shape[-1] for t in tiles)
    sheet = torch.cat([F.pad(t, (0, w - t.shape[-1]), value=1.0) for t in tiles], -2)
    sheet = F.interpolate(sheet, scale_factor=0.5, mode="area")
    path = out / "drape_contact.png"
    io.save_image(sheet, path)
    return path


def drape_closeup(docs: Path) -> Path:
    """The dress skirt's hem in gingham at drape 0, 1 and 2 (full resolution crop): the checks dip into the folds."""
    sk = io.load_image(ROOT / "samples/sketches/dress.png")
    mk = io.load_mask(ROOT / "samples/masks/dress__skirt.png")
    g = io.load_image(ROOT / "samples/swatches/gingham.png")
    row = []
    for d in (0.0, 1.0, 2.0):
        fab = mapping.build(mk, sk, drape=d).preview(g, zoom=0.5, size=tuple(mk.shape))
        row.append(finish.compose(sk, fab, finish.region_alphas(mk[None]))[..., 480:720, 60:420])
    path = docs / "drape_dress_hem.png"
    io.save_image(F.interpolate(torch.cat(row, -1), scale_factor=0.7, mode="area"), path)
    return path


def readme_images(docs: Path) -> list[Path]:
    """Small before/after PNGs from the bundled samples and synthetic shapes (nothing from ../shared/data)."""
    docs.mkdir(parents=True, exist_ok=True)
    stripes = io.load_image(ROOT / "samples/swatches/stripes.png")
    sk = io.load_image(ROOT / "samples/sketches/dress.png")
    masks = [io.load_mask(ROOT / f"samples/masks/dress__{p}.png") for p in ("bodice", "skirt")]
    alphas = finish.region_alphas(torch.stack(masks))
    pair = []
    for grain in ("straight", "auto"):
        fab = torch.zeros_like(sk)
        for mk in masks:
            m = mapping.build(mk, sk, grain=grain, rotation=90.0)
            fab = torch.where(mk >= 0.5, m.preview(stripes, zoom=0.4, size=tuple(mk.shape)), fab)
        pair.append(finish.compose(sk, fab, alphas))
    paths = [docs / "grain_dress.png"]
    io.save_image(F.interpolate(torch.cat(pair, -1), scale_factor=0.5, mode="area"), paths[-1])
    syn = synthetic.curved_sleeve()
    sk2 = torch.from_numpy(syn.sketch)[None, None].expand(1, 3, -1, -1)
    mk = torch.from_numpy(syn.mask)
    al = finish.region_alphas(mk[None])
    pair = []
    for grain in ("straight", syn.strokes):
        fab = mapping.build(mk, syn.sketch, grain=grain, rotation=90.0).preview(stripes, zoom=0.4,
                                                                                size=tuple(mk.shape))
        img = finish.compose(sk2, fab, al)
        if not isinstance(grain, str):
            s = torch.from_numpy(syn.strokes).permute(2, 0, 1)[None].float() / 255
            img = torch.minimum(img, s)
        pair.append(img)
    paths.append(docs / "grain_sleeve_strokes.png")
    io.save_image(F.interpolate(torch.cat(pair, -1), scale_factor=0.6, mode="area"), paths[-1])
    # ink: a bold-outline flat drawn here (the garment mask covers its 12 px outline), gingham checks
    import cv2

    gm = io.load_mask(ROOT / "samples/masks/dress__garment.png").numpy() >= 0.5
    ink = np.full(gm.shape, 255, np.uint8)
    cnts, _ = cv2.findContours(gm.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(ink, cnts, -1, 34, 24, cv2.LINE_AA)
    row = np.nonzero(gm[250])[0]
    cv2.line(ink, (int(row.min()) + 8, 250), (int(row.max()) - 8, 250), 34, 10, cv2.LINE_AA)
    bold = torch.from_numpy(ink.astype(np.float32) / 255)[None, None].expand(1, 3, -1, -1)
    gingham = io.load_image(ROOT / "samples/swatches/gingham.png")
    fab = swatch.tile(gingham, gm.shape, zoom=0.5)
    al = finish.region_alphas(torch.from_numpy(gm.astype(np.float32))[None])
    multiply = bold * (1 - al.sum(0)) + fab * finish.shading_map(bold) * al.sum(0)
    paths.append(docs / "ink_outline.png")
    crop = (slice(None), slice(None), slice(20, 380), slice(100, 540))  # the bodice and the top of the skirt
    io.save_image(F.interpolate(torch.cat([multiply[crop], finish.compose(bold, fab, al)[crop]], -1),
                                scale_factor=0.6, mode="area"), paths[-1])
    return paths


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "bench/out/mapping")
    ap.add_argument("--docs", type=Path, default=None, help="also write the README images here (docs/img)")
    ap.add_argument("--skip-cost", action="store_true")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(2)
    if not args.skip_cost:
        print("## cost\n" + "\n".join(cost()), flush=True)
    print("\n## orientation\n" + "\n".join(orientation_figures()), flush=True)
    rows, verdict = flats()
    print("\n## auto vs straight on flats\n" + "\n".join(rows))
    print(f"\nregions where auto is worse than straight (by > 1°): {verdict['worse'] or 'none'}")
    print("\ncontact sheet:", contact_sheet(args.out))
    if args.docs:
        print("README images:", *readme_images(args.docs), drape_closeup(args.docs))


if __name__ == "__main__":
    main()

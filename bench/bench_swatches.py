"""Swatch preparation on phone-style photos with a known true fabric (issue 7).

  .venv/bin/python bench/bench_swatches.py [--out-dir bench/out/swatches] [--sheet docs/swatch_preparation.png]

For each fabric (tartan, stripe, knit, print, gingham from ../shared/data/swatches) a ~1 MP phone-style photo is made
(garmentstyle.testing.degrade: off-lattice window, 2.5° turn, light gradient + vignette + soft shadow, noise, JPEG 70)
and rendered into the skirt of ocal_woman_coat_skirt at true scale (sketch 170 cm tall, one repeat 6 cm):

* ``truth``: the true seamless tile (repeat_cm=6) — what the skirt should look like;
* ``raw``: the photo as given (prepare=off, swatch_cm = the photo's true width) — the old behaviour;
* ``prepared``: the photo with the default prepare=auto (swatch_cm = the photo's true width);
* ``sensor``: the reference — the same blur / noise / JPEG on a straight, evenly lit photo of the fabric, nothing
  else (what the photo's own degradation alone gives), resampled back to the true tile's pixel density
  (``degrade.sensor_only``);
* ``sensor_photo``: the same straight, evenly lit photo kept at the *photo's* pixel density (5 × 5 whole repeats,
  which is a whole number of pixels at the zooms used) — the like-for-like reference for the prepared tile, which is
  cut at the photo's density too: the render shrinks both by the same factor.

Figures: sliced-Wasserstein distance (×100) between 7×7 CIELAB patch distributions of each render's fabric inside the
skirt and the true fabric tiled at the same scale (lower = closer; the target is prepared ≤ 1.3 × sensor); the
low-frequency light variation of the rendered fabric inside the skirt (std/mean of luminance smoothed over ~2
repeats); the found lattice vs the truth; preparation time for the 1 MP photo, and offline synthesis of a 256 px
tile, with a reference workload timed in the same run (the machine is shared: read the ratio).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import garmentstyle as gs  # noqa: E402
from garmentstyle import io, swatch as sw_ops  # noqa: E402
from garmentstyle.metrics import patches, sliced_wasserstein  # noqa: E402
from garmentstyle.swatches import prepare  # noqa: E402
from garmentstyle.testing.degrade import PhotoSpec, load_tile, photograph, sensor_only  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
SKETCH = DATA / "sketches" / "ocal_woman_coat_skirt.png"
MASK = DATA / "masks" / "ocal_woman_coat_skirt__skirt.png"
SKETCH_CM = 170.0
REPEAT_CM = 6.0
FABRICS = [("tartan", "acg_tartan_multicolour.png", 1.6), ("stripe", "acg_stripes_navy.png", 1.6),
           ("knit", "acg_knit_green.png", 1.6), ("print", "ocal_polka_dots_orange.png", 0.45),
           ("gingham", "acg_gingham_red.png", 1.6)]
torch.set_num_threads(2)


def lab(x: torch.Tensor) -> torch.Tensor:
    """sRGB ``(1, 3, H, W)`` in [0, 1] → CIELAB (D65), L/100 and a, b / 100 so the channels weigh alike."""
    c = torch.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)
    m = torch.tensor([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = torch.einsum("ij,bjhw->bihw", m, c) / torch.tensor([0.9505, 1.0, 1.089]).view(1, 3, 1, 1)
    f = torch.where(xyz > 0.008856, xyz.clamp(min=1e-9) ** (1 / 3), 7.787 * xyz + 16 / 116)
    L = 116 * f[:, 1] - 16
    a = 500 * (f[:, 0] - f[:, 1])
    b = 200 * (f[:, 1] - f[:, 2])
    return torch.stack([L, a, b], 1) / 100


def lab_distance(image: torch.Tensor, mask: torch.Tensor, canvas: torch.Tensor) -> float:
    """×100 sliced W1 of 7×7 Lab patches inside ``mask`` vs all of ``canvas``."""
    stride = max(1, int((mask >= 0.5).sum().item() ** 0.5) // 96)
    pa = patches(lab(image), 7, mask, stride)
    pb = patches(lab(canvas), 7, None, max(1, int((canvas.shape[-1] * canvas.shape[-2]) ** 0.5) // 96))
    return 100 * sliced_wasserstein(pa, pb, projections=128)


def light_in_mask(image: torch.Tensor, mask: torch.Tensor, sigma: float) -> float:
    """Low-frequency luminance variation inside ``mask``: normalised-convolution Gaussian at ``sigma`` px, std/mean
    over the mask eroded by sigma (no edge effects)."""
    from scipy import ndimage

    lum = (image[0] * torch.tensor([0.2126, 0.7152, 0.0722]).view(3, 1, 1)).sum(0).numpy()
    m = (mask.numpy() >= 0.5).astype(np.float64)
    num = ndimage.gaussian_filter(lum * m, sigma)
    den = ndimage.gaussian_filter(m, sigma)
    low = num / np.maximum(den, 1e-6)
    core = ndimage.binary_erosion(m > 0, iterations=max(1, int(sigma)))
    if core.sum() < 50:
        core = m > 0
    return float(low[core].std() / max(1e-6, lum[m > 0].mean()))


def reference_workload() -> float:
    """Seconds for a fixed numpy workload (FFT of 2048², 3 times): the machine's speed right now."""
    x = np.random.default_rng(0).random((2048, 2048))
    t = time.perf_counter()
    for _ in range(3):
        np.fft.rfft2(x)
    return time.perf_counter() - t


def sensor_at_photo_density(tile: np.ndarray, spec: PhotoSpec, repeats: int = 5) -> np.ndarray:
    """``repeats`` × ``repeats`` whole repeats photographed straight and evenly lit with ``spec``'s zoom, noise and
    JPEG, at the photo's own pixel density (not resampled afterwards)."""
    h, w = tile.shape[:2]
    size = (round(repeats * w * spec.zoom), round(repeats * h * spec.zoom))
    straight = PhotoSpec(**{**spec.__dict__, "size": size, "rotation": 0.0, "gradient": 0.0, "vignette": 0.0,
                            "shadow": 0.0, "offset": (w * repeats / 2, h * repeats / 2)})
    return photograph(tile, straight).image


def render(swatch, opts, **kw):
    res = gs.render(SKETCH, [gs.Region(MASK, swatch, name="skirt", **kw)], opts)
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out-dir", type=Path, default=ROOT / "bench" / "out" / "swatches")
    ap.add_argument("--sheet", type=Path, default=ROOT / "docs" / "swatch_preparation.png")
    ap.add_argument("--size", type=int, default=768)
    args = ap.parse_args()
    if not SKETCH.exists():
        sys.exit(f"skipped: real test material not found at {DATA}")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    opts = gs.RenderOptions(size=args.size, iterations=20, sketch_cm=SKETCH_CM, preview_every=0)
    rows, figures = [], []
    ref_t = reference_workload()
    for label, fname, zoom in FABRICS:
        tile = load_tile(DATA / "swatches" / fname)
        spec = PhotoSpec(size=(1150, 870), zoom=zoom, rotation=2.5, seed=len(label))
        ph = photograph(tile, spec)
        photo_path = args.out_dir / f"{label}_photo.jpg"
        Image.fromarray((ph.image * 255 + 0.5).astype(np.uint8)).save(photo_path, quality=95)
        photo_cm = spec.size[0] / (zoom * tile.shape[1]) * REPEAT_CM  # the photo's true width
        t, c = time.perf_counter(), time.process_time()
        p = prepare(photo_path, use_cache=False)
        t_prep, c_prep = time.perf_counter() - t, time.process_time() - c
        sensor = sensor_only(tile, spec)  # 3×3 repeats, straight, evenly lit
        truth_t = torch.from_numpy(tile).permute(2, 0, 1)[None]
        sens_t = torch.from_numpy(sensor).permute(2, 0, 1)[None].contiguous()
        sens_photo_t = torch.from_numpy(sensor_at_photo_density(tile, spec)).permute(2, 0, 1)[None].contiguous()
        res = {
            "truth": render(truth_t, opts, repeat_cm=REPEAT_CM, prepare="off"),
            "raw": render(photo_path, opts, swatch_cm=photo_cm, prepare="off"),
            "prepared": render(photo_path, opts, swatch_cm=photo_cm),
            "sensor": render(sens_t, opts, swatch_cm=3 * REPEAT_CM, prepare="off"),
            "sensor_photo": render(sens_photo_t, opts, swatch_cm=5 * REPEAT_CM, prepare="off"),
        }
        mask = res["truth"].masks[0]
        zoom_out = res["truth"].report.regions[0].repeat_px_output / tile.shape[1]
        canvas = sw_ops.tile(truth_t, (384, 384), zoom=zoom_out)
        rep_out = res["truth"].report.regions[0].repeat_px_output
        fig = {"fabric": label, "file": fname, "prepare_s": round(t_prep, 2), "prepare_cpu_s": round(c_prep, 2), "action": p.report.action,
               "kind": p.report.kind, "lattice_px": p.report.lattice_px,
               "true_lattice_px": [[round(c, 2) for c in ph.a1], [round(c, 2) for c in ph.a2]],
               "rotation": round(p.report.rotation, 3), "true_rotation": spec.rotation,
               "seam_before": round(p.report.seam_before, 2), "seam_after": round(p.report.seam_after, 3),
               "repeat_out_px": {k: round(r.report.regions[0].repeat_px_output, 2) for k, r in res.items()}}
        for k, r in res.items():
            fig[f"swd_{k}"] = round(lab_distance(r.fabric, mask, canvas), 3)
            fig[f"light_{k}"] = round(light_in_mask(r.fabric, mask, sigma=2 * rep_out), 4)
        fig["swd_ratio_prepared_vs_sensor"] = round(fig["swd_prepared"] / max(fig["swd_sensor"], 1e-9), 3)
        fig["swd_ratio_prepared_vs_sensor_photo"] = round(fig["swd_prepared"] / max(fig["swd_sensor_photo"], 1e-9),
                                                          3)
        figures.append(fig)
        print(json.dumps(fig))
        rows.append((ph.image, p.tile, res))
        for k, r in res.items():
            r.save(args.out_dir / f"{label}_{k}.png")
    # offline synthesis of a 256 px tile from the 1 MP knit photo (forced), and the 1 MP lattice path again
    knit = args.out_dir / "knit_photo.jpg"
    t, c = time.perf_counter(), time.process_time()
    q = prepare(knit, "synthesize", tile_size=256, use_cache=False)
    t_syn, c_syn = time.perf_counter() - t, time.process_time() - c
    io.save_image(q.tile, args.out_dir / "knit_synth_tile.png")
    timing = {"reference_fft_s": round(ref_t, 3), "synthesize_256_s": round(t_syn, 2), "synthesize_256_cpu_s": round(c_syn, 2),
              "load_average_1min": round(__import__("os").getloadavg()[0], 2), "synth_method": q.report.method,
              "synth_seam_after": round(q.report.seam_after, 3),
              "lattice_1mp_s": [f["prepare_s"] for f in figures]}
    print(json.dumps(timing))
    (args.out_dir / "figures.json").write_text(json.dumps({"fabrics": figures, "timing": timing}, indent=2))
    sheet(rows, [f["fabric"] for f in figures], args.out_dir / "contact_sheet.png", args.sheet)


def _crop_box(mask: torch.Tensor) -> tuple[int, int, int, int]:
    ys, xs = torch.nonzero(mask >= 0.5, as_tuple=True)
    pad = 6
    return (max(0, int(xs.min()) - pad), max(0, int(ys.min()) - pad), int(xs.max()) + pad, int(ys.max()) + pad)


def sheet(rows, labels, path: Path, small: Path) -> None:
    """One row per fabric: photo | prepared tile 3×3 | skirt: raw photo | prepared | true fabric."""
    cell = 220
    W = 5 * (cell + 6)
    out = Image.new("RGB", (W, len(rows) * (cell + 6)), "white")
    for i, (photo, tile, res) in enumerate(rows):
        ims = [io.to_pil(torch.from_numpy(photo).permute(2, 0, 1)[None]),
               io.to_pil(tile.repeat(1, 1, 3, 3))]
        box = _crop_box(res["truth"].masks[0])
        for k in ("raw", "prepared", "truth"):
            ims.append(io.to_pil(res[k].image).crop(box))
        for j, im in enumerate(ims):
            im = im.copy()
            im.thumbnail((cell, cell), Image.LANCZOS)
            out.paste(im, (j * (cell + 6), i * (cell + 6)))
    out.save(path)
    small.parent.mkdir(parents=True, exist_ok=True)
    s = out.copy()
    s.thumbnail((640, 640), Image.LANCZOS)
    s.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(small, optimize=True)  # small enough to commit
    print(f"contact sheet: {path} (columns: photo | prepared tile 3×3 | skirt raw | skirt prepared | skirt truth; "
          f"rows: {', '.join(labels)}); small copy {small}")


if __name__ == "__main__":
    main()

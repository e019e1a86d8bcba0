"""The light estimate of a swatch photo with no repeat lattice (swatches.flatten): the usual one, the soft-gradient
check, and the one kept (flatten_unknown), against the light that was applied.

  .venv/bin/python bench/bench_light.py

Each seamless swatch (the .png of ../shared/data/swatches and the bundled ones) is photographed by
garmentstyle.testing.degrade.photograph (900×700, 2.5° turn, noise, JPEG 70) with 1.2, 1.8 and 4 repeats across the
frame, under a phone's light (gradient ±25 %, vignette, soft shadow: log-light std 0.132) and under even light.
The real twill photo (mdl_twill_weave_grey.jpg, which has its own light) is lit by four strengths. Reported: the
error of each estimate (std of log estimate − log truth, mean removed; 0 = exact, 0.132 = as bad as no correction
under the phone's light), their strengths, whether a lattice is found (the pipeline uses this path only without
one) and whether the soft estimate was kept. Estimates are compared on the photo alone; 2 min on this machine.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from garmentstyle.swatches.analyse import find_lattice, luminance  # noqa: E402
from garmentstyle.swatches.flatten import flatten_unknown, illumination, soft_light  # noqa: E402
from garmentstyle.swatches.pipeline import _work  # noqa: E402
from garmentstyle.testing.degrade import PhotoSpec, light_field, photograph  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "swatches"
EVEN = dict(gradient=0.0, vignette=0.0, shadow=0.0)


def _err(est: np.ndarray, true: np.ndarray) -> float:
    d = np.log(est) - np.log(true)
    return float((d - d.mean()).std())


def _resize(light: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    out = ndimage.zoom(light, (shape[0] / light.shape[0], shape[1] / light.shape[1]), order=1)
    return out[: shape[0], : shape[1]]


def _row(name: str, what: str, image: np.ndarray, light: np.ndarray) -> tuple[float, float, float, bool]:
    work, _ = _work(image)
    true = _resize(light, work.shape[:2])
    usual, soft = illumination(work), soft_light(work)
    flat, _, used = flatten_unknown(work)
    kept = soft if used else usual
    lat = find_lattice(luminance(work)) is not None
    e = (_err(usual, true), _err(soft, true), _err(kept, true))
    print(f"| {name} | {what} | {'yes' if lat else 'no'} | {e[0]:.3f} | {e[1]:.3f} | "
          f"{float(np.log(usual).std()):.2f} / {float(np.log(soft).std()):.2f} | {'soft' if used else 'usual'} | "
          f"**{e[2]:.3f}** | {float(np.log(true).std()):.3f} |", flush=True)
    return (*e, used)


def main() -> None:
    files = sorted(SHARED.glob("*.png")) + sorted((ROOT / "samples" / "swatches").glob("*.png"))
    print("| swatch | repeats, light | lattice | usual | soft | strength usual / soft | kept | **kept error** | "
          "true |\n|---|---|---|---|---|---|---|---|---|")
    rows = []
    for path in files:
        tile = np.asarray(Image.open(path).convert("RGB"), np.float32) / 255.0
        for reps in (1.2, 1.8, 4.0):
            for lname, kw in (("phone", {}), ("even", EVEN)):
                ph = photograph(tile, PhotoSpec(zoom=900 / (reps * tile.shape[1]), **kw))
                rows.append(_row(path.stem, f"{reps}, {lname}", ph.image, ph.light))
    twill = SHARED / "mdl_twill_weave_grey.jpg"
    if twill.is_file():
        img = np.asarray(Image.open(twill).convert("RGB"), np.float32) / 255.0
        for g, v, s in ((0.25, 0.25, 0.2), (0.4, 0.4, 0.3), (0.6, 0.5, 0.4)):
            spec = PhotoSpec(size=(img.shape[1], img.shape[0]), gradient=g, vignette=v, shadow=s)
            light = light_field(spec.size, spec)
            rows.append(_row("twill photo", f"light {g}/{v}/{s}", np.clip(img * light[..., None], 0, 1), light))
    e = np.array([r[:3] for r in rows])
    print(f"\n{len(rows)} photos; soft kept in {sum(r[3] for r in rows)}. Mean error usual {e[:, 0].mean():.3f}, "
          f"kept {e[:, 2].mean():.3f}; worst usual {e[:, 0].max():.3f}, kept {e[:, 2].max():.3f}; kept worse than "
          f"usual by > 0.01 in {int((e[:, 2] > e[:, 0] + 0.01).sum())}.")


if __name__ == "__main__":
    main()

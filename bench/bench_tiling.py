"""How well and how fast a swatch is laid onto the canvas (``canvas.sample_region`` → ``swatch.tile``).

  .venv/bin/python bench/bench_tiling.py [--compare REV]

Quality, per swatch (the bundled ones and ../shared/data's) × zoom (0.3 … 2.5, the fractional sizes a repeat in cm
lands on): the tiled canvas against a reference laid the careful way — the swatch repeated 8×8 at its own size and
resized once with PIL's Lanczos-3 — as the mean |error| (/255) and the *sharpness range*: the canvas's mean
horizontal gradient over the reference's, per 16-px strip, min–max (1.00–1.00 = the same crispness everywhere; a
low minimum is a soft band). Speed: one 1024 px and one 2048 px canvas (best of 7, one torch thread) against the
plain baseline a designer could script in the same run — resize the swatch once to the rounded repeat and
``torch.repeat`` it, which is fast but lays every repeat at a whole number of px. ``--compare REV`` runs the same on
that revision's code first (a temporary git worktree).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "swatches"
ZOOMS = (0.3, 0.5, 0.77, 0.95, 1.04, 1.3, 2.5)
SIDE = 384


def _swatches() -> list[Path]:
    own = sorted((ROOT / "samples" / "swatches").glob("*.png"))
    shared = sorted(DATA.glob("*.png")) + sorted(DATA.glob("*.jpg")) if DATA.is_dir() else []
    return own + shared


def _load(path: Path):
    import torch
    from PIL import Image

    a = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255
    return torch.from_numpy(a).permute(2, 0, 1)[None].contiguous()


def _reference(sw, zoom: float) -> np.ndarray:
    """``SIDE²`` of the swatch repeated and resized once with Lanczos-3 (a swatch corner at the origin), in [0, 1]."""
    from PIL import Image

    h, w = sw.shape[-2:]
    reps = int(np.ceil(SIDE / (min(h, w) * zoom))) + 2
    mosaic = np.tile(sw[0].permute(1, 2, 0).numpy() * 255, (reps, reps, 1)).astype(np.float32)
    size = (round(mosaic.shape[1] * zoom), round(mosaic.shape[0] * zoom))
    planes = [np.asarray(Image.fromarray(mosaic[..., c], mode="F").resize(size, Image.LANCZOS)) for c in range(3)]
    return np.clip(np.stack(planes, -1)[:SIDE, :SIDE] / 255, 0, 1)


def _laid(sw, zoom: float, size: tuple[int, int], rotation: float = 0.0):
    from types import SimpleNamespace

    from garmentstyle import canvas

    region = SimpleNamespace(swatch=sw, zoom=zoom, rotation=rotation, mapping=None)
    return canvas.sample_region(region, canvas.CanvasFrame(size=size))


def quality(sw, zoom: float) -> tuple[float, float, float]:
    got = _laid(sw, zoom, (SIDE, SIDE))[0].permute(1, 2, 0).numpy()
    ref = _reference(sw, zoom)
    m = 8
    err = float(np.abs(got - ref)[m:-m, m:-m].mean() * 255)
    g_got = np.abs(np.diff(got[m:-m, m:-m].mean(-1), axis=1)).mean(0)
    g_ref = np.abs(np.diff(ref[m:-m, m:-m].mean(-1), axis=1)).mean(0)
    n = len(g_got) // 16 * 16
    strips = g_got[:n].reshape(-1, 16).mean(1) / np.maximum(g_ref[:n].reshape(-1, 16).mean(1), 1e-6)
    return err, float(strips.min()), float(strips.max())


def _best(fn, n: int = 7) -> float:
    fn()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def speed(sw) -> list[str]:
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(1)
    out = []
    for side in (1024, 2048):
        size, zoom = (side, round(side * 0.83)), 1.37

        def plain():
            h, w = sw.shape[-2:]
            rep = F.interpolate(sw, size=(round(h * zoom), round(w * zoom)), mode="bilinear", antialias=True)
            return rep.repeat(1, 1, -(-size[0] // rep.shape[-2]), -(-size[1] // rep.shape[-1]))[..., :size[0], :size[1]]

        ref, ours = _best(plain), _best(lambda: _laid(sw, zoom, size))
        rot = _best(lambda: _laid(sw, zoom, size, rotation=17.0), n=3)
        out.append(f"{side} px: plain resize+repeat {ref * 1000:.1f} ms, garmentstyle {ours * 1000:.1f} ms "
                   f"({ours / ref:.2f}×), rotated 17° {rot * 1000:.1f} ms")
    return out


def run() -> None:
    rows = []
    for path in _swatches():
        sw = _load(path)
        cells = [quality(sw, z) for z in ZOOMS]
        rows.append((path.stem, cells))
        print(f"{path.stem[:22]:22s} " + " | ".join(f"{e:5.2f} [{a:.2f}–{b:.2f}]" for e, a, b in cells), flush=True)
    errs = np.array([[c[0] for c in cells] for _, cells in rows])
    lows = np.array([[c[1] for c in cells] for _, cells in rows])
    print("zoom                   " + " | ".join(f"{z:>14}" for z in ZOOMS))
    print("median |err| (/255)    " + " | ".join(f"{v:14.2f}" for v in np.median(errs, 0)))
    print("median lowest sharpness" + " | ".join(f"{v:14.2f}" for v in np.median(lows, 0)))
    for line in speed(_load(ROOT / "samples" / "swatches" / "floral.png")):
        print(line)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--compare", help="git revision to run the same first")
    args = ap.parse_args()
    if args.compare:
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-f", "--detach", tmp, args.compare],
                           check=True, capture_output=True)
            try:  # this script, on that revision's code
                subprocess.run([sys.executable, __file__, "--root", tmp], check=True)
            finally:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", tmp], check=False)
        print(f"--- above: {args.compare}; below: this tree ---")
    run()


if __name__ == "__main__":
    if "--root" in sys.argv:  # the same on another checkout's code (used by --compare)
        sys.path.insert(0, sys.argv[sys.argv.index("--root") + 1])
        run()
    else:
        main()

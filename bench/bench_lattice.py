"""The repeat lattice found on phone photos holding 1.2 to 4 repeats, against the truth (swatches.analyse).

  .venv/bin/python bench/bench_lattice.py [--compare REV]

Each seamless swatch (the .png of ../shared/data/swatches and the bundled ones) is photographed by
garmentstyle.testing.degrade.photograph (900×700, 2.5° turn, a phone's light, noise, JPEG 70) with 1.2, 1.5, 1.8,
2.2, 3 and 4 repeats across the frame and prepared with prepare=auto. Per photo: what auto did (an exact repeat or
synthesis), the lattice's fit (:attr:`Lattice.fit`), and whether each lattice vector is a period of the true tile
("period error": the tile against itself shifted by the vector brought back to tile px, wrapped around, as a
fraction of the tile's contrast; a true period reads 0.00–0.10 here, a near one 0.15–0.25, a wrong one above).

"cut wrong" counts photos cut as an exact repeat on a lattice whose period error exceeds 0.25: a repeat that is
not the fabric's (a sheared plaid, a third of a tartan, a seam on every cell). ``--compare REV`` runs the same
sweep on a git revision's code (checked out in a temporary worktree) first. 3–4 min per revision on this machine.
"""
from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from scipy import ndimage

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "swatches"
REPEATS = (1.2, 1.5, 1.8, 2.2, 3.0, 4.0)
WRONG = 0.25


def _period_error(gray: np.ndarray, u: tuple[float, float]) -> float:
    shifted = ndimage.shift(gray, (u[1], u[0]), order=1, mode="grid-wrap")
    return float(np.sqrt(((shifted - gray) ** 2).mean()) / (gray.std() * math.sqrt(2) + 1e-9))


def _to_tile(v: tuple[float, float], px_per_tile_px: float, rotation: float) -> tuple[float, float]:
    """A vector in source-photo px → tile px (undo the photo's zoom and its CCW turn)."""
    th = math.radians(rotation)
    x, y = v[0] / px_per_tile_px, v[1] / px_per_tile_px
    return (math.cos(th) * x - math.sin(th) * y, math.sin(th) * x + math.cos(th) * y)


def sweep() -> list[tuple[str, float, str, float, float]]:
    """(swatch, repeats, action, fit or nan, worst period error or nan) per photo."""
    sys.path.insert(0, str(ROOT))
    from garmentstyle.swatches import prepare
    from garmentstyle.swatches.analyse import luminance
    from garmentstyle.testing.degrade import PhotoSpec, load_tile, photograph

    rows = []
    for path in sorted(SHARED.glob("*.png")) + sorted((ROOT / "samples" / "swatches").glob("*.png")):
        tile = load_tile(path)
        gray = luminance(tile)
        for reps in REPEATS:
            spec = PhotoSpec(zoom=900 / (reps * tile.shape[1]))
            ph = photograph(tile, spec)
            p = prepare(ph.image, use_cache=False)
            lat = p.lattice
            fit = getattr(lat, "fit", None) if lat is not None else None
            err = float("nan")
            if lat is not None:
                vs = [v for v in (lat.a1, lat.a2) if v is not None]
                err = max(_period_error(gray, _to_tile(v, spec.zoom, spec.rotation)) for v in vs)
            rows.append((path.stem, reps, p.report.action, float("nan") if fit is None else fit, err))
            print(f"{path.stem:26s} {reps:3.1f} {p.report.action:22s} fit {rows[-1][3]:.3f} period error "
                  f"{err:.2f}{'  CUT WRONG' if p.report.action == 'repeat' and err > WRONG else ''}", flush=True)
    return rows


def summary(rows) -> str:
    cut = [r for r in rows if r[2] == "repeat"]
    wrong = [r for r in cut if r[4] > WRONG]
    return (f"{len(rows)} photos: exact repeat cut in {len(cut)}, on a wrong lattice in {len(wrong)} "
            f"({', '.join(f'{r[0]} {r[1]}' for r in wrong) or 'none'}); synthesized {len(rows) - len(cut)}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--compare", help="git revision to run the same sweep on first")
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
    print(summary(sweep()))


if __name__ == "__main__":
    if "--root" in sys.argv:  # run the sweep on another checkout's code (used by --compare)
        ROOT = Path(sys.argv[sys.argv.index("--root") + 1])
        print(summary(sweep()))
    else:
        main()

"""Bounded work on a 50 MP input (issue 12): how long `render` and `segment` take on a 49.8 MP sketch, and what is
refused up front. The sample dress is upscaled to 6000×8300 px (sketch and skirt mask); each command runs in a fresh
process under /usr/bin/time -v (wall seconds, peak RSS). The same commands on the original 640×768 sample are the
reference measured in the same run (the machine is shared: compare ratios).

    .venv/bin/python bench/bench_bounds.py [--skip-segment] [--sizes 512,4096]
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

from garmentstyle import samples

W, H = 6000, 8300


def timed(cmd: list[str]) -> tuple[float, float, int, str]:
    """(wall s, peak RSS GiB, exit code, last stderr line) of ``cmd``."""
    gnu_time = shutil.which("time") or "/usr/bin/time"
    t0 = time.perf_counter()
    proc = subprocess.run([gnu_time, "-v", *cmd], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    rss = int(m.group(1)) / 2**20 if m else float("nan")
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("garmentstyle:")]
    return wall, rss, proc.returncode, lines[-1] if lines else ""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="512,4096")
    ap.add_argument("--skip-segment", action="store_true")
    args = ap.parse_args()
    gs = [sys.executable, "-m", "garmentstyle"]
    swatch = str(samples.swatch_path("denim"))
    with tempfile.TemporaryDirectory(prefix="gs-bounds-") as tmp:
        d = Path(tmp)
        small_sk, small_m = samples.sketch_path("dress"), samples.mask_paths("dress")["skirt"]
        Image.MAX_IMAGE_PIXELS = None
        Image.open(small_sk).convert("RGB").resize((W, H), Image.BILINEAR).save(d / "big.png", compress_level=1)
        Image.open(small_m).convert("L").resize((W, H), Image.NEAREST).save(d / "big_m.png", compress_level=1)
        rows = []
        for size in [int(s) for s in args.sizes.split(",")]:
            for label, sk, m in (("640×768 sample", small_sk, small_m), ("6000×8300 (49.8 MP)", d / "big.png",
                                                                        d / "big_m.png")):
                r = timed([*gs, "render", str(sk), "--region", f"{m}={swatch}", "--size", str(size), "--quiet",
                           "--out", str(d / "o.png")])
                rows.append((f"render --size {size}", label, *r))
        r = timed([*gs, "render", str(d / "big.png"), "--region", f"{d / 'big_m.png'}={swatch}", "--size", "0",
                   "--quiet", "--out", str(d / "o.png")])
        rows.append(("render --size 0 (refused)", "6000×8300 (49.8 MP)", *r))
        if not args.skip_segment:
            for label, sk in (("640×768 sample", small_sk), ("6000×8300 (49.8 MP)", d / "big.png")):
                r = timed([*gs, "segment", str(sk), "--out-dir", str(d / "seg")])
                rows.append(("segment", label, *r))
    print("| command | input | wall s | peak RSS GiB | exit | message |")
    print("|---|---|---|---|---|---|")
    for cmd, label, wall, rss, rc, msg in rows:
        print(f"| {cmd} | {label} | {wall:.1f} | {rss:.2f} | {rc} | {msg[:90]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

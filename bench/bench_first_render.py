"""A fresh process's first optimised render: what ``optimise.preload`` saves (issue 11).

    .venv/bin/python bench/bench_first_render.py [--size 256] [--runs 2] [--encoder vgg19|texture]

``torch.optim``'s methods are wrapped to switch TorchDynamo off; the first call imports ``torch._dynamo`` (~1.3 s
here) although nothing compiles. A render that will optimise starts that import on a thread before measuring its
style targets. Each run is a new process (as ``garmentstyle render`` is) rendering the dress with two regions from
noise (VGG19 with a random features-only checkpoint made by a child process, so torchvision — which imports
``torch._dynamo`` itself — never loads in the measured process); "preload" and "no preload" alternate. Printed per
run: the render's seconds and the seconds spent constructing the optimiser (the wait for the import).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_PROBE = r"""
import json, sys, time
import torch
torch.set_num_threads(1)
import garmentstyle as gs
from garmentstyle import samples, transfer
if sys.argv[1] == "off":
    transfer.preload_optimiser = lambda: None
spent = []
_init = torch.optim.LBFGS.__init__
def timed(self, *a, **k):
    t = time.perf_counter(); _init(self, *a, **k); spent.append(time.perf_counter() - t)
torch.optim.LBFGS.__init__ = timed
m = samples.mask_paths("dress")
regions = [gs.Region(m["bodice"], samples.swatch_path("tartan"), name="bodice"),
           gs.Region(m["skirt"], samples.swatch_path("floral"), name="skirt")]
t = time.perf_counter()
r = gs.render(samples.sketch_path("dress"), regions, gs.RenderOptions(
    size=int(sys.argv[2]), encoder=sys.argv[3], init="noise", iterations=3, levels=1, precision="fp32"))
print(json.dumps({"render_s": round(time.perf_counter() - t, 3), "optimiser_construction_s": round(sum(spent), 3),
                  "evaluations": r.report.evaluations}))
"""

_CHECKPOINT = """
import sys, torch
from torchvision.models.vgg import cfgs, make_layers
torch.manual_seed(0)
torch.save({f"features.{k}": v for k, v in make_layers(cfgs["E"]).state_dict().items()}, sys.argv[1])
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--encoder", choices=("vgg19", "texture"), default="vgg19")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="gs-first-"))
    if args.encoder == "vgg19":
        subprocess.run([sys.executable, "-c", _CHECKPOINT, str(tmp / "vgg19-features.pth")], check=True)
    env = dict(os.environ, GARMENTSTYLE_WEIGHTS=str(tmp), GARMENTSTYLE_CACHE="off")
    rows = []
    for i in range(args.runs):
        for mode in ("on", "off"):
            out = subprocess.run([sys.executable, "-c", _PROBE, mode, str(args.size), args.encoder], cwd=ROOT,
                                 env=env, capture_output=True, text=True, check=True)
            row = {"preload": mode, **json.loads(out.stdout.strip().splitlines()[-1])}
            rows.append(row)
            print(row, flush=True)
    print(json.dumps({"load_1min": os.getloadavg()[0], "size": args.size, "encoder": args.encoder, "runs": rows}))


if __name__ == "__main__":
    main()

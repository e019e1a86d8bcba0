"""Batch throughput: renders per minute with 1 worker, 2 workers and Ray local (2 workers), same run, same items.

    nice -n 10 .venv/bin/python bench/bench_batch.py --items 24 --size 1024               # the issue's setting
    nice -n 10 .venv/bin/python bench/bench_batch.py --items 24 --size 1024 --compare REV  # + 2 workers as of REV
    nice -n 10 .venv/bin/python bench/bench_batch.py --items 6 --size 512 --no-ray        # a quick look

Items: the dress sketch (2 regions) × bundled swatches × colourways, cycled to --items. Each configuration runs in a
fresh interpreter (imports, worker start and caches paid as a user's run pays them) and renders into its own folder
from scratch; the PNGs of the 1-thread configurations (1 worker, 2 workers, Ray) are compared byte for byte (thread
count changes float reductions, so 2-thread PNGs differ by design). Wall time includes worker start and, for Ray,
starting the local instance; per-item overhead = (wall − Σ item seconds / workers) / items; item CPU is the worker
process's CPU time for the item (all threads). Ratios are what to read: the machine's 2 cores are shared.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("GARMENTSTYLE_CACHE", "off")  # measure the work itself, not the style-target disk cache
sys.path.insert(0, str(ROOT))


def make_batch(folder: Path, items: int, size: int) -> Path:
    s = ROOT / "samples"
    for sub in ("sketches", "masks", "swatches"):
        shutil.copytree(s / sub, folder / sub)
    fabrics = ["gingham", "polka_dots", "tartan", "stripes", "houndstooth", "denim"]
    colourways = [None, "#1b2a49/#e4c59e"]
    recipes = []
    for i in range(items):
        fab, cw = fabrics[i % len(fabrics)], colourways[(i // len(fabrics)) % len(colourways)]
        regions = [{"mask": f"masks/dress__{p}.png", "swatch": f"swatches/{fab}.png", "name": p,
                    "rotation": 15.0 * (i // 12)} for p in ("bodice", "skirt")]
        if cw:
            for r in regions:
                r["colourway"] = cw
        recipes.append({"out": f"item{i:03d}.png", "sketch": "sketches/dress.png", "regions": regions,
                        "options": {"size": size}})
    path = folder / "batch.json"
    path.write_text(json.dumps(recipes))
    return path


def run(batch: Path, out: Path, **settings) -> dict:
    from garmentstyle.batch import RunSettings, load_batch, run_batch

    plan = load_batch(batch)
    t0, c0 = time.perf_counter(), time.process_time()
    rep = run_batch(plan, out, RunSettings(**settings))
    wall = time.perf_counter() - t0
    busy = sum(r.seconds or 0 for r in rep.items)
    cpu = [getattr(r, "cpu_seconds", None) for r in rep.items]
    w = settings.get("workers", 1)
    try:  # end the forkserver (if one ran) so its and its workers' CPU time is counted below
        from multiprocessing import forkserver

        forkserver._forkserver._stop()
    except Exception:
        pass
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    total_cpu = time.process_time() - c0 + kids.ru_utime + kids.ru_stime  # driver + workers (+ forkserver), all
    n = len(plan.items)
    return {"wall_s": round(wall, 1), "renders_per_min": round(60 * n / wall, 1),
            "mean_item_s": round(busy / n, 2),
            "mean_item_cpu_s": round(sum(cpu) / n, 2) if None not in cpu else None,
            "overhead_per_item_s": round((wall - busy / w) / n, 2),
            "total_cpu_s": round(total_cpu, 1), "cpu_per_render_s": round(total_cpu / n, 2),
            "workers_seen": len({r.worker for r in rep.items}), "failed": rep.count()["failed"]}


def run_fresh(batch: Path, out: Path, cfg: dict, code: Path = ROOT) -> dict:
    """One configuration in a fresh interpreter (imports and caches paid as a user's run pays them), with the
    library from ``code`` (the working tree, or an exported older revision for --compare)."""
    env = dict(os.environ, PYTHONPATH=str(code))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--one", json.dumps(cfg), "--batch", str(batch),
           "--out", str(out)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=code)
    if done.returncode:
        raise SystemExit(f"{cfg}: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def export_revision(rev: str, dest: Path) -> Path:
    """The library as of git ``rev`` in ``dest`` (git archive: the repository is not touched)."""
    dest.mkdir(parents=True)
    data = subprocess.run(["git", "archive", rev, "garmentstyle"], cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=data, check=True)
    return dest


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=24)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--no-ray", action="store_true")
    ap.add_argument("--compare", help="also run 2 workers with the library as of this git revision")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--batch", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:  # a child: one configuration, result as the last line of JSON
        sys.path.insert(0, os.environ.get("PYTHONPATH", str(ROOT)))
        print(json.dumps(run(Path(args.batch), Path(args.out), **json.loads(args.one))))
        return
    tmp = Path(tempfile.mkdtemp(prefix="bench_batch_"))
    batch = make_batch(tmp / "c", args.items, args.size)
    configs = {"1 worker, 2 threads": (dict(workers=1, threads=2), ROOT),
               "1 worker, 1 thread": (dict(workers=1, threads=1), ROOT),
               "2 workers, 1 thread each": (dict(workers=2, threads=1), ROOT)}
    if args.compare:
        old = export_revision(args.compare, tmp / "old")
        configs[f"2 workers, 1 thread each ({args.compare})"] = (dict(workers=2, threads=1), old)
    if not args.no_ray:
        configs["Ray local, 2 workers, 1 thread each"] = (dict(workers=2, threads=1, ray="local"), ROOT)
    results, outs = {}, {}
    for i, (name, (cfg, code)) in enumerate(configs.items()):
        outs[name] = tmp / f"out{i}"
        results[name] = run_fresh(batch, outs[name], cfg, code)
        print(name, results[name], flush=True)
    one_thread = [n for n in configs if "1 thread" in n and configs[n][1] == ROOT]
    ref = outs[one_thread[0]]
    same = all((ref / p.name).read_bytes() == (outs[n] / p.name).read_bytes()
               for p in ref.glob("*.png") for n in one_thread[1:])
    print(json.dumps({"items": args.items, "size": args.size, "load_average": os.getloadavg(), "results": results,
                      "1-thread PNGs identical (1 worker, 2 workers, Ray)": same}, indent=2))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

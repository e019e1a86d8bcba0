"""Transfer benchmarks (issue 2). Prints figures; paste them into bench/RESULTS.md with the command line.

  .venv/bin/python bench/bench_transfer.py [--size 512] [--ref-evals 100] [--skip-rss]

(1) plain Gatys reference in the same run (whole canvas, no crop, L-BFGS from noise, same encoder and the same
    guided style loss) vs garmentstyle's default render: time to reach the reference's final style loss in the mask;
(2) default render time at 256 and 512 px on the sample dress (texture encoder);
(3) cost vs mask area (same iterations, noise init, full vs half garment);
(4) peak RSS of a 1024 px render (in a subprocess).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import cv2
import torch

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("GARMENTSTYLE_CACHE", "off")  # measure the work itself, not the style-target disk cache
sys.path.insert(0, str(ROOT))

import garmentstyle as gs  # noqa: E402
from garmentstyle import encoders, guidance, io, losses, samples, swatch as sw_ops  # noqa: E402
from garmentstyle.api import output_size  # noqa: E402
from garmentstyle.plan import LABELS  # noqa: E402
from garmentstyle.metrics import texture_distance  # noqa: E402
from garmentstyle.transfer import style_targets  # noqa: E402

torch.set_num_threads(2)


def style_loss_fn(encoder, mask: torch.Tensor, swatch: torch.Tensor, zoom: float):
    """The guided style loss of one region on a whole image ``(1, 3, H, W)`` (the reference's objective): the
    render's own :class:`~garmentstyle.losses.GuidedStyleLoss` (same targets, guides, usable layers and
    normalisation), its style term only — imported, not re-implemented."""
    layers = encoder.style_layers
    targets = style_targets(encoder, swatch, zoom=zoom, rotation=0.0, layers=layers, luminance_only=False, cache=None)
    H, W = mask.shape
    with torch.no_grad():
        sizes = {n: tuple(v.shape[-2:]) for n, v in encoder(torch.zeros(1, 3, H, W), layers).items()}
    guides = guidance.propagate(mask[None], encoder.geometry, sizes)
    use = losses.usable_layers(guides, layers, min_cells=16)
    terms = losses.style_terms([targets], use, gram_norm=encoder.gram_norm, layer_weights=encoder.layer_weights)
    criterion = losses.GuidedStyleLoss(encoder, guides, terms, ["region"], range_weight=0.0)
    return lambda x: criterion(x)["style"]


def reference_gatys(loss, shape, evals: int, seed: int = 0):
    """Whole canvas, noise init, L-BFGS (strong Wolfe, history 50): returns [(seconds, loss)] and the image."""
    x = torch.rand(shape, generator=torch.Generator().manual_seed(seed)).requires_grad_(True)
    opt = torch.optim.LBFGS([x], lr=1, max_iter=evals, max_eval=evals, history_size=50,
                            line_search_fn="strong_wolfe", tolerance_grad=0, tolerance_change=0)
    trace = []
    t0 = time.perf_counter()

    def closure():
        opt.zero_grad()
        v = loss(x) + 10 * (torch.relu(x - 1) + torch.relu(-x)).square().mean()
        v.backward()
        trace.append((time.perf_counter() - t0, float(v)))
        return v

    opt.step(closure)
    return trace, x.detach().clamp(0, 1)


def reference_composite(sketch_p, parts: list[tuple[str, str]], size: int) -> torch.Tensor:
    """The plain baseline a designer could script: read the files, tile each swatch at its repeat (torch ``repeat``),
    multiply by the sketch's shading (luminance / paper white), composite inside the binary masks."""
    sk = io.load_image(sketch_p)
    nh, nw = sk.shape[-2:]
    oh, ow = output_size((nh, nw), size)
    sk = torch.nn.functional.interpolate(sk, size=(oh, ow), mode="bilinear", antialias=True)
    lum = (0.299 * sk[:, :1] + 0.587 * sk[:, 1:2] + 0.114 * sk[:, 2:3])
    shade = (lum / torch.quantile(lum.flatten()[::16], 0.98)).clamp(0, 1)
    out = sk.clone()
    for mask_p, swatch_p in parts:
        m = torch.nn.functional.interpolate(io.load_mask(mask_p)[None, None], size=(oh, ow), mode="bilinear",
                                            antialias=True)[0, 0] >= 0.5
        sw = io.load_image(swatch_p)
        rh, rw = max(1, round(sw.shape[-2] * ow / nw)), max(1, round(sw.shape[-1] * ow / nw))
        rep = torch.nn.functional.interpolate(sw, size=(rh, rw), mode="bilinear", antialias=True)
        tiled = rep.repeat(1, 1, -(-oh // rh), -(-ow // rw))[..., :oh, :ow]
        out = torch.where(m, tiled * shade, out)
    return out


def speed_vs_reference(sizes=(1024, 2048), repeats: int = 5, sketch: str = "dress",
                       keep_paper: bool = False) -> dict:
    """Default offline render (2 regions) vs :func:`reference_composite`, in one process, the two interleaved
    (reference, render, reference, …) so a shared machine's load hits both alike; best of ``repeats`` each, and
    the median of the per-pair ratios. ``keep_paper``: skip sketch preparation (clean line art takes the finishing's
    own ink map; the bundled dress is cleaned by sketch preparation first). ``ratio_best_new_masks``: the same with
    the nearest-region labels cache emptied before each render (regions the process has not rendered before)."""
    m = samples.mask_paths(sketch)
    names = [n for n in m if n != "garment"][:2]
    swatches = ("tartan", "floral")
    parts = [(m[n], samples.swatch_path(s)) for n, s in zip(names, swatches)]
    regions = [gs.Region(mp, sp, name=n) for (mp, sp), n in zip(parts, names)]
    sketch_p = samples.sketch_path(sketch)
    gs.render(sketch_p, regions, gs.RenderOptions(size=256, keep_paper=keep_paper))  # warm: imports, encoder
    out = {}
    for size in sizes:
        opts = gs.RenderOptions(size=size, keep_paper=keep_paper)
        pairs = [(_seconds(lambda: reference_composite(sketch_p, parts, size), cpu=True),
                  _seconds(lambda: gs.render(sketch_p, regions, opts), cpu=True)) for _ in range(repeats)]

        def new_masks():  # the render of regions not seen before: the nearest-region labels measured afresh
            LABELS.clear()
            gs.render(sketch_p, regions, opts)

        fresh = [(_seconds(lambda: reference_composite(sketch_p, parts, size)), _seconds(new_masks))
                 for _ in range(repeats)]
        ref, ours = min(p[0][0] for p in pairs), min(p[1][0] for p in pairs)
        ref_cpu, ours_cpu = min(p[0][1] for p in pairs), min(p[1][1] for p in pairs)
        ratios = sorted(o[0] / r[0] for r, o in pairs)
        out[size] = {"sketch": sketch, "keep_paper": keep_paper, "reference_s": round(ref, 3),
                     "garmentstyle_s": round(ours, 3), "ratio_best": round(ours / ref, 2),
                     "ratio_median_pair": round(ratios[len(ratios) // 2], 2),
                     "ratio_best_new_masks": round(min(o for _, o in fresh) / min(r for r, _ in fresh), 2),
                     # CPU seconds of this process (all its threads): the work done, much less bent by other jobs
                     "reference_cpu_s": round(ref_cpu, 3), "garmentstyle_cpu_s": round(ours_cpu, 3),
                     "ratio_cpu": round(ours_cpu / ref_cpu, 2)}
        print("speed", size, out[size], flush=True)
    return out


def _seconds(fn, cpu: bool = False):
    """Wall seconds of ``fn()``; with ``cpu``, ``(wall, CPU seconds of this process)``."""
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    wall = time.perf_counter() - t0
    return (wall, time.process_time() - c0) if cpu else wall


def timed_render(sketch, regions, options):
    t0 = time.perf_counter()
    res = gs.render(sketch, regions, options)
    return time.perf_counter() - t0, res


def _args() -> argparse.Namespace:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--ref-evals", type=int, default=100)
    ap.add_argument("--swatch", default="polka_dots")
    ap.add_argument("--skip-rss", action="store_true")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--threads", type=int, default=2, help="torch threads (the shared machine: 1 avoids "
                    "OpenMP waits on descheduled threads, which swamp small ops when other jobs run)")
    ap.add_argument("--speed-only", action="store_true",
                    help="only the default render at 1024/2048 px vs the plain tile × shading × composite reference")
    return ap.parse_args()


def main() -> None:
    args = _args()
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)  # OpenCV (resampling, distance transforms) on as many threads as torch
    if args.speed_only:
        res = {"dress": speed_vs_reference(),
               "tshirt_line_art": speed_vs_reference(sketch="tshirt", keep_paper=True)}
        print(json.dumps(res, indent=1))
        return
    out: dict = {"torch": torch.__version__, "threads": torch.get_num_threads()}
    sketch_p = samples.sketch_path("dress")
    mask_p = samples.mask_paths("dress")["garment"]
    swatch_p = samples.swatch_path(args.swatch)
    enc = encoders.get("texture")

    # ---- (1) reference vs garmentstyle at --size
    sk_native = io.load_image(sketch_p)
    nh, nw = sk_native.shape[-2:]
    oh, ow = output_size((nh, nw), args.size)
    mask = torch.nn.functional.interpolate(io.load_mask(mask_p)[None, None], size=(oh, ow), mode="bilinear",
                                           antialias=True)[0, 0]
    mask = (mask >= 0.5).float()
    swatch = io.load_image(swatch_p)
    zoom = ow / nw  # scale 1: one swatch px per sketch px
    loss = style_loss_fn(enc, mask, swatch, zoom)
    trace, ref_img = reference_gatys(loss, (1, 3, oh, ow), args.ref_evals)
    ref_final = min(v for _, v in trace)
    ref_time = trace[-1][0]
    canvas = sw_ops.tile(swatch, (256, 256), zoom=zoom)
    t_ours, res = timed_render(sketch_p, [gs.Region(mask_p, swatch_p)], gs.RenderOptions(size=args.size))
    with torch.no_grad():
        ours_loss = float(loss(res.fabric))
    # time at which the reference first got as low as garmentstyle's final loss (for context)
    ref_reach_ours = next((t for t, v in trace if v <= ours_loss), None)
    out["reference"] = {"size": [ow, oh], "evaluations": len(trace), "seconds": round(ref_time, 1),
                        "final_style_loss": ref_final,
                        "patch_distance": round(texture_distance(ref_img, mask, canvas), 3)}
    out["garmentstyle"] = {"seconds": round(t_ours, 2), "style_loss": ours_loss,
                           "reached_reference_loss": ours_loss <= ref_final,
                           "speedup_to_reference_loss": round(ref_time / t_ours, 1) if ours_loss <= ref_final else None,
                           "reference_seconds_to_reach_ours": ref_reach_ours,
                           "patch_distance": round(texture_distance(res.fabric, mask, canvas), 3),
                           "iterations": res.report.iterations, "kept": res.report.levels[-1].kept}
    # same start for both (noise): how long garmentstyle's guided, cropped, coarse-to-fine run takes to get there
    t_noise, res_n = timed_render(sketch_p, [gs.Region(mask_p, swatch_p)],
                                  gs.RenderOptions(size=args.size, init="noise", iterations=75))
    with torch.no_grad():
        noise_loss = float(loss(res_n.fabric))
    out["garmentstyle_noise_init"] = {"seconds": round(t_noise, 1), "style_loss": noise_loss,
                                      "levels": [list(lv.size) for lv in res_n.report.levels],
                                      "patch_distance": round(texture_distance(res_n.fabric, mask, canvas), 3)}
    print(json.dumps(out, indent=1), flush=True)

    # ---- (2) default render times at 256 and 512 px (two regions)
    m = samples.mask_paths("dress")
    regions = [gs.Region(m["bodice"], samples.swatch_path("tartan"), name="bodice"),
               gs.Region(m["skirt"], samples.swatch_path("floral"), name="skirt")]
    for size in (256, 512):
        t, r = timed_render(sketch_p, regions, gs.RenderOptions(size=size))
        out[f"default_{size}"] = {"seconds": round(t, 2), "iterations": r.report.iterations,
                                  "kept": r.report.levels[-1].kept}
        print(size, out[f"default_{size}"], flush=True)

    # ---- (3) cost vs mask area: same iterations from noise, the whole garment vs its lower half
    full = io.load_mask(mask_p)
    ys = torch.nonzero(full >= 0.5)[:, 0]
    cut = int(ys.float().median())
    half = full.clone()
    half[:cut] = 0
    opts = gs.RenderOptions(size=args.size, init="noise", iterations=15, levels=1)
    t_full, r_full = timed_render(sketch_p, [gs.Region(full, swatch_p)], opts)
    t_half, r_half = timed_render(sketch_p, [gs.Region(half, swatch_p)], opts)
    out["area"] = {"full_px": r_full.report.regions[0].area_px, "half_px": r_half.report.regions[0].area_px,
                   "full_s": round(t_full, 2), "half_s": round(t_half, 2),
                   "area_ratio": round(r_half.report.regions[0].area_px / r_full.report.regions[0].area_px, 3),
                   "time_ratio": round(t_half / t_full, 3),
                   "evals": [r_full.report.evaluations, r_half.report.evaluations]}
    print("area", out["area"], flush=True)

    # ---- (4) peak RSS at 1024 px (fresh process)
    if not args.skip_rss:
        code = ("import resource, torch, garmentstyle as gs; from garmentstyle import samples; torch.set_num_threads(2);"
                "m=samples.mask_paths('dress');"
                "r=gs.render(samples.sketch_path('dress'),[gs.Region(m['bodice'],samples.swatch_path('tartan')),"
                "gs.Region(m['skirt'],samples.swatch_path('floral'))],gs.RenderOptions(size=1024,init='noise',iterations=3));"
                "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, r.report.seconds)")
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
        kb, secs = proc.stdout.split()[-2:]
        out["rss_1024"] = {"peak_rss_gib": round(int(kb) / 1024 ** 2, 2), "render_s": float(secs),
                           "wall_s": round(time.perf_counter() - t0, 1)}
        print("rss", out["rss_1024"], flush=True)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

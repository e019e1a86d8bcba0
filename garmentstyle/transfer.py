"""The guided optimisation: every region's fabric in one image, coarse to fine, on the masks' bounding box only.

Gatys et al. (2017) spatial control: one guidance channel per region, eroded per layer to the neurons whose receptive
field lies inside it (:mod:`garmentstyle.guidance`); one guided Gram matrix per region and layer, matched to that
region's own swatch (:mod:`garmentstyle.losses`); all regions optimised together in one image. Everything here works
on tensors; :mod:`garmentstyle.api` turns files into tensors and tensors into a :class:`RenderResult`.
"""
from __future__ import annotations

import hashlib
import math
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Callable, Optional

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from . import colour as colour_ops
from . import guidance, losses, swatch as swatch_ops
from .canvas import region_canvas, stretch_sampler
from .colour import COLOUR_MODES
from .encoders import ENCODERS, Encoder
from .errors import Cancelled, OptionsError
from .metrics import texture_distance
from .options import INITS, MAX_SIZE, OPTIMIZERS, POOLINGS, RenderOptions  # noqa: F401 - re-exported

#: Longest side of the coarsest pyramid level (smaller levels lose deep-layer guides on garment-sized masks).
MIN_LEVEL_SIDE = 192
#: Largest crop optimised at full resolution, in pixels; larger outputs are optimised at this size and upsampled.
MAX_WORK_PIXELS = 1_000_000
#: A level stops early when a chunk of L-BFGS iterations lowers the loss by less than this fraction.
CONVERGED = 1e-3
#: … or when the (target-normalised) loss is below this: the texture statistics already match.
CONVERGED_ABS = 1e-5
#: … or when the style loss is within this factor of the noise floor (another sample of the swatch's loss).
FLOOR_FACTOR = 1.5


@dataclass
class Progress:
    """One progress event. ``preview`` (when set) is the whole image so far, ``(1, 3, H, W)`` in [0, 1]."""

    stage: str  # "prepare" | "targets" | "optimise" | "finish"
    level: int = 0
    levels: int = 1
    step: int = 0
    total: int = 0
    losses: dict = field(default_factory=dict)
    elapsed: float = 0.0
    preview: Optional[torch.Tensor] = None

    @property
    def fraction(self) -> float:
        """Overall progress in [0, 1] (levels weighted equally)."""
        if self.stage == "finish":
            return 1.0
        per = 1.0 / max(1, self.levels)
        inner = self.step / self.total if self.total else 0.0
        return min(1.0, self.level * per + inner * per)


ProgressFn = Callable[[Progress], None]


@dataclass(frozen=True)
class RegionSpec:
    """A region as the optimiser sees it (tensors already at output resolution).

    Attributes:
        name: shown in reports.
        swatch: ``(1, 3, h, w)`` float in [0, 1] (already colour-matched for "histogram" mode).
        zoom: output pixels per swatch pixel.
        rotation: degrees.
        style_weight: multiplies this region's style loss.
        mapping: optional texture parameterisation (grain, drape): an object with
            ``sample(region, frame) -> (1, 3, H, W)``; None = the swatch tiled straight at ``rotation``. Every
            canvas of the render goes through it (see :mod:`garmentstyle.canvas`).
    """

    name: str
    swatch: torch.Tensor
    zoom: float
    rotation: float = 0.0
    style_weight: float = 1.0
    mapping: Optional[Any] = None


# --------------------------------------------------------------------------------------------------- style targets
class TargetCache:
    """Style Gram matrices per (swatch, zoom, rotation, encoder, colour, layers): computed once, reused by the
    preview and the final render, by every pyramid level that shares a scale, and by every region sharing a swatch."""

    def __init__(self, maxsize: int = 64) -> None:
        self.maxsize = maxsize
        self._store: OrderedDict[tuple, dict[str, torch.Tensor]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key_of(tensor: torch.Tensor) -> str:
        t = tensor.detach().cpu().contiguous()
        return hashlib.sha1(t.numpy().tobytes()).hexdigest()[:16] + str(tuple(t.shape))

    def get(self, key: tuple, make: Callable[[], dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
        if key in self._store:
            self.hits += 1
            self._store.move_to_end(key)
            return self._store[key]
        self.misses += 1
        value = make()
        self._store[key] = value
        if len(self._store) > self.maxsize:
            self._store.popitem(last=False)
        return value


TARGETS = TargetCache()


def _canvas_side(encoder: Encoder, layers: tuple[str, ...], repeat_px: float) -> int:
    """Side of the tiled-swatch canvas the targets are measured on: big enough for the deepest layer to keep cells
    after erosion and to hold a couple of repeats, small enough to stay cheap."""
    deepest = max(encoder.geometry[n].field for n in layers)
    side = max(256, 2 * deepest, int(2.5 * repeat_px))
    return int(min(side, 640))


@torch.no_grad()
def style_targets(encoder: Encoder, swatch: torch.Tensor, *, zoom: float, rotation: float, layers: tuple[str, ...],
                  luminance_only: bool, cache: TargetCache | None = TARGETS) -> dict[str, torch.Tensor]:
    """``{layer: (C, C)}`` Gram matrices of ``swatch`` tiled at ``zoom`` / ``rotation``.

    Measured on a wrap-around tiled canvas, over the cells whose receptive field lies inside it, so the swatch's own
    borders (and the encoder's padding) never enter the statistics. (Measuring inside the single swatch instead,
    to leave out the seams of a swatch that does not tile, gave noisier targets: a 171 px swatch is a small sample
    for the deep layers, and every noise-start render got worse; see bench/RESULTS.md.)
    """

    def make() -> dict[str, torch.Tensor]:
        repeat = max(swatch.shape[-2:]) * zoom
        side = _canvas_side(encoder, layers, repeat)
        canvas = swatch_ops.tile(swatch, (side, side), zoom=zoom, rotation=rotation)
        if luminance_only:
            canvas = colour_ops.luminance(canvas).expand(-1, 3, -1, -1)
        feats = encoder(canvas, layers)
        ones = torch.ones(1, side, side, device=canvas.device)
        guides = guidance.propagate(ones, encoder.geometry, {n: tuple(f.shape[-2:]) for n, f in feats.items()})
        out = {}
        for n in layers:
            g, valid = losses.guided_gram(feats[n], guides[n])
            if not bool(valid[0]):  # deepest layer larger than the canvas: use every cell rather than none
                g = losses.gram(feats[n])
            out[n] = g[0].detach()
        return out

    if cache is None:
        return make()
    key = (cache.key_of(swatch), round(zoom, 4), round(rotation, 3), encoder.name, getattr(encoder, "pooling", ""),
           luminance_only, layers, str(swatch.device))
    return cache.get(key, make)


# --------------------------------------------------------------------------------------------------- planning
def crop_box(union: torch.Tensor, margin: int) -> tuple[int, int, int, int]:
    """``(y0, y1, x0, x1)`` of the union mask ``(H, W)`` grown by ``margin`` and clipped to the image."""
    ys, xs = torch.nonzero(union > 0, as_tuple=True)
    H, W = union.shape
    y0, y1 = int(ys.min()) - margin, int(ys.max()) + 1 + margin
    x0, x1 = int(xs.min()) - margin, int(xs.max()) + 1 + margin
    return max(0, y0), min(H, y1), max(0, x0), min(W, x1)


def level_factors(longest: int, levels: int = 0) -> list[float]:
    """Scale factors of the pyramid levels, coarse to fine, in steps of √2 down to ~``MIN_LEVEL_SIDE``."""
    if levels <= 0:
        levels = 1
        while longest / (math.sqrt(2) ** levels) >= MIN_LEVEL_SIDE and levels < 5:
            levels += 1
    return [1.0 / (math.sqrt(2) ** k) for k in range(levels - 1, -1, -1)]


def _resize(x: torch.Tensor, size: tuple[int, int], mode: str = "bilinear") -> torch.Tensor:
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    if mode == "nearest":
        return F.interpolate(x, size=size, mode="nearest")
    return F.interpolate(x, size=size, mode=mode, antialias=True, align_corners=False)


def _fine_band_std(image: torch.Tensor) -> float:
    """Std of the finest octave of ``image`` ``(1, 3, H, W)`` (what a 2× down-and-up resampling removes)."""
    h, w = image.shape[-2:]
    low = _resize(_resize(image, (max(1, h // 2), max(1, w // 2))), (h, w), "bilinear")
    return float((image - low).std()) * 1.7  # uniform noise in ±a has std a/√3; the band keeps ~⅓ of its power


def _nearest_region_labels(hard: torch.Tensor) -> torch.Tensor:
    """``(R, H, W)`` bool → ``(H, W)`` long: index of the region at (or nearest to) each pixel (top-most wins)."""
    R = hard.shape[0]
    label = torch.full(hard.shape[-2:], -1, dtype=torch.long)
    for r in range(R):
        label[hard[r].cpu()] = r
    lab = label.numpy()
    if (lab < 0).any():
        _, (iy, ix) = ndimage.distance_transform_edt(lab < 0, return_indices=True)
        lab = lab[iy, ix]
    return torch.from_numpy(lab)


# --------------------------------------------------------------------------------------------------- the loop
@dataclass
class TransferOutput:
    fabric: torch.Tensor  # (1, 3, H, W) at output resolution (only the crop box is meaningful)
    report: dict


def run(sketch: torch.Tensor, masks: torch.Tensor, regions: list[RegionSpec], options: RenderOptions,
        encoder: Encoder, *, on_progress: ProgressFn | None = None, cache: TargetCache | None = TARGETS
        ) -> TransferOutput:
    """Optimise the fabric canvas.

    Args:
        sketch: ``(1, 3, H, W)`` float in [0, 1] at output resolution.
        masks: ``(R, H, W)`` float in [0, 1], one per region, at output resolution (validated by the caller).
        regions: one :class:`RegionSpec` per mask.
        options: render options.
        encoder: a ready encoder on the target device.

    Returns:
        :class:`TransferOutput`: the fabric ``(1, 3, H, W)`` and a report dict (levels, evaluations, losses,
        skipped layers per region, timing).
    """
    t_start = time.perf_counter()
    device = sketch.device
    R, H, W = masks.shape
    lum_only = options.colour == "luminance"
    layers = encoder.style_layers
    if options.style_layers:
        wanted = tuple(n.strip() for n in options.style_layers.split(",") if n.strip())
        unknown = [n for n in wanted if n not in encoder.geometry]
        if unknown:
            raise OptionsError(f"style layer(s) {', '.join(unknown)} not in the {encoder.name} encoder; "
                               f"choose from {', '.join(encoder.style_layers)}")
        layers = wanted
    use_content = options.content_weight > 0 and encoder.content_layer is not None
    taps = layers + ((encoder.content_layer,) if use_content and encoder.content_layer not in layers else ())

    # exclusive hard masks (later regions on top)
    hard = masks >= 0.5
    for r in range(R):
        for s in range(r + 1, R):
            hard[r] &= ~hard[s]
    union = hard.any(dim=0)
    # Only cells whose receptive field lies inside a mask count, so pixels beyond the masks' box never reach the
    # loss: a few pixels of margin (for the pyramid's resampling filters) is all the crop needs.
    margin = 4
    y0, y1, x0, x1 = crop_box(union, margin)
    ch, cw = y1 - y0, x1 - x0
    # Print-size outputs: optimise at most MAX_WORK_PIXELS (memory grows with the pixels: ~3 GiB at 1 MP on the
    # texture encoder) and bring the result to the output size with the swatch's own fine detail at the end.
    work = min(1.0, math.sqrt(MAX_WORK_PIXELS / float(ch * cw)))
    if options.levels == 0 and (options.init == "tiled" or not encoder.coarse_to_fine):
        # The tiled swatch is already a full-resolution sample of the fabric: no coarse level to grow it from
        # (upsampling a coarse result only blurred what the tiling had right). The texture encoder, from noise,
        # also did better in one level with the same time (bench/RESULTS.md).
        factors = [1.0]
    else:
        factors = level_factors(round(max(ch, cw) * work), options.levels)
    factors = [f * work for f in factors]
    labels_full = _nearest_region_labels(hard[:, y0:y1, x0:x1]).to(device)
    origin_full = (W / 2.0 - x0, H / 2.0 - y0)  # the pattern's anchor (image centre) in crop coordinates
    gen = torch.Generator(device="cpu").manual_seed(options.seed)
    sketch_crop = sketch[..., y0:y1, x0:x1]

    report: dict = {
        "crop_box": [x0, y0, x1, y1],
        "levels": [],
        "layers": list(layers),
        "evaluations": 0,
        "iterations": 0,
        "skipped_layers": {rg.name: [] for rg in regions},
        "final_losses": {},
        "cancelled": False,
        "target_cache": {},
    }

    def emit(p: Progress) -> None:
        if on_progress is not None:
            p.elapsed = time.perf_counter() - t_start
            on_progress(p)

    x_prev: torch.Tensor | None = None
    kept_tiled: set[int] = set()  # regions whose final fabric is the tiled swatch itself
    cancelled = False
    n_levels = len(factors)
    for li, f in enumerate(factors):
        lh, lw = max(8, round(ch * f)), max(8, round(cw * f))
        try:
            emit(Progress("targets", level=li, levels=n_levels))
        except Cancelled:  # stop before optimising this level; the image so far is still returned
            cancelled = True
        lab = _resize(labels_full[None, None].float(), (lh, lw), "nearest")[0, 0].long()
        mask_l = _resize(hard[:, y0:y1, x0:x1][None].float(), (lh, lw))[0]  # (R, lh, lw) soft
        inside = (mask_l >= 0.5).any(dim=0).float()[None, None]
        origin = (origin_full[0] * f, origin_full[1] * f)
        sk_l = _resize(sketch_crop, (lh, lw))

        # fabric canvas at this level: each pixel takes its (nearest) region's tiled swatch
        tiled = region_canvas(regions, lab, factor=f, origin=origin, offset=(x0, y0))
        if li == 0:
            if options.init == "tiled":
                init = tiled
            elif options.init == "content":
                init = sk_l.clone()
            elif options.init == "style":
                init = region_canvas(regions, lab, factor=f, sampler=stretch_sampler, per_region_box=False)
            else:
                init = torch.rand(1, 3, lh, lw, generator=gen).to(device)
            fixed = init
        else:
            assert x_prev is not None
            fixed = tiled if options.init == "tiled" else _resize(x_prev, (lh, lw), "bilinear")
            init = _resize(x_prev, (lh, lw), "bilinear")
            # Upsampling blurs, and a blurred start is a poor place for Gram matching (it lacks the fine band the
            # swatch has). Put the missing band back (a Laplacian-pyramid step): from the tiled swatch for a tiled
            # start, else from noise scaled to the swatch's own fine-band contrast.
            ph, pw = x_prev.shape[-2:]
            if options.init == "tiled":
                source = tiled
            else:
                source = 0.5 + (torch.rand(1, 3, lh, lw, generator=gen).to(device) - 0.5) * 2 * _fine_band_std(tiled)
            detail = source - _resize(_resize(source, (ph, pw)), (lh, lw), "bilinear")
            init = (init + detail).clamp(0, 1)
        if lum_only:
            init, fixed = colour_ops.luminance(init), colour_ops.luminance(fixed)

        # guides and targets
        sizes = {n: encoder.feature_size((lh, lw), n) for n in taps}  # no forward pass needed
        guides = guidance.propagate(mask_l, encoder.geometry, sizes, extra_erosion=options.guide_erosion)
        min_cells = 16.0
        plan: list[tuple[int, str, torch.Tensor, float]] = []  # (region, layer, target, normaliser)
        for r, rg in enumerate(regions):
            tg = style_targets(encoder, rg.swatch, zoom=rg.zoom * f, rotation=rg.rotation, layers=layers,
                               luminance_only=lum_only, cache=cache)
            for n in layers:
                mass = float(guides[n][r].square().sum())
                if mass < min_cells:
                    if li == n_levels - 1:
                        report["skipped_layers"][rg.name].append(n)
                    continue
                A = tg[n]
                if encoder.gram_norm == "channels":
                    norm = float(A.shape[0] ** 2)
                else:
                    norm = float(A.square().sum()) + 1e-8
                plan.append((r, n, A, norm * encoder.layer_weights.get(n, 1.0) ** -1))
        if not plan:
            report["levels"].append({"factor": f, "size": [lw, lh], "iterations": 0, "evaluations": 0,
                                     "note": "every guide empty at this size"})
            x_prev = init.expand(-1, 3, -1, -1) if lum_only else init
            continue
        if encoder.gram_norm == "channels":
            # one global constant so the loss starts O(1) without changing the 1/C² layer weights
            scale = len(plan) / sum(float(A.square().sum()) / norm for _, _, A, norm in plan)
            plan = [(r, n, A, norm / scale) for r, n, A, norm in plan]
        per_region_layers = {r: sum(1 for rr, *_ in plan if rr == r) for r in range(R)}
        content_target = None
        content_guide = None
        if use_content:
            with torch.no_grad():
                content_target = encoder(sk_l, (encoder.content_layer,))[encoder.content_layer]
            content_guide = (guides[encoder.content_layer].amax(dim=0))
        tv_map = inside[0, 0]


        x_param = init.clone().to(device).requires_grad_(True)
        fixed = fixed.to(device)
        evals = 0
        last: dict[str, float] = {}

        def objective(xp: torch.Tensor) -> torch.Tensor:
            x = xp * inside + fixed * (1 - inside)
            xin = x.expand(-1, 3, -1, -1) if lum_only else x
            feats = encoder(xin, taps)
            style_r = [xin.new_zeros(()) for _ in range(R)]
            gram_cache: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
            for r, n, A, norm in plan:
                if n not in gram_cache:
                    gram_cache[n] = losses.guided_gram(feats[n], guides[n])
                G = gram_cache[n][0][r]
                style_r[r] = style_r[r] + losses.gram_loss(G, A, norm=norm)
            total = xin.new_zeros(())
            for r, rg in enumerate(regions):
                if per_region_layers[r]:
                    v = style_r[r] / per_region_layers[r]
                    last[f"style/{rg.name}"] = float(v.detach())
                    total = total + rg.style_weight * v
            last["style"] = float(total.detach())
            if content_target is not None:
                c = losses.content_loss(feats[encoder.content_layer], content_target, content_guide)
                last["content"] = float(c.detach())
                total = total + options.content_weight * c
            if options.tv_weight > 0:
                tv = losses.tv_loss(xin, tv_map)
                last["tv"] = float(tv.detach())
                total = total + options.tv_weight * tv
            # keep pixels in [0, 1] without clamping (a clamp inside L-BFGS stalls it): a penalty outside the range
            out_of_range = (F.relu(xin - 1) + F.relu(-xin)).square().mean()
            total = total + 10.0 * out_of_range
            last["total"] = float(total.detach())
            return total

        def closure() -> torch.Tensor:
            nonlocal evals
            evals += 1
            opt.zero_grad(set_to_none=True)
            loss = objective(x_param)
            loss.backward()
            return loss

        # Noise floor: how far another sample of the same fabric (the tiling shifted by half a repeat) is from the
        # targets in this region shape. Below ~1.5× that, the statistics match as well as they can: stop.
        with torch.no_grad():
            shifted = region_canvas(regions, lab, factor=f, origin=origin, shift=(0.5, 0.5), offset=(x0, y0))
            objective(colour_ops.luminance(shifted) if lum_only else shifted)
            floors = {rg.name: last.get(f"style/{rg.name}", 0.0) for rg in regions}
            floor = last.get("style", 0.0)
            last.clear()
        def at_floor() -> bool:
            return only_style and all(last.get(f"style/{rg.name}", math.inf) <= FLOOR_FACTOR * floors[rg.name]
                                      for r, rg in enumerate(regions) if per_region_layers[r])
        only_style = not use_content and options.tv_weight == 0

        if options.optimizer == "lbfgs":
            opt = torch.optim.LBFGS([x_param], lr=1.0, max_iter=1, history_size=50, line_search_fn="strong_wolfe",
                                    tolerance_grad=1e-12, tolerance_change=1e-14)
        else:
            opt = torch.optim.Adam([x_param], lr=options.lr)
        avg = x_param.detach().clone() if options.optimizer == "adam" else None
        good = x_param.detach().clone()
        steps = options.iterations
        first_losses: dict[str, float] = {}
        done = 0
        converged_at = None
        kept: dict[str, str] = {}
        try:
            chunk = max(1, options.preview_every or 5)
            prev_total = math.inf
            with torch.no_grad():
                objective(x_param)
            first_losses = dict(last)
            if at_floor():
                converged_at = 0  # the start already matches the fabric as well as another sample of it would
                kept = {rg.name: f"{options.init} start (already at the noise floor)" for rg in regions}
            elif options.init == "tiled" and only_style and not encoder.repairs_tiling:
                converged_at = 0  # measured: this encoder only degrades a tiled start (bench/RESULTS.md)
                kept = {rg.name: f"tiled baseline (the {encoder.name} encoder does not optimise a tiled start)"
                        for rg in regions}
            while done < steps and converged_at is None and not cancelled:
                k = min(chunk, steps - done)
                if options.optimizer == "lbfgs":
                    # L-BFGS runs k iterations per call: one iteration per call restarts its line search badly
                    opt.param_groups[0]["max_iter"] = k
                    opt.param_groups[0]["max_eval"] = 3 * k
                    before = opt.state[x_param].get("n_iter", 0) if x_param in opt.state else 0
                    loss = opt.step(closure)
                    ran = opt.state[x_param]["n_iter"] - before
                else:
                    for _ in range(k):
                        loss = closure()
                        opt.step()
                        with torch.no_grad():
                            x_param.clamp_(0, 1)
                            beta = min(0.9, done / (done + 10.0))  # iterate averaging smooths Adam's last steps
                            avg.mul_(beta).add_(x_param, alpha=1 - beta)  # type: ignore[union-attr]
                    ran = k
                if not first_losses:
                    first_losses = dict(last)
                if not math.isfinite(last.get("total", math.nan)):
                    with torch.no_grad():
                        x_param.copy_(good)
                    report.setdefault("notes", []).append(f"level {li}: the optimiser diverged; kept the last good image")
                    break
                with torch.no_grad():
                    good.copy_(x_param)
                done += max(ran, 1)
                preview = None
                if options.preview_every:
                    preview = _preview(sketch, x_param.detach() if avg is None else avg, lum_only, (y0, y1, x0, x1),
                                       inside, fixed)
                emit(Progress("optimise", level=li, levels=n_levels, step=min(done, steps), total=steps,
                              losses=dict(last), preview=preview))
                total_now = last.get("total", math.inf)
                if ran == 0 or at_floor() or (options.optimizer == "lbfgs" and (
                        prev_total - total_now < CONVERGED * abs(prev_total) or total_now < CONVERGED_ABS)):
                    converged_at = done
                    break
                prev_total = total_now
        except Cancelled:
            cancelled = True
        with torch.no_grad():
            final = (avg if avg is not None else x_param.detach()).clamp(0, 1)
            if options.init == "tiled" and done and li == n_levels - 1:
                # Never worse than the strong baseline: per region, keep whichever of the optimised fabric and the
                # tiled swatch is closer to the swatch by an independent measure (7×7 patch distributions).
                base = colour_ops.luminance(tiled) if lum_only else tiled
                for r, rg in enumerate(regions):
                    m = (lab == r) & (mask_l[r] >= 0.5)
                    canvas = swatch_ops.tile(rg.swatch, (192, 192), zoom=rg.zoom * f, rotation=rg.rotation)
                    if lum_only:
                        canvas = colour_ops.luminance(canvas)
                    d_opt = texture_distance(final.expand(-1, canvas.shape[1], -1, -1), m.float(), canvas)
                    d_base = texture_distance(base, m.float(), canvas)
                    if d_base <= d_opt:
                        final = torch.where(m, base, final)
                        kept[rg.name] = f"tiled baseline (patch distance {d_base:.2f} vs {d_opt:.2f} optimised)"
                    else:
                        kept[rg.name] = f"optimised (patch distance {d_opt:.2f} vs {d_base:.2f} tiled)"
            x_level = final * inside + fixed * (1 - inside)
        x_prev = x_level.expand(-1, 3, -1, -1).clone() if lum_only else x_level
        kept_tiled = {r for r, rg in enumerate(regions) if options.init == "tiled" and li == 0
                      and (done == 0 or kept.get(rg.name, "").startswith("tiled"))}
        report["evaluations"] += evals
        report["iterations"] += done
        report["levels"].append({"factor": round(f, 4), "size": [lw, lh], "iterations": done, "evaluations": evals,
                                 "converged_early": converged_at is not None, "noise_floor": floors, "kept": kept,
                                 "first_losses": first_losses, "losses": dict(last)})
        report["final_losses"] = dict(last)
        if cancelled:
            break

    report["cancelled"] = cancelled
    if cache is not None:
        report["target_cache"] = {"hits": cache.hits, "misses": cache.misses}
    assert x_prev is not None
    fabric_crop = _resize(x_prev, (ch, cw), "bilinear")
    if fabric_crop.shape[1] == 1:
        fabric_crop = fabric_crop.expand(-1, 3, -1, -1)
    if work < 1.0:
        # Upsampling loses the finest band: put the tiled swatch's own band back (where the work size kept the tiled
        # start this rebuilds the full-resolution tiling; elsewhere it adds the fabric's grain).
        lab_c = labels_full
        full = region_canvas(regions, lab_c, factor=1.0, origin=origin_full, offset=(x0, y0))
        if lum_only:
            full = colour_ops.luminance(full).expand(-1, 3, -1, -1)
        ph, pw = x_prev.shape[-2:]
        detailed = (fabric_crop + full - _resize(_resize(full, (ph, pw)), (ch, cw), "bilinear")).clamp(0, 1)
        for r in range(R):
            fabric_crop = torch.where(lab_c == r, full if r in kept_tiled else detailed, fabric_crop)
        report["work_size"] = [pw, ph]
        report.setdefault("notes", []).append(
            f"worked at {pw}×{ph} px (memory bound); the fabric was brought to {cw}×{ch} with the swatch's own "
            "fine detail")
    if lum_only:
        fabric_crop = colour_ops.combine_luminance(colour_ops.luminance(fabric_crop), sketch_crop)
    fabric = sketch.clone()
    fabric[..., y0:y1, x0:x1] = fabric_crop.clamp(0, 1)
    report["seconds_optimise"] = round(time.perf_counter() - t_start, 3)
    return TransferOutput(fabric=fabric, report=report)


@torch.no_grad()
def _preview(sketch: torch.Tensor, x: torch.Tensor, lum_only: bool, box: tuple[int, int, int, int],
             inside: torch.Tensor, fixed: torch.Tensor) -> torch.Tensor:
    """The whole image with the current fabric pasted into the crop box (no finishing: cheap, for live views)."""
    y0, y1, x0, x1 = box
    cur = x * inside + fixed * (1 - inside)
    if lum_only:
        cur = cur.expand(-1, 3, -1, -1)
    out = sketch.clone()
    up = _resize(cur, (y1 - y0, x1 - x0), "bilinear")
    m = _resize(inside, (y1 - y0, x1 - x0), "bilinear")
    out[..., y0:y1, x0:x1] = out[..., y0:y1, x0:x1] * (1 - m) + up * m
    return out.clamp(0, 1)

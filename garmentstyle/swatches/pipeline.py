"""``prepare(image, mode) -> PreparedSwatch``: any swatch image → a seamless, evenly lit tile, with a report.

``auto`` (the default everywhere): a swatch that already tiles is returned bit-identical; otherwise the light is
flattened and, when a repeat lattice is found, an exact straightened repeat is cut (:mod:`.lattice`), else a
seamless tile is synthesized (:mod:`.quilt` offline; :mod:`.gram` with VGG19 when its weights are present and asked
for). ``off`` uses the file as given; ``repeat``, ``synthesize`` and ``flatten`` force one path. Results are cached
by content, so a preview and the final render prepare a swatch once. The user's file is only ever read.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Optional

import numpy as np
import torch
import torch.nn.functional as F

from .. import io
from ..cache import LRUCache, content_key
from ..errors import InputError, OptionsError
from ..resources import register
from . import checks
from .analyse import find_lattice, light_unevenness, luminance, seam_ratio, upsample
from .flatten import divide, flatten, flatten_unknown, illumination, keep_highlights, relight
from .lattice import cut_repeat, resynthesize
from .quilt import quilt
from .types import PREPARE_MODES, Analysis, Lattice, PrepareReport, PreparedSwatch

#: Photos larger than this many pixels are analysed and cut at a reduced size (the tile says by how much).
WORK_PIXELS = 1_500_000
#: Lattice strength at which ``auto`` trusts the lattice path (below it: synthesis).
AUTO_STRENGTH = 0.45
#: Lattice fit (:attr:`Lattice.fit`) under which ``auto`` does not trust the lattice: wrong lattices found on
#: phone photos of one or two repeats matched 0.61–0.68, approximate but usable ones (textured dots, a quilt's
#: diamonds, a tartan's recurring band) 0.71–0.91, exact repeats 0.95–0.99 (bench/bench_lattice.py).
AUTO_FIT = 0.7
#: Default side of a synthesized tile (px).
SYNTH_SIZE = 256
#: A prepared tile whose wrap seam ratio stays above this failed.
SEAM_FAIL = 3.0


#: The process-wide cache of prepared swatches, by (content key of the loaded pixels, mode, tile size, seed,
#: synthesizer): a preview and the final render prepare a swatch once. An :class:`~garmentstyle.cache.LRUCache`
#: because the web app's worker threads prepare swatches at the same time: its lock keeps the bookkeeping whole, and
#: two tabs preparing the same new phone photo wait for one preparation (seconds of synthesis) instead of both
#: doing it. ``CACHE.clear()`` empties it; tests read ``hits``/``misses``.
CACHE: LRUCache[PreparedSwatch] = register("prepared swatches", LRUCache(32))


def _load(image: Any, name: str) -> tuple[torch.Tensor, np.ndarray]:
    """The swatch as the renderer would load it ``(1, 3, h, w)``, plus a float64-checked array ``(h, w, 3)``."""
    if isinstance(image, np.ndarray) and image.dtype.kind == "f":
        checks.check_finite(image, name=name)
    if isinstance(image, torch.Tensor):
        checks.check_finite(image.detach().cpu().numpy(), name=name)
    if isinstance(image, (np.ndarray, torch.Tensor)):
        checks.check_alpha(checks.alpha_of(image), name=name)
        t = io.load_image(image)
    else:  # a file, bytes or PIL image: decoded once for both the pixels and the transparency check
        rgb, alpha = io.read_rgba(image)
        checks.check_alpha(alpha, name=name)
        t = io.array_to_tensor(rgb)
    arr = t[0].permute(1, 2, 0).cpu().numpy().astype(np.float32)
    checks.check_finite(arr, name=name)
    return t, arr


def _work(arr: np.ndarray) -> tuple[np.ndarray, float]:
    """Downscale a huge photo for analysis (area average); returns it and work px per source px."""
    h, w = arr.shape[:2]
    if h * w <= WORK_PIXELS:
        return arr, 1.0
    f = (WORK_PIXELS / (h * w)) ** 0.5
    t = torch.from_numpy(arr).permute(2, 0, 1)[None]
    nh, nw = max(16, round(h * f)), max(16, round(w * f))
    small = F.interpolate(t, size=(nh, nw), mode="area")[0].permute(1, 2, 0).numpy()
    return np.ascontiguousarray(small), nw / w


def prepare(image: Any, mode: str = "auto", *, tile_size: int = SYNTH_SIZE, seed: int = 0, name: str = "swatch",
            synthesizer: str = "auto", use_cache: bool = True,
            check: Optional[Callable[[], None]] = None) -> PreparedSwatch:
    """Prepare one swatch.

    Args:
        image: path / PIL / array ``(h, w, 3)`` / tensor ``(1, 3, h, w)`` in [0, 1].
        mode: one of :data:`PREPARE_MODES`.
        tile_size: side of a synthesized tile in px (capped by the photo's shorter side).
        seed: random seed for synthesis.
        name: used in messages ("swatch of skirt").
        synthesizer: "auto" (quilting offline; Gram with VGG19 when its weights are present), "quilting" or
            "gram" (VGG19 Gram-loss synthesis on a circular canvas; needs the weights).
        use_cache: reuse a tile prepared before from the same pixels and settings.
        check: called between the steps and during synthesis (per row of blocks / per L-BFGS evaluation); it
            raises to stop (a render's cancel token: :class:`~garmentstyle.errors.Cancelled`). Nothing is cached
            from a stopped preparation.

    Returns:
        :class:`PreparedSwatch` (``.tile`` ``(1, 3, h, w)`` in [0, 1], ``.report``, ``.lattice``).

    Raises:
        InputError: a swatch that cannot be prepared (flat colour, mostly background, tiny, transparent, NaN/Inf,
            no lattice for ``repeat``, synthesis that does not close), with what was found and what to do.
        OptionsError: an unknown mode.
    """
    if mode not in PREPARE_MODES:
        raise OptionsError(f"prepare must be one of {', '.join(PREPARE_MODES)}; got {mode!r}")
    if synthesizer not in ("auto", "quilting", "gram"):
        raise OptionsError(f"synthesizer must be auto, quilting or gram; got {synthesizer!r}")
    if not (isinstance(tile_size, int) and 32 <= tile_size <= 1024):
        raise OptionsError(f"tile_size must be 32…1024 px; got {tile_size!r}")
    t0 = time.perf_counter()
    tensor, arr = _load(image, name)

    def build() -> PreparedSwatch:
        return _prepare(tensor, arr, mode, tile_size=tile_size, seed=seed, name=name, synthesizer=synthesizer,
                        t0=t0, check=check or _no_check)

    if not use_cache:
        return build()
    # The pixels as loaded (float32, shape in the key): a file and the same pixels as an array share an entry.
    # A preparation that raises (a cancel) caches nothing.
    return CACHE.get((content_key(arr), mode, tile_size, seed, synthesizer), build)


def _report(mode: str, action: str, method: str, an: Analysis, tile: np.ndarray, *, t0: float, **kw) -> PrepareReport:
    h, w = tile.shape[:2]
    seam_after = seam_ratio(tile)[0] if kw.pop("measure", True) else an.seam_ratio
    return PrepareReport(mode=mode, action=action, method=method, kind=an.kind, source_size=an.size,
                         tile_size=(w, h), seam_before=an.seam_ratio, seam_after=seam_after,
                         light_before=an.light_unevenness, seconds=time.perf_counter() - t0, **kw)


def _no_check() -> None:
    return None


def _prepare(tensor: torch.Tensor, arr: np.ndarray, mode: str, *, tile_size: int, seed: int, name: str,
             synthesizer: str, t0: float, check: Callable[[], None]) -> PreparedSwatch:
    label = f"{name}"
    if mode == "off":
        checks.check_size(arr, name=label)
        ratio, tiles = seam_ratio(arr)
        an = Analysis(size=(arr.shape[1], arr.shape[0]), seam_ratio=ratio, tiles=tiles,
                      light_unevenness=light_unevenness(arr), lattice=None, kind="unknown")
        rep = _report(mode, "as given", "the file as given (prepare=off)", an, arr, t0=t0, measure=False,
                      tile_px_per_source_px=1.0, repeat_px=float(arr.shape[1]), lattice_px=None, rotation=0.0,
                      skew=0.0, light_correction=0.0, light_after=an.light_unevenness)
        return PreparedSwatch(tile=tensor, report=rep, lattice=None, analysis=an)
    checks.check_size(arr, name=label)
    flat_colour = checks.flat_colour(arr)
    if flat_colour is not None and mode == "auto":  # a plain colour tiles trivially: say so, change nothing
        an = Analysis(size=(arr.shape[1], arr.shape[0]), seam_ratio=0.0, tiles=True, light_unevenness=0.0,
                      lattice=None, kind="plain")
        rep = _report(mode, "unchanged", "one flat colour: used as a plain colour, unchanged", an, arr, t0=t0,
                      measure=False, tile_px_per_source_px=1.0, repeat_px=float(arr.shape[1]), lattice_px=None,
                      rotation=0.0, skew=0.0, light_correction=0.0, light_after=0.0,
                      notes=(f"{label}: {flat_colour}; if this is not meant to be a plain fabric, give a photo of "
                             "the fabric",))
        return PreparedSwatch(tile=tensor, report=rep, lattice=None, analysis=an)
    checks.check_content(arr, name=label)
    ratio, tiles = seam_ratio(arr)
    if mode == "auto" and tiles:
        an = Analysis(size=(arr.shape[1], arr.shape[0]), seam_ratio=ratio, tiles=True,
                      light_unevenness=light_unevenness(arr), lattice=None, kind="unknown")
        rep = _report(mode, "unchanged", "already tiles seamlessly: left bit-identical", an, arr, t0=t0,
                      measure=False, tile_px_per_source_px=1.0, repeat_px=float(arr.shape[1]), lattice_px=None,
                      rotation=0.0, skew=0.0, light_correction=0.0, light_after=an.light_unevenness)
        return PreparedSwatch(tile=tensor, report=rep, lattice=None, analysis=an)
    check()
    work, f = _work(arr)
    notes: list[str] = []
    if f < 1.0:
        notes.append(f"the photo ({arr.shape[1]}×{arr.shape[0]}) was analysed at {work.shape[1]}×{work.shape[0]} px")
    usual = illumination(work)  # the light without a period: the lattice is searched on the photo it flattens
    lat = find_lattice(luminance(divide(work, usual)))
    # a lattice the photo does not match (:func:`_trusted`) says nothing about the fabric's scale: its "period" on a
    # large print is the print's own shapes, which the light estimate would flatten, and not a feature size for
    # the synthesis' blocks
    scaled = lat if lat is not None and _matches(lat) else None
    period = max(scaled.periods) if scaled is not None else None
    check()
    flat, strength = _flattened(work, period, notes, usual)
    check()
    light_scale = 2 * period if period else None
    an = Analysis(size=(arr.shape[1], arr.shape[0]), seam_ratio=ratio, tiles=tiles,
                  light_unevenness=light_unevenness(work, scale=light_scale), lattice=lat,
                  kind="stochastic" if lat is None else ("stripes" if lat.a2 is None else "periodic"))
    common = dict(t0=t0, light_correction=strength)
    if mode == "flatten":
        rep = _report(mode, "flatten", "light flattened (quadratic surface + wide Gaussian on log-luminance); "
                      "not made seamless", an, flat, tile_px_per_source_px=f, repeat_px=float(flat.shape[1]),
                      lattice_px=_lat_px(lat, f), rotation=0.0, skew=0.0, notes=tuple(notes),
                      light_after=light_unevenness(flat, scale=light_scale), **common)
        return PreparedSwatch(tile=_tensor(flat), report=rep, lattice=_lat_src(lat, f), analysis=an)
    use_lattice = lat is not None and (mode == "repeat" or (mode == "auto" and _trusted(lat)))
    if mode == "repeat" and lat is None:
        raise InputError(f"{label}: no repeat lattice found (the autocorrelation has no clear peaks: "
                         f"{an.kind} texture); use prepare=synthesize for a fabric without a regular repeat, crop "
                         "a piece holding at least two repeats each way, or prepare=off")
    out = _exact_repeat(work, flat, lat, f, an, notes, common, mode=mode, label=label,
                        light_scale=light_scale) if use_lattice else None
    if out is None:
        if lat is not None and mode == "auto" and not use_lattice:
            notes.append(_untrusted_note(lat, f))
        tile, method, action = _synthesize(keep_highlights(work, flat), tile_size, seed, synthesizer, scaled, check)
        tile, _ = _quiet_roll(tile)
        rep = _report(mode, action, method, an, tile, tile_px_per_source_px=f, repeat_px=float(tile.shape[1]),
                      lattice_px=_lat_px(lat, f), rotation=0.0, skew=0.0, light_after=_tiled_light(tile, light_scale),
                      notes=tuple(notes), **common)
        out = PreparedSwatch(tile=_tensor(tile), report=rep, lattice=_lat_src(lat, f), analysis=an)
    if out.report.seam_after > SEAM_FAIL:
        raise InputError(f"{label}: preparation did not give a seamless tile (seam ratio {out.report.seam_after:.1f} "
                         f"after {out.report.action}; {an.kind} texture, lattice "
                         f"{_fmt(lat, f) if lat else 'none'}); crop a cleaner, evenly lit piece of the fabric, or "
                         "use prepare=off")
    return out


def _exact_repeat(work: np.ndarray, flat: np.ndarray, lat: Lattice, f: float, an: Analysis, notes: list[str],
                  common: dict, *, mode: str, label: str, light_scale: Optional[float]) -> Optional[PreparedSwatch]:
    """The exact repeat cut on ``lat`` (light refined from the repetition), or None under ``auto`` when the photo
    does not hold one whole cell (a note says so; the caller synthesizes). Raises InputError for prepare=repeat."""
    try:
        tile, facts, flat, strength = _repeat_and_light(work, flat, lat)
        tile, (rx, ry) = _quiet_roll(tile)
        (v1x, v1y), (v2x, v2y) = facts["cell"]
        fx, fy = rx / tile.shape[1], ry / tile.shape[0]
        facts["origin"] = (facts["origin"][0] + fx * v1x + fy * v2x, facts["origin"][1] + fx * v1y + fy * v2y)
    except ValueError as exc:
        if mode == "auto":
            notes.append(f"a lattice {_fmt(lat, f)} was found but {exc}, so it was synthesized; for an exact "
                         "repeat, photograph a piece holding at least two repeats each way")
            return None
        raise InputError(f"{label}: a lattice {_fmt(lat, f)} was found but {exc}; crop a piece holding at "
                         "least two repeats each way, or use prepare=synthesize / prepare=off") from None
    scale = facts["px_per_source_px"] * f
    common = {**common, "light_correction": strength}
    rep = _report(mode, "repeat", f"exact repeat: straightened to the lattice, {facts['cells']} cell copies "
                  "combined (median)", an, tile, tile_px_per_source_px=scale, repeat_px=facts["repeat_px"],
                  lattice_px=_lat_px(lat, f), rotation=lat.rotation, skew=lat.skew, cells=facts["cells"],
                  light_after=_tiled_light(tile, light_scale), notes=tuple(notes), **common)
    origin = tuple(c / f for c in facts["origin"])
    cell = tuple(tuple(c / f for c in v) for v in facts["cell"])
    return PreparedSwatch(tile=_tensor(tile), report=rep, lattice=_lat_src(lat, f), analysis=an, origin=origin,
                          cell=cell)


def _trusted(lat: Lattice) -> bool:
    """Whether ``auto`` cuts an exact repeat on ``lat``: a strong autocorrelation peak, and the photo matching
    itself shifted by the lattice (a wrong lattice cut as an exact repeat tiles with a seam on every cell)."""
    return lat.strength >= AUTO_STRENGTH and _matches(lat)


def _matches(lat: Lattice) -> bool:
    """Whether the photo matches itself shifted by ``lat`` well enough for it to be the fabric's lattice (its
    period then also sets the light's scale and the synthesis' block size)."""
    return lat.fit is None or lat.fit >= AUTO_FIT


def _untrusted_note(lat: Lattice, f: float) -> str:
    """The note saying why ``auto`` did not cut an exact repeat on the lattice it found."""
    if lat.strength < AUTO_STRENGTH:
        return f"a weak lattice {_fmt(lat, f)} (strength {lat.strength:.2f}) was not trusted; synthesized"
    return (f"the pattern seemed to repeat on a lattice {_fmt(lat, f)}, but the photo matches itself shifted by it "
            f"only to {lat.fit:.2f} (a true repeat matches 0.95 or more), so a seamless tile was synthesized instead; "
            "for an exact repeat, photograph a piece holding at least two repeats each way")


def _flattened(work: np.ndarray, period: Optional[float], notes: list[str],
               usual: np.ndarray) -> tuple[np.ndarray, float]:
    """The photo's light flattened and its strength: smoothed beyond the lattice period when one was found, else
    ``usual`` (the light without a period, already estimated) checked against the soft-gradient estimate (a note
    when that one was used)."""
    if period is not None:
        return flatten(work, period=period)
    flat, strength, soft = flatten_unknown(work, usual=usual)
    if soft:
        notes.append("no repeat the photo matches was found, and the print's large shapes would have been taken "
                     "for light: the light was estimated from the photo's soft gradients only; for an exact repeat, "
                     "photograph a piece holding at least two repeats each way")
    return flat, strength


def _repeat_and_light(work: np.ndarray, flat: np.ndarray, lat: Lattice) -> tuple[np.ndarray, dict, np.ndarray, float]:
    """Cut the repeat, then refine the light twice from the photo / (repeat laid back over it) ratio and cut again:
    the repetition itself separates fabric from light. Clipped highlights are left out. Returns (tile, facts,
    flattened photo, light strength = std of log light)."""
    from scipy import ndimage

    # clipped highlights (with a margin: JPEG rings around them) say nothing about the fabric or the light
    valid = ~ndimage.binary_dilation(work.max(axis=-1) >= 0.95, iterations=1)
    tile, facts = cut_repeat(flat, lat, valid=valid, draft=True)
    light = np.maximum(luminance(work), 1e-3) / np.maximum(luminance(flat), 1e-3)
    sigma = float(np.clip(0.3 * max(lat.periods), 6.0, min(work.shape[:2]) / 12))
    k = 2 if min(work.shape[:2]) >= 256 else 1  # the light is smooth: estimate it at half resolution
    small, small_valid = _half(work, k), _half(valid.astype(np.float32), k) > 0.99
    for it in range(2):
        fk = {"origin": (facts["origin"][0] / k, facts["origin"][1] / k),
              "cell": tuple((v[0] / k, v[1] / k) for v in facts["cell"])}
        lk = relight(small, resynthesize(tile, fk, small.shape[:2]), valid=small_valid, sigma=sigma / k,
                     fallback=_half(light, k))
        light = upsample(lk, work.shape[:2]) if k > 1 else lk
        flat = keep_highlights(work, divide(work, light))
        tile, facts = cut_repeat(flat, lat, valid=valid, draft=it == 0)
    return tile, facts, flat, float(np.log(light).std())


def _half(x: np.ndarray, k: int) -> np.ndarray:
    """Area-average ``(H, W[, C])`` by ``k`` (cropping the remainder)."""
    if k == 1:
        return x
    h, w = (x.shape[0] // k) * k, (x.shape[1] // k) * k
    y = x[:h, :w]
    return y.reshape(h // k, k, w // k, k, *x.shape[2:]).mean(axis=(1, 3)).astype(np.float32)


def _synthesize(flat: np.ndarray, tile_size: int, seed: int, synthesizer: str, lat: Optional[Lattice],
                check: Callable[[], None]) -> tuple[np.ndarray, str, str]:
    """(tile, method sentence, action): Gram synthesis with VGG19 when available/asked, else image quilting."""
    from .. import encoders

    size = int(min(tile_size, 8 * (min(flat.shape[:2]) * 3 // 4 // 8)))
    if size < 32:
        raise InputError(f"the photo ({flat.shape[1]}×{flat.shape[0]} px) is too small to synthesize a tile from; "
                         "use a larger photo, or prepare=off")
    want_gram = synthesizer == "gram" or (synthesizer == "auto" and encoders.resolve_name("auto") == "vgg19")
    if want_gram:
        from . import gram

        tile, iters = gram.synthesize_gram(flat, size, seed=seed, iterations=gram.ITERATIONS, check=check)
        return tile, f"Gram-loss texture synthesis (vgg19, circular canvas, {iters} L-BFGS iterations)", \
            "synthesize:gram-vgg19"
    block = _block_size(flat, size, lat)
    tile = quilt(flat, size, block=block, seed=seed, check=check)
    return tile, (f"image quilting with minimum-error boundary cuts on a wrap-around canvas (Efros & Freeman "
                  f"2001), {block} px blocks (offline: VGG19 weights not found)"
                  if synthesizer == "auto" else f"image quilting (Efros & Freeman 2001), {block} px blocks"), \
        "synthesize:quilting"


def _block_size(flat: np.ndarray, size: int, lat: Optional[Lattice]) -> int:
    """Blocks a few texture features wide: from a (weak) lattice's period, else from the autocorrelation's central
    lobe; between 24 px and a third of the tile."""
    from .analyse import _central_radius, autocorrelation

    if lat is not None:
        feat = max(lat.periods)
    else:
        g = luminance(flat)
        c = min(g.shape) // 2
        h0, w0 = g.shape[0] // 2 - c // 2, g.shape[1] // 2 - c // 2
        feat = 2 * _central_radius(autocorrelation(g[h0: h0 + c, w0: w0 + c]))
    return int(np.clip(3 * feat, 24, size // 3))


def _quiet_roll(tile: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """Roll a seamless tile (exact, whole pixels) so its wrap edges fall where the pattern changes least: the file
    then also looks seamless to a tool that checks only the edges, and the reported seam ratio is meaningful.
    Returns the tile and the (x, y) px it was rolled by."""
    ex = ((tile - np.roll(tile, 1, axis=1)) ** 2).mean(axis=(0, 2))  # step between column c-1 and c
    ey = ((tile - np.roll(tile, 1, axis=0)) ** 2).mean(axis=(1, 2))
    cx, cy = int(np.argmin(ex)), int(np.argmin(ey))
    return np.roll(tile, (-cy, -cx), axis=(0, 1)), (cx, cy)


def _tiled_light(tile: np.ndarray, scale: Optional[float]) -> float:
    """Low-frequency light variation of the tile laid 4×4 (what a garment shows), at the source's scale."""
    h, w = tile.shape[:2]
    return light_unevenness(np.tile(tile, (4, 4, 1)), scale=scale or max(h, w))


def _lat_px(lat: Optional[Lattice], f: float) -> Optional[tuple[tuple[float, float], ...]]:
    if lat is None:
        return None
    vs = [lat.a1] + ([lat.a2] if lat.a2 is not None else [])
    return tuple((v[0] / f, v[1] / f) for v in vs)


def _lat_src(lat: Optional[Lattice], f: float) -> Optional[Lattice]:
    """The lattice in source px (the analysis may run on a reduced copy)."""
    if lat is None or f == 1.0:
        return lat
    return Lattice(a1=(lat.a1[0] / f, lat.a1[1] / f), a2=None if lat.a2 is None else (lat.a2[0] / f, lat.a2[1] / f),
                   strength=lat.strength, rotation=lat.rotation, skew=lat.skew, fit=lat.fit)


def _fmt(lat: Lattice, f: float) -> str:
    return " / ".join(f"({x:.1f}, {y:.1f}) px" for x, y in (_lat_px(lat, f) or ()))


def _tensor(arr: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32)).permute(2, 0, 1)[None].clamp(0, 1)

"""Analyse a swatch image: does it already tile, is there a repeat lattice, how uneven is the light.

Pure functions on numpy arrays ``(H, W, 3)`` float32 RGB in [0, 1] (or ``(H, W)`` luminance).

* **Tileability** compares the wrap-around seam (last column → first column, last row → first row) with the
  interior. A swatch cut off-lattice, or lit unevenly, shows a step there that the interior does not have. A
  seamless repeat whose edge happens to fall on a stripe's edge has a large step too, but that step also occurs one
  period earlier inside the tile, so the seam is also accepted when the 2-px strip across the wrap matches some
  interior strip.
* **Lattice**: peaks of the 2-D autocorrelation (zero-padded FFT, normalised by the overlap) give the two
  shortest lattice vectors, so a slight rotation or skew is found too; the vectors are refined by a least-squares
  fit through many peaks (k·a1 + l·a2), which makes them precise to a small fraction of a pixel. Stripes show as a
  ridge through the origin instead of a peak grid: one lattice vector across the ridge.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Optional

import cv2
import numpy as np

from .types import Analysis, Lattice

#: Seam ratio at or under which a swatch counts as seamless.
SEAM_TILES = 1.6
#: Wrap strip matching an interior strip to within this fraction of the interior energy counts as seamless.
STRIP_MATCH = 0.15
#: Smallest normalised autocorrelation at the lattice vectors for a periodic fabric.
MIN_STRENGTH = 0.3
#: Fraction of the image a lag may reach (beyond it the overlap is too small to trust).
MAX_LAG = 0.7
#: A candidate lattice vector is kept only when the photo matches itself shifted by it (correlation over the
#: overlap, :func:`shift_fit`) within this of the best-matching candidate: a true repeat matches 0.97–0.995 on a
#: phone photo, a near-symmetry of the pattern (a plaid's half-diagonal, a tartan's repeated band) 0.89–0.96.
FIT_SLACK = 0.02
#: At most this many candidate vectors (the shortest) are compared by :func:`shift_fit`.
MAX_FIT_PEAKS = 24
#: Candidate lattice vectors: peaks at least this fraction of the highest (among lags that repeat twice).
STRONG = 0.85


def luminance(rgb: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` → ``(H, W)`` Rec. 709 luminance."""
    return rgb[..., 0] * 0.2126 + rgb[..., 1] * 0.7152 + rgb[..., 2] * 0.0722


def _axis_seam(x: np.ndarray, axis: int) -> tuple[float, float]:
    """(wrap energy / interior energy, best interior-strip match / interior energy) along one axis."""
    a = np.moveaxis(x, axis, 0)  # (N, M, C): step along N
    d = np.diff(a, axis=0)
    interior = float((d ** 2).mean()) + 1e-8
    wrap = a[0] - a[-1]
    ratio = float((wrap ** 2).mean()) / interior
    # does the strip (last, first) occur inside? compare the step and both sides
    strip = np.stack([a[-1], a[0]])
    n = a.shape[0]
    idx = np.arange(1, n - 2)
    if len(idx) == 0:
        return ratio, ratio
    if len(idx) > 256:
        idx = idx[:: len(idx) // 256 + 1]
    err = [float(((np.stack([a[i], a[i + 1]]) - strip) ** 2).mean()) for i in idx]
    return ratio, min(err) / interior


def seam_ratio(rgb: np.ndarray) -> tuple[float, bool]:
    """Wrap-around seam energy relative to the interior, and whether the image tiles.

    Args: rgb ``(H, W, 3)`` in [0, 1]. Returns (the larger of the horizontal and vertical ratios, tiles?).
    """
    tiles = True
    worst = 0.0
    for axis in (1, 0):
        ratio, match = _axis_seam(rgb, axis)
        worst = max(worst, ratio)
        if ratio > SEAM_TILES and match > STRIP_MATCH:
            tiles = False
    return worst, tiles


def _scipy():
    """``(scipy.fft, scipy.ndimage)``, imported on first use: a seamless tile's checks need neither, and the import
    (~0.15 s) was a first render's largest cost after the style targets (bench/RESULTS.md, stop 27)."""
    from scipy import fft, ndimage

    return fft, ndimage


def gaussian(x: np.ndarray, sigma: float) -> np.ndarray:
    """``scipy.ndimage.gaussian_filter(x, sigma, mode="reflect")`` of ``(H, W)`` (the same kernel: radius
    ``int(4σ + 0.5)``, normalised; reflecting edges; one axis at a time, each pass in float64 and stored in ``x``'s
    dtype), through OpenCV; equal to rounding (tested)."""
    radius = int(4.0 * float(sigma) + 0.5)
    t = np.arange(-radius, radius + 1, dtype=np.float64)
    k = np.exp(-0.5 / (float(sigma) ** 2) * t * t)
    k /= k.sum()
    one = np.ones(1)
    out = x
    for kx, ky in ((one, k), (k, one)):
        out = cv2.sepFilter2D(np.asarray(out, np.float64), cv2.CV_64F, kx, ky,
                              borderType=cv2.BORDER_REFLECT).astype(x.dtype, copy=False)
    return out


def bilinear_grid(a: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """``scipy.ndimage.map_coordinates(a, np.meshgrid(ys, xs, indexing="ij"), order=1, mode="nearest")`` for a
    separable grid of rows ``ys`` and columns ``xs`` (positions outside held at the edge), in ``a``'s dtype; equal to
    rounding (tested)."""
    def taps(c: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        c = np.clip(np.asarray(c, np.float64), 0.0, n - 1.0)
        i0 = np.minimum(np.floor(c).astype(np.intp), max(n - 2, 0))
        return i0, np.minimum(i0 + 1, n - 1), c - i0

    y0, y1, fy = taps(ys, a.shape[0])
    x0, x1, fx = taps(xs, a.shape[1])
    a64 = np.asarray(a, np.float64)
    rows = a64[y0] * (1.0 - fy)[:, None] + a64[y1] * fy[:, None]
    return (rows[:, x0] * (1.0 - fx) + rows[:, x1] * fx).astype(a.dtype, copy=False)


def smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of ``(H, W)`` with a large ``sigma`` (px), fast: blurred on a grid ~sigma/4 coarser (area
    averaged first, so nothing aliases), then brought back with bilinear interpolation. Reflecting edges."""
    k = int(max(1, sigma // 4))
    if k == 1:
        return gaussian(x, sigma)
    h, w = x.shape
    ph, pw = (-h) % k, (-w) % k
    xp = np.pad(x, ((0, ph), (0, pw)), mode="reflect")
    small = xp.reshape(xp.shape[0] // k, k, xp.shape[1] // k, k).mean(axis=(1, 3))
    small = gaussian(small, sigma / k)
    ys = (np.arange(h) + 0.5) / k - 0.5
    xs = (np.arange(w) + 0.5) / k - 0.5
    return bilinear_grid(small, ys, xs)


def upsample(x: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear ``(h, w)`` → ``shape`` (``x``'s dtype), pixel centres aligned (edges held): a smooth field
    estimated on a coarse grid brought back to the photo."""
    h, w = x.shape
    ys = (np.arange(shape[0]) + 0.5) * h / shape[0] - 0.5
    xs = (np.arange(shape[1]) + 0.5) * w / shape[1] - 0.5
    return bilinear_grid(x, ys, xs)


def light_unevenness(rgb: np.ndarray, *, scale: Optional[float] = None) -> float:
    """Low-frequency luminance variation: std / mean of the luminance smoothed at ``scale`` px (default 1/8 of the
    shorter side), over the part of the image at least one ``scale`` from the edges (no padding effects).

    Args: rgb ``(H, W, 3)`` in [0, 1]. Returns ≈0 for evenly lit fabric; 0.1 = ±10 % light variation.
    """
    lum = luminance(rgb).astype(np.float64)
    h, w = lum.shape
    s = scale or min(h, w) / 8
    s = min(s, min(h, w) / 5)
    low = smooth(lum, s)
    m = int(round(s))
    core = low[m: h - m or None, m: w - m or None]
    if core.size < 4:
        core = low
    return float(core.std() / max(1e-6, lum.mean()))


def autocorrelation(gray: np.ndarray) -> np.ndarray:
    """Normalised autocorrelation of ``(H, W)``: ``(2H-1, 2W-1)`` with lag (0, 0) at the centre, 1 there.

    Zero-padded (no wrap-around), each lag divided by its overlap, so far lags are not damped.
    """
    sfft, ndimage = _scipy()
    g = gray - gray.mean()
    h, w = g.shape
    shape = (sfft.next_fast_len(2 * h), sfft.next_fast_len(2 * w))
    f = sfft.rfft2(g, s=shape, workers=2)
    ac = sfft.irfft2(np.abs(f) ** 2, s=shape, workers=2)
    ones = sfft.rfft2(np.ones_like(g), s=shape, workers=2)
    cnt = sfft.irfft2(np.abs(ones) ** 2, s=shape, workers=2)
    ac = ac / np.maximum(cnt, 1.0)
    ac = np.fft.fftshift(ac)
    cy, cx = shape[0] // 2, shape[1] // 2
    ac = ac[cy - h + 1: cy + h, cx - w + 1: cx + w]
    return ac / max(ac[h - 1, w - 1], 1e-12)


def _subpixel_peak(ac: np.ndarray, y: int, x: int) -> tuple[float, float, float]:
    """Sub-pixel (y, x, value) of a local maximum by a separable parabola fit."""
    h, w = ac.shape
    y = min(max(y, 1), h - 2)
    x = min(max(x, 1), w - 2)

    def off(a: float, b: float, c: float) -> float:
        den = a - 2 * b + c
        return 0.0 if den >= 0 else float(np.clip(0.5 * (a - c) / den, -0.5, 0.5))

    dy = off(ac[y - 1, x], ac[y, x], ac[y + 1, x])
    dx = off(ac[y, x - 1], ac[y, x], ac[y, x + 1])
    return y + dy, x + dx, float(ac[y, x])


def _local_max_near(ac: np.ndarray, cy: float, cx: float, r: int) -> Optional[tuple[float, float, float]]:
    """The highest point within ``r`` px of (cy, cx), refined, if it is a true local maximum (not on the window's
    edge)."""
    h, w = ac.shape
    y0, y1 = int(round(cy)) - r, int(round(cy)) + r + 1
    x0, x1 = int(round(cx)) - r, int(round(cx)) + r + 1
    if y0 < 1 or x0 < 1 or y1 > h - 1 or x1 > w - 1:
        return None
    win = ac[y0:y1, x0:x1]
    iy, ix = np.unravel_index(int(np.argmax(win)), win.shape)
    if iy in (0, win.shape[0] - 1) or ix in (0, win.shape[1] - 1):
        return None
    return _subpixel_peak(ac, y0 + iy, x0 + ix)


def _overlap_corr(gray: np.ndarray, dx: int, dy: int) -> float:
    """Pearson correlation of ``gray`` with itself shifted by the whole-pixel lag (dx, dy), over their overlap."""
    h, w = gray.shape
    a = gray[max(0, dy): h + min(0, dy), max(0, dx): w + min(0, dx)]
    b = gray[max(0, -dy): h + min(0, -dy), max(0, -dx): w + min(0, -dx)]
    a = a - a.mean()
    b = b - b.mean()
    den = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum()) / den if den > 1e-12 else 0.0


def shift_fit(gray: np.ndarray, v: tuple[float, float]) -> float:
    """How well ``(H, W)`` ``gray`` matches itself shifted by the lag ``v`` = (dx, dy) px: the correlation over the
    overlap (1 = the same pixels), at the best whole-pixel lag within 1 px of ``v``, interpolated to the sub-pixel
    maximum (a parabola per axis). Unlike the autocorrelation's peaks (normalised by the whole image's variance,
    so a long lag's small overlap can read above 1), this is bounded by 1 at every lag and compares lags fairly."""
    x0, y0 = int(round(v[0])), int(round(v[1]))
    grid = np.array([[_overlap_corr(gray, x0 + i, y0 + j) for i in (-1, 0, 1)] for j in (-1, 0, 1)])
    j, i = np.unravel_index(int(np.argmax(grid)), grid.shape)
    if (j, i) != (1, 1):  # the maximum is off centre: re-centre once on it
        x0, y0 = x0 + i - 1, y0 + j - 1
        grid = np.array([[_overlap_corr(gray, x0 + a, y0 + b) for a in (-1, 0, 1)] for b in (-1, 0, 1)])
    best = float(grid[1, 1])
    for a, c in ((grid[1, 0], grid[1, 2]), (grid[0, 1], grid[2, 1])):
        den = a - 2 * best + c
        if den < 0:
            best += float(min(-(a - c) ** 2 / (8 * den), 0.05))
    return min(best, 1.0)


def _central_blob(ac: np.ndarray, thr: float) -> tuple[np.ndarray, np.ndarray]:
    """Mask of the above-``thr`` component holding lag 0, and its principal axes (2×2, rows = unit vectors, major
    first) scaled by its extent: returns (mask, axes·extent)."""
    sfft, ndimage = _scipy()
    h, w = ac.shape
    lab, _ = ndimage.label(ac > thr)
    blob = lab == lab[h // 2, w // 2]
    ys, xs = np.nonzero(blob)
    ys = ys - h // 2
    xs = xs - w // 2
    cov = np.cov(np.stack([xs, ys]).astype(np.float64)) if len(xs) > 2 else np.eye(2)
    vals, vecs = np.linalg.eigh(cov)
    order = np.argsort(vals)[::-1]
    ext = []
    for k in order:
        v = vecs[:, k]
        ext.append(np.abs(xs * v[0] + ys * v[1]).max(initial=0))
    return blob, np.stack([vecs[:, order[0]] * ext[0], vecs[:, order[1]] * ext[1]])


def _peaks(ac: np.ndarray, r0: float, thr: float, lim: tuple[int, int]) -> list[tuple[float, float, float]]:
    """Prominent local maxima ``(dx, dy, value)`` above ``thr`` beyond ``r0`` px of lag 0, within the lag limits,
    in one half-plane. Prominent = higher than everything on a ring around it (radius a quarter of its distance to
    the origin) by 0.1: a point on a stripe's ridge is a local maximum too, but not prominent along the ridge."""
    sfft, ndimage = _scipy()
    h, w = ac.shape
    cy, cx = h // 2, w // 2
    mx = ndimage.maximum_filter(ac, size=5, mode="constant", cval=-1)
    cand = (ac >= mx) & (ac > thr)
    ys, xs = np.nonzero(cand)
    theta = np.linspace(0, 2 * np.pi, 48, endpoint=False)
    dy, dx = ys - cy, xs - cx
    keep = ((np.abs(dy) <= lim[0]) & (np.abs(dx) <= lim[1]) & ((dy > 0) | ((dy == 0) & (dx > 0)))
            & (np.hypot(dx, dy) > r0))
    ys, xs, dy, dx = ys[keep], xs[keep], dy[keep], dx[keep]
    if len(ys) == 0:
        return []
    rho = np.maximum(2.0, 0.25 * np.hypot(dx, dy))[:, None]
    ry = ys[:, None] + rho * np.sin(theta)[None, :]
    rx = xs[:, None] + rho * np.cos(theta)[None, :]
    # rings sampled on the 5×5 max, all candidates in one call: a thin ridge's crest is not missed
    ring = ndimage.map_coordinates(mx, [ry.ravel(), rx.ravel()], order=1, mode="nearest").reshape(ry.shape)
    prominent = ac[ys, xs] - ring.max(axis=1) >= 0.1
    return [(float(a), float(b), float(ac[y, x])) for a, b, y, x, ok in zip(dx, dy, ys, xs, prominent) if ok]


def _central_radius(ac: np.ndarray) -> float:
    """Radius (px) where the radially averaged autocorrelation first falls under 0.5: the width of the central
    lobe, the shortest lag a repeat can have."""
    sfft, ndimage = _scipy()
    h, w = ac.shape
    cy, cx = h // 2, w // 2
    theta = np.linspace(0, 2 * np.pi, 32, endpoint=False)
    for r in np.arange(1.0, min(cy, cx), 0.5):
        v = ndimage.map_coordinates(ac, [cy + r * np.sin(theta), cx + r * np.cos(theta)], order=1)
        if v.mean() < 0.5:
            return float(r)
    return float(min(cy, cx))


def _reduce(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lagrange–Gauss reduction: the two shortest vectors spanning the same lattice."""
    for _ in range(32):
        if a @ a > b @ b:
            a, b = b, a
        mu = round(float(a @ b) / float(a @ a))
        if mu == 0:
            break
        b = b - mu * a
    if a @ a > b @ b:
        a, b = b, a
    return a, b


def _refine(ac: np.ndarray, a1: np.ndarray, a2: np.ndarray, lim: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, float]:
    """Least-squares lattice through the peaks nearest every k·a1 + l·a2 within the lags; returns refined vectors
    and the weaker of the autocorrelations at a1 and a2."""
    h, w = ac.shape
    cy, cx = h // 2, w // 2
    basis = np.stack([a1, a2])
    for reach in (3, 6, 12, 24, 48, 1000):  # grow the fit outwards: each step's basis predicts the next peaks
        rows, targets = [], []
        n1 = min(reach, int(lim[1] / max(1.0, abs(basis[0]).max())) + 2)
        n2 = min(reach, int(lim[0] / max(1.0, abs(basis[1]).max())) + 2)
        r = max(2, int(0.15 * min(np.hypot(*basis[0]), np.hypot(*basis[1]))))
        r = min(r, 6)
        for k in range(-n1, n1 + 1):
            for l in range(0, n2 + 1):
                if (k, l) == (0, 0) or (l == 0 and k < 0):
                    continue
                p = k * basis[0] + l * basis[1]
                if abs(p[0]) > lim[1] or abs(p[1]) > lim[0]:
                    continue
                pk = _local_max_near(ac, cy + p[1], cx + p[0], r)
                if pk is None or pk[2] < MIN_STRENGTH * 0.5:
                    continue
                rows.append((k, l))
                targets.append((pk[1] - cx, pk[0] - cy))
        if len(rows) < 2:
            break
        A, T = np.asarray(rows, float), np.asarray(targets, float)
        if np.linalg.matrix_rank(A) < 2:
            break
        basis = np.linalg.lstsq(A, T, rcond=None)[0]
    strength = []
    for v in basis:
        pk = _local_max_near(ac, cy + v[1], cx + v[0], 2)
        strength.append(pk[2] if pk else float(ac[int(round(cy + v[1])), int(round(cx + v[0]))]))
    return basis[0], basis[1], min(strength)


def _angle(v: np.ndarray) -> float:
    """Degrees counter-clockwise (image y down) of ``v`` folded into (-45, 45] about the nearer axis."""
    a = math.degrees(math.atan2(-v[1], v[0]))
    return (a + 45) % 90 - 45


def _stripes(ac: np.ndarray, axes: np.ndarray, lim: tuple[int, int]) -> Optional[Lattice]:
    """A 1-D lattice across a ridge through the origin (stripes along the ridge): refine the ridge's direction from
    the ridge centre line, then the period from the profile across it (peaks at k·p)."""
    sfft, ndimage = _scipy()
    h, w = ac.shape
    cy, cx = h // 2, w // 2
    d = axes[0] / (np.linalg.norm(axes[0]) + 1e-12)
    n = np.array([-d[1], d[0]])
    # ridge direction: perpendicular offset of the ridge's maximum at distances t along it
    reach = 0.9 * min(lim[0] / max(abs(d[1]), 1e-3), lim[1] / max(abs(d[0]), 1e-3))
    ts = np.linspace(8, max(9.0, reach), 24)
    ss = np.arange(-6, 6.01, 0.25)
    offs = []
    for t in ts:
        pts = (t * d)[None, :] + ss[:, None] * n[None, :]
        prof = ndimage.map_coordinates(ac, [cy + pts[:, 1], cx + pts[:, 0]], order=1, mode="nearest")
        offs.append(ss[int(np.argmax(prof))])
    slope = float(np.polyfit(ts, offs, 1)[0])
    d = d + slope * n
    d /= np.linalg.norm(d)
    n = np.array([-d[1], d[0]])
    # profile across the ridge, averaged along it
    smax = 0.9 * min(lim[0] / max(abs(n[1]), 1e-3), lim[1] / max(abs(n[0]), 1e-3))
    s = np.arange(0, smax, 0.25)
    along = np.linspace(-min(reach, 40), min(reach, 40), 9)
    prof = np.zeros_like(s)
    for t in along:
        pts = s[:, None] * n[None, :] + t * d[None, :]
        prof += ndimage.map_coordinates(ac, [cy + pts[:, 1], cx + pts[:, 0]], order=1, mode="nearest")
    prof /= len(along)
    mx = ndimage.maximum_filter1d(prof, size=9)
    first_low = np.argmax(prof < 0.5) if (prof < 0.5).any() else len(prof)
    peaks = [i for i in range(max(first_low, 1), len(prof) - 1) if prof[i] >= mx[i] and prof[i] > MIN_STRENGTH]
    if not peaks:
        return None
    p0 = s[peaks[0]]
    # least squares through the peaks at multiples of p0
    ks, ps = [], []
    for k in range(1, int(smax / p0) + 1):
        i = int(round(k * p0 / 0.25))
        lo, hi = max(1, i - int(0.2 * p0 / 0.25) - 1), min(len(prof) - 1, i + int(0.2 * p0 / 0.25) + 2)
        if hi - lo < 3:
            continue
        j = lo + int(np.argmax(prof[lo:hi]))
        if prof[j] < MIN_STRENGTH * 0.5 or j in (lo, hi - 1):
            continue
        a, b, c = prof[j - 1], prof[j], prof[j + 1]
        den = a - 2 * b + c
        frac = 0.5 * (a - c) / den if den < 0 else 0.0
        ks.append(k)
        ps.append(s[j] + 0.25 * frac)
    ks_a, ps_a = np.asarray(ks, float), np.asarray(ps, float)
    period = float((ks_a * ps_a).sum() / (ks_a ** 2).sum()) if len(ks) else p0
    a1 = n * period
    if a1[1] < 0 or (a1[1] == 0 and a1[0] < 0):
        a1 = -a1
    strength = float(np.interp(period, s, prof))
    return Lattice(a1=(float(a1[0]), float(a1[1])), a2=None, strength=strength,
                   rotation=_angle(d), skew=0.0)


def find_lattice(gray: np.ndarray) -> Optional[Lattice]:
    """The repeat lattice of ``(H, W)`` (evenly lit) luminance, or None for a stochastic texture.

    Returns a 2-D :class:`Lattice` for checks, prints and weaves, a 1-D one (``a2`` None) for stripes. A lattice
    is only returned when the pattern repeats at least twice along each lattice vector inside the image.
    """
    h, w = gray.shape
    if gray.std() < 1e-4:
        return None
    ac = autocorrelation(gray)
    lim = (int(MAX_LAG * h), int(MAX_LAG * w))
    lat = _lattice_2d(ac, lim, gray)
    if lat is None:
        _, axes = _central_blob(ac, 0.35)
        major, minor = np.linalg.norm(axes[0]), np.linalg.norm(axes[1])
        if major > 0.6 * min(lim) and minor < 0.5 * major:
            lat = _stripes(ac, axes, lim)
    if lat is None:
        return None
    fit = min(shift_fit(gray, v) for v in (lat.a1, lat.a2) if v is not None)
    return dataclasses.replace(lat, fit=fit)


def _lattice_2d(ac: np.ndarray, lim: tuple[int, int], gray: np.ndarray) -> Optional[Lattice]:
    """Two lattice vectors from the prominent autocorrelation peaks (the two shortest non-collinear among the
    strongest, of those whose shift the photo matches best), refined by least squares; None when there is no such
    pair or fewer than two repeats fit."""
    h, w = gray.shape
    peaks = _peaks(ac, _central_radius(ac), MIN_STRENGTH, lim)
    if not peaks:
        return None
    kept: list[tuple[float, float, float]] = []  # non-maximum suppression: a near-copy of a stronger peak goes
    for p in sorted(peaks, key=lambda p: -p[2]):
        rad = max(3.0, 0.2 * math.hypot(p[0], p[1]))
        if all(math.hypot(p[0] - q[0], p[1] - q[1]) > rad and math.hypot(p[0] + q[0], p[1] + q[1]) > rad
               for q in kept):
            kept.append(p)
    # only lags that repeat twice in view can be lattice vectors; the peak heights are compared among those (a
    # long lag's small overlap can read far above 1 and would push the true repeat's peak out)
    twice = [p for p in kept if _twice_in_view(p[:2], (h, w))]
    if not twice:
        return None
    best = max(p[2] for p in twice)
    cands = sorted((p for p in twice if p[2] >= STRONG * best), key=lambda p: p[0] ** 2 + p[1] ** 2)
    pair = _best_fitting_pair(gray, cands[:MAX_FIT_PEAKS])
    if pair is None:
        return None
    a1, a2 = pair
    a1, a2 = _reduce(a1, a2)
    a1, a2, strength = _refine(ac, a1, a2, lim)
    a1, a2 = _reduce(a1, a2)
    if strength < MIN_STRENGTH:
        return None
    if not (_twice_in_view(a1, (h, w)) and _twice_in_view(a2, (h, w))):
        return None  # fewer than two repeats: no evidence of a lattice
    # order: a1 the vector nearer the x axis, pointing right; a2 pointing down
    if abs(a1[1]) / (np.hypot(*a1) + 1e-9) > abs(a2[1]) / (np.hypot(*a2) + 1e-9):
        a1, a2 = a2, a1
    if a1[0] < 0:
        a1 = -a1
    if a2[1] < 0:
        a2 = -a2
    cosang = float(a1 @ a2) / (np.linalg.norm(a1) * np.linalg.norm(a2))
    skew = math.degrees(math.acos(np.clip(cosang, -1, 1))) - 90.0
    return Lattice(a1=(float(a1[0]), float(a1[1])), a2=(float(a2[0]), float(a2[1])), strength=float(strength),
                   rotation=_angle(a1), skew=skew)


def _twice_in_view(v, size: tuple[int, int]) -> bool:
    """Whether the lag ``v`` = (dx, dy) repeats at least twice inside an image of ``size`` (h, w), 5 % slack."""
    return 2 * abs(v[0]) <= size[1] * 1.05 and 2 * abs(v[1]) <= size[0] * 1.05


def _best_fitting_pair(gray: np.ndarray, cands: list[tuple[float, float, float]]) -> Optional[tuple[np.ndarray,
                                                                                                    np.ndarray]]:
    """The lattice basis among candidate peaks ``cands`` (shortest first): ``a1`` the shortest whose shift the
    photo matches (:func:`shift_fit`) within FIT_SLACK of the best candidate, ``a2`` the shortest of those at over
    25° to it within FIT_SLACK of the best of them; None without such a pair.

    Why the fit and not the peak's height: a near-symmetry of the pattern — a plaid matching itself at half a
    diagonal (0.94), a tartan whose band recurs at a third of the repeat (0.90) — peaks almost as high as the true
    repeat (0.98–0.99) and is shorter, so it was taken for the repeat and cut into a sheared, seamed tile. Where the
    true repeat does not fit twice in the photo the best remaining candidates are taken as before (an approximate
    repeat, reported by its lower strength)."""
    if len(cands) < 2:
        return None
    fits = [shift_fit(gray, (p[0], p[1])) for p in cands]
    top = max(fits)
    i1 = next(i for i, f in enumerate(fits) if f >= top - FIT_SLACK)
    a1 = np.array(cands[i1][:2])
    rest = []
    for p, f in zip(cands, fits):
        v = np.array(p[:2])
        if abs(a1[0] * v[1] - a1[1] * v[0]) / (np.linalg.norm(a1) * np.linalg.norm(v)) > math.sin(math.radians(25)):
            rest.append((v, f))
    if not rest:
        return None
    top2 = max(f for _, f in rest)
    return a1, next(v for v, f in rest if f >= top2 - FIT_SLACK)


def analyse(rgb: np.ndarray, *, flattened: Optional[np.ndarray] = None) -> Analysis:
    """Everything :func:`garmentstyle.swatches.prepare` decides on.

    Args:
        rgb: ``(H, W, 3)`` float32 in [0, 1], the swatch as given.
        flattened: the same with its light flattened (lattice search is done on it when given; light gradients
            otherwise add a false low-frequency "structure").
    """
    h, w = rgb.shape[:2]
    ratio, tiles = seam_ratio(rgb)
    lat = find_lattice(luminance(flattened if flattened is not None else rgb))
    kind = "stochastic" if lat is None else ("stripes" if lat.a2 is None else "periodic")
    scale = None if lat is None else max(2.0 * max(lat.periods), min(h, w) / 8)
    return Analysis(size=(w, h), seam_ratio=ratio, tiles=tiles,
                    light_unevenness=light_unevenness(rgb, scale=scale), lattice=lat, kind=kind)

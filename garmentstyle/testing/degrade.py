"""Phone-style photos of a fabric whose true repeat is known: test and benchmark inputs for swatch preparation.

A true seamless tile is laid over a large canvas (wrap-around, bicubic, rendered at 2× and area-downscaled like a
lens + sensor), through a window that is not aligned to the repeat, turned a few degrees; then lit unevenly (a
gradient, a vignette, a soft shadow), given sensor noise, optionally down- and up-scaled (digital zoom), and
JPEG-compressed. The ground truth goes with it: the tile, the lattice vectors in photo px, the rotation.

``sensor_only`` gives the same blur / noise / JPEG with no geometry and no light: what the photo's own degradation
alone does to the fabric (the reference a prepared tile is compared with).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
from PIL import Image
from scipy import ndimage

from .capture import jpeg_roundtrip, sensor_noise


@dataclass(frozen=True)
class PhotoSpec:
    """How to photograph: ``zoom`` photo px per tile px, ``rotation`` degrees CCW, ``size`` (w, h) px, ``offset``
    (x, y) tile px of the window's corner, light ``gradient`` (±fraction), ``vignette`` (fraction darker in the
    corners), ``shadow`` (fraction darker in a soft blob), ``noise`` std, ``jpeg`` quality (0 = none),
    ``rescale`` (down then up by this factor; 1 = none), ``seed``."""

    zoom: float = 1.5
    rotation: float = 2.5
    size: tuple[int, int] = (900, 700)
    offset: tuple[float, float] = (37.3, 19.7)
    gradient: float = 0.25
    vignette: float = 0.25
    shadow: float = 0.2
    noise: float = 0.02
    jpeg: int = 70
    rescale: float = 1.0
    seed: int = 0


@dataclass(frozen=True)
class Photo:
    """A degraded photo ``image`` ``(H, W, 3)`` float32 in [0, 1] and its truth: ``tile`` ``(h, w, 3)``, the tile's
    lattice in photo px (``a1`` = the tile's width vector, ``a2`` = its height vector), ``rotation`` degrees, ``zoom``
    photo px per tile px, ``light`` ``(H, W)`` the illumination applied."""

    image: np.ndarray
    tile: np.ndarray
    a1: tuple[float, float]
    a2: tuple[float, float]
    rotation: float
    zoom: float
    light: np.ndarray


def load_tile(path: str | Path) -> np.ndarray:
    """A true tile file → ``(h, w, 3)`` float32 in [0, 1]."""
    return np.asarray(Image.open(path).convert("RGB"), np.float32) / 255.0


def _lay(tile: np.ndarray, size: tuple[int, int], zoom: float, rotation: float, offset: tuple[float, float],
         supersample: int = 2) -> np.ndarray:
    """The tile repeated under a rotated, zoomed window, rendered at ``supersample``× and area-averaged."""
    w, h = size
    s = supersample
    th = math.radians(rotation)
    c, si = math.cos(th), math.sin(th)
    ys, xs = np.mgrid[0: h * s, 0: w * s].astype(np.float64)
    xs = (xs + 0.5) / s - w / 2
    ys = (ys + 0.5) / s - h / 2
    # photo → pattern: inverse of a CCW (y down) rotation and the zoom
    u = (c * xs - si * ys) / zoom + offset[0] + tile.shape[1] * 4
    v = (si * xs + c * ys) / zoom + offset[1] + tile.shape[0] * 4
    th_, tw_ = tile.shape[:2]
    pad = 4
    big = np.pad(tile, ((pad, pad), (pad, pad), (0, 0)), mode="wrap")
    uu = np.mod(u - 0.5, tw_) + pad
    vv = np.mod(v - 0.5, th_) + pad
    out = np.stack([ndimage.map_coordinates(big[..., k], [vv, uu], order=3, mode="nearest") for k in range(3)], -1)
    out = out.reshape(h, s, w, s, 3).mean(axis=(1, 3))
    return np.clip(out, 0, 1).astype(np.float32)


def light_field(size: tuple[int, int], spec: PhotoSpec) -> np.ndarray:
    """``(H, W)`` multiplicative illumination: gradient × vignette × soft shadow (mean ≈ 1)."""
    w, h = size
    rng = np.random.default_rng(spec.seed)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    xn, yn = xs / w - 0.5, ys / h - 0.5
    ang = rng.uniform(0, 2 * np.pi)
    field = 1 + 2 * spec.gradient * (np.cos(ang) * xn + np.sin(ang) * yn)
    field *= 1 - spec.vignette * (xn ** 2 + yn ** 2) / 0.5
    cx, cy = rng.uniform(-0.3, 0.3, 2)
    r = np.hypot(xn - cx, yn - cy)
    blob = 1 / (1 + np.exp((r - 0.22) / 0.06))  # a soft-edged shadow
    field *= 1 - spec.shadow * blob
    return (field / field.mean()).astype(np.float32)


def _sensor(img: np.ndarray, spec: PhotoSpec) -> np.ndarray:
    """Noise (signal-dependent + read noise), down/up-scaling, JPEG: the photo's own degradation."""
    rng = np.random.default_rng(spec.seed + 1)
    out = np.clip(sensor_noise(img, spec.noise, rng, signal_dependent=True), 0, 1)
    pil = Image.fromarray((out * 255 + 0.5).astype(np.uint8))
    if spec.rescale != 1.0:
        w, h = pil.size
        small = pil.resize((max(16, round(w / spec.rescale)), max(16, round(h / spec.rescale))), Image.BICUBIC)
        pil = small.resize((w, h), Image.BICUBIC)
    u8 = np.asarray(pil.convert("RGB"))
    if spec.jpeg:
        u8 = jpeg_roundtrip(u8, spec.jpeg)
    return u8.astype(np.float32) / 255.0


def photograph(tile: np.ndarray, spec: Optional[PhotoSpec] = None) -> Photo:
    """A phone-style photo of the fabric whose true seamless repeat is ``tile`` ``(h, w, 3)`` in [0, 1]."""
    spec = spec or PhotoSpec()
    img = _lay(tile, spec.size, spec.zoom, spec.rotation, spec.offset)
    light = light_field(spec.size, spec)
    img = np.clip(img * light[..., None], 0, 1)
    img = _sensor(img, spec)
    th = math.radians(spec.rotation)
    h, w = tile.shape[:2]
    a1 = (spec.zoom * w * math.cos(th), -spec.zoom * w * math.sin(th))
    a2 = (spec.zoom * h * math.sin(th), spec.zoom * h * math.cos(th))
    return Photo(image=img, tile=tile, a1=a1, a2=a2, rotation=spec.rotation, zoom=spec.zoom, light=light)


def sensor_only(tile: np.ndarray, spec: Optional[PhotoSpec] = None, *, repeats: int = 3) -> np.ndarray:
    """The photo's own blur / noise / JPEG alone, brought back to the tile's scale: the fabric (``repeats`` ×
    ``repeats`` tiles) photographed straight, evenly lit, at the same zoom, then resampled by 1/zoom. What a perfect
    preparation that kept one copy would give; ``(repeats·h, repeats·w, 3)``."""
    spec = spec or PhotoSpec()
    h, w = tile.shape[:2]
    size = (round(repeats * w * spec.zoom), round(repeats * h * spec.zoom))
    img = _lay(tile, size, spec.zoom, 0.0, (w * repeats / 2, h * repeats / 2))
    img = _sensor(img, PhotoSpec(**{**spec.__dict__, "size": size}))
    pil = Image.fromarray((np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)).resize((repeats * w, repeats * h),
                                                                                     Image.BICUBIC)
    return np.asarray(pil, np.float32) / 255.0


def procedural_tartan(period: tuple[int, int] = (57, 43), seed: int = 3) -> np.ndarray:
    """An asymmetric tartan-like check whose fundamental repeat is exactly ``period`` (w, h) px (so lattice
    recovery has a known answer): coloured bands of random widths along x and y, multiplied, with a twill hint."""
    rng = np.random.default_rng(seed)
    pw, ph = period

    def bands(n: int) -> np.ndarray:
        prof = np.zeros((n, 3), np.float32)
        x = 0
        while x < n:
            wdt = int(rng.integers(3, max(4, n // 4)))
            prof[x: x + wdt] = rng.uniform(0.15, 0.95, 3)
            x += wdt
        return prof

    bx, by = bands(pw), bands(ph)
    tile = 0.5 * (bx[None, :, :] + by[:, None, :])
    yy, xx = np.mgrid[0:ph, 0:pw]
    tile = tile * (0.92 + 0.08 * (((xx + yy) % 4) < 2))[..., None]
    return np.clip(tile, 0, 1).astype(np.float32)


def procedural_noise(size: int = 128, *, feature: float = 6.0, seed: int = 5) -> np.ndarray:
    """A stochastic, seamless texture (band-pass noise on a torus, coloured like a blue twill): no lattice, the
    true tile of a "denim-like" fabric whose synthesis can be checked."""
    rng = np.random.default_rng(seed)
    f = np.fft.fftfreq(size)
    fy, fx = np.meshgrid(f, f, indexing="ij")
    r = np.hypot(fx, fy)
    band = np.exp(-((r - 1 / feature) ** 2) / (2 * (0.35 / feature) ** 2))
    n = np.real(np.fft.ifft2(np.fft.fft2(rng.normal(size=(size, size))) * band))
    n = (n - n.mean()) / (n.std() + 1e-9)
    base = np.array([0.22, 0.32, 0.55], np.float32)
    return np.clip(base[None, None, :] * (1 + 0.35 * n[..., None]), 0, 1).astype(np.float32)

"""Refuse swatches that cannot be prepared, with a message that says what was found and what to do.

Pure checks on ``(H, W, 3)`` float arrays (and the file's alpha channel when there is one). Each raises
:class:`garmentstyle.errors.InputError`.
"""
from __future__ import annotations

from typing import Any, Optional

import cv2
import numpy as np

from ..errors import InputError
from ..morph import label4
from ..swatch import MIN_SWATCH_SIDE

#: Luminance/colour std under which a swatch is "one flat colour".
FLAT_STD = 0.004
#: Fraction of flat background at which a photo is "mostly background".
BACKGROUND_FRACTION = 0.5

_FIX = "crop the photo tighter to the fabric, or use prepare=off to use the file as given"


def alpha_of(src: Any) -> Optional[np.ndarray]:
    """The alpha channel ``(H, W)`` in [0, 1] of a path / PIL image / RGBA array, or None."""
    from PIL import Image

    from .. import io

    if isinstance(src, np.ndarray):
        return src[..., 3].astype(np.float32) / (255.0 if src.dtype == np.uint8 else 1.0) \
            if src.ndim == 3 and src.shape[2] == 4 else None
    if isinstance(src, (str, bytes)) or hasattr(src, "__fspath__") or isinstance(src, Image.Image):
        try:
            img = src if isinstance(src, Image.Image) else io.open_pil(src)
        except Exception:
            return None  # unreadable files are reported by the loader
        if img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (img.mode == "P" and "transparency" in img.info):
            return np.asarray(img.convert("RGBA"))[..., 3].astype(np.float32) / 255.0
    return None


def check_finite(arr: np.ndarray, *, name: str) -> None:
    """NaN / ±inf pixels (a float TIFF from a broken export) are refused, not clipped into a wrong colour."""
    bad = ~np.isfinite(arr)
    if bad.any():
        raise InputError(f"{name}: {int(bad.any(axis=-1).sum())} pixel(s) are NaN or infinite (a float image with "
                         "undefined values); re-export the swatch as an 8- or 16-bit PNG/JPEG, or fix those pixels")


def check_alpha(alpha: Optional[np.ndarray], *, name: str) -> None:
    """Transparent areas are not fabric: a cut-out cannot be repeated."""
    if alpha is None:
        return
    clear = float((alpha < 0.98).mean())
    if clear > 0.01:
        raise InputError(f"{name}: {clear:.0%} of the swatch is transparent (a cut-out, not a rectangle of "
                         f"fabric); {_FIX} (transparent parts are then shown as white)")


def check_size(rgb: np.ndarray, *, name: str) -> None:
    h, w = rgb.shape[:2]
    if min(h, w) < MIN_SWATCH_SIDE:
        raise InputError(f"{name}: the swatch is {w}×{h} px; at least {MIN_SWATCH_SIDE}×{MIN_SWATCH_SIDE} px of "
                         "fabric is needed to find its repeat (use a larger photo of the fabric)")


def flat_colour(rgb: np.ndarray) -> Optional[str]:
    """A description ("one flat colour (RGB …, variation …)") when the swatch is a single flat colour, else None."""
    std = float(rgb.reshape(-1, 3).std(axis=0).max())
    if std >= FLAT_STD:
        return None
    c = tuple(int(round(255 * v)) for v in rgb.reshape(-1, 3).mean(axis=0))
    return f"the swatch is one flat colour (RGB {c}, variation {std:.4f})"


def check_content(rgb: np.ndarray, *, name: str) -> None:
    """One flat colour (nothing to repeat, for a forced mode) or a photo that is mostly a plain background around
    the fabric."""
    flat = flat_colour(rgb)
    if flat is not None:
        raise InputError(f"{name}: {flat}: there is no fabric texture to repeat or synthesize; use prepare=off (or "
                         "auto) to fill the region with this plain colour, or give a photo of the fabric")
    frac, colour = _background(rgb)
    if frac >= BACKGROUND_FRACTION:
        c = tuple(int(round(255 * v)) for v in colour)
        raise InputError(f"{name}: about {frac:.0%} of the photo is plain background (RGB {c}) around the fabric; "
                         f"{_FIX}")


def _background(rgb: np.ndarray) -> tuple[float, tuple[float, float, float]]:
    """Fraction of the image that is one flat, featureless area touching the border *and* leaves the textured part
    bunched in a smaller box (so a print's plain ground between evenly spread motifs is not "background")."""
    h, w = rgb.shape[:2]
    lum = rgb.mean(axis=-1)
    s = max(2.0, min(h, w) / 100)
    size = 2 * int(s) + 1  # a box mean with reflecting edges (scipy.ndimage.uniform_filter's, through OpenCV)
    lum = np.asarray(lum, np.float64)
    mean = cv2.blur(lum, (size, size), borderType=cv2.BORDER_REFLECT)
    var = cv2.blur(lum ** 2, (size, size), borderType=cv2.BORDER_REFLECT) - mean ** 2
    flat = var < 0.004 ** 2 * 4
    lab, _ = label4(flat)
    border = np.unique(np.r_[lab[0], lab[-1], lab[:, 0], lab[:, -1]])
    border = border[border > 0]
    if len(border) == 0:
        return 0.0, (0.0, 0.0, 0.0)
    sizes = np.bincount(lab.ravel())[border]
    big = border[int(np.argmax(sizes))]
    bg = lab == big
    frac = float(bg.mean())
    tex = ~bg
    if not tex.any():
        return frac, tuple(rgb[bg].mean(axis=0))
    ys, xs = np.nonzero(tex)
    box = (ys.max() - ys.min() + 1) * (xs.max() - xs.min() + 1) / (h * w)
    if box > 0.8:  # texture spread over the whole frame: a plain ground between motifs
        return 0.0, (0.0, 0.0, 0.0)
    return frac, tuple(float(v) for v in rgb[bg].mean(axis=0))

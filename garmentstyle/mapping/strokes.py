"""Reading grain strokes: an image the sketch's size in which the strokes are every pixel that differs from the
file's background colour (any colour on white, black on transparent, white on black …)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from ..errors import InputError

#: A pixel is a stroke when some channel differs from the background colour by more than this (0…1).
STROKE_THRESHOLD = 0.2
#: Aspect ratios this close count as the same picture at another resolution (then it is resized, not refused).
ASPECT_TOLERANCE = 0.02


def _as_array(src: Any) -> np.ndarray:
    """``(H, W, C)`` uint8 or float32 in [0, 1] (C = 1, 3 or 4) from a path, PIL image, array or tensor (uint8 kept
    as it is: a print-size strokes file is read without a float copy)."""
    if isinstance(src, (str, Path)):
        try:
            with Image.open(src) as im:
                im.load()
                src = im.convert("RGBA") if ("A" in im.getbands() or "transparency" in im.info) else im.convert("RGB")
        except FileNotFoundError:
            raise InputError(f"grain strokes: no such file {src}") from None
        except OSError as exc:
            raise InputError(f"grain strokes: {src} is not a readable image ({exc})") from None
    if isinstance(src, Image.Image):
        src = np.asarray(src.convert("RGBA") if "A" in src.getbands() else src.convert("RGB"))
    if isinstance(src, torch.Tensor):
        t = src.detach().cpu().float()
        while t.ndim > 3 and t.shape[0] == 1:
            t = t[0]
        src = t.permute(1, 2, 0).numpy() if t.ndim == 3 and t.shape[0] in (1, 3, 4) else t.numpy()
    a = np.asarray(src)
    if a.dtype != np.uint8:
        a = a.astype(np.float32)
        if not np.isfinite(a).all():
            raise InputError("grain strokes: the image contains NaN or infinite values")
        if a.size and a.max(initial=0) > 1.5:  # 0…255 data (a resampled 0…1 mask may overshoot 1 a little)
            a = a / 255.0
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or a.shape[2] not in (1, 3, 4) or a.shape[0] < 2 or a.shape[1] < 2:
        raise InputError(f"grain strokes: expected an image (H, W) or (H, W, 3/4), got shape {a.shape}")
    return a


def stroke_map(src: Any, size: tuple[int, int]) -> tuple[np.ndarray, list[str]]:
    """Stroke presence ``(H, W)`` float in {0, 1} at ``size`` = ``(H, W)`` (the render's output size), and notes.

    A boolean/0–1 array is taken as the strokes themselves (True/1 = stroke). Otherwise the background colour is the
    most common colour (alpha counts: a transparent background makes every opaque pixel a stroke).

    Raises:
        InputError: unreadable, a different aspect ratio from the sketch (names both sizes), or no stroke at all.
    """
    notes: list[str] = []
    a = _as_array(src)
    full = 255.0 if a.dtype == np.uint8 else 1.0
    if a.shape[2] == 4 and a[..., 3].min() < 0.5 * full:
        strokes = a[..., 3] >= 0.5 * full
    elif a.shape[2] == 1 and a.dtype != np.uint8 and set(np.unique(a[::7, ::7])).issubset({0.0, 1.0}) \
            and a.mean() < 0.5:
        strokes = a[..., 0] >= 0.5  # a 0/1 mask of the strokes
    else:
        rgb = a[..., :3] if a.shape[2] >= 3 else np.repeat(a, 3, axis=2)
        sample = rgb[:: max(1, rgb.shape[0] // 256), :: max(1, rgb.shape[1] // 256)].reshape(-1, 3)
        q = np.round(sample.astype(np.float32) * (15.0 / full)).astype(np.int32)
        code = (q[:, 0] * 16 + q[:, 1]) * 16 + q[:, 2]
        common = q[code == np.bincount(code).argmax()]
        bg = sample[code == np.bincount(code).argmax()].astype(np.float32).mean(axis=0) if len(common) else 0.0
        strokes = np.zeros(rgb.shape[:2], bool)
        for ch in range(3):  # channel by channel: no float copy of the whole image
            strokes |= np.abs(rgb[..., ch].astype(np.float32) - float(bg[ch])) > STROKE_THRESHOLD * full
    h, w = strokes.shape
    H, W = size
    if (h, w) != (H, W):
        if abs((w / h) / (W / H) - 1) > ASPECT_TOLERANCE:
            raise InputError(f"grain strokes are {w}×{h} px but the sketch is {W}×{H}: draw the strokes on an image "
                             "the sketch's size (or the same shape at another resolution)")
        strokes = resize_strokes(strokes, (H, W)) >= 0.5
        notes.append(f"grain strokes resized from {w}×{h} to {W}×{H}")
    if not strokes.any():
        raise InputError("grain strokes: no stroke found (every pixel is the background colour); draw the grain "
                         "lines in any colour on a plain background")
    if strokes.mean() > 0.5:
        raise InputError("grain strokes: more than half the image differs from its background; draw thin lines "
                         "along the grain on a plain background")
    return strokes.astype(np.float32), notes


def resize_strokes(strokes: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Stroke presence ``(h, w)`` → ``(H, W)`` float {0, 1}; shrinking keeps every stroke (max pooling)."""
    t = torch.from_numpy(np.asarray(strokes, dtype=np.float32))[None, None]
    if tuple(t.shape[-2:]) == tuple(size):
        return t[0, 0].numpy()
    if t.shape[-2] > size[0] or t.shape[-1] > size[1]:
        return torch.nn.functional.adaptive_max_pool2d(t, size)[0, 0].numpy()
    return torch.nn.functional.interpolate(t, size=size, mode="nearest")[0, 0].numpy()

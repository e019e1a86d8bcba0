"""Does a region mask lie on the blank page outside the drawing? (The render's "check that it lines up" note.)

The full classical line-art partition answers this exactly but costs seconds per sketch (1.7 s at 2000×2400, more
on a busy machine) on every render, only to write a note that almost never appears. :class:`PageCheck` first asks a
cheap question — the light pixels connected to the image border, on a ≤ 512 px copy whose lines were kept by
min-pooling and thickened by one pixel (milliseconds) — and only when that says "mostly on the page" confirms it with
the partition (cached per sketch by :mod:`garmentstyle.segment.lineart`). The cheap page is (up to the one-pixel
thickening) a superset of the page the partition finds, so a mask the cheap check clears would have been cleared by
the partition too; what it flags is confirmed exactly as before.
"""
from __future__ import annotations

import math
from typing import Optional

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from .colour import luminance

__all__ = ["PageCheck", "SUSPICIOUS"]

#: Fraction of a mask on the page above which the note is written.
SUSPICIOUS = 0.5
#: Longest side of the cheap check's working copy.
CHEAP_SIDE = 512
#: Largest sketch (pixels) the confirming partition runs on (a check, not worth seconds on a print-size scan).
MAX_PARTITION_PIXELS = 6_000_000


class PageCheck:
    """Per sketch; ``fraction_on_page(mask)`` per region.

    Args: sketch ``(1, 3, H, W)`` float in [0, 1] (the native sketch the masks are drawn on).
    """

    def __init__(self, sketch: torch.Tensor) -> None:
        self.sketch = sketch
        self._cheap: Optional[torch.Tensor] = None
        self._cell = 1
        self._exact: Optional[torch.Tensor] = None
        self._exact_done = False

    def _cheap_page(self) -> torch.Tensor:
        """``(h, w)`` bool at ≤ ``CHEAP_SIDE`` px: light pixels connected to the border, lines kept."""
        if self._cheap is None:
            lum = luminance(self.sketch.float())[0]  # (1, H, W)
            H, W = lum.shape[-2:]
            k = max(1, math.ceil(max(H, W) / CHEAP_SIDE))
            dark = -F.max_pool2d(-lum[None], k, stride=k, ceil_mode=True)[0, 0] if k > 1 else lum[0]
            paper = float(torch.quantile(dark.flatten()[:: max(1, dark.numel() // 100_000)], 0.98))
            ink = (dark < 0.75 * max(paper, 0.05)).numpy().view(np.uint8)
            # One-pixel cross dilation and 4-connected components of the rest (scipy's binary_dilation and label
            # defaults, the same page) in OpenCV: ~5× faster on the ≤ 512 px copy.
            ink = cv2.dilate(ink, cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3)),
                             borderType=cv2.BORDER_CONSTANT, borderValue=0)
            n, lab = cv2.connectedComponents(1 - ink, connectivity=4)
            on_border = np.zeros(n, dtype=bool)
            on_border[np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]])] = True
            on_border[0] = False  # OpenCV's 0 is the ink itself
            self._cheap = torch.from_numpy(on_border[lab])
            self._cell = k
        return self._cheap

    def _exact_page(self) -> Optional[torch.Tensor]:
        """``(h, w)`` bool at the partition's working size, or None when the sketch is not line art it reads."""
        if not self._exact_done:
            self._exact_done = True
            from .errors import GarmentStyleError
            from .segment.lineart import partition

            if self.sketch.shape[-1] * self.sketch.shape[-2] <= MAX_PARTITION_PIXELS:
                try:
                    self._exact = torch.from_numpy(np.asarray(partition(self.sketch).labels) == 0)
                except GarmentStyleError:
                    self._exact = None
        return self._exact

    @staticmethod
    def _fraction(page: torch.Tensor, mask: torch.Tensor) -> float:
        m = F.interpolate(mask[None, None].float(), size=tuple(page.shape), mode="bilinear", antialias=True,
                          align_corners=False)[0, 0] >= 0.5
        return float((page & m).sum()) / max(1.0, float(m.sum()))

    def fraction_on_page(self, mask: torch.Tensor) -> Optional[float]:
        """Share of ``mask`` ``(H, W)`` (in [0, 1], the sketch's size) on the blank page; None when unknown (not line
        art the partition reads). Below :data:`SUSPICIOUS` from the cheap check, the partition is never run."""
        cheap = self._fraction(self._cheap_page(), mask)
        if cheap <= SUSPICIOUS:
            return cheap
        exact = self._exact_page()
        return None if exact is None else self._fraction(exact, mask)

"""The camera's own steps, shared by the degraded swatch photos (:mod:`.degrade`) and the degraded sketch scans
(:mod:`.degrade_sketch`): sensor noise and a JPEG round trip.

Only these are shared: the *light* differs on purpose between the two (a swatch photo gets a gradient, a centred
vignette and a soft blob of shadow; a page gets an off-centre vignette, a shadow from one side and a warm cast), so
each generator keeps its own light field.
"""
from __future__ import annotations

import cv2
import numpy as np


def sensor_noise(img: np.ndarray, sigma: float, rng: np.random.Generator, *,
                 signal_dependent: bool = False) -> np.ndarray:
    """``img`` (float, [0, 1]) plus Gaussian noise of std ``sigma`` drawn from ``rng``.

    ``signal_dependent``: the noise grows with brightness (×0.5 in the blacks to ×1 in the whites: shot noise
    on top of read noise), as on a phone photo of cloth; otherwise it is uniform (a flatbed scan) and added in
    ``img``'s dtype. Not clipped."""
    n = rng.normal(0, sigma, img.shape)
    if signal_dependent:
        return img + n * (0.5 + 0.5 * np.sqrt(np.clip(img, 0, 1)))
    return img + n.astype(img.dtype)


def jpeg_roundtrip(u8: np.ndarray, quality: int) -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB through JPEG at ``quality`` (1-100) and back: the blocking and ringing a phone or
    scanner's JPEG adds."""
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(u8, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 RGB image
        raise ValueError("JPEG encoding failed")
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)

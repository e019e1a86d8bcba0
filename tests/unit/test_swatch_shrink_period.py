"""swatch.tile when shrinking (zoom < 1): the repeat on the canvas is swatch width × zoom (the prefilter used to
leave the wrong zoom, halving the repeat again at zoom 0.5)."""
import numpy as np
import pytest
import torch

from garmentstyle import swatch


@pytest.mark.parametrize("zoom", [2.0, 1.0, 0.5, 0.25])
def test_repeat_is_width_times_zoom(zoom):
    s = torch.zeros(1, 3, 64, 64)
    s[..., :, :8] = 1.0
    row = swatch.tile(s, (256, 256), zoom=zoom)[0, 0, 0].numpy()
    spectrum = np.abs(np.fft.rfft(row - row.mean()))
    period = 256 / int(spectrum.argmax())
    assert period == pytest.approx(64 * zoom, rel=0.02)

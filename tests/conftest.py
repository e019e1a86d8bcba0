"""Shared fixtures: small synthetic sketches and swatches drawn in code, and the real material in ../shared/data."""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# Style targets on disk (garmentstyle.target_store) go to a folder of this test run, never the developer's
# ~/.cache: set at import, so fixtures of any scope and the app servers the UI tests start inherit it.
os.environ["GARMENTSTYLE_CACHE"] = _CACHE_DIR = tempfile.mkdtemp(prefix="gs-test-cache-")
atexit.register(shutil.rmtree, _CACHE_DIR, ignore_errors=True)
torch.set_num_threads(min(2, os.cpu_count() or 1))

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    if not (SHARED_DATA / "sketches").is_dir():
        pytest.skip(f"real test material not found at {SHARED_DATA} (../shared/data beside the checkout)")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _no_real_weights(tmp_path_factory, monkeypatch):
    """Tests never pick up checkpoints a developer happens to have: weights are looked up in an empty folder."""
    empty = tmp_path_factory.mktemp("weights")
    monkeypatch.setenv("GARMENTSTYLE_WEIGHTS", str(empty))
    monkeypatch.setenv("TORCH_HOME", str(empty / "torch"))
    # style targets on disk (garmentstyle.target_store): one empty folder per test, never the developer's own
    monkeypatch.setenv("GARMENTSTYLE_CACHE", str(tmp_path_factory.mktemp("cache")))


def draw_sketch(h: int = 96, w: int = 96) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A toy flat: white paper, a black rectangle outline split by a seam, light shading.

    Returns sketch ``(1, 3, h, w)``, left mask ``(h, w)`` and right mask ``(h, w)`` (binary, outline included).
    """
    img = np.ones((h, w), np.float32)
    y0, y1, x0, x1 = h // 8, h - h // 8, w // 8, w - w // 8
    xm = w // 2
    img[y0:y1, x0:x1] = np.linspace(0.8, 0.95, x1 - x0)[None, :]  # grey shading
    img[y0:y0 + 2, x0:x1] = 0.0
    img[y1 - 2:y1, x0:x1] = 0.0
    img[y0:y1, x0:x0 + 2] = 0.0
    img[y0:y1, x1 - 2:x1] = 0.0
    img[y0:y1, xm - 1:xm + 1] = 0.0  # seam
    left = np.zeros((h, w), np.float32)
    right = np.zeros((h, w), np.float32)
    left[y0:y1, x0:xm] = 1.0
    right[y0:y1, xm:x1] = 1.0
    sketch = torch.from_numpy(img)[None, None].expand(1, 3, h, w).contiguous()
    return sketch, torch.from_numpy(left), torch.from_numpy(right)


def stripes(colour_a, colour_b, period: int = 8, size: int = 64, vertical: bool = False) -> torch.Tensor:
    """A seamless two-colour stripe swatch ``(1, 3, size, size)``."""
    idx = torch.arange(size)
    band = ((idx // (period // 2)) % 2).float()
    band = band[None, :] if vertical else band[:, None]
    band = band.expand(size, size)
    a = torch.tensor(colour_a, dtype=torch.float32).view(3, 1, 1)
    b = torch.tensor(colour_b, dtype=torch.float32).view(3, 1, 1)
    return (a * (1 - band) + b * band).unsqueeze(0)


def checker(colour_a, colour_b, period: int = 8, size: int = 64) -> torch.Tensor:
    idx = torch.arange(size)
    c = (((idx[:, None] // (period // 2)) + (idx[None, :] // (period // 2))) % 2).float()
    a = torch.tensor(colour_a, dtype=torch.float32).view(3, 1, 1)
    b = torch.tensor(colour_b, dtype=torch.float32).view(3, 1, 1)
    return (a * (1 - c) + b * c).unsqueeze(0)


@pytest.fixture
def toy():
    return draw_sketch()

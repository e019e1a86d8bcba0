"""An independent texture distance (not the loss being optimised): used by the render's "never worse than the
tiled baseline" check, the tests and the benchmarks.

Sliced Wasserstein distance between the distributions of k×k colour patches of two images (inside a mask for the
first): the prototype's metric (two samples of one swatch score 0.1–0.5 ×100).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def patches(image: torch.Tensor, k: int = 7, mask: torch.Tensor | None = None, stride: int = 1) -> torch.Tensor:
    """``(1, 3, H, W)`` → ``(N, 3·k·k)`` patches (only those fully inside ``mask`` ``(H, W)`` if given)."""
    p = F.unfold(image, k, stride=stride)[0].T  # (N, 3kk)
    if mask is not None:
        inside = F.unfold(mask[None, None].float(), k, stride=stride)[0].min(dim=0).values >= 0.5
        p = p[inside]
    return p


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, *, projections: int = 64, seed: int = 0) -> float:
    """Sliced W1 between two point clouds ``(N, D)`` and ``(M, D)``."""
    gen = torch.Generator().manual_seed(seed)
    d = a.shape[1]
    dirs = torch.randn(d, projections, generator=gen)
    dirs = dirs / dirs.norm(dim=0, keepdim=True)
    pa, pb = (a @ dirs).sort(dim=0).values, (b @ dirs).sort(dim=0).values
    n = min(len(pa), len(pb), 4096)
    qa = pa[torch.linspace(0, len(pa) - 1, n).long()]
    qb = pb[torch.linspace(0, len(pb) - 1, n).long()]
    return float((qa - qb).abs().mean())


def texture_distance(image: torch.Tensor, mask: torch.Tensor, swatch_canvas: torch.Tensor, k: int = 7) -> float:
    """×100 sliced-Wasserstein distance between ``image``'s patches inside ``mask`` and ``swatch_canvas``'s.

    Args: image ``(1, 3, H, W)``, mask ``(H, W)``, swatch_canvas ``(1, 3, h, w)``, all in [0, 1]. Patches are
    subsampled on a grid so one call costs milliseconds at any size; inf when the mask holds no whole patch.
    """
    stride = max(1, int((mask >= 0.5).sum().item() ** 0.5) // 96)
    pa = patches(image, k, mask, stride)
    if len(pa) < 8:
        return float("inf")
    cs = max(1, int(swatch_canvas.shape[-1] * swatch_canvas.shape[-2]) ** 0.5 // 96)
    return 100.0 * sliced_wasserstein(pa, patches(swatch_canvas, k, None, int(cs)))

"""The offline encoder: shallow multi-scale random filters over an image pyramid (no download, fixed seed).

After Ustyuzhaninov et al., "What does it take to generate natural textures?" (ICLR 2017): one layer of random
convolution filters + ReLU, with a Gram matrix per filter size, already synthesises convincing textures. Large
kernels (23 px) are what make repeats like tartan work, but they cost ~k² per pixel. Here the large receptive fields
come from a pyramid instead: small kernels at full resolution (3, 5, 7 px) and a 7 px kernel on each antialiased
½, ¼, ⅛, 1/16 level, reaching ~7·2^l px for a fraction of the cost (see bench/RESULTS.md).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .base import Encoder, LayerGeometry, Normalize

#: (pyramid level, kernel size) of every tapped layer, shallow to deep.
TEXTURE_LAYOUT: tuple[tuple[int, int], ...] = ((0, 3), (0, 5), (0, 7), (1, 7), (2, 7), (3, 7), (4, 7))


def _layer_name(level: int, k: int) -> str:
    return f"p{level}k{k}"


def _downsample(x: torch.Tensor) -> torch.Tensor:
    """Halve with an antialiasing filter (plain 2×2 averaging gave blocky checkerboards in the prototype)."""
    h, w = x.shape[-2:]
    return F.interpolate(x, size=(max(1, h // 2), max(1, w // 2)), mode="bilinear", antialias=True, align_corners=False)


class TextureEncoder(Encoder):
    """Random-filter pyramid encoder. Deterministic: the same ``seed`` gives the same filters on every machine.

    Args:
        filters: filters per kernel (64 was as good as 128 and half the cost in the prototype).
        seed: seed of the random filters.
        levels: how many pyramid levels to use (1–5); deeper levels see larger repeats.
    """

    name = "texture"
    pretrained = False
    description = "offline multi-scale random filters (no weights needed)"

    def __init__(self, *, filters: int = 64, seed: int = 0, levels: int = 5) -> None:
        super().__init__()
        self.norm = Normalize()
        layout = tuple((lv, k) for lv, k in TEXTURE_LAYOUT if lv < levels)
        gen = torch.Generator().manual_seed(seed)
        self.convs = nn.ModuleDict()
        geometry: dict[str, LayerGeometry] = {}
        for lv, k in layout:
            conv = nn.Conv2d(3, filters, k, padding=k // 2, padding_mode="reflect", bias=False)
            with torch.no_grad():
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=gen) * math.sqrt(2.0 / (3 * k * k)))
            conv.weight.requires_grad_(False)
            name = _layer_name(lv, k)
            self.convs[name] = conv
            s = 2**lv
            # Each antialiased halving widens the support by ~3 px of its input; be conservative (erode a bit more).
            field = k * s + (3 * (s - 1) if lv else 0)
            geometry[name] = LayerGeometry(field=field, stride=s, channels=filters, offset=(s - 1) / 2.0)
        self.layout = layout
        self.style_layers = tuple(_layer_name(lv, k) for lv, k in layout)
        # The pyramid's middle level carries the most structure; used only if a content weight is set.
        self.content_layer = _layer_name(min(2, levels - 1), 7)
        self.geometry = geometry
        self.layer_weights = {n: 1.0 for n in self.style_layers}

    def forward(self, image: torch.Tensor, layers: tuple[str, ...] | None = None) -> dict[str, torch.Tensor]:
        want = set(layers or self.layers)
        x = self.norm(image)
        out: dict[str, torch.Tensor] = {}
        deepest = max(lv for lv, k in self.layout if _layer_name(lv, k) in want)
        level_img = x
        for lv in range(deepest + 1):
            if lv:
                level_img = _downsample(level_img)
            for lv2, k in self.layout:
                name = _layer_name(lv2, k)
                if lv2 == lv and name in want:
                    pad_ok = min(level_img.shape[-2:]) > k // 2
                    conv = self.convs[name]
                    if pad_ok:
                        out[name] = F.relu(conv(level_img))
                    else:  # tiny level: reflect padding impossible, fall back to zero padding
                        out[name] = F.relu(F.conv2d(level_img, conv.weight, padding=k // 2))
        return out

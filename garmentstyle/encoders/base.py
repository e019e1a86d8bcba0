"""The one interface every feature extractor ("encoder") implements.

An encoder maps an image batch ``(B, 3, H, W)`` float RGB in [0, 1] to named feature maps ``{layer: (B, C, h, w)}``
and describes, per layer, the geometry that guidance propagation needs: the receptive field in input pixels and the
stride (input pixels per feature cell). With those, a region's guide can be eroded *exactly* so only neurons whose
receptive field lies inside the region count (Gatys et al. 2017, "inside" guides).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class LayerGeometry:
    """Where a layer's cell ``(i, j)`` looks in the input.

    Cell ``i`` is centred on input pixel ``i * stride + offset`` and sees ``field`` pixels around it (a square of side
    ``field``, centred). ``channels`` is the layer's width C.
    """

    field: int
    stride: int
    channels: int
    offset: float = 0.0


class Encoder(nn.Module):
    """Base class: subclasses set the attributes below and implement :meth:`forward`.

    Attributes:
        name: registry name ("vgg19", "texture", …).
        pretrained: True when real trained weights are loaded (reported to the user).
        style_layers: layers whose guided Gram matrices are matched, shallow to deep.
        content_layer: the layer used for the content loss, or None.
        geometry: :class:`LayerGeometry` for every tapped layer.
        layer_weights: relative style weight per layer.
        gram_norm: "channels" divides each layer's ‖G − A‖² by C_l² (Gatys 2016, for VGG19, whose layers differ in
            width and scale); "target" divides by ‖A‖² (the prototype's finding for the equal-width texture layers).
        coarse_to_fine: whether automatic ``levels`` use a √2 pyramid for noise/content/style starts (Gatys 2017
            for VGG19, whose receptive field is small next to a large output; the texture encoder's pyramid already
            sees large scales and measured worse with it, see bench/RESULTS.md).
    """

    name: str = "base"
    pretrained: bool = False
    style_layers: tuple[str, ...] = ()
    content_layer: str | None = None
    geometry: dict[str, LayerGeometry] = {}
    layer_weights: dict[str, float] = {}
    gram_norm: str = "target"
    coarse_to_fine: bool = False
    repairs_tiling: bool = False
    description: str = ""

    def forward(self, image: torch.Tensor, layers: tuple[str, ...] | None = None) -> dict[str, torch.Tensor]:
        """Args: image ``(B, 3, H, W)`` float RGB in [0, 1]. Returns ``{layer: (B, C, h, w)}`` for ``layers``."""
        raise NotImplementedError

    def fingerprint(self) -> str:
        """What the features depend on besides the input: the class, name, pooling and a hash of the weights (each
        parameter's and buffer's name, shape and first and last 1024 values — a changed checkpoint changes them,
        and sampling keeps it ~1 ms for VGG19's 80 MB). Cached targets are keyed by it, so two checkpoints never
        share them. Computed once per instance (the weights of a built encoder do not change)."""
        cached = self.__dict__.get("_fingerprint")
        if cached is not None:
            return cached
        h = hashlib.sha1(f"{type(self).__name__}/{self.name}/{getattr(self, 'pooling', '')}".encode())
        with torch.no_grad():
            for n, t in list(self.named_parameters()) + list(self.named_buffers()):
                flat = t.detach().reshape(-1)
                h.update(f"{n}{tuple(t.shape)}{t.dtype}".encode())
                for part in (flat[:1024], flat[-1024:]):
                    h.update(part.to("cpu", torch.float32).contiguous().numpy().tobytes())
        self.__dict__["_fingerprint"] = value = h.hexdigest()
        return value

    @property
    def layers(self) -> tuple[str, ...]:
        tapped = list(self.style_layers)
        if self.content_layer and self.content_layer not in tapped:
            tapped.append(self.content_layer)
        return tuple(tapped)

    def feature_size(self, size: tuple[int, int], layer: str) -> tuple[int, int]:
        """``(h, w)`` of ``layer``'s feature map for an input of ``size`` ``(H, W)``: every downsampling step in these
        encoders halves with floor (2×2 pooling, or the texture pyramid's ``h // 2``)."""
        s = self.geometry[layer].stride
        return max(1, size[0] // s), max(1, size[1] // s)

    def max_field(self, layers: tuple[str, ...] | None = None) -> int:
        names = layers or self.layers
        return max(self.geometry[n].field for n in names)


IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class Normalize(nn.Module):
    """ImageNet mean/std normalisation as a module (so it is part of the traced graph and moves with ``.to``)."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std

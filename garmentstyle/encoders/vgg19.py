"""VGG19 (torchvision, ImageNet IMAGENET1K_V1) as a style/content encoder, as in Gatys et al. 2016/2017.

Taps relu1_1 … relu5_1 for style and conv4_2 for content (rectified, as in the original Caffe code whose ReLUs are
in-place), truncated after the deepest tap. Average pooling (the papers' choice for smoother gradients) or max
pooling. Only the ``features`` part of the checkpoint is read (memory-mapped; the network is built directly, without
torchvision's classifier, so set-up costs milliseconds rather than seconds).
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..errors import InputError, OptionsError
from .base import Encoder, LayerGeometry, Normalize

POOLINGS: tuple[str, ...] = ("avg", "max")

#: VGG19 ``features`` indices: name → index of the module whose *output* is tapped.
_TAPS = {
    "relu1_1": 1,
    "relu2_1": 6,
    "relu3_1": 11,
    "relu4_1": 20,
    "conv4_2": 22,  # rectified conv4_2 response
    "relu5_1": 29,
}
#: Receptive field (px), stride and width of each tap; see README "How the guides are eroded".
_GEOMETRY = {
    "relu1_1": LayerGeometry(field=3, stride=1, channels=64, offset=0.0),
    "relu2_1": LayerGeometry(field=10, stride=2, channels=128, offset=0.5),
    "relu3_1": LayerGeometry(field=24, stride=4, channels=256, offset=1.5),
    "relu4_1": LayerGeometry(field=68, stride=8, channels=512, offset=3.5),
    "conv4_2": LayerGeometry(field=84, stride=8, channels=512, offset=3.5),
    "relu5_1": LayerGeometry(field=156, stride=16, channels=512, offset=7.5),
}


#: torchvision's VGG19 ``features`` configuration ("M" = 2×2 pooling); indices follow torchvision's numbering.
_CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M")


def _vgg19_features(upto: int, *, device: str | torch.device | None = None) -> nn.Sequential:
    """torchvision's VGG19 ``features[: upto + 1]``, built directly: no classifier (its 120 M parameters were built
    and randomly initialised only to be thrown away), nothing past the deepest tap. ``device="meta"`` allocates
    nothing (the checkpoint's tensors are then assigned). Random weights follow torchvision's init (Kaiming normal,
    fan-out, zero bias)."""
    layers: list[nn.Module] = []
    channels = 3
    for v in _CFG:
        if len(layers) > upto:
            break
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
            continue
        conv = nn.Conv2d(channels, int(v), 3, padding=1, device=device)
        if device != "meta":
            nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(conv.bias)
        layers += [conv, nn.ReLU(inplace=True)]
        channels = int(v)
    return nn.Sequential(*layers[: upto + 1])


def _load_features(checkpoint: str | Path, upto: int) -> nn.Sequential:
    """The features up to ``upto`` with the checkpoint's weights (torchvision's full file or a features-only one).
    Memory-mapped, so the classifier's 470 MB in the full file are never read."""
    try:
        try:
            state = torch.load(str(checkpoint), map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError:  # legacy (non-zip) files cannot be memory-mapped
            state = torch.load(str(checkpoint), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise InputError(f"{checkpoint}: not a readable VGG19 checkpoint ({exc}); re-download it with "
                         "`garmentstyle weights download vgg19 --force`") from None
    if not isinstance(state, dict):
        raise InputError(f"{checkpoint}: not a VGG19 state dict; re-download it with "
                         "`garmentstyle weights download vgg19 --force`")
    feats = _vgg19_features(upto, device="meta")
    want = feats.state_dict()
    sub = {k[len("features."):]: v for k, v in state.items() if k.startswith("features.")
           and k[len("features."):] in want}
    missing = sorted(set(want) - set(sub), key=lambda k: int(k.split(".")[0]))
    wrong = [k for k in sub if tuple(sub[k].shape) != tuple(want[k].shape)]
    if missing or wrong:
        what = f"missing {', '.join(missing[:3])}" if missing else f"wrong shape for {', '.join(wrong[:3])}"
        raise InputError(f"{checkpoint}: does not hold VGG19 features ({what}); re-download it with "
                         "`garmentstyle weights download vgg19 --force`")
    feats.load_state_dict({k: v.detach().clone().float() for k, v in sub.items()}, strict=True, assign=True)
    return feats


class VGG19Encoder(Encoder):
    """VGG19 features up to relu5_1.

    Args:
        checkpoint: path to torchvision's ``vgg19-dcbb9e9d.pth`` or the features-only file; None builds a randomly
            initialised network (tests only: its ``pretrained`` is False and reports say so).
        pooling: "avg" (default, as in Gatys et al.) or "max".
    """

    name = "vgg19"
    style_layers = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
    content_layer = "conv4_2"
    gram_norm = "channels"
    coarse_to_fine = True
    repairs_tiling = True
    description = "VGG19 ImageNet (torchvision IMAGENET1K_V1)"

    def __init__(self, checkpoint: str | Path | None = None, *, pooling: str = "avg") -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise OptionsError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        last = max(_TAPS.values())
        feats = _vgg19_features(last) if checkpoint is None else _load_features(checkpoint, last)
        self.pretrained = checkpoint is not None
        layers: list[nn.Module] = []
        for i, m in enumerate(feats[: last + 1]):
            if isinstance(m, nn.ReLU):
                m = nn.ReLU(inplace=False)
            elif isinstance(m, nn.MaxPool2d) and pooling == "avg":
                m = nn.AvgPool2d(2, 2)
            layers.append(m)
        self.body = nn.Sequential(*layers)
        for p in self.body.parameters():
            p.requires_grad_(False)
        self.norm = Normalize()
        self.pooling = pooling
        self.geometry = dict(_GEOMETRY)
        self.layer_weights = {n: 1.0 for n in self.style_layers}
        self.eval()

    def forward(self, image: torch.Tensor, layers: tuple[str, ...] | None = None) -> dict[str, torch.Tensor]:
        want = layers or self.layers
        stop = max(_TAPS[n] for n in want)
        by_index = {_TAPS[n]: n for n in want}
        x = self.norm(image)
        out: dict[str, torch.Tensor] = {}
        for i, m in enumerate(self.body):
            x = m(x)
            if i in by_index:
                out[by_index[i]] = x
            if i >= stop:
                break
        return out

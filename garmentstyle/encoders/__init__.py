"""Feature extractors behind one interface (:class:`Encoder`), chosen by name.

``auto`` picks ``vgg19`` when its ImageNet weights are on disk, else the offline ``texture`` encoder; the choice is
always reported (``Encoder.name`` / ``Encoder.pretrained``) so a render never claims a model it did not use.
"""
from __future__ import annotations

from ..cache import LRUCache
from ..resources import register
from ..errors import OptionsError
from .base import Encoder, LayerGeometry

from ..options import ENCODERS  # defined torch-free with the other option choices

__all__ = ["Encoder", "LayerGeometry", "ENCODERS", "get", "resolve_name"]


def resolve_name(name: str) -> str:
    """The encoder ``name`` stands for: ``auto`` → ``vgg19`` if its weights are found, else ``texture``."""
    if name not in ENCODERS:
        raise OptionsError(f"unknown encoder {name!r}; choose one of {', '.join(ENCODERS)}")
    if name != "auto":
        return name
    from .. import weights

    return "vgg19" if weights.find("vgg19") is not None else "texture"


#: Ready encoders per (name, pooling, device, checkpoint): built once per process, shared by threads (a second
#: thread asking for the same encoder waits for the first build instead of building its own).
ENCODER_CACHE: LRUCache = register("encoders", LRUCache(4))


def _build(name: str, pooling: str, device: str, checkpoint: str | None) -> Encoder:
    return ENCODER_CACHE.get((name, pooling, device, checkpoint), lambda: _make(name, pooling, device, checkpoint))


def _make(name: str, pooling: str, device: str, checkpoint: str | None) -> Encoder:
    if name == "vgg19":
        from .vgg19 import VGG19Encoder

        enc: Encoder = VGG19Encoder(checkpoint, pooling=pooling)
    else:
        from .texture import TextureEncoder

        enc = TextureEncoder()
    return enc.to(device).eval()


def get(name: str = "auto", *, pooling: str = "avg", device: str = "cpu") -> Encoder:
    """A ready encoder (built once per process and cached). ``vgg19`` without its weights raises
    :class:`~garmentstyle.errors.WeightsNotFoundError` with the command that fetches them."""
    resolved = resolve_name(name)
    checkpoint = None
    if resolved == "vgg19":
        from .. import weights

        checkpoint = str(weights.require("vgg19"))  # part of the cache key: a moved/replaced file is reloaded
    return _build(resolved, pooling, str(device), checkpoint)

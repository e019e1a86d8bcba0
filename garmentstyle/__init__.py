"""garmentstyle: render fabric swatches into the regions of a garment sketch (spatially guided style transfer).

The public API is imported lazily so that ``import garmentstyle`` stays cheap and has no side effects.
"""
from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["render", "Region", "RenderOptions", "RenderResult", "RenderReport", "Progress", "segment", "__version__"]


def __getattr__(name: str):  # PEP 562 lazy exports
    if name in ("render", "Region", "RenderOptions", "RenderResult", "RenderReport", "Progress"):
        from . import api

        return getattr(api, name)
    if name == "segment":
        import importlib

        return importlib.import_module(".segment", __name__)
    raise AttributeError(f"module 'garmentstyle' has no attribute {name!r}")

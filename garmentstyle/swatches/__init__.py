"""Swatch preparation: any fabric photo → a seamless, evenly lit repeat (issue 7).

``prepare(image, mode="auto") -> PreparedSwatch`` is the one entry point (``.tile`` ``(1, 3, h, w)`` in [0, 1],
``.report`` a :class:`PrepareReport`, ``.lattice`` the repeat found, ``.outline()`` its corners on the upload).
Modules, one job each: :mod:`.analyse` (tileability, lattice, light), :mod:`.flatten` (illumination),
:mod:`.lattice` (straighten + cut an exact repeat), :mod:`.quilt` (offline synthesis on a torus), :mod:`.gram`
(VGG19 Gram synthesis on a circular canvas), :mod:`.checks` (bad input), :mod:`.pipeline` (orchestration + cache),
:mod:`.scale` (true scale in cm).

The types import without scipy; ``prepare`` and the analysis functions load on first use.
"""
from __future__ import annotations

import importlib
from typing import Any

from .types import PREPARE_MODES, Analysis, Lattice, PrepareReport, PreparedSwatch

__all__ = ["prepare", "PreparedSwatch", "PrepareReport", "Lattice", "Analysis", "PREPARE_MODES", "CACHE",
           "find_lattice", "light_unevenness", "seam_ratio"]

_LAZY = {"prepare": "pipeline", "CACHE": "pipeline", "find_lattice": "analyse", "light_unevenness": "analyse",
         "seam_ratio": "analyse"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

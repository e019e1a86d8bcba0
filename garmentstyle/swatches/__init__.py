"""Swatch preparation: any fabric photo → a seamless, evenly lit repeat (issue 7).

``prepare(image, mode="auto") -> PreparedSwatch`` is the one entry point (``.tile`` ``(1, 3, h, w)`` in [0, 1],
``.report`` a :class:`PrepareReport`, ``.lattice`` the repeat found, ``.outline()`` its corners on the upload).
Modules, one job each: :mod:`.analyse` (tileability, lattice, light), :mod:`.flatten` (illumination),
:mod:`.lattice` (straighten + cut an exact repeat), :mod:`.quilt` (offline synthesis on a torus), :mod:`.gram`
(VGG19 Gram synthesis on a circular canvas), :mod:`.checks` (bad input), :mod:`.prepare` (orchestration + cache).
"""
from __future__ import annotations

from .analyse import analyse, find_lattice, light_unevenness, seam_ratio
from .prepare import CACHE, prepare
from .types import PREPARE_MODES, Analysis, Lattice, PrepareReport, PreparedSwatch

__all__ = ["prepare", "PreparedSwatch", "PrepareReport", "Lattice", "Analysis", "PREPARE_MODES", "CACHE", "analyse",
           "find_lattice", "light_unevenness", "seam_ratio"]

"""Texture mapping: the fabric follows the garment (grain lines, drape).

``build(mask, sketch, grain="straight"|"auto"|STROKES, rotation=0, drape=0) -> Mapping``; a :class:`Mapping` is the
``RegionSpec.mapping`` hook of :mod:`garmentstyle.canvas` (every canvas of a render samples the swatch through it)
and gives the UI a cheap ``preview(swatch, zoom=…, size=…)``. See :mod:`.builder`.
"""
from .builder import GRAINS, Mapping, MappingStats, build
from .orient import Orientation, axis_difference, orientation
from .sample import wrap_cubic

__all__ = ["GRAINS", "Mapping", "MappingStats", "build", "Orientation", "axis_difference", "orientation",
           "wrap_cubic"]

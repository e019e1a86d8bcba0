"""True scale: centimetres on the fabric and on the sketch → pattern scale in swatch px per sketch px.

A region may say how big its swatch is in reality (``swatch_cm``: the width of the photo as given) or how big one
repeat is (``repeat_cm``); the sketch says how big it is (``sketch_cm``: its height, or ``sketch_dpi``). Both sides
then convert to pixels per cm and the pattern scale is their ratio. Pure arithmetic, no torch.
"""
from __future__ import annotations

from typing import Optional

from ..errors import OptionsError


def sketch_px_per_cm(sketch_height_px: int, *, sketch_cm: float, sketch_dpi: float) -> Optional[float]:
    """Sketch pixels per cm from its height in cm or its dpi (dpi wins when both are given); None if neither."""
    if sketch_dpi and sketch_dpi > 0:
        return sketch_dpi / 2.54
    if sketch_cm and sketch_cm > 0:
        return sketch_height_px / sketch_cm
    return None


def pattern_scale(*, name: str, tile_px_per_source_px: float, source_width_px: int, repeat_px: float,
                  swatch_cm: Optional[float], repeat_cm: Optional[float], sketch_px_cm: Optional[float]) -> float:
    """Swatch (tile) px per sketch px for a region given in cm.

    Args:
        tile_px_per_source_px: the prepared tile's pixels per pixel of the file the user gave.
        source_width_px: width of that file.
        repeat_px: one repeat in tile px (the report's ``repeat_px``).
        swatch_cm / repeat_cm: the real width of the file / of one repeat (``repeat_cm`` wins when both given).
        sketch_px_cm: sketch px per cm (:func:`sketch_px_per_cm`).

    Raises:
        OptionsError: a size in cm without the sketch's physical size.
    """
    if sketch_px_cm is None:
        raise OptionsError(f"region {name}: swatch_cm / repeat_cm give the fabric's real size, but the sketch's size "
                           "is unknown; give the sketch's height in cm (--sketch-cm, RenderOptions.sketch_cm) or "
                           "its resolution (--sketch-dpi, RenderOptions.sketch_dpi)")
    if repeat_cm:
        tile_px_cm = repeat_px / repeat_cm
    else:
        tile_px_cm = source_width_px * tile_px_per_source_px / float(swatch_cm)
    return tile_px_cm / sketch_px_cm

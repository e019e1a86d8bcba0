"""Exports: the PNG, a layered ZIP, and the recipe JSON that reproduces a render.

A recipe names the sketch, every region (mask file, swatch file, scale, rotation, …) and every render option with
the seed; ``garmentstyle render --recipe recipe.json`` renders it again. Paths inside a recipe are relative to the
recipe's folder, so an unzipped bundle renders as it is.
"""
from __future__ import annotations

import io as _io
import json
import zipfile
from pathlib import Path
from typing import Any, Callable, Sequence

from . import io
from .api import Region, RenderOptions, RenderResult
from .errors import InputError, OptionsError

from .recipe import RECIPE_VERSION  # noqa: E402 - the schema lives in recipe.py
_REGION_KEYS = ("name", "scale", "repeat", "rotation", "style_weight", "tileable")


#: zlib level of the bundle's PNG layers: 3 takes half the time of PIL's default 6 (a 2048 px render's five layers
#: 1.6 → 0.76 s) for files 5–13 % larger — the project ZIP is rewritten after every render in the app.
BUNDLE_PNG_LEVEL = 3


def png_bytes(img) -> bytes:
    """``img`` (PIL) as PNG bytes at the export dpi, at :data:`BUNDLE_PNG_LEVEL` (the app's project file too)."""
    buf = _io.BytesIO()
    img.save(buf, format="PNG", dpi=(io.EXPORT_DPI, io.EXPORT_DPI), compress_level=BUNDLE_PNG_LEVEL)
    return buf.getvalue()


def recipe_dict(sketch: str, regions: Sequence[dict], options: RenderOptions) -> dict:
    """A recipe: ``regions`` are dicts with ``mask`` and ``swatch`` file names plus :class:`Region` fields."""
    return {"garmentstyle_recipe": RECIPE_VERSION, "sketch": sketch, "regions": list(regions),
            "options": options.to_dict()}


def load_recipe(path: str | Path, *, allow_outside_paths: bool = False) -> tuple[Path, list[Region], RenderOptions]:
    """Read a recipe JSON → (sketch path, regions, options), validated as untrusted input by
    :func:`garmentstyle.recipe.load` (schema, limits, paths confined to the recipe's folder unless allowed)."""
    from . import recipe

    r = recipe.load(path, allow_outside_paths=allow_outside_paths)
    return r.sketch, r.regions, r.options


def _bundle_grain(region: Region, safe: str, files: dict[str, bytes], result: RenderResult) -> str:
    """The recipe's ``grain``: "straight" / "auto" as they are; grain strokes (a file or an array) are written into
    the bundle as ``grain/<region>.png`` at the bundled sketch's size (black strokes on white) and named."""
    import numpy as np
    from PIL import Image

    from .mapping.strokes import resize_strokes, stroke_map

    if isinstance(region.grain, str) and region.grain in ("straight", "auto"):
        return region.grain
    w, h = result.report.sketch_size
    strokes, _ = stroke_map(region.grain, (h, w))
    strokes = resize_strokes(strokes, tuple(result.sketch.shape[-2:])) >= 0.5
    files[f"grain/{safe}.png"] = png_bytes(Image.fromarray(np.where(strokes, 0, 255).astype(np.uint8)))
    return f"grain/{safe}.png"


def zip_bytes(files: dict[str, bytes]) -> bytes:
    """A ZIP of ``files`` (member name → bytes, in order): PNGs stored as they are (already deflated: a second
    deflate costs time and saves nothing), everything else deflated."""
    buf = _io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data, compress_type=zipfile.ZIP_STORED if name.endswith(".png") else None)
    return buf.getvalue()


def bundle(result: RenderResult, regions: Sequence[Region], path: str | Path, *,
           swatch_sources: Sequence[Any] | None = None, transparent: bool = False) -> Path:
    """Write a layered ZIP (atomically) holding :func:`bundle_files`.

    ``transparent`` is accepted for older callers and changes nothing: the bundle always holds both the opaque
    ``render.png`` and ``render_transparent.png``."""
    del transparent  # both renders are always in the bundle
    return io.atomic_write_bytes(path, zip_bytes(bundle_files(result, regions, swatch_sources=swatch_sources)))


def bundle_files(result: RenderResult, regions: Sequence[Region], *, swatch_sources: Sequence[Any] | None = None,
                 swatch_png: Callable[[Any], bytes] | None = None) -> dict[str, bytes]:
    """The layered ZIP's members: ``render.png``, ``render_transparent.png``, ``sketch.png``, ``lineart.png`` (the
    ink layer the render laid over the fabric: the sketch's own line pixels at the ink opacity the finishing used,
    on transparency — lines, not the shading), ``fabric.png``, ``masks/<region>.png``, ``swatches/<region>.png``,
    ``report.json`` and ``recipe.json`` (renders this bundle again with ``garmentstyle render --recipe``).
    ``swatch_png(source)`` gives a swatch's PNG bytes (the app passes its per-session cache: a swatch is encoded
    once, not on every preview); default: load and encode it."""
    swatch_png = swatch_png or (lambda source: png_bytes(io.to_pil(io.load_image(source))))
    names = [r.name for r in result.report.regions]
    files: dict[str, bytes] = {}
    files["render.png"] = png_bytes(io.to_pil(result.image))
    files["render_transparent.png"] = png_bytes(io.to_pil(result.image, alpha=result.alpha))
    files["sketch.png"] = png_bytes(io.to_pil(result.sketch))
    files["lineart.png"] = png_bytes(io.to_pil(result.sketch, alpha=result.ink_layer()))
    files["fabric.png"] = png_bytes(io.to_pil(result.fabric, alpha=result.alpha))
    region_entries = []
    sources = list(swatch_sources) if swatch_sources is not None else [r.swatch for r in regions]
    for i, (name, region) in enumerate(zip(names, regions)):
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name) or f"region{i + 1}"
        files[f"masks/{safe}.png"] = png_bytes(io.mask_to_pil(result.masks[i]))
        files[f"swatches/{safe}.png"] = swatch_png(sources[i])
        rep = result.report.regions[i]
        per_source = rep.prepare.tile_px_per_source_px if rep.prepare is not None else 1.0
        region_entries.append({"name": name, "mask": f"masks/{safe}.png", "swatch": f"swatches/{safe}.png",
                               "scale": rep.scale * result.report.sketch_size[0] / result.sketch.shape[-1]
                               / (per_source or 1.0),
                               "rotation": region.rotation, "style_weight": region.style_weight,
                               "tileable": region.tileable, "drape": region.drape,
                               "prepare": region.prepare, "swatch_cm": region.swatch_cm,
                               "repeat_cm": region.repeat_cm,
                               "grain": _bundle_grain(region, safe, files, result),
                               "colourway": list(region.colourway) if region.colourway else None})
    opts = result.report.options.to_dict()
    opts["size"] = 0  # the bundled sketch is already at the output size
    if opts.get("sketch_dpi"):  # …so its dpi scales with it (sketch_cm, a height, does not change)
        opts["sketch_dpi"] = opts["sketch_dpi"] * result.sketch.shape[-1] / result.report.sketch_size[0]
    try:
        options = RenderOptions.from_dict(opts)
    except OptionsError:  # pragma: no cover - options came from a validated render
        options = RenderOptions()
    files["recipe.json"] = json.dumps(recipe_dict("sketch.png", region_entries, options), indent=2).encode()
    files["report.json"] = json.dumps(result.report.to_json(), indent=2, default=str).encode()
    return files

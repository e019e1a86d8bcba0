"""Batch files: a list of recipes, or a cross product of sketches × fabrics × colourways, checked before any work.

A batch file (paths inside are relative to its folder) is one of:

- a JSON **list** of recipes (the ``recipe.json`` format of :mod:`garmentstyle.recipe`; ``garmentstyle_recipe`` may
  be left out) each with an ``"out"`` file name and optional ``"labels"`` ``{"style", "fabric", "colourway"}`` for
  the line sheet;
- **JSON lines**: one such recipe per line;
- a JSON **object** with a cross product, expanded into recipes::

      {"sketches":   [{"name": "dress", "sketch": "sketches/dress.png",
                       "regions": [{"mask": "masks/dress__bodice.png", "name": "bodice"}, …]}],
       "fabrics":    [{"name": "gingham", "swatch": "swatches/gingham.png", "scale": 1.5}],
       "colourways": [{"name": "navy", "colours": "#1b2a49/#e4c59e/#ffffff"}, "original", "navy-sand"],
       "palette_file": "palettes.json",      # where colourway names are looked up (optional)
       "options": {"size": 1024},            # render options for every item
       "out": "{style}_{fabric}_{colourway}.png",
       "recipes": [ … ]}                     # more items, as in a list batch (optional)

  Every region of a sketch takes the fabric (the fabric's Region fields are defaults; the region's own win) and the
  colourway, except a region that names its own ``swatch`` (a contrast collar): it keeps it, uncoloured.

Each item is validated by :func:`garmentstyle.recipe.parse` (schema, Region and RenderOptions checks, paths
confined to the batch's folder unless ``allow_outside_paths``), so a wrong field is named with its item; duplicate
output names and cross products over ``max_items`` are refused. Missing image files are *not* checked here: an item
whose file is missing fails alone at render time and the rest go on.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Optional

from ..errors import InputError
from ..recipe import check_keys, parse_json, read_text

#: Items a batch may expand to unless ``--max-items`` allows more.
DEFAULT_MAX_ITEMS = 1000
#: Largest batch file read.
MAX_BATCH_BYTES = 64_000_000
#: Keys of a cross-product batch object.
CROSS_KEYS: tuple[str, ...] = ("garmentstyle_batch", "sketches", "fabrics", "colourways", "palette_file", "options",
                               "out", "recipes")
#: Keys a batch item has besides the recipe's own.
ITEM_KEYS: tuple[str, ...] = ("out", "labels")
LABEL_KEYS: tuple[str, ...] = ("style", "fabric", "colourway")
SKETCH_KEYS: tuple[str, ...] = ("name", "sketch", "regions")
COLOURWAY_KEYS: tuple[str, ...] = ("name", "colours")
#: Colourway entries meaning "the fabric's own colours".
ORIGINAL = ("original", "none", "")
DEFAULT_OUT = "{style}_{fabric}_{colourway}.png"


@dataclass(frozen=True)
class Labels:
    """What the line sheet prints under a render."""

    style: str = ""
    fabric: str = ""
    colourway: str = ""
    colours: tuple[str, ...] = ()  # the colourway's colours (chips on the sheet)


@dataclass(frozen=True, eq=False)
class BatchItem:
    """One render of a batch, validated.

    Attributes:
        index: position in the batch (0-based).
        out: output file name relative to the output folder (``.png``).
        sketch, regions, options: ready for :func:`garmentstyle.render` (paths absolute).
        labels: style / fabric / colourway for the sheet and the report.
        key: SHA-256 of the item's recipe and of its input files' bytes: an output carrying the same key is
            complete (resume), a different key means the recipe or an input changed.
    """

    index: int
    out: str
    sketch: Path
    regions: tuple
    options: Any
    labels: Labels
    key: str


@dataclass(frozen=True, eq=False)
class BatchPlan:
    """A parsed batch: its items in order, the file and its folder."""

    source: Path
    base: Path
    items: tuple[BatchItem, ...]
    kind: str  # "list" | "jsonl" | "cross"
    notes: tuple[str, ...] = field(default=())


def _read(path: Path) -> tuple[Any, str]:
    text = read_text(path, limit=MAX_BATCH_BYTES, what="batch file", name="batch JSON file")
    try:
        return parse_json(text, source=str(path)), "json"
    except InputError as whole:
        lines = [(n, ln) for n, ln in enumerate(text.splitlines(), 1) if ln.strip()]
        if len(lines) < 2 or not lines[0][1].lstrip().startswith("{"):
            raise whole
        items = []
        for n, ln in lines:  # JSON lines: one recipe object per line
            items.append(parse_json(ln, source=f"{path}: line {n}"))
        return items, "jsonl"


def _name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{where}: name must be non-empty text; got {value!r}")
    return value.strip()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "x"


def _colourways(value: Any, where: str, palette_file: Optional[Path]) -> list[tuple[str, Optional[tuple[str, ...]]]]:
    """``colourways`` entries → (name, colours or None for the original)."""
    from .. import colourway
    from ..errors import OptionsError

    if value is None:
        return [("original", None)]
    if not isinstance(value, list) or not value:
        raise InputError(f"{where}: colourways must be a non-empty list")
    out = []
    for i, entry in enumerate(value):
        at = f"{where}[{i}]"
        if isinstance(entry, str) and entry.strip().lower() in ORIGINAL:
            out.append(("original", None))
            continue
        if isinstance(entry, dict):
            check_keys(entry, COLOURWAY_KEYS, at, "a colourway")
            colours = entry.get("colours")
            name = entry.get("name")
        else:
            colours, name = entry, entry if isinstance(entry, str) and "/" not in entry else None
        try:
            specs = None if colours is None or colours == "" else colourway.parse_palette(
                colours, palette_file=palette_file)
        except OptionsError as exc:
            raise InputError(f"{at}: {exc}") from None
        out.append((_name(name, at) if name is not None else "-".join(s.lstrip("#") for s in (specs or ())) or
                    "original", specs))
    return out


def _cross_size(data: dict, source: str, base: Path) -> int:
    """How many items a cross-product object expands to (checked before anything is built)."""
    check_keys(data, CROSS_KEYS, source, "a cross-product batch")
    palette_file = data.get("palette_file")
    if palette_file is not None and not isinstance(palette_file, str):
        raise InputError(f"{source}: palette_file must be a file name")
    extra = data.get("recipes") or []
    if not isinstance(extra, list):
        raise InputError(f"{source}: recipes must be a list of recipes")
    sketches, fabrics = data.get("sketches"), data.get("fabrics")
    count = len(extra)
    if sketches is not None or fabrics is not None:
        if not isinstance(sketches, list) or not sketches or not isinstance(fabrics, list) or not fabrics:
            raise InputError(f"{source}: a cross product needs non-empty lists 'sketches' and 'fabrics'")
        colourways = data.get("colourways")
        n_cw = len(colourways) if isinstance(colourways, list) else 1
        count += len(sketches) * len(fabrics) * n_cw
    return count


def _expand(data: dict, source: str, base: Path, max_items: int) -> list[tuple[dict, str]]:
    """Expand a cross product (after checking its size, so a huge one is refused before it is built)."""
    count = _cross_size(data, source, base)
    if count > max_items:
        s, f = data.get("sketches") or [], data.get("fabrics") or []
        c = data.get("colourways") or ["original"]
        raise InputError(f"{source}: the batch expands to {count:,} items ({len(s)} sketches × {len(f)} fabrics × "
                         f"{len(c)} colourways{' + recipes' if data.get('recipes') else ''}), over the limit of "
                         f"{max_items:,}; pass --max-items {count} to run it")
    pf = (base / data["palette_file"]) if data.get("palette_file") else None
    template = data.get("out", DEFAULT_OUT)
    if not isinstance(template, str) or not template.endswith(".png"):
        raise InputError(f"{source}: out must be a file-name template ending in .png, e.g. {DEFAULT_OUT!r}")
    items = [(r, f"{source}: recipes[{i}]") for i, r in enumerate(data.get("recipes") or [])]
    if data.get("sketches") is None:
        return items
    cws = _colourways(data.get("colourways"), f"{source}: colourways", pf)
    options = data.get("options", {})
    from dataclasses import fields as dc_fields

    from ..api import Region

    fabric_keys = ("name",) + tuple(f.name for f in dc_fields(Region) if f.name not in ("mask", "name"))
    for si, sk in enumerate(data["sketches"]):
        at = f"{source}: sketches[{si}]"
        check_keys(sk, SKETCH_KEYS, at, "a sketch")
        style = _name(sk.get("name", Path(str(sk.get("sketch", ""))).stem), at)
        if not isinstance(sk.get("regions"), list) or not sk["regions"]:
            raise InputError(f"{at}: needs 'regions', a non-empty list of {{\"mask\": …}}")
        for fi, fab in enumerate(data["fabrics"]):
            fat = f"{source}: fabrics[{fi}]"
            check_keys(fab, fabric_keys, fat, "a fabric")
            if "swatch" not in fab:
                raise InputError(f"{fat}: needs 'swatch' (a file name)")
            fname = _name(fab.get("name", Path(str(fab["swatch"])).stem), fat)
            for cname, colours in cws:
                regions = []
                for r in sk["regions"]:
                    if not isinstance(r, dict):
                        raise InputError(f"{at}: each region must be an object with 'mask'")
                    if "swatch" in r:
                        regions.append(dict(r))
                        continue
                    merged = {k: v for k, v in fab.items() if k != "name"}
                    merged.update(r)
                    if colours is not None:
                        merged["colourway"] = list(colours)
                    regions.append(merged)
                out = template.format(style=_slug(style), fabric=_slug(fname), colourway=_slug(cname))
                item = {"sketch": sk.get("sketch"), "regions": regions, "options": options, "out": out,
                        "labels": {"style": style, "fabric": fname, "colourway": cname}}
                items.append((item, f"{at} × fabrics[{fi}] × colourway {cname!r}"))
    return items


def _out_name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{where}: needs \"out\", the output file name (e.g. \"dress_navy.png\")")
    p = PurePosixPath(value.replace("\\", "/"))
    if p.is_absolute() or ".." in p.parts or p.suffix.lower() != ".png" or len(value) > 255:
        raise InputError(f"{where}: out {value!r} must be a relative .png name inside the output folder")
    return str(p)


def _file_digest(path: Path, cache: dict) -> str:
    if path not in cache:
        try:
            cache[path] = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            cache[path] = "unreadable"
    return cache[path]


def _item_key(data: dict, recipe: Any, digests: dict) -> str:
    files = [recipe.sketch] + [p for r in recipe.regions for p in (r.mask, r.swatch, r.grain)
                               if isinstance(p, Path)]
    payload = {"recipe": {k: v for k, v in data.items() if k not in ITEM_KEYS},
               "files": [_file_digest(Path(f), digests) for f in files]}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _labels(entry: dict, recipe: Any, where: str) -> Labels:
    given = entry.get("labels") or {}
    check_keys(given, LABEL_KEYS, where, "labels")
    cw = next((r.colourway for r in recipe.regions if r.colourway), None)
    fabric = "+".join(dict.fromkeys(Path(str(r.swatch)).stem for r in recipe.regions))
    return Labels(style=str(given.get("style") or Path(recipe.sketch).stem),
                  fabric=str(given.get("fabric") or fabric),
                  colourway=str(given.get("colourway") or ("/".join(cw) if cw else "original")),
                  colours=tuple(cw or ()))


def load_batch(path: str | os.PathLike, *, max_items: int = DEFAULT_MAX_ITEMS,
               allow_outside_paths: bool = False) -> BatchPlan:
    """Read, expand and validate a batch file (see the module doc). Every problem is one :class:`InputError`
    naming the file, the item and the field; nothing is rendered."""
    from ..recipe import RECIPE_VERSION, TOP_LEVEL_KEYS, VERSION_KEY, parse

    path = Path(path)
    data, fmt = _read(path)
    base = Path(os.path.abspath(path.parent))
    src = str(path)
    if isinstance(data, dict) and any(k in data for k in ("sketches", "fabrics", "recipes", "colourways")):
        entries, kind = _expand(data, src, base, max_items), "cross"
    elif isinstance(data, list):
        entries, kind = [(e, f"{src}: {'line' if fmt == 'jsonl' else 'item'} {i + 1}") for i, e in enumerate(data)], \
            ("jsonl" if fmt == "jsonl" else "list")
    elif isinstance(data, dict):
        raise InputError(f"{src}: a batch is a JSON list of recipes (each with \"out\"), JSON lines, or an object "
                         "with sketches × fabrics × colourways; this object has none of them")
    else:
        raise InputError(f"{src}: a batch is a JSON list of recipes; got {type(data).__name__}")
    if not entries:
        raise InputError(f"{src}: the batch has no items")
    if len(entries) > max_items:
        raise InputError(f"{src}: {len(entries):,} items, over the limit of {max_items:,}; pass --max-items "
                         f"{len(entries)} to run them")
    items, seen, digests = [], {}, {}
    allowed = TOP_LEVEL_KEYS + ITEM_KEYS
    for i, (entry, where) in enumerate(entries):
        check_keys(entry, allowed, where, "a batch item")
        out = _out_name(entry.get("out"), where)
        low = out.lower()
        if low in seen:
            raise InputError(f"{where}: output name {out!r} is also the output of {seen[low]}; give each item its "
                             "own \"out\"")
        seen[low] = where
        recipe_data = {k: v for k, v in entry.items() if k not in ITEM_KEYS}
        recipe_data.setdefault(VERSION_KEY, RECIPE_VERSION)
        recipe = parse(recipe_data, base, source=where, allow_outside_paths=allow_outside_paths)
        items.append(BatchItem(index=i, out=out, sketch=recipe.sketch, regions=tuple(recipe.regions),
                               options=recipe.options, labels=_labels(entry, recipe, where),
                               key=_item_key(recipe_data, recipe, digests)))
    return BatchPlan(source=path, base=base, items=tuple(items), kind=kind)

"""Recipes as untrusted input: a schema checked, field by field, before anything is loaded or rendered.

A recipe (``recipe.json``, written by :func:`garmentstyle.export.bundle` and the web app) is often someone else's
file, so nothing in it is trusted:

- **size**: at most :data:`MAX_RECIPE_BYTES` on disk, JSON nested at most :data:`MAX_DEPTH` levels (checked by a
  scan *before* parsing, so a deeply nested file is an error, not a ``RecursionError``), at most :data:`MAX_REGIONS`
  regions, strings at most :data:`MAX_PATH_CHARS`; ``NaN``/``Infinity`` literals and duplicate keys are refused.
- **schema**: ``garmentstyle_recipe`` (the version, an integer 1…:data:`RECIPE_VERSION`), ``sketch`` (a file name),
  ``regions`` (a list of objects with ``mask`` and ``swatch`` file names plus :class:`~garmentstyle.api.Region`
  fields) and optional ``options`` (an object of :class:`~garmentstyle.options.RenderOptions` fields). Unknown keys
  are refused by name. Region fields are validated by :class:`Region` itself (its field metadata, then its
  ``__post_init__``), so a field another issue adds to Region is covered here automatically; options likewise.
- **paths**: relative to the recipe's folder and confined to it (``..``, absolute paths and symlinks leading out
  are refused) unless ``allow_outside_paths=True`` (``--allow-outside-paths``): a shared recipe must not be able to
  pull a private image into a render or an exported bundle.

Every error is an :class:`~garmentstyle.errors.InputError` (or ``OptionsError``) naming the file and the field, e.g.
``recipe.json: regions[1].scale must be a number; got str 'big'``.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from .errors import GarmentStyleError, InputError, OptionsError

#: The recipe format this version writes and the newest it reads.
RECIPE_VERSION = 1
#: Version key.
VERSION_KEY = "garmentstyle_recipe"
#: Largest recipe file accepted (a real one is a few kB).
MAX_RECIPE_BYTES = 1_000_000
#: Deepest JSON nesting accepted (a real recipe nests 3 levels: recipe → regions → region).
MAX_DEPTH = 8
#: Most regions in one recipe.
MAX_REGIONS = 64
#: Longest path string accepted.
MAX_PATH_CHARS = 1024
#: Top-level keys a recipe may hold (add a key here when the exporter writes a new one).
TOP_LEVEL_KEYS: tuple[str, ...] = (VERSION_KEY, "sketch", "regions", "options")


@dataclass(frozen=True)
class Recipe:
    """A validated recipe: absolute paths (confined unless allowed), Regions and RenderOptions ready to render."""

    source: Path
    version: int
    sketch: Path
    regions: list  # list[garmentstyle.api.Region]
    options: Any  # garmentstyle.options.RenderOptions


def _depth(text: str) -> int:
    """Deepest ``[``/``{`` nesting in a JSON text (strings skipped), without building anything."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_DEPTH:
                    return deepest
        elif ch in "]}":
            depth -= 1
    return deepest


def _no_constant(name: str) -> Any:
    raise InputError(f"{name} is not a number a recipe may hold; use a finite number")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    out: dict = {}
    for k, v in pairs:
        if k in out:
            raise InputError(f"the key {k!r} appears twice in one object; keep one")
        out[k] = v
    return out


def read_text(path: str | os.PathLike, *, limit: int = MAX_RECIPE_BYTES, what: str = "recipe",
              name: str = "recipe.json") -> str:
    """The UTF-8 text of ``path`` if it is at most ``limit`` bytes (checked before reading); every problem is one
    :class:`InputError` naming the file as a ``what`` (e.g. "recipe", "batch file"; ``name`` is its usual file
    name, for the hints). Shared by recipes and batch files."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > limit:
            raise InputError(f"{path}: {size:,} bytes is too large for a {what} (limit {limit:,}); is it really a "
                             f"{name}?")
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        file = what if what.endswith("file") else f"{what} file"
        raise InputError(f"{path}: no such {file}") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder; give the {name} inside it") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a {what} (not UTF-8 text)") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def read_json(path: str | os.PathLike) -> Any:
    """The JSON in ``path`` within the size and depth limits; every problem is an :class:`InputError`."""
    return parse_json(read_text(path), source=str(Path(path)))


def check_keys(entry: Any, allowed: tuple[str, ...] | list[str], where: str, noun: str, *,
               shape: str | None = None) -> dict:
    """``entry`` as a dict, after checking it is a JSON object whose keys are all in ``allowed``; otherwise one
    :class:`InputError`: ``"<where>: <noun> must be a JSON object; got list"`` (or ``"<where> must be <shape>"``)
    and ``"<where>: unknown key(s) x, y; <noun> has a, b"``. Shared by recipes and batch files."""
    if not isinstance(entry, dict):
        must = f"{where} must be {shape}" if shape else f"{where}: {noun} must be a JSON object"
        raise InputError(f"{must}; got {type(entry).__name__}")
    unknown = sorted(str(k) for k in entry if k not in allowed)
    if unknown:
        raise InputError(f"{where}: unknown key(s) {', '.join(unknown)}; {noun} has {', '.join(allowed)}")
    return entry


def parse_json(text: str, *, source: str = "recipe") -> Any:
    """JSON text → data within the depth limit, refusing NaN/Infinity and duplicate keys."""
    deep = _depth(text)
    if deep > MAX_DEPTH:
        raise InputError(f"{source}: nested more than {MAX_DEPTH} levels deep; a recipe nests 3 (recipe → regions "
                         "→ region)")
    try:
        return json.loads(text, parse_constant=_no_constant, object_pairs_hook=_no_duplicates)
    except InputError as exc:
        raise InputError(f"{source}: {exc}") from None
    except (json.JSONDecodeError, RecursionError, ValueError) as exc:
        raise InputError(f"{source}: not valid JSON ({exc})") from None


def _path(value: Any, field: str, base: Path, *, source: str, allow_outside: bool) -> Path:
    if not isinstance(value, str) or not value.strip():
        got = f"{type(value).__name__} {value!r}"[:60]
        raise InputError(f"{source}: {field} must be a file name (text, relative to the recipe); got {got}")
    if len(value) > MAX_PATH_CHARS or "\0" in value:
        raise InputError(f"{source}: {field} is not a usable file name ({len(value)} characters)")
    p = Path(value)
    full = p if p.is_absolute() else base / p
    if not allow_outside:
        try:
            inside = Path(os.path.realpath(full)).is_relative_to(Path(os.path.realpath(base)))
        except (OSError, ValueError):
            inside = False
        if p.is_absolute() or not inside:
            raise InputError(f"{source}: {field} {value!r} lies outside the recipe's folder ({base}); recipes may "
                             "only use files beside them. Move the file there, or pass --allow-outside-paths if "
                             "you trust this recipe")
    return full


def _region(i: int, entry: Any, base: Path, *, source: str, allow_outside: bool):
    from .api import Region
    from .options import check_value

    where = f"regions[{i}]"
    check_keys(entry, [f.name for f in fields(Region)], f"{source}: {where}", "a region",
               shape="an object with mask, swatch, …")
    for key in ("mask", "swatch"):
        if key not in entry:
            raise InputError(f"{source}: {where} needs {key!r} (a file name)")
    kw = {}
    for f in fields(Region):
        if f.name in ("mask", "swatch") or f.name not in entry:
            continue
        spec = f.metadata.get("spec")
        value = entry[f.name]
        # Field by field first (names the field); Region's own __post_init__ then checks the rest.
        kw[f.name] = check_value(value, spec, label=f"{source}: {where}.{f.name}") if spec is not None else value
    if isinstance(kw.get("grain"), str) and kw["grain"] not in ("straight", "auto"):  # a grain-strokes file name
        kw["grain"] = _path(kw["grain"], f"{where}.grain", base, source=source, allow_outside=allow_outside)
    mask = _path(entry["mask"], f"{where}.mask", base, source=source, allow_outside=allow_outside)
    swatch = _path(entry["swatch"], f"{where}.swatch", base, source=source, allow_outside=allow_outside)
    try:
        return Region(mask=mask, swatch=swatch, **kw)
    except GarmentStyleError as exc:
        raise type(exc)(f"{source}: {where}: {exc}") from None
    except (TypeError, ValueError) as exc:  # a field added without metadata and without its own checks
        raise OptionsError(f"{source}: {where}: {exc}") from None


def parse(data: Any, base: str | os.PathLike, *, source: str = "recipe", allow_outside_paths: bool = False) -> Recipe:
    """Validate recipe ``data`` (parsed JSON) whose paths are relative to folder ``base``; see the module doc."""
    from .options import RenderOptions

    base = Path(os.path.abspath(base))
    if not isinstance(data, dict):
        raise InputError(f"{source}: a recipe is a JSON object with sketch and regions; got {type(data).__name__}")
    check_keys(data, TOP_LEVEL_KEYS, source, "a recipe")
    version = data.get(VERSION_KEY)
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= RECIPE_VERSION:
        hint = (f"this garmentstyle reads versions 1…{RECIPE_VERSION}; update garmentstyle"
                if isinstance(version, int) and not isinstance(version, bool) and version > RECIPE_VERSION
                else f'add "{VERSION_KEY}": {RECIPE_VERSION}')
        raise InputError(f"{source}: {VERSION_KEY} (the format version) must be a whole number; got {version!r}; {hint}")
    if "sketch" not in data:
        raise InputError(f"{source}: needs 'sketch' (the sketch's file name)")
    sketch = _path(data["sketch"], "sketch", base, source=source, allow_outside=allow_outside_paths)
    regions = data.get("regions")
    if not isinstance(regions, list) or not regions:
        raise InputError(f"{source}: regions must be a non-empty list of regions; got {type(regions).__name__}")
    if len(regions) > MAX_REGIONS:
        raise InputError(f"{source}: {len(regions)} regions; a recipe may hold at most {MAX_REGIONS}")
    parsed = [_region(i, r, base, source=source, allow_outside=allow_outside_paths) for i, r in enumerate(regions)]
    names = [r.name for r in parsed if r.name]
    if len(set(names)) != len(names):
        raise InputError(f"{source}: two regions share a name; give each region its own name")
    opts = data.get("options", {})
    if not isinstance(opts, dict):
        raise OptionsError(f"{source}: options must be an object of render options; got {type(opts).__name__}")
    try:
        options = RenderOptions.from_dict(opts)
    except GarmentStyleError as exc:
        raise type(exc)(f"{source}: options.{exc}" if str(exc).split(" ")[0] in opts else f"{source}: options: {exc}"
                        ) from None
    return Recipe(source=Path(source), version=version, sketch=sketch, regions=parsed, options=options)


def load(path: str | os.PathLike, *, allow_outside_paths: bool = False) -> Recipe:
    """Read and validate the recipe at ``path`` (paths relative to its folder)."""
    path = Path(path)
    data = read_json(path)
    return parse(data, path.parent, source=str(path), allow_outside_paths=allow_outside_paths)

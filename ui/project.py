"""Projects: the layered ZIP the app exports is also the file it reopens, and the browser keeps a small autosave.

A project ZIP holds the render's layers and ``recipe.json`` (as :func:`garmentstyle.export.bundle` writes them, so
``garmentstyle render --recipe recipe.json`` renders it again) plus a ``project/`` folder the app reads back:

* ``project/workspace.json`` — every region (name, colour, fabric file and settings), the selection, the
  whole-render settings, the render's file and size, the swatch library;
* ``project/sketch.png`` — the sketch at its own size; ``project/labels.png`` — the region label map (16-bit);
* ``project/swatches/NN.png`` — each fabric used or kept in the library.

A ZIP without ``project/`` (an export from the CLI, or an older app) opens through its ``recipe.json``.

Both the ZIP and the autosave come from outside, so both are checked like uploads: sizes, member counts, types of
every field (the region model's own checks), image files through the library's safe reader, and autosave paths only
inside this app's session folders.
"""
from __future__ import annotations

import base64
import io as _io
import json
import os
import zipfile
from pathlib import Path
from typing import Any, Optional

import numpy as np
from PIL import Image

from garmentstyle import io, samples
from garmentstyle.errors import GarmentStyleError, InputError

from . import model as M
from .state import MAX_UPLOAD_MB, AppContext, RenderRecord, Session, ensure

PROJECT_VERSION = 1
MAX_MEMBERS = 400
MAX_JSON_BYTES = 2 * 2**20
MAX_TOTAL_BYTES = 400 * 2**20
#: Encoded swatches a session keeps between project saves (bytes, all together; oldest dropped first).
SWATCH_PNG_CACHE_BYTES = 24 * 2**20


# ------------------------------------------------------------------------------------------------ encoding helpers
def _png(pil: Image.Image) -> bytes:
    from garmentstyle.export import png_bytes

    return png_bytes(pil)


def _labels_png(snap: M.Snapshot, order: list[int]) -> bytes:
    """The label map renumbered 1…n in region order, as a 16-bit greyscale PNG."""
    lut = np.zeros(snap.next_uid + 1, np.uint16)
    for i, uid in enumerate(order):
        lut[uid] = i + 1
    return _png(Image.fromarray(lut[snap.labels.array].astype(np.uint16)))


def _read_labels(data: bytes, shape: tuple[int, int], n: int) -> np.ndarray:
    try:
        pil = Image.open(_io.BytesIO(data))
        pil.load()
        a = np.asarray(pil).astype(np.int64)
    except Exception:
        raise InputError("the project's region map is damaged; the regions cannot be restored") from None
    if a.shape != shape:
        raise InputError(f"the project's region map is {a.shape[1]}×{a.shape[0]} px but its sketch is "
                         f"{shape[1]}×{shape[0]} px")
    if a.min() < 0 or a.max() > n:
        raise InputError("the project's region map names regions the project does not have")
    return a.astype(np.uint16)


def _fabric_dict(f: M.Fabric, ref: Any) -> dict:
    d = {"swatch": ref, "label": f.label, "pattern": f.pattern, "rotation": f.rotation, "strength": f.strength,
         "tileable": f.tileable}
    from .fabric_handlers import fabric_extras  # the fabric panel's settings (B)

    d.update(fabric_extras(f))
    return d


def _fabric_from(d: Any, path: str) -> M.Fabric:
    if not isinstance(d, dict):
        raise InputError("a region's fabric in the project is not readable")
    label = d.get("label", "")
    if not isinstance(label, str) or len(label) > 200:
        raise InputError("a fabric's name in the project is not text")
    from .fabric_handlers import extras_from  # the fabric panel's settings (B)

    return M.Fabric(path, label, d.get("pattern", 1.0), d.get("rotation", 0.0), d.get("strength", 1.0),
                    d.get("tileable", False), **extras_from(d))


def _entries(snap: M.Snapshot, swatch_ref) -> list[dict]:
    return [{"name": r.name, "colour": list(r.colour), "fabric": _fabric_dict(r.fabric, swatch_ref(r.fabric.swatch))}
            for r in snap.regions]


def _restore_snapshot(shape: tuple[int, int], labels: np.ndarray, regions: Any, current: Any, swatch_path
                      ) -> M.Snapshot:
    """A snapshot from a label map numbered 1…n and the region dicts (validated: names, colours, fabrics)."""
    if not isinstance(regions, list) or len(regions) > 1000:
        raise InputError("the project's region list is not readable")
    entries: list[M.RegionEntry] = []
    snap = M.Snapshot.empty(shape)
    for i, d in enumerate(regions):
        if not isinstance(d, dict):
            raise InputError(f"region {i + 1} of the project is not readable")
        name = M.check_name(d.get("name"), M.Snapshot(snap.labels, snap.origin, tuple(entries)))
        colour = d.get("colour")
        if (not isinstance(colour, list) or len(colour) != 3
                or not all(isinstance(c, int) and not isinstance(c, bool) and 0 <= c <= 255 for c in colour)):
            colour = list(M.PALETTE[i % len(M.PALETTE)])
        fab = d.get("fabric") or {}
        entries.append(M.RegionEntry(uid=i + 1, name=name, colour=tuple(colour),
                                     fabric=_fabric_from(fab, swatch_path(fab.get("swatch") if isinstance(fab, dict)
                                                                          else None))))
    cur = current if isinstance(current, int) and not isinstance(current, bool) and 1 <= current <= len(entries) \
        else (entries[0].uid if entries else None)
    return M.Snapshot(labels=M.LabelMap(labels), origin=M.LabelMap.zeros(shape), regions=tuple(entries), current=cur,
                      next_uid=len(entries) + 1, last_fabric=entries[-1].fabric if entries else None)


# ------------------------------------------------------------------------------------------------ project ZIP
def save(session: Session, path: Path, *, look: tuple = ()) -> Path:
    """Write the session as a project ZIP at ``path`` (atomically): the render's layers and recipe when there is
    a render, and ``project/`` with everything the app needs to reopen it."""
    from garmentstyle import export

    snap = session.snap
    if snap is None or session.sketch_path is None:
        raise InputError("nothing to save yet: load a sketch first")
    files: dict[str, bytes] = {}
    rec = session.render
    if rec is not None and rec.result is not None:
        files.update(export.bundle_files(rec.result, rec.regions, swatch_sources=[r.swatch for r in rec.regions],
                                         swatch_png=lambda source: _swatch_png(session, source)))
    elif rec is not None:
        files["render.png"] = rec.image.read_bytes()
    swatches: dict[str, str] = {}

    def ref(p: str) -> Optional[str]:
        if not p:
            return None
        if p not in swatches:
            name = f"project/swatches/{len(swatches) + 1:02d}.png"
            files[name] = _swatch_png(session, p)
            swatches[p] = name
        return swatches[p]

    order = [r.uid for r in snap.regions]
    workspace = {
        "garmentstyle_project": PROJECT_VERSION,
        "sketch": "project/sketch.png", "sketch_name": session.sketch_name, "labels": "project/labels.png",
        "regions": _entries(snap, ref),
        "current": order.index(snap.current) + 1 if snap.current in order else None,
        "look": list(look) if look else None,
        "render": ({"file": "render.png", "size": list(rec.size), "kind": rec.kind,
                    "look": list(rec.look) if rec.look else None} if rec is not None else None),
        "library": [{"label": lab, "swatch": ref(p)} for lab, p in session.library],
        "sketch_cm": session.sketch_cm or None,
    }
    files["project/sketch.png"] = session.sketch_path.read_bytes()
    files["project/labels.png"] = _labels_png(snap, order)
    files["project/workspace.json"] = json.dumps(workspace, indent=2).encode()
    if "recipe.json" not in files:
        files.update(_recipe_files(snap, swatches))
    return io.atomic_write_bytes(path, export.zip_bytes(files))


def _swatch_png(session: Session, source: Any) -> bytes:
    """A swatch's PNG bytes for the project ZIP, encoded once per session and file version (the app saves the
    project after every render, and re-encoding each swatch was most of that save). ``source`` is a path, or an
    image (a recoloured swatch: encoded each time, it has no file to key on)."""
    if not isinstance(source, (str, os.PathLike)):
        return _png(io.to_pil(io.load_image(source)))
    st = os.stat(source)
    key = (os.fspath(source), st.st_mtime_ns, st.st_size)
    cache: dict = session.__dict__.setdefault("_swatch_pngs", {})
    if key not in cache:
        data = _png(io.to_pil(io.load_image(source)))
        while cache and sum(map(len, cache.values())) + len(data) > SWATCH_PNG_CACHE_BYTES:
            cache.pop(next(iter(cache)))  # oldest first: a session's memory stays bounded
        cache[key] = data
    return cache[key]


def _recipe_files(snap: M.Snapshot, swatches: dict[str, str]) -> dict[str, bytes]:
    """Masks at the sketch's size and a ``recipe.json`` for the CLI (a project saved before any render);
    ``swatches`` maps each fabric's file to its member name."""
    from garmentstyle import export
    from garmentstyle.options import RenderOptions

    out: dict[str, bytes] = {}
    entries = []
    for i, r in enumerate(snap.regions):
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in r.name) or f"region{i + 1}"
        out[f"masks/{safe}.png"] = _png(Image.fromarray((snap.mask(r.uid) * 255).astype(np.uint8), "L"))
        entries.append({"name": r.name, "mask": f"masks/{safe}.png", "swatch": swatches.get(r.fabric.swatch, ""),
                        "scale": 1.0 / r.fabric.pattern, "rotation": r.fabric.rotation,
                        "style_weight": r.fabric.strength, "tileable": r.fabric.tileable})
        from .fabric_handlers import recipe_extras  # the fabric panel's settings (B)

        entries[-1].update(recipe_extras(r.fabric, f"grain/{safe}.png", out))
    recipe = export.recipe_dict("project/sketch.png", entries, RenderOptions(size=0))
    out["recipe.json"] = json.dumps(recipe, indent=2).encode()
    return out


def _members(path: Path) -> zipfile.ZipFile:
    p = Path(str(path))
    if p.suffix.lower() != ".zip":
        raise InputError(f"{p.name}: a project is the .zip the app saves (Download project); got a "
                         f"'{p.suffix or 'no extension'}' file")
    try:
        if p.stat().st_size > MAX_UPLOAD_MB * 2**20:
            raise InputError(f"{p.name} is larger than {MAX_UPLOAD_MB} MB; that is not a project this app saved")
        zf = zipfile.ZipFile(p)
    except (OSError, zipfile.BadZipFile):
        raise InputError(f"{p.name}: not a readable ZIP file; choose a project the app saved") from None
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS or sum(i.file_size for i in infos) > MAX_TOTAL_BYTES:
        zf.close()
        raise InputError(f"{p.name}: too many or too large files inside for a project")
    return zf


def _read(zf: zipfile.ZipFile, name: Any, what: str, limit: int = MAX_TOTAL_BYTES) -> bytes:
    if not isinstance(name, str) or name.startswith("/") or ".." in name.split("/"):
        raise InputError(f"the project names its {what} with a path it may not use")
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise InputError(f"the project has no {what} ({name})") from None
    if info.file_size > limit:
        raise InputError(f"the project's {what} is too large")
    try:
        return zf.read(info)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise InputError(f"the project's {what} is damaged") from None


def _image_file(session: Session, data: bytes, name: str, what: str) -> tuple[Path, Image.Image]:
    dest = session.file(name)
    dest.write_bytes(data)
    try:
        pil = io.open_pil(dest)
    except GarmentStyleError:
        raise InputError(f"the project's {what} is not a readable image") from None
    return dest, pil


def open_project(ctx: AppContext, session: Optional[Session], path: Any) -> tuple[Session, str]:
    """Open a project ZIP (or a plain layered ZIP with a recipe): replaces the session's sketch, regions, library
    and render. Returns the session and a sentence for the designer."""
    from .handlers import set_sketch

    session = ensure(ctx, session)
    name = Path(str(path)).name if isinstance(path, (str, Path)) else "project"
    if not isinstance(path, (str, Path)):
        raise InputError("no project file was uploaded")
    with _members(Path(str(path))) as zf:
        if "project/workspace.json" not in zf.namelist():
            return _open_recipe(ctx, session, zf, name)
        try:
            ws = json.loads(_read(zf, "project/workspace.json", "workspace", MAX_JSON_BYTES))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise InputError(f"{name}: its workspace.json is damaged") from None
        if not isinstance(ws, dict) or ws.get("garmentstyle_project") != PROJECT_VERSION:
            raise InputError(f"{name}: not a project of this version of the app")
        sk_path, pil = _image_file(session, _read(zf, ws.get("sketch"), "sketch"), "sketch.png", "sketch")
        rgb = io.to_uint8(io.tensor_to_array(io.load_image(pil)))
        shape = rgb.shape[:2]
        regions = ws.get("regions")
        labels = _read_labels(_read(zf, ws.get("labels"), "region map"), shape,
                              len(regions) if isinstance(regions, list) else 0)
        swatch_files: dict[str, str] = {}

        def swatch_path(ref: Any) -> str:
            if ref is None:
                return ""
            if ref not in swatch_files:
                p, _ = _image_file(session, _read(zf, ref, "swatch"), "swatch.png", "swatch")
                swatch_files[ref] = str(p)
            return swatch_files[ref]

        snap = _restore_snapshot(shape, labels, regions, ws.get("current"), swatch_path)
        library = [(str(e.get("label", "swatch"))[:200], swatch_path(e.get("swatch")))
                   for e in (ws.get("library") or []) if isinstance(e, dict) and e.get("swatch")]
        stem = ws.get("sketch_name") if isinstance(ws.get("sketch_name"), str) else Path(name).stem
        set_sketch(session, sk_path, _safe_name(stem), rgb, snap)
        session.library = library
        session.look = _look_from(ws.get("look"))
        session.sketch_cm = _sketch_cm_from(ws.get("sketch_cm"))
        session.render = _restore_render(session, zf, ws.get("render"), snap)
    n = len(snap.regions)
    return session, f"Opened {name}: {n} region{'s' if n != 1 else ''}" + (
        " and its render." if session.render is not None else ".")


def _sketch_cm_from(value: Any) -> float:
    from .fabric_handlers import sketch_cm_from  # the fabric panel's setting (B)

    return sketch_cm_from(value)


def _look_from(value: Any) -> tuple:
    """Whole-render settings saved as a list, checked like the controls' values (() when absent or invalid)."""
    from .handlers import look_settings

    if not isinstance(value, list) or len(value) != 4:
        return ()
    try:
        return look_settings(*value)
    except GarmentStyleError:
        return ()


def _safe_name(stem: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_")[:60] or "sketch"


def _restore_render(session: Session, zf: zipfile.ZipFile, info: Any, snap: M.Snapshot) -> Optional[RenderRecord]:
    if not isinstance(info, dict):
        return None
    data = _read(zf, info.get("file"), "render")
    image, pil = _image_file(session, data, f"{session.sketch_name}-render.png", "render")
    kind = info.get("kind") if info.get("kind") in ("preview", "full") else "full"
    return RenderRecord(image=image, size=pil.size, kind=kind, snapshot=snap, look=_look_from(info.get("look")))


def _open_recipe(ctx: AppContext, session: Session, zf: zipfile.ZipFile, name: str) -> tuple[Session, str]:
    """A layered ZIP without ``project/``: its sketch, masks and swatches through ``recipe.json``."""
    from .handlers import set_sketch

    try:
        recipe = json.loads(_read(zf, "recipe.json", "recipe", MAX_JSON_BYTES))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InputError(f"{name}: its recipe.json is damaged") from None
    if not isinstance(recipe, dict) or not isinstance(recipe.get("regions"), list):
        raise InputError(f"{name}: neither a project nor a layered export with a recipe")
    sk_path, pil = _image_file(session, _read(zf, recipe.get("sketch"), "sketch"), "sketch.png", "sketch")
    rgb = io.to_uint8(io.tensor_to_array(io.load_image(pil)))
    shape = rgb.shape[:2]
    labels = np.zeros(shape, np.uint16)
    dicts = []
    for i, r in enumerate(recipe["regions"][:1000]):
        if not isinstance(r, dict):
            raise InputError(f"{name}: region {i + 1} of its recipe is not readable")
        mdata = _read(zf, r.get("mask"), f"mask of region {i + 1}")
        m = io.load_mask(Image.open(_io.BytesIO(mdata)), size=shape).numpy() >= 0.5
        labels[m] = i + 1
        scale = r.get("scale", 1.0)
        pattern = 1.0 / scale if isinstance(scale, (int, float)) and not isinstance(scale, bool) and scale > 0 else 1.0
        dicts.append({"name": r.get("name") or f"region{i + 1}",
                      "fabric": {"swatch": r.get("swatch"), "label": str(r.get("name") or "fabric"),
                                 "pattern": pattern, "rotation": r.get("rotation", 0.0),
                                 "strength": r.get("style_weight", 1.0), "tileable": r.get("tileable", False)}})
    files: dict[str, str] = {}

    def swatch_path(ref: Any) -> str:
        if ref not in files:
            p, _ = _image_file(session, _read(zf, ref, "swatch"), "swatch.png", "swatch")
            files[ref] = str(p)
        return files[ref]

    snap = _restore_snapshot(shape, labels, dicts, 1, swatch_path)
    set_sketch(session, sk_path, _safe_name(Path(name).stem), rgb, snap)
    session.library = []
    if "render.png" in zf.namelist():
        session.render = _restore_render(session, zf, {"file": "render.png"}, snap)
    return session, f"Opened {name} from its recipe: {len(snap.regions)} regions."


# ------------------------------------------------------------------------------------------------ browser autosave
def _rel(ctx: AppContext, p: Any) -> Optional[str]:
    if not p:
        return None
    try:
        return str(Path(p).resolve().relative_to(ctx.root))
    except ValueError:
        return None


def _inside(ctx: AppContext, rel: Any) -> Optional[Path]:
    """A path from the browser, accepted only inside this app's session folders and only if the file exists."""
    if not isinstance(rel, str) or len(rel) > 500:
        return None
    p = (ctx.root / rel).resolve()
    if not p.is_relative_to(ctx.sessions_dir.resolve()) or not p.is_file():
        return None
    return p


def _swatch_ref(ctx: AppContext, p: str) -> Optional[dict]:
    if not p:
        return None
    for n in samples.list_swatches():
        if str(samples.swatch_path(n)) == p:
            return {"sample": n}
    rel = _rel(ctx, p)
    return {"file": rel} if rel else None


def _swatch_from(ctx: AppContext, ref: Any) -> str:
    if not isinstance(ref, dict):
        return ""
    if isinstance(ref.get("sample"), str) and ref["sample"] in samples.list_swatches():
        return str(samples.swatch_path(ref["sample"]))
    p = _inside(ctx, ref.get("file"))
    return str(p) if p is not None else ""


def to_browser(ctx: AppContext, session: Optional[Session], look: tuple = ()) -> Optional[dict]:
    """The autosave kept in the browser (small: the label map as a PNG, file references, settings)."""
    if session is None or not session.has_sketch:
        return None
    snap = session.snap
    order = [r.uid for r in snap.regions]
    rec = session.render
    return {
        "v": PROJECT_VERSION, "sketch": _rel(ctx, session.sketch_path), "name": session.sketch_name,
        "labels": base64.b64encode(_labels_png(snap, order)).decode(),
        "regions": _entries(snap, lambda p: _swatch_ref(ctx, p)),
        "current": order.index(snap.current) + 1 if snap.current in order else None,
        "look": list(look) if look else None, "view": session.view,
        "render": ({"file": _rel(ctx, rec.image), "kind": rec.kind, "look": list(rec.look) if rec.look else None}
                   if rec is not None and _rel(ctx, rec.image) else None),
        "library": [{"label": lab, "swatch": _swatch_ref(ctx, p)} for lab, p in session.library],
        "sketch_cm": session.sketch_cm or None,
    }


def from_browser(ctx: AppContext, data: Any) -> tuple[Optional[Session], str]:
    """A session rebuilt from the browser's autosave, or (None, why not)."""
    from .handlers import set_sketch

    if not isinstance(data, dict) or data.get("v") != PROJECT_VERSION:
        return None, ""
    sketch = _inside(ctx, data.get("sketch"))
    if sketch is None:
        return None, ("Your last session's sketch is no longer on the server (the app was restarted); open your "
                      "project file to continue.")
    try:
        session = ensure(ctx, None)
        rgb = io.to_uint8(io.tensor_to_array(io.load_image(sketch)))
        raw = data.get("labels")
        if not isinstance(raw, str) or len(raw) > 40 * 2**20:
            raise InputError("the autosaved region map is not readable")
        regions = data.get("regions")
        labels = _read_labels(base64.b64decode(raw, validate=True), rgb.shape[:2],
                              len(regions) if isinstance(regions, list) else 0)
        snap = _restore_snapshot(rgb.shape[:2], labels, regions, data.get("current"),
                                 lambda ref: _swatch_from(ctx, ref))
        set_sketch(session, sketch, _safe_name(str(data.get("name") or "sketch")), rgb, snap)
        session.library = [(str(e.get("label"))[:200], _swatch_from(ctx, e.get("swatch")))
                           for e in (data.get("library") or []) if isinstance(e, dict)]
        session.library = [(lab, p) for lab, p in session.library if p]
        if data.get("view") in ("fabric", "colour"):
            session.view = data["view"]
        session.look = _look_from(data.get("look"))
        session.sketch_cm = _sketch_cm_from(data.get("sketch_cm"))
        rinfo = data.get("render")
        image = _inside(ctx, rinfo.get("file")) if isinstance(rinfo, dict) else None
        if image is not None:
            session.render = RenderRecord(image=image, size=Image.open(image).size,
                                          kind=rinfo.get("kind") if rinfo.get("kind") in ("preview", "full")
                                          else "full", snapshot=snap, look=_look_from(rinfo.get("look")))
    except (GarmentStyleError, ValueError, OSError) as exc:
        return None, f"Could not restore your last session ({exc}); open your project file to continue."
    n = len(snap.regions)
    return session, f"Restored your last session: {session.sketch_name}, {n} region{'s' if n != 1 else ''}."


__all__ = ["save", "open_project", "to_browser", "from_browser", "PROJECT_VERSION"]

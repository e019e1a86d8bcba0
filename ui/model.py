"""The region model: what a designer edits, as immutable snapshots and pure functions, plus an undo/redo history.

No Gradio, no torch, no files: every edit is ``snapshot -> new snapshot`` on numpy arrays, so it is unit-tested with
plain values and undo is just "go back to the previous snapshot".

Regions are *exclusive*: one label map ``(H, W)`` uint16 at the sketch's own size says which region (by ``uid``;
0 = none) owns each pixel. A second label map, ``origin``, remembers for each pixel the region it was taken from
when an "add" moved it, so "remove" can give the area back to where it came from (the click semantics of the hint:
Shift-click adds the area under the click to the selected region, Alt-click removes it again).

Snapshots share unchanged arrays (a fabric edit reuses the same label map), and the history compresses the label
maps of past snapshots (a label map deflates to a few kB), so 100 undo steps of a 4000 px scan stay small.
"""
from __future__ import annotations

import math
import time
import zlib
from dataclasses import dataclass, field, replace
from typing import Iterable, Optional, Sequence

import numpy as np

from garmentstyle.errors import InputError

#: Region colours (RGB), in the order regions are created: distinct, and readable as a tint over line art.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (230, 25, 75), (0, 130, 200), (60, 180, 75), (245, 130, 48), (145, 30, 180), (0, 150, 150), (240, 50, 230),
    (170, 110, 40), (128, 0, 0), (0, 0, 128), (128, 128, 0), (255, 190, 0),
)
#: A region reduced below this many pixels, or this fraction of its size, by another region taking its area is
#: merged into the taker (what is left is its outline on the lines, not a region).
SLIVER_PX = 64
SLIVER_FRACTION = 0.02
#: Undo steps kept (the issue asks for at least 50).
HISTORY_LIMIT = 100
#: Edits with the same key within this many seconds are one undo step (dragging a slider is one edit).
COALESCE_S = 1.5
MAX_UID = 65535  # labels are uint16
#: Bounds of the fabric settings (the UI's sliders; values outside are refused with these words).
PATTERN_RANGE = (0.05, 20.0)
ROTATION_RANGE = (-360.0, 360.0)
STRENGTH_RANGE = (0.0, 10.0)


# ----------------------------------------------------------------------------------------------- label maps
class LabelMap:
    """An immutable ``(H, W)`` uint16 label map that can compress itself (past undo steps) and decompress on use."""

    __slots__ = ("shape", "_array", "_packed")

    def __init__(self, array: np.ndarray):
        a = np.ascontiguousarray(array, dtype=np.uint16)
        a.setflags(write=False)
        self.shape: tuple[int, int] = (int(a.shape[0]), int(a.shape[1]))
        self._array: Optional[np.ndarray] = a
        self._packed: Optional[bytes] = None

    @classmethod
    def zeros(cls, shape: tuple[int, int]) -> "LabelMap":
        return cls(np.zeros(shape, np.uint16))

    @property
    def array(self) -> np.ndarray:
        """The read-only ``(H, W)`` uint16 array (decompressed on demand)."""
        if self._array is None:
            assert self._packed is not None
            a = np.frombuffer(zlib.decompress(self._packed), np.uint16).reshape(self.shape).copy()
            a.setflags(write=False)
            self._array = a
        return self._array

    def pack(self) -> None:
        """Keep only the compressed bytes (same content; :attr:`array` decompresses again when read)."""
        if self._packed is None:
            self._packed = zlib.compress(self.array.tobytes(), 1)
        self._array = None

    @property
    def nbytes(self) -> int:
        """Bytes held in memory now."""
        return (0 if self._array is None else self._array.nbytes) + (len(self._packed) if self._packed else 0)


# ----------------------------------------------------------------------------------------------- snapshot
class Strokes:
    """Grain strokes drawn on the sketch: an immutable ``(H, W)`` bool map at the sketch's own size, kept packed
    (1 bit a pixel, deflated), compared by content (so a snapshot holding one compares and undoes like any other
    value)."""

    __slots__ = ("shape", "_packed", "_digest")

    def __init__(self, mask: np.ndarray):
        m = np.asarray(mask).astype(bool)
        if m.ndim != 2:
            raise InputError("grain strokes must be a 2-D map of the sketch")
        self.shape: tuple[int, int] = (int(m.shape[0]), int(m.shape[1]))
        self._packed = zlib.compress(np.packbits(m, axis=None).tobytes(), 1)
        self._digest = zlib.crc32(self._packed)

    @property
    def array(self) -> np.ndarray:
        """``(H, W)`` bool (a fresh copy)."""
        bits = np.unpackbits(np.frombuffer(zlib.decompress(self._packed), np.uint8))
        return bits[: self.shape[0] * self.shape[1]].reshape(self.shape).astype(bool)

    @property
    def pixels(self) -> int:
        return int(self.array.sum())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Strokes) and self.shape == other.shape and self._packed == other._packed

    def __hash__(self) -> int:
        return hash((self.shape, self._digest))

    def __repr__(self) -> str:
        return f"Strokes({self.shape[1]}×{self.shape[0]}, {self.pixels} px)"


#: How a region's fabric is prepared: "auto" (a photo becomes a seamless, evenly lit repeat; a seamless swatch is
#: left as it is) or "off" (the file as given). See :func:`garmentstyle.swatches.prepare`.
PREPARE_CHOICES = ("auto", "off")
#: Which way the fabric runs: straight (with the rotation), along the sketch's seams and folds, or drawn strokes.
GRAIN_CHOICES = ("straight", "auto", "strokes")
#: Most colours the palette editor recolours (garmentstyle.colourway allows 12; a designer edits a few).
MAX_PALETTE = 8
DRAPE_RANGE = (0.0, 2.0)
_HEXCOLOUR = __import__("re").compile(r"#[0-9a-f]{6}")


@dataclass(frozen=True)
class Fabric:
    """A region's fabric. ``swatch`` is a file path (a bundled sample, or a validated upload in the session
    folder), ``label`` what the designer sees; ``pattern`` is the pattern size (1 = one swatch pixel per sketch
    pixel, 2 = twice as large; ``Region.scale`` is its inverse); ``rotation`` degrees counter-clockwise;
    ``strength`` the style weight; ``tileable`` the old "blend the edges" flag (kept for old projects: preparation
    is ``prepare`` now).

    ``prepare``: :data:`PREPARE_CHOICES`; ``colourway``: the palette editor's replacement colours ``"#rrggbb"``, one
    per dominant colour of the prepared swatch, largest first (empty = the swatch's own colours; its length is the
    number of colours found); ``grain``: :data:`GRAIN_CHOICES` (``"strokes"`` uses ``strokes``); ``drape``: how much
    the sketch's folds bend the pattern (0 = off)."""

    swatch: str = ""
    label: str = ""
    pattern: float = 1.0
    rotation: float = 0.0
    strength: float = 1.0
    tileable: bool = False
    prepare: str = "auto"
    colourway: tuple = ()
    grain: str = "straight"
    strokes: Optional[Strokes] = None
    drape: float = 0.0

    def __post_init__(self) -> None:
        _number("pattern size", self.pattern, *PATTERN_RANGE)
        _number("pattern rotation", self.rotation, *ROTATION_RANGE)
        _number("fabric strength", self.strength, *STRENGTH_RANGE)
        _number("drape", self.drape, *DRAPE_RANGE)
        if not isinstance(self.tileable, bool):
            raise InputError(f"“blend the swatch's edges” must be on or off; got {self.tileable!r}")
        if self.prepare not in PREPARE_CHOICES:
            raise InputError(f"swatch preparation must be one of {', '.join(PREPARE_CHOICES)}; got {self.prepare!r}")
        if self.grain not in GRAIN_CHOICES:
            raise InputError(f"the grain must be one of {', '.join(GRAIN_CHOICES)}; got {self.grain!r}")
        if self.grain == "strokes" and self.strokes is None:
            raise InputError("draw grain strokes on the region first (the grain brush)")
        if self.strokes is not None and not isinstance(self.strokes, Strokes):
            raise InputError("grain strokes must be drawn with the grain brush")
        cw = tuple(self.colourway)
        if len(cw) > MAX_PALETTE or not all(isinstance(c, str) and _HEXCOLOUR.fullmatch(c) for c in cw):
            raise InputError(f"a palette is up to {MAX_PALETTE} colours written #rrggbb; got {cw!r}"[:160])
        object.__setattr__(self, "colourway", cw)


@dataclass(frozen=True)
class RegionEntry:
    """One region: ``uid`` is stable (names change), ``name`` unique in the snapshot, ``colour`` its overlay
    tint, ``points`` the Segment Anything prompts ``((x, y, label), …)`` in sketch pixels (empty otherwise)."""

    uid: int
    name: str
    colour: tuple[int, int, int]
    fabric: Fabric = field(default_factory=Fabric)
    points: tuple = ()


@dataclass(frozen=True)
class Snapshot:
    """Every region of one sketch at one moment.

    Attributes:
        labels: who owns each pixel (uid; 0 = none), at the sketch's own size.
        origin: the region each pixel was taken from by an "add" (0 = none): where a "remove" gives it back.
        regions: in creation order (the table's order; later regions are drawn on top).
        current: uid of the selected region, or None.
        next_uid: the uid the next new region gets.
        last_fabric: the fabric most recently chosen: new regions get it.
    """

    labels: LabelMap
    origin: LabelMap
    regions: tuple[RegionEntry, ...] = ()
    current: Optional[int] = None
    next_uid: int = 1
    last_fabric: Optional[Fabric] = None

    @classmethod
    def empty(cls, shape: tuple[int, int]) -> "Snapshot":
        z = LabelMap.zeros(shape)
        return cls(labels=z, origin=z)

    # -- queries -----------------------------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        return self.labels.shape

    def region(self, uid: Optional[int]) -> Optional[RegionEntry]:
        return next((r for r in self.regions if r.uid == uid), None)

    def by_name(self, name: str) -> Optional[RegionEntry]:
        return next((r for r in self.regions if r.name == name), None)

    @property
    def selected(self) -> Optional[RegionEntry]:
        return self.region(self.current)

    def mask(self, uid: int) -> np.ndarray:
        """``(H, W)`` bool: the pixels of region ``uid``."""
        return self.labels.array == uid

    def areas(self) -> dict[int, int]:
        """Pixels per region uid (every region listed, 0 for none)."""
        counts = np.bincount(self.labels.array.ravel(), minlength=self.next_uid)
        return {r.uid: int(counts[r.uid]) for r in self.regions}

    def uid_at(self, x: float, y: float) -> int:
        """The uid under sketch pixel ``(x, y)`` (0 = none)."""
        h, w = self.shape
        xi, yi = min(w - 1, max(0, int(x))), min(h - 1, max(0, int(y)))
        return int(self.labels.array[yi, xi])

    def names(self) -> list[str]:
        return [r.name for r in self.regions]


# ----------------------------------------------------------------------------------------------- validation
def _number(what: str, value: object, lo: float, hi: float) -> float:
    """A finite real number in [lo, hi] (bools and strings refused), or an :class:`InputError` in the designer's
    words."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputError(f"{what} must be a number; got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise InputError(f"{what} must be a finite number; got {value}")
    if not lo <= v <= hi:
        raise InputError(f"{what} must be between {lo:g} and {hi:g}; got {v:g}")
    return v


def check_name(name: object, snap: Snapshot, uid: Optional[int] = None) -> str:
    """A valid, unique region name (stripped), or an :class:`InputError` saying what a name may be."""
    import re

    if not isinstance(name, str):
        raise InputError(f"a region name must be text; got {name!r}")
    n = name.strip()
    if not re.fullmatch(r"[\w][\w \-.]{0,39}", n):
        raise InputError("a region name is 1–40 letters, digits, spaces, '-', '_' or '.', starting with a letter or "
                         f"digit; got {name!r}")
    other = snap.by_name(n)
    if other is not None and other.uid != uid:
        raise InputError(f"another region is already called {n!r}; choose a different name")
    return n


# ----------------------------------------------------------------------------------------------- pure edits
def _require(snap: Snapshot, uid: Optional[int]) -> RegionEntry:
    r = snap.region(uid)
    if r is None:
        raise InputError("select a region first: click a part of the sketch, or a row of the region table")
    return r


def unique_name(snap: Snapshot, base: str) -> str:
    names = set(snap.names())
    if base not in names:
        return base
    i = 2
    while f"{base} {i}" in names:
        i += 1
    return f"{base} {i}"


def _colour(snap: Snapshot) -> tuple[int, int, int]:
    used = {r.colour for r in snap.regions}
    return next((c for c in PALETTE if c not in used), PALETTE[len(snap.regions) % len(PALETTE)])


def _drop_empty(snap: Snapshot, labels: np.ndarray, origin: np.ndarray, regions: Sequence[RegionEntry],
                current: Optional[int]) -> Snapshot:
    """A new snapshot from edited arrays. A region that lost every pixel is dropped, unless some of its pixels sit
    in another region with it as their origin (then it stays, empty, with its name and fabric, so a remove can give
    its area back); origins pointing at dropped regions are forgotten; the selection moves to the last region left
    if it was dropped."""
    keep = np.zeros(max(snap.next_uid, 1) + 1, bool)
    keep[np.unique(labels)] = True
    keep[np.unique(origin)] = True
    kept = tuple(r for r in regions if keep[r.uid])
    gone = [r.uid for r in regions if not keep[r.uid]]
    if gone:
        origin = np.where(np.isin(origin, gone), 0, origin).astype(np.uint16)
    if current is not None and not any(r.uid == current for r in kept):
        current = kept[-1].uid if kept else None
    same_l = np.array_equal(labels, snap.labels.array)
    same_o = np.array_equal(origin, snap.origin.array)
    return replace(snap, labels=snap.labels if same_l else LabelMap(labels),
                   origin=snap.origin if same_o else LabelMap(origin), regions=kept, current=current)


def _absorb_slivers(labels: np.ndarray, origin: np.ndarray, before: dict[int, int], taker: int) -> None:
    """Regions reduced to a sliver (their outline on the lines) by ``taker`` go to ``taker`` entirely (in place;
    the pixels remember where they came from)."""
    counts = np.bincount(labels.ravel(), minlength=max(before, default=0) + 1)
    for uid, n0 in before.items():
        if uid == taker or n0 == 0:
            continue
        n = int(counts[uid]) if uid < len(counts) else 0
        if 0 < n < max(SLIVER_PX, SLIVER_FRACTION * n0) and n < n0:
            m = labels == uid
            origin[m] = uid
            labels[m] = taker


def add_area(snap: Snapshot, uid: int, area: np.ndarray) -> Snapshot:
    """Give the pixels of ``area`` ``(H, W)`` bool to region ``uid``, taking them from whoever had them; each
    taken pixel remembers the region it came from (see :func:`remove_area`)."""
    _require(snap, uid)
    area = _as_area(snap, area)
    labels = snap.labels.array.copy()
    origin = snap.origin.array.copy()
    before = snap.areas()
    moved = area & (labels != uid)
    taken = moved & (labels != 0)
    origin[taken] = labels[taken]
    labels[moved] = uid
    _absorb_slivers(labels, origin, before, uid)
    return _drop_empty(snap, labels, origin, snap.regions, snap.current)


def remove_area(snap: Snapshot, uid: int, area: np.ndarray) -> Snapshot:
    """Take the pixels of ``area`` out of region ``uid``: each goes back to the region it came from when it was
    added (if that region still exists), else to no region. A sliver left on the lines goes too."""
    _require(snap, uid)
    area = _as_area(snap, area)
    labels = snap.labels.array.copy()
    origin = snap.origin.array.copy()
    hit = area & (labels == uid)
    if hit.any():  # the area's outline on the lines came with it (a sliver absorbed on add): it goes back too
        from scipy import ndimage

        hit |= ndimage.binary_dilation(hit, iterations=3) & (labels == uid) & (origin != 0)
    exists = np.zeros(max(snap.next_uid, 1) + 1, bool)
    exists[[r.uid for r in snap.regions]] = True
    back = np.where(exists[origin], origin, 0).astype(np.uint16)
    n0 = int((labels == uid).sum())
    labels[hit] = back[hit]
    origin[hit] = 0
    left = labels == uid
    n = int(left.sum())
    if 0 < n < max(SLIVER_PX, SLIVER_FRACTION * n0) and n < n0:
        labels[left] = back[left]
        origin[left] = 0
    return _drop_empty(snap, labels, origin, snap.regions, snap.current)


def new_region(snap: Snapshot, area: np.ndarray, *, name: str = "region", fabric: Optional[Fabric] = None,
               points: tuple = ()) -> Snapshot:
    """Carve ``area`` into a new region (selected), with the last used fabric unless ``fabric`` is given."""
    area = _as_area(snap, area)
    if not area.any():
        raise InputError("nothing to make a region of: the area under the click is empty")
    if snap.next_uid > MAX_UID:
        raise InputError("too many regions were made in this session; save the project and open it again")
    entry = RegionEntry(uid=snap.next_uid, name=unique_name(snap, name), colour=_colour(snap),
                        fabric=fabric or snap.last_fabric or Fabric(), points=tuple(points))
    grown = replace(snap, regions=snap.regions + (entry,), next_uid=snap.next_uid + 1, current=entry.uid)
    return add_area(grown, entry.uid, area)


def replace_all(snap: Snapshot, parts: Sequence[tuple[str, np.ndarray]], fabrics: Sequence[Fabric]) -> Snapshot:
    """Start over with one region per ``(name, mask)`` (later parts win where they overlap), the first selected;
    ``fabrics`` gives each its fabric (cycled)."""
    out = replace(Snapshot.empty(snap.shape), next_uid=snap.next_uid, last_fabric=snap.last_fabric)
    labels = np.zeros(snap.shape, np.uint16)
    entries = []
    for i, (name, m) in enumerate(parts):
        m = _as_area(snap, m)
        if not m.any():
            continue
        uid = out.next_uid + len(entries)
        entries.append(RegionEntry(uid=uid, name=unique_name(replace(out, regions=tuple(entries)), name),
                                   colour=PALETTE[len(entries) % len(PALETTE)],
                                   fabric=fabrics[i % len(fabrics)] if fabrics else Fabric()))
        labels[m] = uid
    if not entries:
        raise InputError("no garment part was found to make regions of")
    out = replace(out, regions=tuple(entries), next_uid=out.next_uid + len(entries), current=entries[0].uid)
    return _drop_empty(out, labels, out.origin.array, out.regions, out.current)


def select(snap: Snapshot, uid: Optional[int]) -> Snapshot:
    _require(snap, uid)
    return replace(snap, current=uid)


def rename(snap: Snapshot, uid: int, name: str) -> Snapshot:
    r = _require(snap, uid)
    n = check_name(name, snap, uid)
    return _with_entry(snap, replace(r, name=n))


def delete(snap: Snapshot, uid: int) -> Snapshot:
    """Remove region ``uid``: its pixels belong to no region."""
    _require(snap, uid)
    mine = snap.labels.array == uid
    labels = np.where(mine, 0, snap.labels.array).astype(np.uint16)
    origin = np.where(mine | (snap.origin.array == uid), 0, snap.origin.array).astype(np.uint16)
    regions = tuple(r for r in snap.regions if r.uid != uid)
    current = snap.current if snap.current != uid else (regions[-1].uid if regions else None)
    return _drop_empty(snap, labels, origin, regions, current)


def merge(snap: Snapshot, uid: int, others: Iterable[int]) -> Snapshot:
    """Merge the ``others`` into region ``uid`` (it keeps its name and fabric)."""
    _require(snap, uid)
    others = [o for o in others if o != uid]
    if not others or any(snap.region(o) is None for o in others):
        raise InputError("choose one or more other regions to merge into the selected one")
    labels = np.where(np.isin(snap.labels.array, others), uid, snap.labels.array).astype(np.uint16)
    return _drop_empty(snap, labels, snap.origin.array, tuple(r for r in snap.regions if r.uid not in others),
                       uid)


def set_fabric(snap: Snapshot, uid: int, fabric: Fabric) -> Snapshot:
    """Give region ``uid`` ``fabric``; it becomes the last used fabric (new regions get it)."""
    r = _require(snap, uid)
    return replace(_with_entry(snap, replace(r, fabric=fabric)), last_fabric=fabric)


def fabric_to_all(snap: Snapshot, uid: int) -> Snapshot:
    fabric = _require(snap, uid).fabric
    return replace(snap, regions=tuple(replace(r, fabric=fabric) for r in snap.regions), last_fabric=fabric)


def set_points(snap: Snapshot, uid: int, points: tuple) -> Snapshot:
    return _with_entry(snap, replace(_require(snap, uid), points=tuple(points)))


def paint(snap: Snapshot, strokes: Sequence[tuple[int, np.ndarray]], erase: Optional[np.ndarray]) -> Snapshot:
    """Brush strokes: each ``(uid, mask)`` adds ``mask`` to region ``uid``; ``erase`` takes its pixels out of every
    region. One undo step for the whole set."""
    out = snap
    for uid, m in strokes:
        if out.region(uid) is not None and m.any():
            out = add_area(out, uid, m)
    if erase is not None and erase.any():
        labels = out.labels.array.copy()
        labels[_as_area(out, erase)] = 0
        out = _drop_empty(out, labels, out.origin.array, out.regions, out.current)
    return out


def _with_entry(snap: Snapshot, entry: RegionEntry) -> Snapshot:
    return replace(snap, regions=tuple(entry if r.uid == entry.uid else r for r in snap.regions))


def _as_area(snap: Snapshot, area: np.ndarray) -> np.ndarray:
    a = np.asarray(area)
    if a.shape != snap.shape:
        raise InputError(f"an area of {a.shape[1] if a.ndim > 1 else '?'}×{a.shape[0]} px does not match the "
                         f"{snap.shape[1]}×{snap.shape[0]} sketch")
    return a.astype(bool, copy=False)


def same_content(a: Optional[Snapshot], b: Optional[Snapshot]) -> bool:
    """Whether two snapshots render the same (regions, fabrics, pixels; the selection does not count)."""
    if a is None or b is None:
        return a is b
    if a.regions != b.regions:
        return False
    return a.labels is b.labels or np.array_equal(a.labels.array, b.labels.array)


# ----------------------------------------------------------------------------------------------- history
@dataclass
class History:
    """Undo/redo over snapshots. ``push`` records an edit (edits with the same ``key`` within
    :data:`COALESCE_S` are one step, so dragging a slider is undone at once); at most ``limit`` steps are kept.
    Past snapshots' label maps are compressed."""

    present: Snapshot
    limit: int = HISTORY_LIMIT
    past: list = field(default_factory=list)
    future: list = field(default_factory=list)
    _key: Optional[tuple] = None
    _at: float = 0.0

    def push(self, snap: Snapshot, *, key: Optional[tuple] = None, now: Optional[float] = None) -> Snapshot:
        if snap is self.present:
            return snap
        now = time.monotonic() if now is None else now
        if key is not None and key == self._key and now - self._at < COALESCE_S and self.past:
            self.present = snap  # the same gesture: replace, keep the one undo step
        else:
            self._shelve(self.present)
            self.past.append(self.present)
            del self.past[: max(0, len(self.past) - self.limit)]
            self.present = snap
        self.future.clear()
        self._key, self._at = key, now
        return snap

    def replace(self, snap: Snapshot) -> Snapshot:
        """Change the present without an undo step (the selection: undo steps are edits)."""
        self.present = snap
        return snap

    def reset(self, snap: Snapshot) -> Snapshot:
        """Start over (a new sketch): no undo back into the old one."""
        self.present, self.past, self.future, self._key = snap, [], [], None
        return snap

    @property
    def can_undo(self) -> bool:
        return bool(self.past)

    @property
    def can_redo(self) -> bool:
        return bool(self.future)

    def undo(self) -> Snapshot:
        if not self.past:
            raise InputError("nothing to undo")
        self._shelve(self.present)
        self.future.append(self.present)
        self.present = self.past.pop()
        self._key = None
        return self.present

    def redo(self) -> Snapshot:
        if not self.future:
            raise InputError("nothing to redo")
        self._shelve(self.present)
        self.past.append(self.present)
        self.present = self.future.pop()
        self._key = None
        return self.present

    @staticmethod
    def _shelve(snap: Snapshot) -> None:
        snap.labels.pack()
        snap.origin.pack()

    def nbytes(self) -> int:
        """Label-map bytes held by every step (shared maps counted once)."""
        seen: dict[int, int] = {}
        for s in [*self.past, self.present, *self.future]:
            for m in (s.labels, s.origin):
                seen[id(m)] = m.nbytes
        return sum(seen.values())


__all__ = [
    "PALETTE", "HISTORY_LIMIT", "Fabric", "RegionEntry", "Snapshot", "LabelMap", "History", "add_area",
    "remove_area", "new_region", "replace_all", "select", "rename", "delete", "merge", "set_fabric",
    "fabric_to_all", "set_points", "paint", "check_name", "unique_name", "same_content", "Strokes", "PREPARE_CHOICES",
    "GRAIN_CHOICES", "MAX_PALETTE", "DRAPE_RANGE",
]

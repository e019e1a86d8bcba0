"""Typed render reports: what a render did, as frozen dataclasses with a JSON form.

:class:`RenderReport` is ``RenderResult.report``: read it by attribute (``report.iterations``,
``report.levels[-1].kept``, ``report.regions[0].prepare.action``, ``report.options.seed``). Its :meth:`~RenderReport.
to_json` is the ``--report`` file and the bundle's ``report.json`` (the same keys and values as the dict report it
replaces, so files written before still read the same); :meth:`~RenderReport.from_json` reads one back (the schema
round-trips, tested).

Why frozen: the report is a record of a finished render that the CLI, the UI, the bundle and the batch all read; a
consumer that wants to add a fact (the CLI's segmenter) makes a new one with :func:`dataclasses.replace`. The
dict-valued fields (losses per term, what was kept per region) are plain dicts for JSON and pickling: treat them as
read-only.

There is deliberately no ``report["key"]``: a string-key read is a ``TypeError``, so none can creep back (the JSON
dict is :meth:`~RenderReport.to_json`).
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Optional

from .cache import CacheStats

__all__ = ["LevelReport", "RegionReport", "TransferReport", "RenderReport"]

JSON = dict[str, Any]


def _pair(v: Any) -> tuple[int, int]:
    return (int(v[0]), int(v[1]))


@dataclass(frozen=True)
class LevelReport:
    """One pyramid level.

    Attributes:
        factor: this level's size relative to the crop box (1 = full crop).
        size: ``(w, h)`` px optimised at this level.
        iterations / evaluations: optimiser steps and loss evaluations (L-BFGS line search: 1–3 per step).
        converged_early: stopped before the iteration budget (noise floor, converged, stalled, decided).
        noise_floor: per region, the style loss of another sample of its fabric (the stop rule's floor).
        kept: per region, what the level kept (the optimised fabric or the tiled baseline, and why).
        first_losses / losses: the named loss terms (``total``, ``style/<region>``, …) at the start and the end.
        stopped: why the level stopped (``"decided"``, ``"converged"``, ``"noise floor"``, ``"cancelled"``, …).
        note: a remark (e.g. every guide empty at this size), or None.
    """

    factor: float
    size: tuple[int, int]
    iterations: int = 0
    evaluations: int = 0
    converged_early: bool = False
    noise_floor: dict[str, float] = field(default_factory=dict)
    kept: dict[str, str] = field(default_factory=dict)
    first_losses: dict[str, float] = field(default_factory=dict)
    losses: dict[str, float] = field(default_factory=dict)
    stopped: Optional[str] = None
    note: Optional[str] = None

    def to_json(self) -> JSON:
        d: JSON = {"factor": self.factor, "size": list(self.size), "iterations": self.iterations,
                   "evaluations": self.evaluations, "converged_early": self.converged_early,
                   "noise_floor": dict(self.noise_floor), "kept": dict(self.kept),
                   "first_losses": dict(self.first_losses), "losses": dict(self.losses), "stopped": self.stopped}
        if self.note is not None:
            d["note"] = self.note
        return d

    @classmethod
    def from_json(cls, d: JSON) -> "LevelReport":
        return cls(factor=float(d["factor"]), size=_pair(d["size"]), iterations=int(d["iterations"]),
                   evaluations=int(d["evaluations"]), converged_early=bool(d["converged_early"]),
                   noise_floor=dict(d.get("noise_floor") or {}), kept=dict(d.get("kept") or {}),
                   first_losses=dict(d.get("first_losses") or {}), losses=dict(d.get("losses") or {}),
                   stopped=d.get("stopped"), note=d.get("note"))


@dataclass(frozen=True)
class RegionReport:
    """One region as rendered.

    Attributes:
        name: the region's label; area_px: output pixels inside its mask (≥ 0.5).
        swatch_size: ``(w, h)`` of the tile used (after preparation and recolouring).
        scale: tile px per sketch px; repeat_px_sketch / repeat_px_output: the tile's width in sketch / output px.
        rotation, style_weight, tileable, swatch_cm, repeat_cm, drape: as given on the :class:`~garmentstyle.api.
            Region`; grain: "straight", "auto", "strokes" (an array) or the strokes file's path.
        prepare: the swatch preparation's :class:`~garmentstyle.swatches.types.PrepareReport` (None if none ran).
        mapping: the grain/drape mapping's :class:`~garmentstyle.mapping.builder.MappingStats` (None: plain tiling).
        colourway: the palette applied (None: off); colourway_match: its JSON summary (found colours, ΔE).
    """

    name: str
    area_px: int
    swatch_size: tuple[int, int]
    scale: float
    repeat_px_sketch: float
    repeat_px_output: float
    rotation: float = 0.0
    style_weight: float = 1.0
    tileable: bool = False
    prepare: Any = None  # PrepareReport | None
    swatch_cm: Optional[float] = None
    repeat_cm: Optional[float] = None
    grain: str = "straight"
    drape: float = 0.0
    mapping: Any = None  # MappingStats | None
    colourway: Optional[tuple[str, ...]] = None
    colourway_match: Optional[JSON] = None

    def to_json(self) -> JSON:
        return {"name": self.name, "area_px": self.area_px, "swatch_size": list(self.swatch_size),
                "scale": self.scale, "repeat_px_sketch": self.repeat_px_sketch,
                "repeat_px_output": self.repeat_px_output, "rotation": self.rotation,
                "style_weight": self.style_weight, "tileable": self.tileable,
                "prepare": self.prepare.to_dict() if self.prepare is not None else None,
                "swatch_cm": self.swatch_cm, "repeat_cm": self.repeat_cm, "grain": self.grain, "drape": self.drape,
                "mapping": self.mapping.to_dict() if self.mapping is not None else None,
                "colourway": list(self.colourway) if self.colourway else None,
                "colourway_match": self.colourway_match}

    @classmethod
    def from_json(cls, d: JSON) -> "RegionReport":
        return cls(name=d["name"], area_px=int(d["area_px"]), swatch_size=_pair(d["swatch_size"]),
                   scale=float(d["scale"]), repeat_px_sketch=float(d["repeat_px_sketch"]),
                   repeat_px_output=float(d["repeat_px_output"]), rotation=float(d.get("rotation", 0.0)),
                   style_weight=float(d.get("style_weight", 1.0)), tileable=bool(d.get("tileable", False)),
                   prepare=_prepare_from_json(d.get("prepare")), swatch_cm=d.get("swatch_cm"),
                   repeat_cm=d.get("repeat_cm"), grain=d.get("grain", "straight"), drape=float(d.get("drape", 0.0)),
                   mapping=_mapping_from_json(d.get("mapping")),
                   colourway=tuple(d["colourway"]) if d.get("colourway") else None,
                   colourway_match=d.get("colourway_match"))


def _prepare_from_json(d: Optional[JSON]):
    if d is None:
        return None
    from .swatches.types import PrepareReport

    known = {f.name for f in fields(PrepareReport)}
    kw = {k: v for k, v in d.items() if k in known}
    for k in ("source_size", "tile_size"):
        kw[k] = _pair(kw[k])
    if kw.get("lattice_px") is not None:
        kw["lattice_px"] = tuple(tuple(float(c) for c in v) for v in kw["lattice_px"])
    kw["notes"] = tuple(kw.get("notes") or ())
    return PrepareReport(**kw)


def _mapping_from_json(d: Optional[JSON]):
    if d is None:
        return None
    from .mapping.builder import MappingStats

    return MappingStats(source=d["source"], seconds=float(d["seconds"]), evidence=float(d["evidence"]),
                        stretch=tuple(float(s) for s in d["stretch"]), scale=float(d["scale"]),
                        drape_capped=float(d["drape_capped"]))


@dataclass(frozen=True)
class TransferReport:
    """What the guided optimisation did (:func:`garmentstyle.transfer.run`).

    Attributes:
        crop_box: ``(x0, y0, x1, y1)`` output px optimised (the masks' bounding box plus a margin).
        levels: one :class:`LevelReport` per pyramid level, coarse to fine.
        layers: the encoder layers matched.
        evaluations / iterations: summed over the levels.
        skipped_layers: per region, layers left out (their receptive field does not fit inside the region).
        final_losses: the last level's named loss terms ({} when nothing was optimised).
        cancelled / cancelled_at: whether a cancel stopped it, and at which checkpoint.
        target_cache: style-target cache hits and misses for this render (and how many misses were read from
            the disk cache rather than measured).
        precision: "fp32" or "bf16" (the encoder's autocast in the optimisation).
        target_precision: "fp32" or "bf16" (the encoder's autocast in the style-target pass; the Grams are fp32).
        work_size: ``(w, h)`` of the last level when it worked below the output size (memory bound), else None.
        seconds_optimise: seconds in the stage; notes: remarks for the user.
    """

    crop_box: tuple[int, int, int, int]
    levels: tuple[LevelReport, ...] = ()
    layers: tuple[str, ...] = ()
    evaluations: int = 0
    iterations: int = 0
    skipped_layers: dict[str, list[str]] = field(default_factory=dict)
    final_losses: dict[str, float] = field(default_factory=dict)
    cancelled: bool = False
    cancelled_at: Optional[str] = None
    target_cache: CacheStats = field(default_factory=CacheStats)
    precision: str = "fp32"
    target_precision: str = "fp32"
    work_size: Optional[tuple[int, int]] = None
    seconds_optimise: float = 0.0
    notes: tuple[str, ...] = ()

    def _transfer_json(self) -> JSON:
        d: JSON = {"crop_box": list(self.crop_box), "levels": [lv.to_json() for lv in self.levels],
                   "layers": list(self.layers), "evaluations": self.evaluations, "iterations": self.iterations,
                   "skipped_layers": {k: list(v) for k, v in self.skipped_layers.items()},
                   "final_losses": dict(self.final_losses), "cancelled": self.cancelled,
                   "cancelled_at": self.cancelled_at, "target_cache": self.target_cache.to_json(),
                   "precision": self.precision, "target_precision": self.target_precision}
        if self.work_size is not None:
            d["work_size"] = list(self.work_size)
        d["seconds_optimise"] = self.seconds_optimise
        return d

    def to_json(self) -> JSON:
        return {**self._transfer_json(), "notes": list(self.notes)}

    @staticmethod
    def _fields_from_json(d: JSON) -> dict[str, Any]:
        tc = d.get("target_cache") or {}
        return dict(crop_box=tuple(int(v) for v in d["crop_box"]),
                    levels=tuple(LevelReport.from_json(lv) for lv in d.get("levels", ())),
                    layers=tuple(d.get("layers", ())), evaluations=int(d.get("evaluations", 0)),
                    iterations=int(d.get("iterations", 0)),
                    skipped_layers={k: list(v) for k, v in (d.get("skipped_layers") or {}).items()},
                    final_losses=dict(d.get("final_losses") or {}), cancelled=bool(d.get("cancelled", False)),
                    cancelled_at=d.get("cancelled_at"),
                    target_cache=CacheStats(int(tc.get("hits", 0)), int(tc.get("misses", 0)),
                                            int(tc.get("from_disk", 0))),
                    precision=d.get("precision", "fp32"), target_precision=d.get("target_precision", "fp32"),
                    work_size=_pair(d["work_size"]) if d.get("work_size") is not None else None,
                    seconds_optimise=float(d.get("seconds_optimise", 0.0)), notes=tuple(d.get("notes", ())))

    @classmethod
    def from_json(cls, d: JSON) -> "TransferReport":
        return cls(**cls._fields_from_json(d))


@dataclass(frozen=True)
class RenderReport(TransferReport):
    """A finished render (``RenderResult.report``): the transfer's facts (:class:`TransferReport`, flattened) plus
    what the API knows.

    Attributes:
        garmentstyle: the package version; torch / platform: where it ran; device: the torch device.
        encoder / encoder_requested: the encoder used and the one asked for ("auto" resolves to one);
            encoder_pretrained: whether it had its weights; encoder_description: one line about it.
        sketch_size / output_size: ``(w, h)`` px of the sketch as given and of the render.
        regions: one :class:`RegionReport` per region, in order.
        options: the :class:`~garmentstyle.options.RenderOptions` used.
        seconds: wall time of the whole render; notes: every remark (preparation, masks, layers, transfer).
        segmenter: the segmentation method when the CLI made the masks (``--auto``), else None.
    """

    garmentstyle: str = ""
    encoder: str = ""
    encoder_pretrained: bool = False
    encoder_description: str = ""
    encoder_requested: str = ""
    device: str = "cpu"
    torch: str = ""
    platform: str = ""
    sketch_size: tuple[int, int] = (0, 0)
    output_size: tuple[int, int] = (0, 0)
    regions: tuple[RegionReport, ...] = ()
    options: Any = None  # RenderOptions
    seconds: float = 0.0
    segmenter: Optional[str] = None

    @classmethod
    def of(cls, transfer: TransferReport, **facts: Any) -> "RenderReport":
        """The render's report from the transfer's and the API's facts (``notes`` in ``facts`` replaces the
        transfer's, which the API has already merged in)."""
        base = {f.name: getattr(transfer, f.name) for f in fields(TransferReport)}
        return cls(**{**base, **facts})

    def to_json(self) -> JSON:
        """The ``--report`` / ``report.json`` content (the keys of the old dict report, in its order)."""
        d: JSON = {"garmentstyle": self.garmentstyle, "encoder": self.encoder,
                   "encoder_pretrained": self.encoder_pretrained, "encoder_description": self.encoder_description,
                   "encoder_requested": self.encoder_requested, "device": self.device, "torch": self.torch,
                   "platform": self.platform, "sketch_size": list(self.sketch_size),
                   "output_size": list(self.output_size), "regions": [r.to_json() for r in self.regions],
                   "options": self.options.to_dict() if self.options is not None else None,
                   **self._transfer_json(), "seconds": self.seconds, "notes": list(self.notes)}
        if self.segmenter is not None:
            d["segmenter"] = self.segmenter
        return d

    @classmethod
    def from_json(cls, d: JSON) -> "RenderReport":
        from .options import RenderOptions

        return cls(**cls._fields_from_json(d), garmentstyle=d.get("garmentstyle", ""), encoder=d.get("encoder", ""),
                   encoder_pretrained=bool(d.get("encoder_pretrained", False)),
                   encoder_description=d.get("encoder_description", ""),
                   encoder_requested=d.get("encoder_requested", ""), device=d.get("device", "cpu"),
                   torch=d.get("torch", ""), platform=d.get("platform", ""),
                   sketch_size=_pair(d.get("sketch_size", (0, 0))), output_size=_pair(d.get("output_size", (0, 0))),
                   regions=tuple(RegionReport.from_json(r) for r in d.get("regions", ())),
                   options=RenderOptions.from_dict(d["options"]) if d.get("options") is not None else None,
                   seconds=float(d.get("seconds", 0.0)), segmenter=d.get("segmenter"))

"""The typed render report: frozen, read by attribute, its JSON the old dict report's keys, and the schema
round-trips (to_json → JSON text → from_json → the same JSON)."""
from __future__ import annotations

import dataclasses
import json

import pytest

import garmentstyle as gs
from garmentstyle.mapping.builder import MappingStats
from garmentstyle.report import LevelReport, RegionReport, RenderReport, TransferReport
from garmentstyle.swatches.types import PrepareReport
from tests.conftest import checker, draw_sketch

#: The keys the dict report had (the ``--report`` file and the bundle's report.json keep them).
OLD_KEYS = {"garmentstyle", "encoder", "encoder_pretrained", "encoder_description", "encoder_requested", "device",
            "torch", "platform", "sketch_size", "output_size", "regions", "options", "crop_box", "levels", "layers",
            "evaluations", "iterations", "skipped_layers", "final_losses", "cancelled", "cancelled_at",
            "target_cache", "precision", "seconds_optimise", "seconds", "notes"}
#: Keys added since (each a new fact; the old ones keep their meaning).
NEW_KEYS = {"target_precision"}
OLD_REGION_KEYS = {"name", "area_px", "swatch_size", "scale", "repeat_px_sketch", "repeat_px_output", "rotation",
                   "style_weight", "tileable", "prepare", "swatch_cm", "repeat_cm", "grain", "drape", "mapping",
                   "colourway", "colourway_match"}
OLD_LEVEL_KEYS = {"factor", "size", "iterations", "evaluations", "converged_early", "noise_floor", "kept",
                  "first_losses", "losses", "stopped"}


@pytest.fixture(scope="module")
def optimised() -> gs.RenderResult:
    """A small noise-start render: the optimiser really runs, so levels carry losses and noise floors."""
    sketch, left, right = draw_sketch()
    return gs.render(sketch, [gs.Region(left, checker((0.8, 0.1, 0.1), (0.9, 0.9, 0.8)), name="l"),
                              gs.Region(right, checker((0.1, 0.2, 0.6), (1, 1, 1), period=6), name="r", rotation=10)],
                     gs.RenderOptions(size=96, iterations=3, init="noise", preview_every=0))


def _round_trip(d: dict) -> dict:
    return json.loads(json.dumps(d))  # no default=str: every value is plain JSON


def test_render_report_is_typed_and_its_json_keeps_the_old_keys(optimised):
    rep = optimised.report
    assert isinstance(rep, RenderReport)
    assert rep.output_size == (96, 96) and rep.encoder == "texture" and rep.options.size == 96
    assert [r.name for r in rep.regions] == ["l", "r"] and rep.regions[1].rotation == 10
    assert rep.iterations == sum(lv.iterations for lv in rep.levels) > 0
    assert rep.evaluations == sum(lv.evaluations for lv in rep.levels) >= rep.iterations
    assert rep.levels[-1].noise_floor and "total" in rep.final_losses
    d = _round_trip(rep.to_json())
    assert set(d) == OLD_KEYS | NEW_KEYS
    assert all(set(r) == OLD_REGION_KEYS for r in d["regions"])
    assert all(set(lv) - {"note"} == OLD_LEVEL_KEYS for lv in d["levels"])
    assert d["output_size"] == [96, 96] and d["options"]["seed"] == rep.options.seed
    assert d["target_cache"] == {"hits": rep.target_cache.hits, "misses": rep.target_cache.misses,
                                 "from_disk": rep.target_cache.from_disk}


def test_render_report_round_trips(optimised):
    d = _round_trip(optimised.report.to_json())
    back = RenderReport.from_json(d)
    assert _round_trip(back.to_json()) == d
    assert back.levels[-1].losses == optimised.report.levels[-1].losses
    assert back.options == optimised.report.options


def test_region_report_round_trips_with_prepare_mapping_and_colourway():
    prep = PrepareReport(mode="auto", action="repeat", method="lattice average", kind="periodic",
                         source_size=(480, 360), tile_size=(64, 48), tile_px_per_source_px=0.5, repeat_px=64.0,
                         lattice_px=((128.0, 0.0), (0.0, 96.0)), rotation=2.5, skew=0.0, light_correction=0.1,
                         light_before=0.2, light_after=0.01, seam_before=3.0, seam_after=1.0, cells=12,
                         notes=("averaged 12 cells",))
    rr = RegionReport(name="skirt", area_px=1234, swatch_size=(64, 48), scale=0.5, repeat_px_sketch=128.0,
                      repeat_px_output=64.0, rotation=5.0, prepare=prep, grain="auto", drape=0.3,
                      mapping=MappingStats(source="auto", seconds=0.2, evidence=40.0, stretch=(1.1, 1.3)),
                      colourway=("#1b2a49", "#ffffff"), colourway_match={"colours": [], "notes": []})
    d = _round_trip(rr.to_json())
    back = RegionReport.from_json(d)
    assert back.prepare == prep and back.mapping.source == "auto" and back.colourway == ("#1b2a49", "#ffffff")
    assert _round_trip(back.to_json()) == d


def test_transfer_report_keeps_work_size_and_level_notes_only_when_set():
    lv = LevelReport(factor=0.5, size=(48, 40), note="every guide empty at this size")
    tr = TransferReport(crop_box=(1, 2, 3, 4), levels=(lv,), work_size=(48, 40))
    d = _round_trip(tr.to_json())
    assert d["work_size"] == [48, 40] and d["levels"][0]["note"] == lv.note
    assert TransferReport.from_json(d) == tr
    plain = _round_trip(TransferReport(crop_box=(0, 0, 1, 1), levels=(LevelReport(1.0, (1, 1)),)).to_json())
    assert "work_size" not in plain and "note" not in plain["levels"][0]


def test_report_is_frozen_and_a_new_fact_makes_a_new_report(optimised):
    rep = optimised.report
    with pytest.raises(dataclasses.FrozenInstanceError):
        rep.iterations = 0  # type: ignore[misc]
    seg = dataclasses.replace(rep, segmenter="lineart")
    assert seg.to_json()["segmenter"] == "lineart" and "segmenter" not in rep.to_json()


def test_string_key_reads_are_refused(optimised):
    rep = optimised.report
    with pytest.raises(TypeError):
        rep["output_size"]  # the typed report has attributes, not keys: use rep.output_size
    assert not hasattr(rep, "get") and rep.to_json()["output_size"] == [96, 96]

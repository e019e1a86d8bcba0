"""garmentstyle batch: validation before work, outputs + report + sheet, failures isolated, resume, Ctrl-C, Ray."""
from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pytest

from garmentstyle.batch import RunSettings, load_batch, run_batch, write_sheet
from garmentstyle.batch.worker import PNG_KEY, output_complete
from garmentstyle.cli import main
from garmentstyle.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
SIZE = 96  # small: these tests check the batch machinery, the renders are tested elsewhere


@pytest.fixture()
def collection(tmp_path: Path) -> Path:
    """A designer's folder: sketches, masks, swatches, a palette file, beside the batch file."""
    for sub, names in {"sketches": ["dress.png", "tshirt.png"],
                       "masks": ["dress__bodice.png", "dress__skirt.png", "tshirt__garment.png"],
                       "swatches": ["gingham.png", "polka_dots.png"]}.items():
        (tmp_path / sub).mkdir()
        for n in names:
            shutil.copy(SAMPLES / sub / n, tmp_path / sub / n)
    (tmp_path / "palettes.json").write_text(json.dumps({"berry": "#7a1f3d/#f2e8d5"}))
    return tmp_path


def _cross(folder: Path, **extra) -> Path:
    data = {
        "sketches": [{"name": "dress", "sketch": "sketches/dress.png",
                      "regions": [{"mask": "masks/dress__bodice.png", "name": "bodice"},
                                  {"mask": "masks/dress__skirt.png", "name": "skirt"}]}],
        "fabrics": [{"name": "gingham", "swatch": "swatches/gingham.png"},
                    {"name": "dots", "swatch": "swatches/polka_dots.png", "scale": 1.5}],
        "colourways": ["original", "berry"],
        "palette_file": "palettes.json",
        "options": {"size": SIZE},
        **extra,
    }
    path = folder / "batch.json"
    path.write_text(json.dumps(data))
    return path


def _recipe(out: str, swatch: str = "swatches/gingham.png", **region) -> dict:
    return {"out": out, "sketch": "sketches/tshirt.png", "options": {"size": SIZE},
            "regions": [{"mask": "masks/tshirt__garment.png", "swatch": swatch, **region}]}


# ------------------------------------------------------------------------------------------------ validation
def test_cross_product_expands(collection):
    plan = load_batch(_cross(collection))
    assert [it.out for it in plan.items] == ["dress_gingham_original.png", "dress_gingham_berry.png",
                                             "dress_dots_original.png", "dress_dots_berry.png"]
    berry = plan.items[1]
    assert all(r.colourway == ("#7a1f3d", "#f2e8d5") for r in berry.regions)
    assert plan.items[0].regions[0].colourway is None
    assert plan.items[2].regions[1].scale == 1.5  # the fabric's fields reach every region
    assert berry.labels.colourway == "berry" and berry.labels.colours == ("#7a1f3d", "#f2e8d5")
    assert len({it.key for it in plan.items}) == 4


@pytest.mark.parametrize("mutate,message", [
    (lambda d: d["fabrics"][0].update(scal=2), "unknown key(s) scal"),
    (lambda d: d["sketches"][0].update(colour="red"), "unknown key(s) colour"),
    (lambda d: d.update(fabric=[]), "unknown key(s) fabric"),
    (lambda d: d["fabrics"][0].update(scale="big"), "scale must be a number"),
    (lambda d: d.update(colourways=["#zz0000/#fff"]), "not a colour"),
    (lambda d: d.update(colourways=["teal"]), "'teal' is not in"),
    (lambda d: d.update(out="{style}.png"), "also the output of"),  # every item gets the same name
])
def test_bad_cross_products_name_the_problem(collection, mutate, message):
    path = _cross(collection)
    data = json.loads(path.read_text())
    mutate(data)
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_batch(path)


def test_huge_cross_product_refused_unless_allowed(collection):
    path = _cross(collection, colourways=[{"name": f"c{i}", "colours": f"#{i:02x}2a49/#ffffff"} for i in range(200)])
    with pytest.raises(InputError, match=r"400 items .* --max-items 400"):
        load_batch(path, max_items=100)
    assert len(load_batch(path, max_items=400).items) == 400


def test_list_and_json_lines(collection):
    items = [_recipe("a.png"), _recipe("b.png", swatch="swatches/polka_dots.png", colourway="berry")]
    (collection / "list.json").write_text(json.dumps(items))
    (collection / "lines.jsonl").write_text("\n".join(json.dumps(i) for i in items))
    with pytest.raises(InputError, match="'berry'"):  # a palette name needs a palette file: none given
        load_batch(collection / "list.json")
    items[1]["regions"][0]["colourway"] = "#7a1f3d/#f2e8d5"
    (collection / "list.json").write_text(json.dumps(items))
    (collection / "lines.jsonl").write_text("\n".join(json.dumps(i) for i in items))
    a, b = load_batch(collection / "list.json"), load_batch(collection / "lines.jsonl")
    assert (a.kind, b.kind) == ("list", "jsonl")
    assert [i.key for i in a.items] == [i.key for i in b.items]


@pytest.mark.parametrize("items,message", [
    ([_recipe("a.png"), _recipe("A.png")], "also the output of"),
    ([{**_recipe("a.png"), "outt": "x"}], "unknown key(s) outt"),
    ([{k: v for k, v in _recipe("a.png").items() if k != "out"}], 'needs "out"'),
    ([_recipe("../a.png")], "relative .png name"),
    ([_recipe("a.png", swatch="../../etc/x.png")], "outside the recipe's folder"),
])
def test_bad_lists(collection, items, message):
    (collection / "b.json").write_text(json.dumps(items))
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_batch(collection / "b.json")


def test_cli_bad_input_is_one_line_exit_2(collection, tmp_path, capsys):
    path = _cross(collection)
    data = json.loads(path.read_text())
    data["fabrics"][0]["rotaton"] = 5
    path.write_text(json.dumps(data))
    out_dir = tmp_path / "out"
    assert main(["batch", str(path), "--out-dir", str(out_dir), "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "rotaton" in err[0]
    assert not out_dir.exists()  # before any work


def test_unreachable_ray_address(collection, tmp_path, capsys):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code = main(["batch", str(_cross(collection)), "--out-dir", str(tmp_path / "o"), "--ray", f"127.0.0.1:{port}",
                 "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "unreachable" in err[0] or "needs Ray" in err[0]
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------------------------------------ running
def test_run_report_sheet_failure_and_resume(collection, tmp_path, capsys):
    items = [_recipe("good.png"), _recipe("missing.png", swatch="swatches/nope.png"),
             _recipe("berry.png", swatch="swatches/polka_dots.png", colourway="#7a1f3d/#f2e8d5")]
    (collection / "b.json").write_text(json.dumps(items))
    out_dir, sheet = tmp_path / "out", tmp_path / "sheet.pdf"
    args = ["batch", str(collection / "b.json"), "--out-dir", str(out_dir), "--sheet", str(sheet), "-q"]
    assert main(args) == 1  # one item failed, the others were rendered
    report = json.loads((out_dir / "batch_report.json").read_text())
    status = {it["out"]: it for it in report["items"]}
    assert status["good.png"]["status"] == status["berry.png"]["status"] == "done"
    assert status["missing.png"]["status"] == "failed" and "nope.png" in status["missing.png"]["error"]
    assert status["good.png"]["encoder"] and status["good.png"]["seconds"] > 0
    assert not (out_dir / "missing.png").exists()
    assert report["counts"]["done"] == 2 and report["counts"]["failed"] == 1
    assert output_complete(out_dir / "good.png", status["good.png"]["key"])

    import pypdf

    pdf = pypdf.PdfReader(str(sheet))
    text = pdf.pages[0].extract_text()
    assert "tshirt" in text and "FAILED" in text and "#7a1f3d/#f2e8d5" in text
    assert len(pdf.pages[0].images) == 2

    first = (out_dir / "good.png").read_bytes()
    assert main(args) == 1  # again: the two complete outputs are skipped, the missing file fails again
    report = json.loads((out_dir / "batch_report.json").read_text())
    assert [it["status"] for it in report["items"]] == ["skipped", "failed", "skipped"]
    assert (out_dir / "good.png").read_bytes() == first


def test_changed_recipe_or_truncated_output_renders_again(collection, tmp_path):
    (collection / "b.json").write_text(json.dumps([_recipe("a.png")]))
    out_dir = tmp_path / "out"
    run_batch(load_batch(collection / "b.json"), out_dir)
    png = out_dir / "a.png"
    data = png.read_bytes()
    png.write_bytes(data[: len(data) // 2])  # a truncated file is not complete
    rep = run_batch(load_batch(collection / "b.json"), out_dir)
    assert rep.items[0].status == "done" and png.read_bytes() == data
    (collection / "b.json").write_text(json.dumps([_recipe("a.png", rotation=30)]))  # recipe changed
    rep = run_batch(load_batch(collection / "b.json"), out_dir)
    assert rep.items[0].status == "done" and png.read_bytes() != data
    from PIL import Image

    assert Image.open(png).text[PNG_KEY] == rep.items[0].key


def test_ctrl_c_writes_report_then_resume(collection, tmp_path):
    items = [_recipe("a.png"), _recipe("b.png", rotation=45), _recipe("c.png", swatch="swatches/polka_dots.png")]
    (collection / "b.json").write_text(json.dumps(items))
    plan = load_batch(collection / "b.json")
    out_dir = tmp_path / "out"
    seen = []

    def interrupt(ev):
        seen.append(ev.result.out)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_batch(plan, out_dir, on_event=interrupt)
    report = json.loads((out_dir / "batch_report.json").read_text())
    assert report["interrupted"] is True
    assert report["counts"]["done"] == 1 and report["counts"]["interrupted"] == 2
    assert sorted(p.name for p in out_dir.glob("*.png")) == seen  # no partial outputs
    rep = run_batch(plan, out_dir)
    assert rep.count()["skipped"] == 1 and rep.count()["done"] == 2


@pytest.mark.slow
def test_ray_local_matches_local(collection, tmp_path):
    """A local Ray instance (started and stopped by the batch) writes the same bytes as a local run. (1 vs 2 local
    workers: test_two_local_workers_write_the_same_bytes_as_one.)"""
    pytest.importorskip("ray", reason="ray is not installed (pip install 'garmentstyle[ray]')")
    items = [_recipe("a.png", colourway="#1b2a49/#e4c59e/#ffffff"), _recipe("b.png", swatch="swatches/polka_dots.png")]
    (collection / "b.json").write_text(json.dumps(items))
    plan = load_batch(collection / "b.json")
    local = run_batch(plan, tmp_path / "local", RunSettings(workers=1, threads=1))
    ray_rep = run_batch(plan, tmp_path / "ray", RunSettings(workers=1, threads=1, ray="local"))
    assert ray_rep.backend == "ray" and [r.status for r in ray_rep.items] == ["done", "done"]
    for it in plan.items:
        assert (tmp_path / "local" / it.out).read_bytes() == (tmp_path / "ray" / it.out).read_bytes()
    assert local.items[0].notes == ray_rep.items[0].notes


def test_sheet_many_pages(collection, tmp_path):
    import pypdf

    plan = load_batch(_cross(collection))
    from garmentstyle.batch.report import ItemResult

    results = [ItemResult(out=it.out, status="failed", error="x") for it in plan.items] * 3
    path = write_sheet(tmp_path / "s.pdf", list(plan.items) * 3, results, tmp_path, title="t")
    assert len(pypdf.PdfReader(str(path)).pages) == 2  # 12 cells, 8 a page
    assert write_sheet(tmp_path / "s2.pdf", list(plan.items) * 3, results, tmp_path, title="t").read_bytes() == \
        path.read_bytes()  # reproducible


# ------------------------------------------------------------------------------------------------ local workers
def test_cache_affinity_keeps_a_fabric_on_one_worker():
    """Items sharing a swatch + colourway go to the worker that has them cached; a worker with none of its own
    left takes a fabric nobody has, then steals from the largest group, so nobody idles."""
    from types import SimpleNamespace as NS

    from garmentstyle.batch.local import _Affinity

    items = [NS(regions=(NS(swatch=f"s{i % 3}.png", colourway=None, prepare="auto"),)) for i in range(9)]
    aff = _Affinity(items, 2)
    got = {0: [], 1: []}
    for _ in range(9):  # the two workers take turns
        for w in (0, 1):
            it = aff.next_for(w)
            if it is not None:
                got[w].append(it.regions[0].swatch)
    assert not aff and sorted(got[0] + got[1]) == sorted(f"s{i % 3}.png" for i in range(9))
    assert set(got[0]) & set(got[1]) <= {"s2.png"}  # only the last fabric is shared (stolen from), the rest stay


@pytest.mark.slow
def test_two_local_workers_write_the_same_bytes_as_one(collection, tmp_path):
    """Forkserver workers with cache affinity: the same PNG bytes as one in-process worker (same threads), every
    item done, both workers used."""
    plan = load_batch(_cross(collection))
    one = run_batch(plan, tmp_path / "one", RunSettings(workers=1, threads=1))
    two = run_batch(plan, tmp_path / "two", RunSettings(workers=2, threads=1))
    assert [r.status for r in two.items] == ["done"] * len(plan.items)
    assert len({r.worker for r in two.items}) == 2
    assert all(r.cpu_seconds is not None and r.cpu_seconds > 0 for r in two.items)
    for it in plan.items:
        assert (tmp_path / "one" / it.out).read_bytes() == (tmp_path / "two" / it.out).read_bytes()
    assert [r.notes for r in one.items] == [r.notes for r in two.items]

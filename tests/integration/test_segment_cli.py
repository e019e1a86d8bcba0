"""``garmentstyle segment``: output files, what it prints, exit codes for bad input."""
from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest
from PIL import Image

from garmentstyle.cli import main
from garmentstyle.segment import lineart

H, W = 160, 140


def write_sketch(path, *, closed: bool = True):
    img = np.full((H, W), 255, np.uint8)
    cv2.rectangle(img, (30, 30), (109, 129), 0, 2)
    cv2.line(img, (70, 30), (70, 129), 0, 2)
    if not closed:
        img[115:135, 20:120] = 255  # the bottom of both panels erased: far beyond any automatic gap
    Image.fromarray(img).save(path)
    return path


@pytest.fixture(autouse=True)
def _fresh_cache():
    lineart.clear_cache()


def test_auto(tmp_path, capsys):
    sk = write_sketch(tmp_path / "s.png")
    out = tmp_path / "masks"
    assert main(["segment", str(sk), "--out-dir", str(out)]) == 0
    text = capsys.readouterr().out
    assert "method: classical" in text and "confidence:" in text
    assert "part01:" in text and "part02:" in text and " px" in text
    for f in ("garment.png", "part01.png", "part02.png", "labels.png", "labels_raw.png", "regions.json"):
        assert (out / f).is_file(), f
    g = np.asarray(Image.open(out / "garment.png"))
    assert g.shape == (H, W) and g[80, 50] == 255 and g[5, 5] == 0
    data = json.loads((out / "regions.json").read_text())
    assert [r["file"] for r in data["regions"]] == ["part01.png", "part02.png"]


def test_strokes_gap_soft_edge(tmp_path, capsys):
    sk = write_sketch(tmp_path / "s.png")
    strokes = np.full((H, W, 3), 255, np.uint8)
    strokes[70:90, 45:55] = (0, 255, 0)
    p = tmp_path / "STROKES.png"
    Image.fromarray(strokes).save(p)
    out = tmp_path / "m"
    rc = main(["segment", str(sk), "-o", str(out), "--strokes", str(p), "--method", "classical", "--gap", "2",
               "--soft-edge", "3"])
    assert rc == 0
    g = np.asarray(Image.open(out / "garment.png"))
    assert g[80, 50] == 255 and g[80, 90] == 0  # only the left panel
    assert ((g > 0) & (g < 255)).any()  # feathered
    assert "gap: 2 px" in capsys.readouterr().out


def test_auto_plus_strokes_removes(tmp_path):
    sk = write_sketch(tmp_path / "s.png")
    strokes = np.full((H, W, 3), 255, np.uint8)
    strokes[70:90, 85:95] = (255, 0, 0)
    p = tmp_path / "STROKES.png"
    Image.fromarray(strokes).save(p)
    out = tmp_path / "m"
    assert main(["segment", str(sk), "-o", str(out), "--auto", "--strokes", str(p)]) == 0
    g = np.asarray(Image.open(out / "garment.png"))
    assert g[80, 50] == 255 and g[80, 90] == 0


@pytest.mark.parametrize(
    "case, expect",
    [
        ("blank", "blank"),
        ("open", "no closed region"),
        ("missing", "no such file"),
        ("strokes-size", "another shape"),
        ("strokes-empty", "no strokes found"),
        ("strokes-background", "background"),
        ("sam", "weights download sam-vit-b"),
        ("gap", "gap"),
        ("soft", "soft_edge"),
    ],
)
def test_bad_input_exit_2(tmp_path, capsys, case, expect):
    sk = write_sketch(tmp_path / "s.png")
    args = ["segment", str(sk), "-o", str(tmp_path / "o")]
    if case == "blank":
        Image.fromarray(np.full((H, W), 255, np.uint8)).save(sk)
    elif case == "open":
        write_sketch(sk, closed=False)
    elif case == "missing":
        args[1] = str(tmp_path / "nope.png")
    elif case.startswith("strokes"):
        size = (W * 2, H) if case == "strokes-size" else (W, H)
        arr = np.full((size[1], size[0], 3), 255, np.uint8)
        if case == "strokes-size":
            arr[10:20, 10:20] = (0, 255, 0)
        if case == "strokes-background":
            arr[2:8, 2:8] = (0, 255, 0)
        p = tmp_path / "STROKES.png"
        Image.fromarray(arr).save(p)
        args += ["--strokes", str(p)]
    elif case == "sam":
        args += ["--method", "sam"]
    elif case == "gap":
        args += ["--gap", "999"]
    elif case == "soft":
        args += ["--soft-edge", "-2"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("garmentstyle: error: ") and expect in err
    assert len(err.strip().splitlines()) == 1


def test_entry_point_subprocess(tmp_path):
    sk = write_sketch(tmp_path / "s.png")
    r = subprocess.run(
        [sys.executable, "-m", "garmentstyle", "segment", str(sk), "--out-dir", str(tmp_path / "o")],
        capture_output=True, text=True, timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert "method: classical" in r.stdout


def test_rerun_into_the_same_folder_leaves_no_stale_part_files(tmp_path, capsys):
    """A 3-part run then a 2-part run into one folder: part03.png goes (regions.json names only two), the user's
    own files stay."""
    out = tmp_path / "masks"
    three = np.full((H, W), 255, np.uint8)
    cv2.rectangle(three, (20, 30), (119, 129), 0, 2)
    cv2.line(three, (53, 30), (53, 129), 0, 2)
    cv2.line(three, (86, 30), (86, 129), 0, 2)
    Image.fromarray(three).save(tmp_path / "three.png")
    assert main(["segment", str(tmp_path / "three.png"), "--out-dir", str(out), "--max-parts", "8"]) == 0
    assert (out / "part03.png").is_file()
    (out / "mine.png").write_bytes(b"x")
    (out / "part09.png").write_bytes(b"not ours")  # not in regions.json: not ours to remove
    assert main(["segment", str(write_sketch(tmp_path / "two.png")), "--out-dir", str(out)]) == 0
    data = json.loads((out / "regions.json").read_text())
    assert [r["file"] for r in data["regions"]] == ["part01.png", "part02.png"]
    assert not (out / "part03.png").exists()
    assert (out / "mine.png").read_bytes() == b"x" and (out / "part09.png").read_bytes() == b"not ours"
    assert not [p for p in out.iterdir() if p.name.startswith(".gs-")]


def test_failed_removal_rolls_the_whole_set_back(tmp_path, monkeypatch):
    """Transaction.remove: when setting the stale file aside fails, the files already replaced come back and
    nothing temporary is left; a name that is not a plain file name is refused."""
    import os

    from garmentstyle.errors import OutputError
    from garmentstyle.outputs import Outputs

    out = tmp_path / "masks"
    out.mkdir()
    (out / "part03.png").write_bytes(b"old3")
    (out / "garment.png").write_bytes(b"oldg")
    outs = Outputs()
    outs.directory("--out-dir", out)
    real = os.replace

    def replace(src, dst):
        if str(src).endswith("part03.png"):
            raise OSError(28, "No space left on device")
        return real(src, dst)

    with pytest.raises(OutputError):
        with outs.writing() as tx:
            (tx.folder(out) / "garment.png").write_bytes(b"newg")
            tx.remove(out, ["part03.png"])
            monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(os, "replace", real)
    assert (out / "part03.png").read_bytes() == b"old3"
    assert (out / "garment.png").read_bytes() == b"oldg"
    assert sorted(p.name for p in out.iterdir()) == ["garment.png", "part03.png"]
    with pytest.raises(ValueError):
        outs.writing().remove(out, ["../x.png"])

"""The output-path boundary (garmentstyle/outputs.py) and its use by `render` and `segment`: every bad output path
is one error line and exit 2 *before any work*, and writes are all-or-nothing (existing files untouched)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from garmentstyle import outputs as O
from garmentstyle.cli import main
from garmentstyle.errors import OutputError

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def _png(path: Path, size=(64, 64), value=255) -> Path:
    Image.new("L", size, value).save(path)
    return path


@pytest.fixture
def files(tmp_path):
    """A sketch, a mask and a swatch on disk (the render itself is replaced: these tests must fail before it)."""
    sk = _png(tmp_path / "sketch.png")
    m = np.zeros((64, 64), np.uint8)
    m[16:48, 16:48] = 255
    Image.fromarray(m).save(tmp_path / "mask.png")
    sw = _png(tmp_path / "swatch.png", value=128)
    (tmp_path / "afile").write_text("not a folder")
    (tmp_path / "adir.png").mkdir()
    (tmp_path / "existing.png").write_bytes(b"precious")
    os.symlink(sk, tmp_path / "link_to_sketch.png")
    os.link(sk, tmp_path / "hardlink_to_sketch.png")
    return {"sketch": sk, "mask": tmp_path / "mask.png", "swatch": sw, "dir": tmp_path}


def _snapshot(folder: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None) for p in folder.rglob("*")}


# (id, extra argv given the tmp dir d, the text the error must contain); every case must fail before the render.
CASES = [
    ("out-is-sketch", lambda d: ["--out", str(d / "sketch.png")], "destroy the input"),
    ("out-is-mask", lambda d: ["--out", str(d / "mask.png")], "destroy the input"),
    ("out-is-swatch", lambda d: ["--out", str(d / "swatch.png")], "destroy the input"),
    ("out-symlink-to-sketch", lambda d: ["--out", str(d / "link_to_sketch.png")], "destroy the input"),
    ("out-hardlink-to-sketch", lambda d: ["--out", str(d / "hardlink_to_sketch.png")], "destroy the input"),
    ("out-via-dotdot", lambda d: ["--out", str(d / "adir.png" / ".." / "sketch.png")], "destroy the input"),
    ("out-is-a-directory", lambda d: ["--out", str(d / "adir.png")], "is a folder"),
    ("out-no-suffix", lambda d: ["--out", str(d / "new") + "/"], "expected a .png file name"),
    ("file-as-parent", lambda d: ["--out", str(d / "afile" / "out.png")], "is a file, not a folder"),
    ("out-not-png", lambda d: ["--out", str(d / "out.jpg")], ".png"),
    ("report-not-json", lambda d: ["--out", str(d / "o.png"), "--report", str(d / "r.png")], ".json"),
    ("bundle-not-zip", lambda d: ["--out", str(d / "o.png"), "--bundle", str(d / "b.png")], ".zip"),
    ("out-name-300", lambda d: ["--out", str(d / ("n" * 296 + ".png"))], "per name"),
    ("out-parent-300", lambda d: ["--out", str(d / ("p" * 300) / "o.png")], "per name"),
    ("unwritable-folder", lambda d: ["--out", "/proc/gs-test/out.png"], "cannot write"),
    ("report-is-sketch", lambda d: ["--out", str(d / "o.png"), "--report", str(d / "sketch.json")], None),
]


@pytest.mark.parametrize("case,argv,expect", CASES, ids=[c[0] for c in CASES])
def test_bad_output_paths_fail_before_any_work(files, monkeypatch, capsys, case, argv, expect):
    d = files["dir"]
    if case == "report-is-sketch":  # a sketch that happens to be called .json: still an input
        os.replace(files["sketch"], d / "sketch.json")
        files["sketch"] = d / "sketch.json"
        expect = "destroy the input"
    before = _snapshot(d)

    def no_render(*a, **k):
        raise AssertionError("the render ran although an output path was bad")

    monkeypatch.setattr("garmentstyle.api.render", no_render)
    rc = main(["render", str(files["sketch"]), "--region", f"{files['mask']}={files['swatch']}", "--quiet",
               *argv(d)])
    err = capsys.readouterr().err
    assert rc == 2, err
    lines = [ln for ln in err.splitlines() if ln.startswith("garmentstyle: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert expect in lines[0], lines[0]
    assert _snapshot(d) == before  # nothing written, nothing destroyed


@pytest.mark.skipif(IS_ROOT, reason="root writes into read-only folders; the /proc case covers unwritable folders")
def test_read_only_folder(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(OutputError, match="cannot write"):
            O.Outputs().file("--out", ro / "x.png")
    finally:
        ro.chmod(0o755)


def test_trailing_slash_names_a_folder(tmp_path):
    with pytest.raises(OutputError, match="names a folder"):
        O.Outputs().file("--out", str(tmp_path / "new") + "/")


def test_outputs_equal_to_each_other(tmp_path):
    outs = O.Outputs()
    outs.file("--out", tmp_path / "a.png")
    outs.file("--report", tmp_path / "sub" / ".." / "a.png")
    with pytest.raises(OutputError, match="--report and --out name the same file"):
        outs.check()


def test_a_legal_250_character_name_renders(tmp_path, capsys):
    """The temporary names stay short, so the longest legal names work (the old `.name.XXXX.part` did not)."""
    from garmentstyle import samples

    m = samples.mask_paths("dress")
    out = tmp_path / ("o" * 246 + ".png")
    rep = tmp_path / ("r" * 245 + ".json")
    rc = main(["render", str(samples.sketch_path("dress")), "--region", f"{m['skirt']}={samples.swatch_path('denim')}",
               "--out", str(out), "--report", str(rep), "--size", "64", "--iterations", "1", "--quiet"])
    assert rc == 0, capsys.readouterr().err
    assert len(out.name) == 250 and Image.open(out).size[1] == 64 and rep.stat().st_size > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([out.name, rep.name])  # no temporaries left


def test_input_path_with_a_300_character_component(tmp_path, capsys):
    long_input = tmp_path / ("x" * 300) / "sketch.png"
    rc = main(["render", str(long_input), "--region", f"{long_input}={long_input}", "--out", str(tmp_path / "o.png"),
               "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err and "longer than the file system allows" in err


def test_transaction_failure_keeps_existing_files_and_removes_new_ones(tmp_path):
    existing = tmp_path / "out.png"
    existing.write_bytes(b"old render")
    outs = O.Outputs()
    out = outs.file("--out", existing)
    rep = outs.file("--report", tmp_path / "new" / "deeper" / "r.json")
    with pytest.raises(RuntimeError):
        with outs.writing() as tx:
            tx.path(out).write_bytes(b"new render")
            tx.path(rep).write_bytes(b"{}")
            raise RuntimeError("the bundle failed")
    assert existing.read_bytes() == b"old render"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]  # temporaries and created folders removed


def test_commit_failure_midway_restores_what_was_renamed(tmp_path, monkeypatch):
    a, b = tmp_path / "a.png", tmp_path / "b.json"
    a.write_bytes(b"old a")
    outs = O.Outputs()
    outs.file("--out", a)
    outs.file("--report", b)
    real = os.replace
    calls = []

    def flaky(src, dst):
        calls.append(dst)
        if Path(dst) == b:
            raise OSError(28, "No space left on device", str(dst))
        return real(src, dst)

    monkeypatch.setattr(O.os, "replace", flaky)
    with pytest.raises(OutputError, match="No space left on device.*existing files are unchanged"):
        with outs.writing() as tx:
            tx.path(a).write_bytes(b"new a")
            tx.path(b).write_bytes(b"{}")
    monkeypatch.setattr(O.os, "replace", real)
    assert a.read_bytes() == b"old a" and not b.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]


def test_success_replaces_existing_file_with_usual_permissions(tmp_path):
    a = tmp_path / "a.png"
    a.write_bytes(b"old")
    outs = O.Outputs()
    outs.file("--out", a)
    with outs.writing() as tx:
        tx.path(a).write_bytes(b"new")
    assert a.read_bytes() == b"new" and (a.stat().st_mode & 0o777) == (0o666 & ~_umask())
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]


def _umask() -> int:
    m = os.umask(0)
    os.umask(m)
    return m


def _sketch(path: Path) -> Path:
    import cv2

    img = np.full((120, 100), 255, np.uint8)
    cv2.rectangle(img, (20, 20), (79, 99), 0, 2)
    cv2.line(img, (50, 20), (50, 99), 0, 2)
    Image.fromarray(img).save(path)
    return path


def test_failed_segment_leaves_no_half_set(tmp_path, monkeypatch, capsys):
    from garmentstyle.segment import types

    sk = _sketch(tmp_path / "s.png")
    cls = types.Segmentation

    def half_save(self, out_dir):
        (Path(out_dir) / "garment.png").write_bytes(b"half")
        raise OSError(28, "No space left on device", str(Path(out_dir) / "part01.png"))

    monkeypatch.setattr(cls, "save", half_save)
    for out in (tmp_path / "new_masks", tmp_path):  # a new folder, and an existing one holding the sketch
        before = _snapshot(tmp_path)
        rc = main(["segment", str(sk), "--out-dir", str(out)])
        err = capsys.readouterr().err
        assert rc == 2 and "No space left" in err and "Traceback" not in err
        assert _snapshot(tmp_path) == before


def test_segment_out_dir_rules(tmp_path, capsys):
    sk = _sketch(tmp_path / "s.png")
    for bad, why in ((sk, "is a file"), (tmp_path / "s.png" / "x", "is a file, not a folder")):
        rc = main(["segment", str(sk), "--out-dir", str(bad)])
        err = capsys.readouterr().err
        assert rc == 2 and why in err and "Traceback" not in err
    rc = main(["segment", str(sk), "--out-dir", str(tmp_path)])  # the sketch's own folder is fine
    assert rc == 0 and (tmp_path / "garment.png").is_file() and Image.open(sk).size == (100, 120)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(O.TEMP_PREFIX)]


def test_cli_failure_on_the_last_output_keeps_the_existing_render(files, monkeypatch, capsys):
    """The reported data-loss: an existing out.png was replaced although the command then failed on --bundle."""
    d = files["dir"]
    old = d / "existing.png"

    def full_disk(result, regions, path, **kw):
        Path(path).write_bytes(b"PK partial")
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr("garmentstyle.export.bundle", full_disk)
    before = _snapshot(d)
    rc = main(["render", str(files["sketch"]), "--region", f"{files['mask']}={files['swatch']}", "--out", str(old),
               "--report", str(d / "r.json"), "--bundle", str(d / "b.zip"), "--size", "64", "--iterations", "1",
               "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and "No space left on device" in err and "Traceback" not in err
    assert _snapshot(d) == before  # out.png still the old bytes; no report, no zip, no temporaries

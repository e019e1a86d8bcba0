"""The bundled samples: masks that partition each garment, seamless swatches, a deterministic generator."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from garmentstyle import samples
from garmentstyle.errors import InputError

REPO = Path(__file__).resolve().parents[2]
SKETCHES = samples.list_sketches()
SWATCHES = samples.list_swatches()


def _load(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im)


def _generator():
    spec = importlib.util.spec_from_file_location("make_samples", REPO / "samples" / "make_samples.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(spec.name, None)
    return module


def test_the_expected_samples_are_bundled():
    assert samples.samples_dir() == REPO / "samples"
    assert {"dress", "tshirt", "trousers", "jacket"} <= set(SKETCHES)
    assert {"tartan", "stripes", "polka_dots", "houndstooth", "denim", "floral"} <= set(SWATCHES)
    for name in SKETCHES:
        assert samples.sketch_path(name).is_file()
    for name in SWATCHES:
        assert samples.swatch_path(name).is_file()


@pytest.mark.parametrize("name", SKETCHES)
def test_parts_partition_the_garment(name):
    sketch = _load(samples.sketch_path(name))
    assert sketch.dtype == np.uint8 and max(sketch.shape[:2]) == 768
    paths = samples.mask_paths(name)
    assert "garment" in paths
    garment = _load(paths.pop("garment"))
    assert len(paths) >= 2, f"{name} has fewer than two parts: {sorted(paths)}"

    cover = np.zeros(garment.shape, np.int32)
    for part, path in paths.items():
        mask = _load(path)
        assert mask.dtype == np.uint8 and mask.ndim == 2, part
        assert mask.shape == sketch.shape[:2], part
        assert set(np.unique(mask)) <= {0, 255}, f"{part} is not binary"
        assert mask.any(), f"{part} is empty"
        cover += mask > 0
    assert cover.max() == 1, "parts overlap"
    assert np.array_equal(cover > 0, garment > 0), "the parts' union differs from the garment mask"
    assert set(np.unique(garment)) <= {0, 255} and 0.05 < (garment > 0).mean() < 0.8


@pytest.mark.parametrize("name", SKETCHES)
def test_sketch_is_line_art_and_masks_line_up_with_it(name):
    grey = _load(samples.sketch_path(name)).astype(np.float32) / 255
    if grey.ndim == 3:
        grey = grey.mean(axis=2)
    garment = _load(samples.mask_paths(name)["garment"]) > 0
    assert (grey[~garment] > 0.97).all(), "ink or shading outside the garment mask"
    assert grey[0].min() > 0.98 and grey[-1].min() > 0.98, "the paper should show all round the garment"
    assert (grey[garment] < 0.3).mean() > 0.03, "hardly any line work"
    # shading is light grey: most of the garment is paper or light shading, not mid-grey
    assert ((grey[garment] > 0.3) & (grey[garment] < 0.7)).mean() < 0.1
    # every mask's edge runs along a drawn line (outline or seam): the masks are pixel-aligned with the drawing
    for part, path in samples.mask_paths(name).items():
        mask = _load(path) > 0
        edge = mask & ~ndimage.binary_erosion(mask)
        assert (grey[edge] < 0.9).mean() > 0.85, f"{part}: its edge does not follow the lines"


@pytest.mark.parametrize("name", SKETCHES)
def test_each_part_is_a_closed_region_of_the_drawing(name):
    """A flood fill of the paper finds each part: the part's largest paper component stays inside the part."""
    grey = _load(samples.sketch_path(name)).astype(np.float32)
    paper, _ = ndimage.label(grey > 128)
    for part, path in samples.mask_paths(name).items():
        if part == "garment":
            continue
        mask = _load(path) > 0
        ids, counts = np.unique(paper[mask & (paper > 0)], return_counts=True)
        main = ids[np.argmax(counts)]
        region = paper == main
        assert (region & ~mask).sum() == 0, f"{part}: its region leaks out of the part"
        assert region.sum() > 0.6 * mask.sum(), f"{part}: the drawing splits it up"


@pytest.mark.parametrize("name", SWATCHES)
def test_swatch_tiles_seamlessly(name):
    img = _load(samples.swatch_path(name)).astype(np.float32)
    assert img.shape == (256, 256, 3) and img.std() > 5
    for axis, what in ((0, "rows"), (1, "columns")):
        a = np.moveaxis(img, axis, 0)
        inside = np.abs(np.diff(a, axis=0)).mean(axis=(1, 2))  # each pair of neighbouring rows (or columns)
        wrap = np.abs(a[-1] - a[0]).mean()  # the last and the first, which meet when the swatch is tiled
        # the seam is no stronger than the strongest edge inside, and some pair inside looks just like it
        assert wrap <= 1.25 * inside.max() + 1.0, f"last/first {what} differ by {wrap:.1f}"
        assert np.abs(inside - wrap).min() <= 0.25 * wrap + 2.0, f"no pair of {what} inside differs like the seam"


def test_generator_is_deterministic_and_matches_the_bundled_files(tmp_path):
    out = _generator().main(tmp_path)
    assert Path(out) == tmp_path
    made = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.png"))
    bundled = sorted(p.relative_to(REPO / "samples") for p in (REPO / "samples").rglob("*.png"))
    assert made == bundled
    for rel in made:
        assert np.array_equal(_load(tmp_path / rel), _load(REPO / "samples" / rel)), f"{rel} differs"


def test_unknown_names_list_the_known_ones():
    with pytest.raises(InputError, match="dress"):
        samples.sketch_path("ballgown")
    with pytest.raises(InputError, match="tartan"):
        samples.swatch_path("paisley")
    with pytest.raises(ValueError):
        samples.mask_paths("ballgown")


def test_missing_samples_folder_is_a_clear_file_not_found(monkeypatch, tmp_path):
    fake = tmp_path / "garmentstyle" / "samples.py"
    monkeypatch.setattr(samples, "__file__", str(fake))
    with pytest.raises(FileNotFoundError, match="samples"):
        samples.samples_dir()

"""Recipes as untrusted input (garmentstyle/recipe.py): schema, limits, confined paths; property tests that random
recipes give one clear error or a valid, renderable recipe."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from PIL import Image

from garmentstyle import recipe as R
from garmentstyle.cli import main
from garmentstyle.errors import GarmentStyleError, InputError


@pytest.fixture
def folder(tmp_path) -> Path:
    sk = np.full((64, 64), 255, np.uint8)
    sk[8:56, 8] = sk[8:56, 55] = 0
    Image.fromarray(sk).save(tmp_path / "sketch.png")
    m = np.zeros((64, 64), np.uint8)
    m[10:54, 10:54] = 255
    Image.fromarray(m).save(tmp_path / "mask.png")
    sw = (np.indices((24, 24)).sum(0) % 8 < 4).astype(np.uint8) * 200
    Image.fromarray(sw).convert("RGB").save(tmp_path / "swatch.png")
    return tmp_path


def good() -> dict:
    return {"garmentstyle_recipe": 1, "sketch": "sketch.png",
            "regions": [{"name": "body", "mask": "mask.png", "swatch": "swatch.png", "scale": 1.0}],
            "options": {"size": 64, "iterations": 1}}


def write(folder: Path, data, name="recipe.json") -> Path:
    p = folder / name
    p.write_text(data if isinstance(data, str) else json.dumps(data))
    return p


def with_(data: dict, path: str, value):
    """A copy of ``data`` with the dotted ``path`` set (``regions.0.scale``); value ``...`` deletes it."""
    data = json.loads(json.dumps(data))
    *parents, last = path.split(".")
    node = data
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    key = int(last) if isinstance(node, list) else last
    if value is ...:
        del node[key]
    else:
        node[key] = value
    return data


BAD = [
    ("sketch", 5, "sketch must be a file name"),
    ("sketch", "", "sketch must be a file name"),
    ("sketch", ..., "needs 'sketch'"),
    ("options", None, "options must be an object"),
    ("options", [], "options must be an object"),
    ("options.seed", "zero", "options.seed must be a whole number"),
    ("options.seed", 2**70, "options.seed must be 0…"),
    ("options.size", 1.5, "options.size must be a whole number"),
    ("options.turbo", True, "unknown render option(s) turbo"),
    ("regions", None, "regions must be a non-empty list"),
    ("regions", [], "regions must be a non-empty list"),
    ("regions.0", "mask.png", "regions[0] must be an object"),
    ("regions.0.scale", "big", "regions[0].scale must be a number; got str 'big'"),
    ("regions.0.scale", 5e-324, "regions[0].scale must be 0.01…100"),
    ("regions.0.scale", None, "regions[0].scale must be a number"),
    ("regions.0.tileable", "yes", "regions[0].tileable must be true or false"),
    ("regions.0.name", ["x"], "regions[0].name must be text"),
    ("regions.0.mask", ..., "regions[0] needs 'mask'"),
    ("regions.0.swatch", 3, "regions[0].swatch must be a file name"),
    ("regions.0.colour", "red", "unknown key(s) colour"),
    ("garmentstyle_recipe", ..., "format version"),
    ("garmentstyle_recipe", "1", "format version"),
    ("garmentstyle_recipe", 99, "update garmentstyle"),
    ("extra", 1, "unknown key(s) extra"),
]


@pytest.mark.parametrize("path,value,needle", BAD, ids=[f"{p}={v!r}"[:40] for p, v, _ in BAD])
def test_wrong_fields_are_named(folder, path, value, needle):
    with pytest.raises(InputError) as info:
        R.load(write(folder, with_(good(), path, value)))
    assert needle in str(info.value), str(info.value)


@pytest.mark.parametrize("text,needle", [
    ("[" * 100_000 + "]" * 100_000, "nested more than"),
    ('{"a": NaN}', "NaN is not a number"),
    ('{"a": 1, "a": 2}', "appears twice"),
    ("{not json", "not valid JSON"),
    ("[1, 2]", "a recipe is a JSON object"),
])
def test_malformed_files(folder, text, needle):
    with pytest.raises(InputError) as info:
        R.load(write(folder, text))
    assert needle in str(info.value)


def test_huge_file_refused_unread(folder):
    p = folder / "big.json"
    with p.open("wb") as fh:
        fh.truncate(R.MAX_RECIPE_BYTES + 1)
    with pytest.raises(InputError, match="too large for a recipe"):
        R.load(p)


def test_too_many_regions(folder):
    data = good()
    data["regions"] = [dict(data["regions"][0], name=f"r{i}") for i in range(R.MAX_REGIONS + 1)]
    with pytest.raises(InputError, match="at most"):
        R.load(write(folder, data))


@pytest.mark.parametrize("where", ["sketch", "regions.0.mask", "regions.0.swatch"])
def test_paths_confined_to_the_recipes_folder(folder, tmp_path_factory, where):
    private = tmp_path_factory.mktemp("private") / "secret.png"
    Image.new("L", (64, 64), 255).save(private)
    os.symlink(private, folder / "innocent.png")
    for value in (str(private), os.path.relpath(private, folder), "innocent.png"):
        with pytest.raises(InputError, match="outside the recipe's folder"):
            R.load(write(folder, with_(good(), where, value)))
        r = R.load(write(folder, with_(good(), where, value)), allow_outside_paths=True)
        assert r.sketch.exists()


def test_cli_allow_outside_paths(folder, tmp_path_factory, capsys):
    other = tmp_path_factory.mktemp("other")
    os.replace(folder / "sketch.png", other / "sketch.png")
    rec = write(folder, with_(good(), "sketch", str(other / "sketch.png")))
    rc = main(["render", "--recipe", str(rec), "--out", str(folder / "o.png"), "--quiet"])
    assert rc == 2 and "--allow-outside-paths" in capsys.readouterr().err and not (folder / "o.png").exists()
    rc = main(["render", "--recipe", str(rec), "--out", str(folder / "o.png"), "--quiet", "--allow-outside-paths"])
    assert rc == 0 and Image.open(folder / "o.png").size == (64, 64)


def test_exported_bundle_recipe_round_trips(folder):
    """What export writes, recipe reads (Region fields carried through)."""
    from garmentstyle import export
    from garmentstyle.options import RenderOptions

    entries = [{"name": "body", "mask": "mask.png", "swatch": "swatch.png", "scale": 2.0, "rotation": 15.0,
                "style_weight": 1.0, "tileable": True}]
    r = R.load(write(folder, export.recipe_dict("sketch.png", entries, RenderOptions(size=64, seed=3))))
    reg = r.regions[0]
    assert (reg.scale, reg.rotation, reg.tileable, r.options.seed) == (2.0, 15.0, True, 3)


# ---------------------------------------------------------------------------------------------------- properties
VALUES = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False),
                   st.text(max_size=10), st.lists(st.integers(), max_size=2),
                   st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
                   st.sampled_from(["mask.png", "swatch.png", "sketch.png", "../sketch.png", "/etc/passwd"]))
REGION_KEYS = ["name", "mask", "swatch", "scale", "repeat", "rotation", "style_weight", "tileable", "bogus"]
OPTION_KEYS = ["size", "iterations", "seed", "soft_edge", "lr", "colour", "style_layers", "levels", "device"]


@st.composite
def recipes(draw):
    data = good()
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["top", "region", "option"]))
        if kind == "top":
            data[draw(st.sampled_from(["sketch", "regions", "options", "garmentstyle_recipe"]))] = draw(VALUES)
        elif kind == "region" and isinstance(data.get("regions"), list) and data["regions"] \
                and isinstance(data["regions"][0], dict):
            data["regions"][0][draw(st.sampled_from(REGION_KEYS))] = draw(VALUES)
        elif kind == "option" and isinstance(data.get("options"), dict):
            data["options"][draw(st.sampled_from(OPTION_KEYS))] = draw(VALUES)
    return data


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=recipes())
def test_random_recipes_give_a_clear_error_or_a_valid_recipe(folder, data):
    try:
        r = R.parse(data, folder, source="r.json")
    except GarmentStyleError as exc:
        msg = str(exc)
        assert msg.startswith("r.json: ") and len(msg) < 400 and "\n" not in msg
        return
    from garmentstyle.api import Region
    from garmentstyle.options import RenderOptions

    assert isinstance(r.options, RenderOptions) and all(isinstance(x, Region) for x in r.regions)
    for p in [r.sketch, *(x.mask for x in r.regions), *(x.swatch for x in r.regions)]:
        assert Path(os.path.realpath(p)).is_relative_to(os.path.realpath(folder))


@st.composite
def plausible_recipes(draw):
    """Values of the right kind, sometimes just out of bounds: most are accepted, so the render is reached."""
    from garmentstyle.options import COLOUR_MODES, INITS, OPTIMIZERS

    data = good()
    data["options"] = draw(st.fixed_dictionaries({}, optional={
        "size": st.sampled_from([0, 31, 32, 64, 100]), "iterations": st.integers(0, 3),
        "seed": st.integers(0, 2**32 + 5), "soft_edge": st.floats(0, 70), "init": st.sampled_from(INITS),
        "colour": st.sampled_from(COLOUR_MODES + ("sepia",)), "optimizer": st.sampled_from(OPTIMIZERS),
        "shading_strength": st.floats(-0.1, 1.1), "keep_sketch": st.booleans(), "guide_erosion": st.integers(-9, 9),
    }))
    data["regions"][0].update(draw(st.fixed_dictionaries({}, optional={
        "scale": st.floats(0.005, 120), "rotation": st.floats(-400, 400), "style_weight": st.floats(0, 10),
        "tileable": st.booleans(), "repeat": st.one_of(st.none(), st.floats(0.5, 100)),
    })))
    return data


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=plausible_recipes())
def test_random_valid_recipes_render(folder, data):
    """The end of the chain: a recipe the schema accepts renders (or fails with one clear error on its images)."""
    from dataclasses import replace

    from garmentstyle.api import render

    try:
        r = R.parse(data, folder, source="r.json")
    except GarmentStyleError:
        return
    options = replace(r.options, size=64, iterations=min(r.options.iterations, 2), levels=0, device="cpu")
    try:
        res = render(r.sketch, r.regions, options)
    except GarmentStyleError as exc:
        assert "\n" not in str(exc)
        return
    assert bool(res.image.isfinite().all()) and max(res.image.shape[-2:]) == 64
    assert float(res.image.min()) >= 0 and float(res.image.max()) <= 1

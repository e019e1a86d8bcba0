"""RenderOptions / Region validation (garmentstyle/options.py): strict types, documented bounds, one clear error.

Property tests: random types and values for every field give either an OptionsError naming the field, or options
whose every value has the declared type and lies within the declared bounds — never anything else."""
from __future__ import annotations

import math
import subprocess
import sys
from dataclasses import fields

import pytest
from hypothesis import given, settings, strategies as st

from garmentstyle.errors import OptionsError
from garmentstyle.options import MAX_SEED, RenderOptions, Spec, check_value, specs

ANY_VALUE = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12), st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.sampled_from(["2", "0.5", ",", "relu1_1,,relu2_1", "auto", "cuda:0", "lbfgs", "nan", "1e9"]),
)
NAMES = [f.name for f in fields(RenderOptions)]


def _valid(value, spec: Spec) -> bool:
    if spec.kind is bool:
        return type(value) is bool
    if spec.kind is str:
        return type(value) is str and (not spec.choices or value in spec.choices)
    if type(value) is not spec.kind or not math.isfinite(value):
        return False
    if value in spec.also:
        return True
    lo_ok = spec.lo is None or (value > spec.lo if spec.lo_open else value >= spec.lo)
    hi_ok = spec.hi is None or (value < spec.hi if spec.hi_open else value <= spec.hi)
    return lo_ok and hi_ok


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(NAMES), ANY_VALUE, max_size=5))
def test_random_options_are_valid_or_one_clear_error(data):
    try:
        opts = RenderOptions(**data)
    except OptionsError as exc:
        assert any(str(exc).startswith(name) for name in data), exc  # the message names the field
        return
    for name, _default, spec in specs(opts):
        assert _valid(getattr(opts, name), spec), (name, getattr(opts, name))


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text(max_size=8), ANY_VALUE, max_size=3))
def test_unknown_keys_and_non_mappings_from_dict(data):
    try:
        RenderOptions.from_dict(data)
    except OptionsError:
        pass


@pytest.mark.parametrize("kw,needle", [
    ({"seed": 2**70}, "seed must be 0…4294967295"),
    ({"seed": -1}, "seed must be"),
    ({"seed": True}, "whole number"),
    ({"size": "512"}, "whole number"),
    ({"size": 512.0}, "whole number"),
    ({"size": 16}, "32…4096 or 0"),
    ({"iterations": 10**9}, "iterations"),
    ({"soft_edge": 1e9}, "soft_edge must be 0…64"),
    ({"soft_edge": float("nan")}, "finite"),
    ({"shading_strength": "2"}, "must be a number"),
    ({"lr": 0.0}, "lr must be (0…1)"),
    ({"lr": float("inf")}, "finite"),
    ({"style_layers": ","}, "no empty names"),
    ({"style_layers": "relu1_1,,relu2_1"}, "no empty names"),
    ({"style_layers": "relu1_1,relu1_1"}, "twice"),
    ({"style_layers": "relu1 1"}, "not a layer name"),
    ({"keep_sketch": 1}, "true or false"),
    ({"encoder": "resnet"}, "one of auto, vgg19, texture"),
    ({"device": "gpu"}, "not a device"),
    ({"device": 0}, "must be text"),
])
def test_bad_values_named(kw, needle):
    with pytest.raises(OptionsError, match=None) as info:
        RenderOptions(**kw)
    assert needle in str(info.value), str(info.value)


def test_ints_become_floats_and_good_values_pass():
    o = RenderOptions(shading_strength=1, soft_edge=0, seed=MAX_SEED, style_layers="relu1_1, relu2_1", levels=0)
    assert type(o.shading_strength) is float and type(o.soft_edge) is float and o.seed == MAX_SEED
    assert RenderOptions.from_dict(o.to_dict()) == o


def test_every_field_has_metadata():
    """Fields added by other issues follow the pattern (help text, type, bounds): the CLI and UI read them."""
    for name, default, spec in specs(RenderOptions):
        assert spec is not None and spec.help, f"{name}: declare it with options.opt(default, help, …)"
        assert default is None or spec.kind is type(default) or (spec.kind is float and type(default) is int), name


def test_region_fields_strict():
    from garmentstyle.api import Region

    for kw, needle in [({"scale": "2"}, "scale must be a number"), ({"scale": 5e-324}, "scale must be 0.01…100"),
                       ({"repeat": float("inf")}, "finite"), ({"tileable": 1}, "true or false"),
                       ({"rotation": True}, "rotation must be a number"), ({"name": 5}, "name must be text"),
                       ({"style_weight": -1}, "style_weight")]:
        with pytest.raises(OptionsError) as info:
            Region("m.png", "s.png", **kw)
        assert needle in str(info.value)
    r = Region("m.png", "s.png", scale=2, repeat=None)
    assert type(r.scale) is float


def test_check_value_optional_and_numpy():
    import numpy as np

    spec = Spec(help="", kind=float, lo=0, hi=1, optional=True)
    assert check_value(None, spec, label="x") is None
    assert type(check_value(np.float32(0.5), spec, label="x")) is float
    with pytest.raises(OptionsError):
        check_value(np.bool_(True), spec, label="x")


@pytest.mark.parametrize("argv,needle", [
    (["--seed", str(2**70)], "seed must be 0…4294967295"),
    (["--soft-edge", "1e9"], "soft_edge must be 0…64"),
    (["--style-layers", ","], "no empty names"),
    (["--lr", "nan"], "finite"),
])
def test_cli_refuses_before_loading_anything(tmp_path, capsys, argv, needle):
    from garmentstyle.cli import main

    rc = main(["render", "missing.png", "--region", "m.png=s.png", "--out", str(tmp_path / "o.png"), *argv])
    err = capsys.readouterr().err
    assert rc == 2 and needle in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_help_imports_no_torch():
    code = ("import sys, argparse; import garmentstyle.commands.render as r; p = argparse.ArgumentParser(); "
            "r.register(p.add_subparsers()); import garmentstyle.options; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


REGION_VALUES = st.one_of(ANY_VALUE, st.binary(max_size=4), st.lists(st.one_of(st.text(max_size=3), st.floats()),
                                                                      max_size=3))


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_random_region_fields_are_valid_or_one_clear_error(data):
    """Every Region field (other issues' included: prepare, swatch_cm, grain, drape, colourway, …)."""
    from garmentstyle.api import Region
    from garmentstyle.errors import GarmentStyleError

    names = [f.name for f in fields(Region) if f.name not in ("mask", "swatch")]
    kw = data.draw(st.dictionaries(st.sampled_from(names), REGION_VALUES, max_size=3))
    try:
        r = Region("m.png", "s.png", **kw)
    except GarmentStyleError as exc:
        assert "\n" not in str(exc)
        return
    for name, _default, spec in specs(r):
        if spec is not None and not (spec.optional and getattr(r, name) is None):
            assert _valid(getattr(r, name), spec), (name, getattr(r, name))


@pytest.mark.parametrize("name", ["\n", "bodice\nskirt", "\t\x00", "x" * 100])
def test_a_region_name_with_control_characters_keeps_its_errors_on_one_line(name):
    """Found by the property test above: the name went into the message as it was, newline and all."""
    from garmentstyle.api import Region
    from garmentstyle.errors import OptionsError

    for kw in ({"colourway": [""]}, {"scale": -1}, {"tileable": True, "prepare": "off"}):
        with pytest.raises(OptionsError) as exc:
            Region("m.png", "s.png", name=name, **kw)
        assert "\n" not in str(exc.value) and "\x00" not in str(exc.value) and len(str(exc.value)) < 300

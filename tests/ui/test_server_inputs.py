"""Every value a handler gets is checked by :mod:`ui.validate` (types, finite, bounds from the library's field
metadata), and Gradio's own pre-checks (which log a traceback for every refusal) are off for the app's inputs."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from garmentstyle.errors import InputError
from garmentstyle.options import MAX_SEED, RenderOptions, spec_of
from ui import handlers as H, validate as Vd

ANY = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**200, max_value=2**200),
                st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
                st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


@settings(max_examples=300, deadline=None)
@given(value=ANY)
def test_number_gives_a_bounded_finite_number_or_one_clear_message(value):
    try:
        v = Vd.number(value, "the thing", -5, 5)
    except InputError as exc:
        msg = str(exc)
        assert msg.startswith("the thing must be") and len(msg) < 120, msg
        return
    assert isinstance(v, float) and math.isfinite(v) and -5 <= v <= 5


@settings(max_examples=300, deadline=None)
@given(colour=ANY, keep=ANY, shading=ANY, seed=ANY)
def test_look_settings_never_crash(colour, keep, shading, seed):
    try:
        look = H.look_settings(colour, keep, shading, seed)
    except InputError as exc:
        assert str(exc) and "Traceback" not in str(exc)
        return
    RenderOptions(colour=look[0], keep_sketch=look[1], shading_strength=look[2], seed=look[3])  # valid


@pytest.mark.parametrize("seed,match", [
    (2**80, r"between 0 and 4294967295; got a 25-digit number"),
    (10**400, r"between 0 and 4294967295"),  # too large even for a float: no OverflowError
    (1.2089258196146292e+24, r"between 0 and 4294967295"),  # what a browser sends for 2**80
    (-1, r"between 0 and"), (1.5, "whole number"), ("zero", "must be a number"), (True, "must be a number"),
    (float("nan"), "finite"), (float("inf"), "finite"),
])
def test_the_seed_says_what_is_wrong(seed, match):
    with pytest.raises(InputError, match=match):
        H.look_settings("swatch", True, 1.0, seed)


def test_bounds_come_from_the_options_metadata():
    spec = spec_of(RenderOptions, "shading_strength")
    with pytest.raises(InputError, match=f"between {spec.lo:g} and {spec.hi:g}"):
        H.look_settings("swatch", True, spec.hi + 0.5, 0)
    assert H.look_settings("swatch", True, spec.hi, MAX_SEED)[2:] == (spec.hi, MAX_SEED)
    lo, hi = Vd.region_bounds("drape")
    assert Vd.region("drape", hi, "drape") == hi
    with pytest.raises(InputError, match="drape must be between"):
        Vd.region("drape", hi * 2, "drape")
    # a control may narrow a field's range, never widen it
    assert Vd.option("iterations", 1, "iterations", lo=1) == 1
    with pytest.raises(InputError, match="between 1 and"):
        Vd.option("iterations", 0, "iterations", lo=1)
    with pytest.raises(InputError, match="between 0 and 5000"):
        Vd.option("iterations", 10**6, "iterations", lo=-50, hi=10**9)


@pytest.mark.parametrize("value,ok", [(True, True), (False, False), (None, False), ("no", None), (1, None),
                                      ("true", None)])
def test_checkboxes_are_on_or_off_only(value, ok):
    if ok is None:
        with pytest.raises(InputError, match="on or off"):
            Vd.flag(value, "keep lines")
    else:
        assert Vd.flag(value, "keep lines") is ok


@pytest.mark.parametrize("value,out", [("#1B2A49", "#1b2a49"), ("1b2a49", "#1b2a49"), ("#abc", "#aabbcc"),
                                       ("rgba(27, 42, 73, 1)", "#1b2a49"), ("navy", None), ("#12345", None),
                                       (5, None), ("rgb(300, 0, 0)", None)])
def test_hex_colours(value, out):
    if out is None:
        with pytest.raises(InputError, match="a colour like"):
            Vd.hex_colour(value, "colour 1")
    else:
        assert Vd.hex_colour(value, "colour 1") == out


@pytest.mark.parametrize("mode", ["sepia", None, 3, ["swatch"]])
def test_choices_name_the_labels(mode):
    with pytest.raises(InputError, match="Keep the swatch's colours"):
        H.look_settings(mode, True, 1.0, 0)


def test_gradio_prechecks_are_off_so_the_handler_says_what_is_wrong():
    gr = pytest.importorskip("gradio")
    with gr.Blocks():
        slider = gr.Slider(0, 20, value=0)
        number = gr.Number(value=0, minimum=0, precision=0)
        radio = gr.Radio(["a", "b"], value="a")
        index = gr.Radio(["a", "b"], value="a", type="index")
        box = gr.Textbox()
    with pytest.raises(gr.Error):  # Gradio's own check (it logs a traceback for it)
        slider.preprocess(-3)
    changed = Vd.checked_by_handlers([slider, number, radio, index, box])
    assert changed == [slider, number, radio]
    assert slider.preprocess(-3) == -3 and number.preprocess(2**80) == 2**80 and radio.preprocess("c") == "c"
    assert number.preprocess(float("nan")) != number.preprocess(float("nan"))  # NaN reaches the handler as NaN
    with pytest.raises(InputError, match="gap tolerance"):
        H._gap(slider.preprocess(-3))
    assert index.preprocess("b") == 1  # an index radio keeps its conversion


def test_the_app_turns_them_off_for_every_input(ctx):
    gr = pytest.importorskip("gradio")
    from ui.app import build_app

    demo = build_app(ctx)
    kinds = (gr.Slider, gr.Number, gr.Radio, gr.Dropdown)
    inputs = [b for b in demo.blocks.values() if isinstance(b, kinds) and getattr(b, "type", "value") == "value"]
    assert len(inputs) >= 10
    assert all(Vd.is_checked_by_handlers(b) for b in inputs)
    assert {b.get_block_name() for b in inputs} <= {"slider", "number", "radio", "dropdown"}  # drawn as before


_SESSION: dict = {}


def _found_session():
    """One dress session with its regions found, shared by the property tests below (built once)."""
    if "s" not in _SESSION:
        from ui.state import AppContext

        ctx = AppContext.create(preview_size=96, preview_iterations=3, sam_factory=lambda: None)
        s = H.load_sample(ctx, None, "dress")
        _SESSION["s"], _ = H.find_garment(ctx, s, 0)
    return _SESSION["s"]


@settings(max_examples=40, deadline=None)
@given(pattern=ANY, rotation=ANY, strength=ANY, index=ANY, colour=ANY, mode=ANY, drape=ANY, raw=ANY)
def test_fabric_handlers_give_a_valid_fabric_or_one_clear_message(pattern, rotation, strength, index, colour, mode,
                                                                 drape, raw):
    from ui import fabric_handlers as FH, model as M

    s = _found_session()
    calls = [lambda: H.set_fabric(s, pattern=pattern, rotation=rotation, strength=strength),
             lambda: FH.set_palette_colour(s, index, colour), lambda: FH.set_grain(s, mode, drape),
             lambda: FH.set_prepare(s, raw), lambda: FH.set_palette_size(s, index),
             lambda: FH.set_repeat_cm(s, drape), lambda: FH.set_sketch_cm(s, strength)]
    for call in calls:
        try:
            call()
        except InputError as exc:
            assert str(exc) and len(str(exc)) < 300
        f = s.snap.selected.fabric
        assert isinstance(f, M.Fabric) and math.isfinite(f.pattern) and math.isfinite(f.drape)


def test_uploads_keep_their_files_and_hand_anything_else_to_the_handler(tmp_path):
    gr = pytest.importorskip("gradio")
    from gradio.data_classes import FileData

    with gr.Blocks():
        f = gr.File(type="filepath")
        b = gr.UploadButton(type="filepath")
        many = gr.File(file_count="multiple")
        editor = gr.ImageEditor(type="numpy", image_mode="RGBA", format="png")
    assert Vd.checked_by_handlers([f, b, many, editor]) == [f, b, editor]
    from PIL import Image

    bg = tmp_path / "bg.png"
    Image.new("RGBA", (20, 10), (255, 0, 0, 255)).save(bg)
    ref = {"path": str(bg), "meta": {"_type": "gradio.FileData"}}
    value = editor.preprocess(editor.data_model.model_validate({"background": ref, "layers": [ref],
                                                                "composite": ref, "id": None}))
    assert value["background"].shape == (10, 20, 4) and len(value["layers"]) == 1  # a real edit: as before
    assert not isinstance(editor.preprocess(editor.data_model.model_validate(5)), dict)
    img = tmp_path / "a.png"
    img.write_bytes(b"x")
    payload = {"path": str(img), "meta": {"_type": "gradio.FileData"}, "orig_name": "a.png"}
    for c in (f, b):
        model = c.data_model.model_validate(payload)
        assert isinstance(model, FileData) and c.preprocess(model).endswith("a.png")
        for sent in (5, str(img), "/etc/passwd"):  # what Gradio does before preprocess: no ValidationError …
            out = c.preprocess(c.data_model.model_validate(sent))
            assert not isinstance(out, (str, Path))  # … and a string is never taken for a server path
            with pytest.raises(InputError, match="did not arrive as a file"):
                H.validate_upload(out, what="sketch")
        assert c.data_model.model_json_schema() == FileData.model_json_schema()  # the API schema is unchanged
    with pytest.raises(InputError, match="did not arrive as a file"):
        H.validate_upload(5, what="sketch")

"""The Blocks wiring (built without weights, no server) and the ``garmentstyle ui`` command."""
from __future__ import annotations

import pytest

gr = pytest.importorskip("gradio")

from garmentstyle import cli  # noqa: E402
from garmentstyle.errors import InputError, MaskError  # noqa: E402


@pytest.fixture
def demo(ctx):
    from ui.app import build_app

    return build_app(ctx)


def _fns(demo):
    return {fn.api_name: fn for fn in demo.fns.values() if fn.api_name}


def test_app_builds_with_its_api(demo):
    names = set(_fns(demo))
    assert {"upload_sketch", "open_project", "find_garment", "canvas_click", "render_preview", "render_full",
            "export", "cancel", "upload_swatch", "select_region", "rename_region", "delete_region", "merge_regions",
            "undo", "redo", "apply_brush"} <= names


def test_renders_run_one_at_a_time_through_a_bounded_queue(demo, ctx):
    fns = _fns(demo)
    preview, full = fns["render_preview"], fns["render_full"]
    assert ctx.renders.slots == 1  # the app's own render queue (it can say "waiting for 1 render ahead of you")
    assert preview.concurrency_id == full.concurrency_id == "render"
    assert preview.queue and full.queue
    assert demo._queue.max_size == ctx.queue_size
    assert fns["cancel"].queue is False  # Cancel never waits behind the render it cancels
    assert preview.show_progress == "hidden"  # the app's own progress line, not Gradio's "queue: 1/1 | 2.2/19.9s"


def test_every_image_is_png(demo):
    images = [b for b in demo.blocks.values() if isinstance(b, (gr.Image, gr.ImageSlider, gr.Gallery, gr.ImageEditor))]
    assert images and all(b.format == "png" for b in images)


def test_tabs_release_a_closed_session(ctx):
    from types import SimpleNamespace

    from ui import handlers as H
    from ui.app import Tabs

    tabs = Tabs()
    s = H.load_sample(ctx, None, "dress")
    tabs.own(SimpleNamespace(session_hash="abc"), s)
    assert len(tabs) == 1
    tabs.close(SimpleNamespace(session_hash="abc"))
    assert len(tabs) == 0 and s.history is None


def test_session_state_is_per_tab_and_autosaved_in_the_browser(demo):
    states = [b for b in demo.blocks.values() if isinstance(b, gr.State) and not isinstance(b, gr.BrowserState)]
    assert len(states) == 1 and states[0].value is None  # created per tab by the handlers, never shared
    browser = [b for b in demo.blocks.values() if isinstance(b, gr.BrowserState)]
    assert len(browser) == 1 and browser[0].storage_key == "garmentstyle-workspace"


def test_every_event_returns_a_dict_keyed_by_component(ctx, demo):
    """Spot-check: the edit events answer with {component: value} for only what they change."""
    from ui import handlers as H
    from ui.app import workspace_view

    s = H.load_sample(ctx, None, "dress")
    s, _ = H.find_garment(ctx, s, 0)
    out = workspace_view(demo.ui, s)
    assert all(isinstance(k, gr.components.Component) for k in out)
    assert out[demo.ui.canvas]["src"].startswith("/gradio_api/file=") and out[demo.ui.canvas]["w"] == 640


def test_no_function_in_the_ui_is_longer_than_100_lines():
    import ast
    from pathlib import Path

    import ui

    for path in Path(ui.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                assert n <= 100, f"{path.name}:{node.name} is {n} lines"


def test_ui_defaults_come_from_render_options(demo, ctx):
    from garmentstyle.options import RenderOptions

    d = RenderOptions()
    by_id = {b.elem_id: b for b in demo.blocks.values() if getattr(b, "elem_id", None)}
    assert by_id["gs-colour"].value == d.colour
    assert by_id["gs-keep"].value == d.keep_sketch
    assert by_id["gs-shading"].value == d.shading_strength
    assert by_id["gs-seed"].value == d.seed
    assert by_id["gs-preview-size"].value == ctx.preview_size
    assert by_id["gs-size-mode"].value == "px"  # the test context asks for 128 px; the app's default is below


def test_full_render_defaults_to_the_sketch_size(tmp_path):
    from ui.app import build_app
    from ui.state import AppContext

    c = AppContext.create(tmp_path / "app", sam_factory=lambda: None)
    by_id = {b.elem_id: b for b in build_app(c).blocks.values() if getattr(b, "elem_id", None)}
    assert by_id["gs-size-mode"].value == "sketch"


def test_guard_turns_library_errors_into_gr_error():
    from ui.app import _guard

    def bad():
        raise MaskError("mask of skirt: the mask is empty")

    def bad_gen():
        yield 1
        raise InputError("no regions")

    def bug():
        raise RuntimeError("a bug")

    with pytest.raises(gr.Error, match="the mask is empty"):
        _guard(bad)()
    with pytest.raises(gr.Error, match="no regions"):
        list(_guard(bad_gen)())
    with pytest.raises(RuntimeError):  # bugs are not dressed up as user errors
        _guard(bug)()

    def named(path):
        raise InputError("<img src=x onerror=alert(1)>.png: not an image file")

    with pytest.raises(gr.Error) as exc:
        _guard(named)("x")
    assert "<img" not in exc.value.message and "&lt;img" in exc.value.message  # shown as text, never as HTML


def test_guard_keeps_what_gradio_inspects():
    import inspect

    from ui.app import _guard

    def on_preview(s, size, progress=gr.Progress()):
        yield s

    wrapped = _guard(on_preview)
    assert inspect.isgeneratorfunction(wrapped)
    assert list(inspect.signature(wrapped).parameters) == ["s", "size", "progress"]


# ------------------------------------------------------------------------------------------------ the command
def test_command_is_registered_with_safe_defaults():
    args = cli.build_parser().parse_args(["ui"])
    assert (args.host, args.port, args.share) == ("127.0.0.1", 7860, False)
    assert args.func.__module__ == "garmentstyle.commands.ui"


def test_command_passes_its_options(monkeypatch):
    import ui.app

    seen = {}
    monkeypatch.setattr(ui.app, "launch", lambda **kw: seen.update(kw))
    monkeypatch.setattr("garmentstyle.commands.ui._stop_on_sigterm", lambda: None)
    assert cli.main(["ui", "--port", "7999", "--preview-size", "128", "--preview-iterations", "4"]) == 0
    assert seen["port"] == 7999 and seen["host"] == "127.0.0.1" and seen["share"] is False
    assert seen["preview_size"] == 128 and seen["preview_iterations"] == 4 and seen["device"] == "auto"


@pytest.mark.parametrize("argv", [["ui", "--port", "0"], ["ui", "--preview-size", "8"],
                                  ["ui", "--preview-iterations", "0"], ["ui", "--device", "tpu"]])
def test_command_rejects_bad_options(argv, capsys):
    assert cli.main(argv) == 2
    assert "garmentstyle: error:" in capsys.readouterr().err


def test_a_finished_render_is_shown_before_its_files_are_written(ctx, demo, monkeypatch):
    """The render's answer comes first with the downloads waiting; the PNG and project ZIP (seconds at print size)
    are written after it, and the last answer is whole (an API client sees only that one)."""
    from ui import handlers as H

    ui = demo.ui
    s = H.load_sample(ctx, None, "dress")
    s, _ = H.find_garment(ctx, s, 0)
    calls = []
    real = H.export
    monkeypatch.setattr(H, "export", lambda *a, **k: (calls.append(1), real(*a, **k))[1])
    answers = []
    for out in _fns(demo)["render_preview"].fn(s, 96, 3, "swatch", True, 1.0, 0):
        answers.append((len(calls), out))
    shown = [i for i, (_, out) in enumerate(answers) if out.get(ui.report)]
    assert len(shown) == 2 and shown[1] == len(answers) - 1, [list(o) for _, o in answers]
    n, first = answers[shown[0]]
    assert n == 0 and first[ui.png].interactive is False and "Preparing" in first[ui.dl_note]
    n, last = answers[-1]
    assert n == 1 and last[ui.png].interactive is True and last[ui.zip].value["path"].endswith(".zip")
    assert last[ui.canvas] == first[ui.canvas] and last[ui.live] == first[ui.live]

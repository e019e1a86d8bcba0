"""The running app (``garmentstyle ui`` in a subprocess) driven through ``gradio_client``: the whole flow, upload
validation, what is served, four users at once each getting their own render, 32 identical uploads at once all
getting complete images, and the server's memory after sessions close."""
from __future__ import annotations

import threading
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402

from garmentstyle import samples  # noqa: E402

PREVIEW_SIZE, PREVIEW_ITERATIONS = 96, 3  # the app_server fixture's presets (see conftest.preset)
pytestmark = pytest.mark.slow


def _client(server) -> Client:
    return Client(server.url, verbose=False, analytics_enabled=False)


def _find(out, pred):
    """The first output value for which ``pred`` holds (outputs are a tuple in the event's output order)."""
    for v in out:
        try:
            if pred(v):
                return v
        except (TypeError, KeyError, AttributeError):
            continue
    raise AssertionError(f"no such output in {[str(v)[:60] for v in out]}")


def _text(out, needle: str) -> str:
    return _find(out, lambda v: isinstance(v, str) and needle in v)


def _download(out, label: str) -> Path:
    return Path(_find(out, lambda v: isinstance(v, dict) and label in str(v.get("label")) and v.get("value"))["value"])


def _canvas_png(server, out) -> Image.Image:
    canvas = _find(out, lambda v: isinstance(v, dict) and "src" in v)
    with urllib.request.urlopen(server.url + canvas["src"], timeout=30) as r:
        data = r.read()
    img = Image.open(__import__("io").BytesIO(data))
    img.load()  # raises on a truncated file
    return img


def _render_flow(server, sketch: Path) -> tuple[np.ndarray, Path, Path, str]:
    """Upload → Find garment → preview, in one client session. Returns the render, PNG, ZIP, report."""
    c = _client(server)
    out = c.predict(handle_file(str(sketch)), api_name="/upload_sketch")
    _text(out, "Loaded")
    out = c.predict(0, api_name="/find_garment")
    _text(out, "Found the garment")
    out = c.predict(PREVIEW_SIZE, PREVIEW_ITERATIONS, "swatch", True, 1.0, 0, api_name="/render_preview")
    _text(out, "Preview done")
    live = _find(out, lambda v: isinstance(v, str) and v.endswith(".png") and Path(v).is_file()
                 and Image.open(v).size[1] == PREVIEW_SIZE)
    report = _text(out, "**Preview**")
    return (np.asarray(Image.open(live).convert("RGB")), _download(out, "Download PNG"),
            _download(out, "project"), report)


def _sketch_at(name: str, size: tuple[int, int]) -> np.ndarray:
    img = Image.open(samples.sketch_path(name)).convert("RGB").resize(size, Image.LANCZOS)
    return np.asarray(img, np.float32)


def test_whole_flow_through_the_api(app_server, preset):
    assert preset == (PREVIEW_SIZE, PREVIEW_ITERATIONS)
    render, png, zpath, report = _render_flow(app_server, samples.sketch_path("dress"))
    assert render.shape == (96, 80, 3)
    im = Image.open(png)
    assert im.format == "PNG" and im.size == (80, 96)
    assert "offline engine" in report
    with zipfile.ZipFile(zpath) as zf:
        assert {"render.png", "recipe.json", "lineart.png", "sketch.png", "project/workspace.json"} <= set(zf.namelist())


def _raises(c, args, api_name: str, match: str) -> str:
    """The call fails with a message matching ``match`` (the designer's words, not Gradio's own check)."""
    with pytest.raises(Exception) as exc:
        c.predict(*args, api_name=api_name)
    msg = str(exc.value)
    assert __import__("re").search(match, msg), (args, msg)
    assert "Value " not in msg and "list of choices" not in msg, msg  # not Gradio's pre-check
    return msg


def test_bad_input_gets_a_clear_message_and_no_traceback(app_server, tmp_path):
    """Wrong values of every kind through the API: each gets a message naming the control and what it accepts;
    the server logs no traceback (Gradio's own range checks, which log one, are off: ui.validate)."""
    start = len(app_server.log)
    fake = tmp_path / "sketch.png"
    fake.write_text("not really a png")
    c = _client(app_server)
    with pytest.raises(Exception, match="not an image file"):
        c.predict(handle_file(str(fake)), api_name="/upload_sketch")
    c.predict(handle_file(str(samples.sketch_path("dress"))), api_name="/upload_sketch")
    c.predict(0, api_name="/find_garment")
    ok = (96, 3, "swatch", True, 1.0, 0)
    for i, bad, match in [(5, 2**80, r"seed must be between 0 and 4294967295"), (5, "zero", "seed must be a number"),
                          (4, 5.0, "shading strength must be between 0 and 1"), (4, [1], "shading strength"),
                          (2, "sepia", "colour mode must be one of"), (3, "no", "on or off"),
                          (0, 10**6, "render size"), (1, -2, "iterations must be between 1 and"),
                          (1, "many", "iterations must be a number")]:
        args = list(ok)
        args[i] = bad
        _raises(c, args, "/render_preview", match)
    _raises(c, [-3], "/find_garment", "gap tolerance .* must be between 0 and")
    _raises(c, ["wide"], "/find_garment", "gap tolerance .* must be a number")
    _raises(c, ["sideways"], "/set_view", "canvas view must be one of")
    _raises(c, [5], "/upload_sketch", "did not arrive as a file")  # not a file: no pydantic traceback either
    _raises(c, ["made-up.png"], "/upload_swatch", "did not arrive as a file")
    _raises(c, ["layers"], "/apply_grain_strokes", "no grain strokes")  # an image editor's value that is not one
    _raises(c, [5], "/apply_brush", "brush editor")
    # a server path sent as a plain string is never opened (only files Gradio received are)
    _raises(c, [str(samples.sketch_path("jacket"))], "/upload_sketch", "did not arrive as a file")
    log = "".join(app_server.log[start:])
    assert "Traceback" not in log, log[-3000:]


def test_render_without_a_sketch_says_what_to_do(app_server):
    c = _client(app_server)
    with pytest.raises(Exception, match="load a sketch first"):
        c.predict(PREVIEW_SIZE, PREVIEW_ITERATIONS, "swatch", True, 1.0, 0, api_name="/render_preview")


@pytest.mark.parametrize("target", [
    "/etc/passwd",
    str(Path(__file__).resolve().parents[2] / "pyproject.toml"),
    str(samples.sketch_path("dress")),
])
def test_nothing_outside_the_app_temp_folder_is_served(app_server, target):
    url = f"{app_server.url}/gradio_api/file={urllib.parse.quote(target)}"
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(url, timeout=10)
    assert exc.value.code in (403, 404)


def test_four_users_at_once_each_get_their_own_render(app_server):
    names = ["dress", "jacket", "trousers", "tshirt"]
    start = threading.Barrier(len(names))

    def user(name: str):
        start.wait(timeout=60)
        return _render_flow(app_server, samples.sketch_path(name))

    with ThreadPoolExecutor(len(names)) as pool:
        results = list(pool.map(user, names))
    for name, (render, png, _, _) in zip(names, results):
        h, w = render.shape[:2]
        dists = {other: float(np.abs(_sketch_at(other, (w, h)) - render).mean()) for other in names}
        assert min(dists, key=dists.get) == name, (name, dists)
        assert name in png.name
    assert len({str(r[1]) for r in results}) == len(names)


def test_32_identical_uploads_at_once_all_get_complete_images(app_server):
    n = 32
    start = threading.Barrier(n)
    sketch = samples.sketch_path("dress")

    with ThreadPoolExecutor(8) as pool:
        clients = list(pool.map(lambda _: _client(app_server), range(n)))

    def user(c):
        start.wait(timeout=120)
        out = c.predict(handle_file(str(sketch)), api_name="/upload_sketch")
        return np.asarray(_canvas_png(app_server, out).convert("RGB"))

    with ThreadPoolExecutor(n) as pool:
        images = list(pool.map(user, clients))
    assert len(images) == n and all(np.array_equal(images[0], im) for im in images)
    assert images[0].shape[:2] == (768, 640)


def test_a_colourway_shows_live_on_the_canvas_and_undoes(app_server):
    """The palette editor through the running app: three colours found, one replaced, the canvas changes in the
    selected region (the skirt, lower half) and undo brings the canvas back exactly."""
    c = _client(app_server)
    c.predict(handle_file(str(samples.sketch_path("dress"))), api_name="/upload_sketch")
    c.predict(0, api_name="/find_garment")
    plain = np.asarray(_canvas_png(app_server, c.predict("fabric", api_name="/set_view")).convert("RGB"), int)
    out = c.predict(3, api_name="/set_palette_size")
    _text(out, "main colours")
    found = np.asarray(_canvas_png(app_server, out).convert("RGB"), int)
    tile = _find(out, lambda v: isinstance(v, str) and v.endswith("swatch-repeat.png"))
    assert Image.open(tile).size[0] <= 360
    out = c.predict("#00ff00", api_name="/set_palette_colour_1")
    green = np.asarray(_canvas_png(app_server, out).convert("RGB"), int)
    changed = np.abs(green - found).max(axis=2) > 0
    ys = np.nonzero(changed)[0]
    assert changed.mean() > 0.05 and ys.min() > 0.3 * changed.shape[0]  # the skirt, not the bodice
    back = np.asarray(_canvas_png(app_server, c.predict(api_name="/undo")).convert("RGB"), int)
    assert np.array_equal(back, found)
    assert not np.array_equal(found, green) and plain.shape == green.shape
    with pytest.raises(Exception, match="a colour like"):
        c.predict("greenish", api_name="/set_palette_colour_1")

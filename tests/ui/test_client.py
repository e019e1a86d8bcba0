"""The running app (``garmentstyle ui`` in a subprocess) driven through ``gradio_client``: the whole flow, upload
validation, what is served, and four users at once each getting their own render."""
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


def _render_flow(server, sketch: Path) -> tuple[np.ndarray, Path, Path, str]:
    """Upload → Find garment → preview → export, in one client session. Returns the render, PNG, ZIP, status."""
    c = _client(server)
    out = c.predict(handle_file(str(sketch)), api_name="/upload_sketch")
    assert "Loaded" in out[11]  # the 11 region outputs, then the hint (gr.State is not returned)
    out = c.predict(0, api_name="/find_garment")
    assert "Found the garment" in out[-1]
    live, status, compare, report = c.predict(PREVIEW_SIZE, PREVIEW_ITERATIONS, "swatch", True, 1.0, 0,
                                              api_name="/render_preview")
    assert "Preview done" in status, status
    png, zpath = (_value(v) for v in c.predict(False, api_name="/export"))
    return np.asarray(Image.open(live).convert("RGB")), Path(png), Path(zpath), report


def _value(v):
    """A component update (dict) or a plain value → the value (a DownloadButton returns an update)."""
    return v.get("value") if isinstance(v, dict) else v


def _sketch_at(name: str, size: tuple[int, int]) -> np.ndarray:
    """A sample sketch resized to ``(w, h)``, float RGB 0…255."""
    img = Image.open(samples.sketch_path(name)).convert("RGB").resize(size, Image.LANCZOS)
    return np.asarray(img, np.float32)


def test_whole_flow_through_the_api(app_server, preset):
    assert preset == (PREVIEW_SIZE, PREVIEW_ITERATIONS)
    sketch = samples.sketch_path("dress")
    render, png, zpath, report = _render_flow(app_server, sketch)
    assert render.shape == (96, 80, 3)
    im = Image.open(png)
    assert im.format == "PNG" and im.size == (80, 96)
    assert "encoder texture (offline fallback)" in report
    with zipfile.ZipFile(zpath) as zf:
        assert {"render.png", "recipe.json", "lineart.png", "sketch.png"} <= set(zf.namelist())


def test_bad_upload_gets_a_clear_message(app_server, tmp_path):
    fake = tmp_path / "sketch.png"
    fake.write_text("not really a png")
    c = _client(app_server)
    with pytest.raises(Exception, match="not an image file"):
        c.predict(handle_file(str(fake)), api_name="/upload_sketch")


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
        # outside the garment a render is its own sketch, so of the four sketches its own is the closest
        dists = {other: float(np.abs(_sketch_at(other, (w, h)) - render).mean()) for other in names}
        assert min(dists, key=dists.get) == name, (name, dists)
        assert name in png.name  # and its export is named after its own sketch
    assert len({str(r[1]) for r in results}) == len(names)

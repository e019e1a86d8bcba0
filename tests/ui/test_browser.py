"""The designer's workspace in a real browser: Debian's chromium driven by Playwright against ``garmentstyle ui``
(tiny preview presets, the offline texture encoder, classical segmentation; one app server for the whole run).

Every wait is on a condition on the page (``expect`` / ``wait_for_function``), never a fixed sleep. Screenshots go to
``test-artifacts/ui/`` (look at them: they are the walk-through the issue asks for).
"""
from __future__ import annotations

import contextlib
import inspect
import io
import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from garmentstyle import samples

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-default-apps", "--disable-extensions"]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "ui"
#: axe-core is installed here by the test itself (npm), never committed (see .gitignore).
NODE_DIR = Path(__file__).resolve().parent / "node_modules"
TIMEOUT_MS = 60_000
DRESS = samples.sketch_path("dress")
DRESS_W, DRESS_H = Image.open(DRESS).size  # 640×768: the skirt is around (320, 600), the bodice around (320, 250)
SKIRT, BODICE = (320, 600), (320, 250)
WIDE = {"width": 1440, "height": 900}
SMALL = {"width": 1280, "height": 720}


# ------------------------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module", autouse=True)
def noise_server(request, tmp_path_factory):
    """A second app whose renders optimise from noise (so a render has a long measuring stage to cancel in):
    started as the module begins so its start overlaps the other tests; only when a selected test needs it."""
    if not any(item.module is request.module and "noise_server" in inspect.signature(item.function).parameters
               for item in request.session.items):
        yield None
        return
    request.getfixturevalue("app_server")  # the shared app first: it has bound its port before this one asks
    server = request.getfixturevalue("launch_app")(tmp_path_factory, "--init", "noise")
    yield server
    server.stop()


@pytest.fixture
def context(browser):
    """A fresh browser profile (its own localStorage) per test."""
    c = browser.new_context(viewport=WIDE, accept_downloads=True)
    c.set_default_timeout(TIMEOUT_MS)
    yield c
    c.close()


def _open(context, url: str):
    pg = context.new_page()
    pg.errors = []  # type: ignore[attr-defined]
    pg.on("pageerror", lambda exc: pg.errors.append(str(exc)))
    pg.goto(url)
    _expect()(pg.locator("#gs-status")).to_contain_text("Fabric engine")
    return pg


@pytest.fixture
def page(context, app_server):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pg = _open(context, app_server.url)
    yield pg
    assert not pg.errors, pg.errors


def _expect():
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    return expect


# ------------------------------------------------------------------------------------------------------ helpers
def _shot(page, name: str, *, full_page: bool = False) -> None:
    page.screenshot(path=str(ARTIFACTS / name), full_page=full_page)


def _tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def _rows(page):
    return page.locator("#gs-regions tr.gs-row")


def _load_dress_and_find(page) -> None:
    expect = _expect()
    _tab(page, "Sketch")
    page.locator("#gs-samples img").first.click()  # the first sample is the dress
    expect(page.locator("#gs-hint")).to_contain_text(f"Loaded the sample dress ({DRESS_W}×{DRESS_H} px)")
    expect(page.locator("#gs-canvas .gs-img")).to_be_visible()
    _tab(page, "Regions")
    page.locator("#gs-find").click()
    expect(page.locator("#gs-hint")).to_contain_text("Found the garment in 2 parts")
    expect(_rows(page)).to_have_count(2)


def _table(page) -> list[tuple[str, str, str]]:
    """(name, area, fabric) per row of the region table."""
    return [tuple(c.strip() for c in row.split("\t")[1:4])
            for row in _rows(page).evaluate_all("rs => rs.map(r => r.innerText)")]


def _select_row(page, i: int) -> str:
    """Click row ``i`` of the region table and wait for its answer (the hint names the region)."""
    name = _rows(page).nth(i).locator(".gs-name").inner_text().strip()
    _rows(page).nth(i).click()
    _expect()(page.locator("#gs-hint")).to_contain_text(f"Selected “{name}”")
    _expect()(page.locator("#gs-rename input, #gs-rename textarea").first).to_have_value(name)
    return name


def _rename_row(page, i: int, name: str) -> None:
    """Select row ``i`` and rename its region to ``name`` (the hint confirms it)."""
    _select_row(page, i)
    box = page.locator("#gs-rename input, #gs-rename textarea").first
    box.fill(name)
    box.press("Enter")
    _expect()(page.locator("#gs-hint")).to_contain_text(f"to “{name}”")


@contextlib.contextmanager
def _reopened(browser, url: str, project: Path, regions: list):
    """A page in a fresh browser context (a new profile: no autosave) that opened ``project`` and shows the same
    region table; the context is closed afterwards, and the page must have raised no error."""
    expect = _expect()
    fresh = browser.new_context(viewport=WIDE)
    try:
        fresh.set_default_timeout(TIMEOUT_MS)
        pg = _open(fresh, url)
        expect(pg.locator("#gs-hint")).to_contain_text("Load a sketch")
        with pg.expect_file_chooser() as fc:
            pg.locator("#gs-open").click()
        fc.value.set_files(str(project))
        expect(pg.locator("#gs-hint")).to_contain_text("Opened")
        expect(_rows(pg)).to_have_count(2)
        assert _table(pg) == regions
        yield pg
        assert not pg.errors, pg.errors
    finally:
        fresh.close()


def _save_project(page, dest: Path) -> Path:
    """Press Save the project (Sketch tab) and download the ZIP to ``dest`` (a fresh file: a link left from an
    earlier save is waited past)."""
    _tab(page, "Sketch")
    links = page.locator("#gs-project-out a[download]")
    before = links.first.get_attribute("href") if links.count() else None
    page.locator("#gs-save").click()
    page.wait_for_function("old => { const a = document.querySelector('#gs-project-out a[download]'); "
                           "return a && a.getAttribute('href') !== old && a.offsetParent !== null; }", arg=before)
    link = links.first
    with page.expect_download() as info:
        link.click()
    info.value.save_as(dest)
    return dest


def _selected(page) -> str:
    return page.locator("#gs-regions tr.gs-sel td.gs-name").inner_text().strip()


def _click_sketch(page, x: float, y: float, *, modifiers=None, size: tuple[int, int] = (DRESS_W, DRESS_H)) -> None:
    """Click the canvas at sketch pixel (x, y) of a ``size`` = (width, height) sketch: the image box is the sketch
    (also when zoomed)."""
    img = page.locator("#gs-canvas .gs-img")
    box = img.bounding_box()
    w, h = size
    page.mouse.move(box["x"] + x / w * box["width"], box["y"] + y / h * box["height"])
    for m in modifiers or []:
        page.keyboard.down(m)
    page.mouse.click(box["x"] + x / w * box["width"], box["y"] + y / h * box["height"])
    for m in modifiers or []:
        page.keyboard.up(m)


def _image_at(page, selector: str) -> np.ndarray:
    """The pixels of an <img> on the page, fetched from its URL (exact: no screenshot scaling)."""
    src = page.locator(selector).get_attribute("src")
    body = page.request.get(src if src.startswith("http") else page.url.rstrip("/") + src).body()
    return np.asarray(Image.open(io.BytesIO(body)).convert("RGB"))


def _wait_canvas_change(page, old_src: str) -> None:
    page.wait_for_function("s => { const i = document.querySelector('#gs-canvas .gs-img'); "
                           "return i && i.getAttribute('src') !== s && i.complete; }", arg=old_src)


def _set_number(page, elem_id: str, value) -> None:
    """Type into a slider's or number box's number field and commit it (Enter fires the input event), as a
    designer does: if the field does not show the number afterwards, type it again.

    Why again: Gradio mounts a tab's and an accordion's components when they are first opened, and a slider that
    is still mounting sets its field from its stored value (0) after the test has typed into it — then Enter sends
    0 (seen in a log of the app's handlers: the palette size arrived as 0 with no answer of the app carrying a 0
    after the panel was drawn; 1 whole-suite run in ~8 under load). A person cannot type within those
    milliseconds; the app's own answers are tested not to overwrite a field being typed into
    (tests/ui/test_handlers.py)."""
    box = page.locator(f"#{elem_id} input[type=number]")
    for attempt in range(3):
        box.fill(str(value))
        box.press("Enter")
        try:
            _expect()(box).to_have_value(str(value), timeout=5000 if attempt < 2 else TIMEOUT_MS)
            return
        except AssertionError:
            if attempt == 2:
                raise


def _progress_label(page) -> str:
    return page.locator("#gs-progress .gs-plabel").inner_text()


def _render(page, kind: str, expect_text: str) -> None:
    page.locator(f"#gs-{kind}").click()
    _expect()(page.locator("#gs-progress .gs-plabel")).to_contain_text(expect_text)


# ------------------------------------------------------------------------------------------------------ layout
def _box(page, sel: str) -> dict:
    return page.locator(sel).bounding_box()


@pytest.mark.parametrize("viewport", [WIDE, SMALL], ids=["1440x900", "1280x720"])
def test_sketch_and_render_side_by_side_on_one_screen(page, viewport):
    page.set_viewport_size(viewport)
    _load_dress_and_find(page)
    _render(page, "preview", "Preview done")
    _expect()(page.locator("#gs-live img")).to_be_visible()
    cv, live = _box(page, "#gs-canvas .gs-cv"), _box(page, "#gs-live img")
    table, find = _box(page, "#gs-regions"), _box(page, "#gs-find")
    w, h = viewport["width"], viewport["height"]
    _shot(page, f"layout-{w}x{h}.png")
    for name, b in [("canvas", cv), ("render", live), ("region table", table), ("Find garment", find)]:
        assert b["x"] >= 0 and b["y"] >= 0 and b["x"] + b["width"] <= w + 1 and b["y"] + b["height"] <= h + 1, (
            f"the {name} is not wholly on screen at {w}×{h}: {b}")
    assert live["x"] >= cv["x"] + cv["width"] - 1, "the render is not beside the sketch"
    assert cv["height"] >= 0.5 * h and live["height"] >= 0.35 * h, (cv, live)
    for b in ("#gs-png", "#gs-full", "#gs-cancel", "#gs-undo"):
        bb = _box(page, b)
        assert bb["y"] + bb["height"] <= h + 1, f"{b} is below the fold at {w}×{h}"
    for b in ("#gs-preview", "#gs-cancel"):  # filled buttons (a theme colour that does not resolve is transparent)
        assert page.locator(b).evaluate("e => getComputedStyle(e).backgroundColor") != "rgba(0, 0, 0, 0)", b
    assert page.evaluate("document.documentElement.scrollWidth") <= w, "the page scrolls sideways"


def test_zoomed_canvas_clicks_still_select(page):
    expect = _expect()
    _load_dress_and_find(page)
    img = page.locator("#gs-canvas .gs-img")
    before = img.bounding_box()
    page.locator("#gs-canvas .gs-zb[data-z=in]").click()
    page.locator("#gs-canvas .gs-zb[data-z=in]").click()
    expect(page.locator("#gs-canvas .gs-zlabel")).to_have_text("225%")
    after = img.bounding_box()
    assert after["width"] > 2 * before["width"]
    # pan so the bodice is in view: drag the sketch
    cv = _box(page, "#gs-canvas .gs-cv")
    page.mouse.move(cv["x"] + cv["width"] / 2, cv["y"] + cv["height"] / 2)
    page.mouse.down()
    page.mouse.move(cv["x"] + cv["width"] / 2 + 40, cv["y"] + cv["height"] / 2 + 120, steps=4)
    page.mouse.up()
    box = img.bounding_box()
    bx, by = box["x"] + BODICE[0] / DRESS_W * box["width"], box["y"] + BODICE[1] / DRESS_H * box["height"]
    assert cv["x"] < bx < cv["x"] + cv["width"] and cv["y"] < by < cv["y"] + cv["height"], "bodice out of view"
    page.mouse.click(bx, by)
    expect(page.locator("#gs-hint")).to_contain_text("Selected “part02”")
    assert _selected(page) == "part02"
    _shot(page, "zoomed-click.png")


# ------------------------------------------------------------------------------------------------------ editing
def test_click_merge_rename_brush_undo_redo(page):
    expect = _expect()
    _load_dress_and_find(page)
    start = _table(page)
    assert [r[0] for r in start] == ["part01", "part02"]

    # a click selects the region under it; it changes nothing
    _click_sketch(page, *BODICE)
    expect(page.locator("#gs-hint")).to_contain_text("Selected “part02”")
    assert _selected(page) == "part02" and _table(page) == start

    # a row click selects too
    _rows(page).nth(0).click()
    expect(page.locator("#gs-hint")).to_contain_text("Selected “part01”")

    # Shift-click: the bodice joins the skirt; undo gives it back, redo takes it again
    _click_sketch(page, *BODICE, modifiers=["Shift"])
    expect(page.locator("#gs-hint")).to_contain_text("Added to “part01”")
    merged = _table(page)
    assert merged[0][1] != start[0][1] and merged[1][1] == "0.0%", merged
    _shot(page, "edit-shift-merge.png")
    page.locator("#gs-undo").click()
    expect(page.locator("#gs-hint")).to_contain_text("Undone")
    assert _table(page) == start
    page.keyboard.press("Control+Shift+Z")  # the shortcut, away from any text box
    expect(page.locator("#gs-hint")).to_contain_text("Redone")
    assert _table(page) == merged
    # Alt-click gives the bodice back to the region it came from
    _click_sketch(page, *BODICE, modifiers=["Alt"])
    expect(page.locator("#gs-hint")).to_contain_text("Removed from “part01”")
    assert _table(page) == start

    # rename, undo, redo
    _select_row(page, 0)
    box = page.locator("#gs-rename input, #gs-rename textarea").first
    box.fill("skirt")
    page.locator("#gs-rename-btn").click()
    expect(page.locator("#gs-hint")).to_contain_text("Renamed “part01” to “skirt”")
    assert _table(page)[0][0] == "skirt"
    page.locator("#gs-undo").click()
    expect(_rows(page).nth(0).locator(".gs-name")).to_have_text("part01")
    page.locator("#gs-redo").click()
    expect(_rows(page).nth(0).locator(".gs-name")).to_have_text("skirt")

    # brush: paint on the remove layer across the skirt, apply, undo
    area = _table(page)[0][1]
    page.locator("#gs-brush").get_by_text("Touch up with the brush").click()
    editor = page.locator("#gs-editor")
    expect(editor.locator("canvas").first).to_be_visible()
    editor.get_by_text("skirt").first.click()  # the layer button: opens the layer list
    editor.get_by_text("✕ remove").click()
    canvas = editor.locator("canvas").first
    b = canvas.bounding_box()
    cx, cy = b["x"] + b["width"] / 2, b["y"] + b["height"] * 0.75
    page.mouse.move(cx - 60, cy)
    page.mouse.down()
    page.mouse.move(cx + 60, cy, steps=4)
    page.mouse.up()
    _shot(page, "edit-brush.png")
    page.locator("#gs-apply").click()
    expect(page.locator("#gs-hint")).to_contain_text("Applied the brush strokes")
    expect(editor.locator("canvas").first).to_be_hidden()  # folded away: an open, re-filled editor kept the page busy
    painted = _table(page)[0][1]
    assert painted != area
    page.locator("#gs-undo").click()
    expect(_rows(page).nth(0).locator(".gs-num")).to_have_text(area)
    page.locator("#gs-redo").click()
    expect(_rows(page).nth(0).locator(".gs-num")).to_have_text(painted)


def test_live_fabric_overlay_follows_pattern_size(page):
    expect = _expect()
    _load_dress_and_find(page)
    _rows(page).nth(0).click()
    expect(page.locator("#gs-hint")).to_contain_text("Selected “part01”")
    src = page.locator("#gs-canvas .gs-img").get_attribute("src")
    page.locator("#gs-view").get_by_text("Fabric", exact=True).click()
    _wait_canvas_change(page, src)
    fabric1 = _image_at(page, "#gs-canvas .gs-img")
    _tab(page, "Fabric")
    src = page.locator("#gs-canvas .gs-img").get_attribute("src")
    t0 = time.perf_counter()
    _set_number(page, "gs-pattern", 3)
    _wait_canvas_change(page, src)
    took = time.perf_counter() - t0
    fabric3 = _image_at(page, "#gs-canvas .gs-img")
    _shot(page, "live-fabric-pattern-3.png")
    # the skirt (part01) changed; the paper outside the garment did not
    garment = np.asarray(Image.open(samples.mask_paths("dress")["garment"]).convert("L").resize(
        fabric1.shape[1::-1])) > 200
    diff = np.abs(fabric1.astype(int) - fabric3.astype(int)).sum(-1)
    assert (diff[garment] > 30).mean() > 0.2, "the overlay did not change with the pattern size"
    assert (diff[~garment] > 30).mean() < 0.01, "pixels outside the garment changed"
    assert took < 10, f"the overlay took {took:.1f} s to follow the change"
    expect(page.locator("#gs-regions tr.gs-sel")).to_contain_text("×3")


def _skirt_colours(img: np.ndarray, k: int = 3) -> np.ndarray:
    """The ``k`` main colours (CIELAB, largest first) of the canvas image inside the skirt, away from its outline."""
    import cv2

    from garmentstyle import colourway

    skirt = np.asarray(Image.open(samples.mask_paths("dress")["skirt"]).convert("L").resize(img.shape[1::-1])) > 127
    inner = cv2.erode(skirt.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    return np.array([c.lab for c in colourway.find_colours(img[inner][None].astype(np.float64) / 255, k).colours])


def _set_colour(page, i: int, hex_colour: str) -> None:
    """Pick ``hex_colour`` for palette colour ``i`` and wait until the canvas shows it (the key lists it)."""
    src = page.locator("#gs-canvas .gs-img").get_attribute("src")
    picker = page.locator(f"#gs-fp-c{i}")
    picker.locator("button.dialog-button").click()  # the picker's dialog: gradient, hue, and the hex field
    field = picker.locator(".color-picker input[type=text]")
    field.fill(hex_colour)
    field.press("Enter")
    page.mouse.click(5, 5)  # away from the picker: its dialog closes and the typed colour applies
    _expect()(picker.locator(".color-picker")).to_have_count(0)
    _expect()(page.locator("#gs-fp-key")).to_contain_text(hex_colour)
    _wait_canvas_change(page, src)


def test_three_colourways_of_a_print_show_live_on_the_canvas(page):
    """Issue 13's designer flow in the browser: the skirt's floral recoloured into three colourways with the palette
    editor, each shown on the canvas as it is picked (only the skirt changes; each colourway's main colour is its
    palette's, not the last one's), and undo walks back through them."""
    from garmentstyle import colourway

    expect = _expect()
    _load_dress_and_find(page)
    name = _select_row(page, 0)  # part01: the skirt
    src = page.locator("#gs-canvas .gs-img").get_attribute("src")
    page.locator("#gs-view").get_by_text("Fabric", exact=True).click()
    _wait_canvas_change(page, src)
    own = _image_at(page, "#gs-canvas .gs-img")
    _tab(page, "Fabric")
    # as a designer does, look at the panel before editing it: it is drawn for the skirt. (Typed before the first
    # refresh after "Find garment" landed, the "3" was written over by that refresh's 0 — 1 run in ~8 under load.)
    expect(page.locator("#gs-fp-words")).to_contain_text(name)
    page.locator("#gs-fp-palette").get_by_text("Colourway (palette)").click()
    src = page.locator("#gs-canvas .gs-img").get_attribute("src")
    _set_number(page, "gs-fp-k", 3)
    expect(page.locator("#gs-fp-c2 button.dialog-button")).to_be_visible()
    _wait_canvas_change(page, src)
    ways = {"ochre": ("#c8962e", "#2f4858", "#f6f1e7"), "sage": ("#8fa98a", "#f4efe6", None),
            "plum": ("#5b2333", None, "#e9c46a")}
    shown: dict[str, np.ndarray] = {}
    for name, colours in ways.items():
        for i, c in enumerate(colours):
            if c is not None:
                _set_colour(page, i, c)
        shown[name] = _image_at(page, "#gs-canvas .gs-img")
        _shot(page, f"colourway-{name}.png")
        # the palette sits low in the Fabric tab: the canvas stays on screen beside it while it is edited
        view = page.viewport_size
        cbox, pbox = _box(page, "#gs-canvas .gs-img"), _box(page, "#gs-fp-c0")
        assert 0 <= pbox["y"] < view["height"], pbox
        assert cbox["y"] >= 0 and cbox["y"] + cbox["height"] <= view["height"] + 1, (cbox, view)
    garment = np.asarray(Image.open(samples.mask_paths("dress")["garment"]).convert("L").resize(
        own.shape[1::-1])) > 127
    skirt = np.asarray(Image.open(samples.mask_paths("dress")["skirt"]).convert("L").resize(own.shape[1::-1])) > 127
    palettes, current = {}, [None, None, None]
    for name, colours in ways.items():  # each colourway's three colours (a None keeps the one picked before)
        current = [c if c is not None else current[i] for i, c in enumerate(colours)]
        palettes[name] = np.array([colourway.resolve_palette(c)[0].lab for c in current])
    for name, img in shown.items():
        diff = np.abs(img.astype(int) - own.astype(int)).sum(-1) > 30
        assert diff[skirt].mean() > 0.3 and not diff[~garment].any(), name  # the skirt recoloured, the page kept
        assert diff[garment & ~skirt].mean() < 0.02, name  # the other region kept its fabric
        seen = _skirt_colours(img)  # the canvas's three main colours in the skirt (under the sketch's shading)
        misses = {n: float(np.linalg.norm(p[:, None] - seen[None], axis=-1).min(axis=1).sum())
                  for n, p in palettes.items()}
        assert min(misses, key=misses.get) == name, (name, misses)  # the canvas shows this colourway, no other
    # plum's two picks undone, one at a time (each waited for on the key): back to sage exactly
    key = page.locator("#gs-fp-key")
    page.locator("#gs-undo").click()
    expect(key).not_to_contain_text("#e9c46a")
    expect(key).to_contain_text("#5b2333")
    src = page.locator("#gs-canvas .gs-img").get_attribute("src")
    page.locator("#gs-undo").click()
    expect(key).not_to_contain_text("#5b2333")
    expect(key).to_contain_text("#8fa98a")
    _wait_canvas_change(page, src)  # the canvas's image follows the key in its own step
    assert np.array_equal(_image_at(page, "#gs-canvas .gs-img"), shown["sage"])


# ------------------------------------------------------------------------------------------------------ persistence
def test_reload_restores_the_session(page):
    expect = _expect()
    _load_dress_and_find(page)
    _rename_row(page, 1, "bodice")
    before = _table(page)
    page.reload()
    expect(page.locator("#gs-hint")).to_contain_text("Restored")
    expect(_rows(page)).to_have_count(2)
    assert _table(page) == before
    expect(page.locator("#gs-canvas .gs-img")).to_be_visible()
    _shot(page, "reload-restored.png")

    # a new sketch does not silently replace the regions: it asks; "keep" keeps them, "replace" replaces them
    _tab(page, "Sketch")
    page.locator("#gs-samples img").nth(1).click()
    expect(page.locator("#gs-confirm-yes")).to_be_visible()
    expect(page.get_by_text("Replace your 2 regions of dress")).to_be_visible()
    _shot(page, "confirm-replace.png")
    page.locator("#gs-confirm-no").click()
    expect(page.locator("#gs-hint")).to_contain_text("Kept your regions")
    expect(page.locator("#gs-confirm-yes")).to_be_hidden()
    _tab(page, "Regions")
    assert _table(page) == before
    _tab(page, "Sketch")
    page.locator("#gs-samples img").nth(1).click()
    page.locator("#gs-confirm-yes").click()
    expect(page.locator("#gs-hint")).to_contain_text("Loaded the sample jacket")
    expect(page.locator("#gs-regions .gs-empty")).to_contain_text("No regions yet")


def test_save_a_project_before_any_render_and_reopen_it(page, browser, app_server, tmp_path):
    expect = _expect()
    _load_dress_and_find(page)
    _rename_row(page, 1, "bodice")
    regions = _table(page)
    project = _save_project(page, tmp_path / "saved.zip")
    with _reopened(browser, app_server.url, project, regions) as pg:
        expect(pg.locator("#gs-png")).to_be_disabled()  # no render saved: nothing to download yet


def test_save_then_reopen_project_in_a_fresh_page(page, browser, app_server, tmp_path):
    expect = _expect()
    _load_dress_and_find(page)
    _rename_row(page, 0, "skirt")
    _tab(page, "Fabric")
    _set_number(page, "gs-pattern", 2)
    expect(page.locator("#gs-regions tr.gs-sel")).to_contain_text("×2")
    _render(page, "preview", "Preview done")
    expect(page.locator("#gs-zip")).to_be_enabled()
    _tab(page, "Regions")
    regions = _table(page)
    assert len(regions) == 2 and regions[0][0] == "skirt" and "×2" in regions[0][2], regions
    render = _image_at(page, "#gs-live img")
    with page.expect_download() as info:
        page.locator("#gs-zip").click()
    project = tmp_path / info.value.suggested_filename
    info.value.save_as(project)
    assert project.suffix == ".zip"

    with _reopened(browser, app_server.url, project, regions) as pg:
        expect(pg.locator("#gs-live img")).to_be_visible()
        again = _image_at(pg, "#gs-live img")
        assert again.shape == render.shape and np.array_equal(again, render), "the reopened render differs"
        expect(pg.locator("#gs-png")).to_be_enabled()
        _shot(pg, "project-reopened.png")


# ------------------------------------------------------------------------------------------------------ rendering
RECORD_DOWNLOADS = """() => { window.__dl = [];
    const note = document.querySelector('#gs-dl-note'), png = document.querySelector('#gs-png');
    const log = () => window.__dl.push({note: note.innerText.trim(), disabled: png.disabled, text: png.innerText});
    new MutationObserver(log).observe(document.querySelector('#gs-dl-note').parentElement,
                                      {subtree: true, childList: true, characterData: true, attributes: true});
    new MutationObserver(log).observe(png, {attributes: true, childList: true, subtree: true}); log(); }"""


def test_full_render_at_sketch_size_and_downloads_follow_the_screen(page, tmp_path):
    expect = _expect()
    _load_dress_and_find(page)
    png = page.locator("#gs-png")
    expect(png).to_be_disabled()
    expect(page.locator("#gs-dl-note")).to_contain_text("Render first")
    _render(page, "preview", "Preview done")
    expect(png).to_contain_text("80×96")  # the preview's downloads…
    _tab(page, "Render")
    expect(page.locator("#gs-size-mode input[value=sketch]")).to_be_checked()
    expect(page.locator("#gs-size-note")).to_contain_text(f"{DRESS_W}×{DRESS_H}")
    _set_number(page, "gs-full-iters", 1)
    page.evaluate(RECORD_DOWNLOADS)  # every state the download button passes through
    page.locator("#gs-full").click()
    expect(page.locator("#gs-progress .gs-plabel")).to_contain_text("Full render done")
    expect(png).to_be_enabled()
    expect(png).to_contain_text(f"{DRESS_W}×{DRESS_H}")  # …then the full render's, at the sketch's own size
    states = page.evaluate("window.__dl")
    running = [st for st in states if "newer render is running" in st["note"]]
    assert any(st["disabled"] for st in running), states  # disabled while the full render runs…
    assert not any(not st["disabled"] and "×" in st["text"] for st in running), states  # …never an old file
    with page.expect_download() as info:
        png.click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    shutil.copy(path, ARTIFACTS / "downloaded-full-render.png")
    got = np.asarray(Image.open(path).convert("RGB"))
    assert got.shape[:2] == (DRESS_H, DRESS_W)
    on_screen = _image_at(page, "#gs-live img")
    assert np.array_equal(got, on_screen), "the download is not the image on screen"
    _shot(page, "full-render.png")

    # a fabric change makes the downloads out of date; undo makes them current again
    _tab(page, "Fabric")
    _set_number(page, "gs-pattern", 2)
    expect(png).to_be_disabled()
    expect(page.locator("#gs-dl-note")).to_contain_text("Out of date")
    _shot(page, "downloads-out-of-date.png")
    page.locator("#gs-undo").click()
    expect(png).to_be_enabled()


def test_cancel_while_measuring_the_fabrics(browser, noise_server):
    """With renders that optimise from noise the first seconds are spent measuring the fabrics (and in the
    optimiser's first step, which sends no event): the bar still moves, a second designer's render waits in line
    and says so, and Cancel answers within ~1 s."""
    expect = _expect()
    url = noise_server.wait().url
    first, second = browser.new_context(viewport=WIDE), browser.new_context(viewport=WIDE)
    try:
        for c in (first, second):
            c.set_default_timeout(TIMEOUT_MS)
        page, other = _open(first, url), _open(second, url)
        _load_dress_and_find(page)
        _load_dress_and_find(other)
        page.locator("#gs-full").click()
        label = page.locator("#gs-progress .gs-plabel")
        try:
            expect(label).to_contain_text("Measuring the fabrics", timeout=120_000)
        except AssertionError as exc:  # once seen in a full-suite run: stuck at "Preparing the swatches…"
            _shot(page, "cancel-stuck.png")
            raise AssertionError(f"{exc}\n--- noise app log ---\n{''.join(noise_server.log[-40:])}") from None
        other.locator("#gs-preview").click()
        expect(other.locator("#gs-progress .gs-plabel")).to_contain_text("Waiting for 1 render ahead of you")
        _shot(other, "queued.png")
        expect(label).to_contain_text(re.compile(r"Measuring the fabrics… [1-9]\d* s"))  # alive, with seconds
        bar = int(page.locator("#gs-progress progress").get_attribute("value"))
        assert 8 <= bar < 30, bar
        _shot(page, "cancel-measuring.png")
        t0 = time.perf_counter()
        page.locator("#gs-cancel").click()
        expect(label).to_contain_text("cancelled", timeout=5_000)
        took = time.perf_counter() - t0
        _shot(page, "cancelled.png")
        (ARTIFACTS / "cancel-seconds.txt").write_text(f"{took:.2f}\n")
        # ~1 s asked: 1.2 s measured on a quiet run, up to 3 s with 6 sessions on this 2-core machine (an ignored
        # Cancel would take the whole render, ≥ 20 s)
        assert took < 3.5, f"Cancel took {took:.1f} s to show"
        # The label can lag the server by a moment: a Cancel that lands just after measuring keeps the image so far
        # (the library's contract), one inside measuring changes nothing. Either way the downloads follow the screen.
        if "kept the image so far" in label.inner_text():
            expect(page.locator("#gs-dl-note")).to_contain_text("The downloads are the render on screen")
        else:
            expect(page.locator("#gs-dl-note")).to_contain_text("Render first")  # nothing changed
        # the waiting render runs once the cancelled one has let go of the render slot
        expect(other.locator("#gs-progress .gs-plabel")).to_contain_text("Preview done")
        assert not page.errors and not other.errors, (page.errors, other.errors)
    finally:
        first.close()
        second.close()


# ------------------------------------------------------------------------------------------------------ accessibility
def _axe_source() -> Path:
    """axe-core's script: installed with npm into tests/ui/node_modules on first use (skip when npm can't)."""
    script = NODE_DIR / "axe-core" / "axe.min.js"
    if script.exists():
        return script
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed, so axe-core cannot be installed (apt-get install npm)")
    try:
        subprocess.run([npm, "install", "--no-audit", "--no-fund", "--no-save", "--no-package-lock", "--prefix", str(NODE_DIR.parent),
                        "axe-core@4"], check=True, capture_output=True, timeout=180)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"npm could not install axe-core (registry unreachable?): {exc}")
    if not script.exists():
        pytest.skip("npm ran but axe-core's axe.min.js is missing")
    return script


def test_accessibility_scan_has_no_serious_violations(page):
    script = _axe_source()
    _load_dress_and_find(page)
    _render(page, "preview", "Preview done")
    # the page settled: the render is shown first and its downloads follow a moment later; scanned mid-way, the
    # PNG button's fade from disabled to enabled read as low contrast
    _expect()(page.locator("#gs-png")).to_be_enabled()
    page.add_script_tag(path=str(script))
    found = []
    for tab in ("Regions", "Fabric", "Render", "Sketch"):
        _tab(page, tab)
        result = page.evaluate("""async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                           nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
        }""")
        found += [dict(v, tab=tab) for v in result]
    (ARTIFACTS / "axe-violations.json").write_text(json.dumps(found, indent=1))
    serious = [v for v in found if v["impact"] in ("serious", "critical")]
    assert not serious, json.dumps(serious, indent=1)


def test_keyboard_path_selects_and_undoes(page):
    """The canvas and the table work from the keyboard: arrows move a cursor, Enter clicks, Shift+Enter adds."""
    expect = _expect()
    _load_dress_and_find(page)
    page.locator("#gs-canvas .gs-cv").focus()
    for _ in range(28):  # the cursor starts in the middle (0.5, 0.5): down onto the skirt (y ≈ 0.78)
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.locator("#gs-hint")).to_contain_text("Selected “part01”")
    for _ in range(9):  # Shift+arrow moves 5 % a step: up onto the bodice (y ≈ 0.33)
        page.keyboard.press("Shift+ArrowUp")
    page.keyboard.press("Shift+Enter")
    expect(page.locator("#gs-hint")).to_contain_text("Added to “part01”")
    page.keyboard.press("Control+z")
    expect(page.locator("#gs-hint")).to_contain_text("Undone")
    _rows(page).nth(1).focus()
    page.keyboard.press("Enter")
    expect(page.locator("#gs-hint")).to_contain_text("Selected “part02”")
    _shot(page, "keyboard.png")

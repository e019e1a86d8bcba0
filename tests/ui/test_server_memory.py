"""The server's memory after sessions close: 20 tabs (gradio_client sessions) each load a sketch, find its regions and
render a preview; while they are open the process grows by their footprint (so the test can fail), and once they
close (the heartbeat ends, Gradio's unload releases the session, ui.memory hands the pages back) it returns near its
start. The per-session footprint is checked against the bound documented in docs/ui.md."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402

from garmentstyle import samples  # noqa: E402

pytestmark = pytest.mark.slow
SESSIONS = 20
SIDE = (640, 768)  # (w, h): 0.49 MP, the dress sample as it is
#: docs/ui.md "Memory": an open session holds at most about BASE_MB + MB_PER_MP per sketch megapixel (regions, undo,
#: display, segmentation, Gradio's own per-session state) on top of its render at output size.
BASE_MB, MB_PER_MP = 30, 40


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def _settled(pid: int, *, below: float, timeout: float = 30.0) -> float:
    """The process's RSS once it is at most ``below`` MB (or after ``timeout`` s: then whatever it is)."""
    t0 = time.monotonic()
    while True:
        mb = _rss_mb(pid)
        if mb <= below or time.monotonic() - t0 > timeout:
            return mb
        time.sleep(0.5)


def _open(url: str, sketch) -> Client:
    # download_files=False: the server makes and holds every file as for a browser tab; only the test's own copies
    # of them (which a tab would not fetch until shown) are skipped
    c = Client(url, verbose=False, analytics_enabled=False, download_files=False)
    c.predict(handle_file(str(sketch)), api_name="/upload_sketch")
    c.predict(0, api_name="/find_garment")
    c.predict(96, 3, "swatch", True, 1.0, 0, api_name="/render_preview")
    return c


def test_memory_returns_near_its_start_after_20_sessions_close(app_server, tmp_path):
    pid = app_server.proc.pid
    sketch = tmp_path / "dress-large.png"
    Image.open(samples.sketch_path("dress")).convert("RGB").resize(SIDE, Image.LANCZOS).save(sketch)
    t0 = time.monotonic()
    _open(app_server.url, sketch).close()  # warm-up: caches, compiled paths and Gradio's own first-use allocations
    print(f"warm-up {time.monotonic() - t0:.1f} s;", end=" ")
    time.sleep(2.0)
    start = _rss_mb(pid)
    t0 = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        clients = list(pool.map(lambda _: _open(app_server.url, sketch), range(SESSIONS)))
    print(f"{SESSIONS} sessions in {time.monotonic() - t0:.0f} s;", end=" ")
    peak = _rss_mb(pid)
    grown = peak - start
    mp = SIDE[0] * SIDE[1] / 1e6
    assert grown > SESSIONS * 10, (start, peak)  # the sessions really hold memory while open
    assert grown / SESSIONS < BASE_MB + MB_PER_MP * mp, (start, peak)  # within the documented bound per session
    t0 = time.monotonic()
    with ThreadPoolExecutor(SESSIONS) as pool:  # each close ends its heartbeat (a wait of ~0.4 s): all at once
        list(pool.map(Client.close, clients))  # the server's unload event releases each tab's session
    print(f"closed in {time.monotonic() - t0:.1f} s;", end=" ")
    print(f"RSS start {start:.0f} MB, {SESSIONS} open {peak:.0f} MB ({grown / SESSIONS:.0f} MB each)", end=" ")
    t0 = time.monotonic()
    after = _settled(pid, below=start + 0.15 * grown)
    print(f"closed {after:.0f} MB after {time.monotonic() - t0:.1f} s")
    assert after <= start + 0.15 * grown, f"RSS start {start:.0f} MB, 20 open {peak:.0f} MB, closed {after:.0f} MB"

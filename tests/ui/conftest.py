"""Fixtures for the web app's tests: an app context with tiny render presets, a fake SAM, and the app itself
launched as ``garmentstyle ui`` in a subprocess on a free 127.0.0.1 port (analytics off, no weights)."""
from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from garmentstyle.transfer import RenderOptions

REPO = Path(__file__).resolve().parents[2]
#: Tiny presets keep every render here to a few seconds on a CPU.
PREVIEW_SIZE = 96
PREVIEW_ITERATIONS = 3


@pytest.fixture
def preset() -> tuple[int, int]:
    """(preview size, preview iterations) the launched app uses."""
    return PREVIEW_SIZE, PREVIEW_ITERATIONS


@pytest.fixture
def ctx(tmp_path):
    """An app context in a temp folder: tiny previews, classical segmentation (no SAM)."""
    from ui.state import AppContext

    c = AppContext.create(tmp_path / "app", preview_size=PREVIEW_SIZE, preview_iterations=PREVIEW_ITERATIONS,
                          full_size=128, full_iterations=3, sam_factory=lambda: None)
    yield c
    c.cleanup()


class FakeSamPrediction:
    def __init__(self, mask: torch.Tensor):
        self.mask = mask
        self.score = 0.9


class FakeSam:
    """Stands in for :class:`garmentstyle.segment.SamSegmenter`: ``predict`` returns the union of discs of radius
    ``r`` around the positive points minus discs around the negative ones."""

    def __init__(self, r: int = 60):
        self.r = r
        self.size = None
        self.images = 0
        self.calls: list[list] = []

    def set_image(self, sketch) -> str:
        from garmentstyle import io

        img = io.load_image(sketch)
        self.size = tuple(img.shape[-2:])
        self.images += 1
        return "key"

    def predict(self, points, labels, box=None, **kw):
        h, w = self.size
        yy, xx = np.mgrid[0:h, 0:w]
        m = np.zeros((h, w), bool)
        for (x, y), lab in zip(points, labels):
            disc = (xx - x) ** 2 + (yy - y) ** 2 <= self.r ** 2
            m = m | disc if lab else m & ~disc
        self.calls.append(list(zip(points, labels)))
        return FakeSamPrediction(torch.from_numpy(m))

    def segment(self, sketch, *, strokes=None, options=None, progress=None):  # "Find garment" with SAM
        from garmentstyle import segment as seg

        return seg.segment(sketch, method="classical", options=options)


@pytest.fixture
def sam_ctx(tmp_path):
    from ui.state import AppContext

    fake = FakeSam()
    c = AppContext.create(tmp_path / "app", preview_size=PREVIEW_SIZE, preview_iterations=PREVIEW_ITERATIONS,
                          sam_factory=lambda: fake)
    c.fake = fake  # type: ignore[attr-defined]
    yield c
    c.cleanup()


@pytest.fixture
def noise_ctx(tmp_path):
    """Renders that must really optimise (noise start, many iterations): for cancelling mid-way."""
    from ui.state import AppContext

    c = AppContext.create(tmp_path / "app", preview_size=PREVIEW_SIZE, preview_iterations=400,
                          base_options=RenderOptions(init="noise", preview_every=1), sam_factory=lambda: None)
    yield c
    c.cleanup()


# ------------------------------------------------------------------------------------------- the launched app
_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A free port not handed out before in this run (two apps starting at once must not get the same one: the
    first has not bound it yet when the second asks). Under pytest-xdist each worker draws from its own block of
    1000 ports below Linux's ephemeral range (32768…), so two workers' apps, or a port the OS hands to some other
    socket meanwhile, cannot collide."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:]
    low = 20000 + 1000 * ((int(worker) if worker.isdigit() else 0) % 12)
    for port in random.Random().sample(range(low, low + 1000), 1000):
        if port in _HANDED_OUT:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _HANDED_OUT.add(port)
        return port
    raise RuntimeError(f"no free port in {low}…{low + 999}")


class Server:
    """A launched ``garmentstyle ui``: :meth:`wait` blocks until it printed its URL (a condition, not a sleep)."""

    def __init__(self, url: str, proc: subprocess.Popen, log: list[str], ready: threading.Event):
        self.url = url
        self.proc = proc
        self.log = log
        self._ready = ready

    def wait(self, timeout: float = 120) -> "Server":
        self._ready.wait(timeout=timeout)
        if self.proc.poll() is not None or not any("Running on local URL" in line for line in self.log):
            self.stop()
            pytest.fail("the app did not start:\n" + "".join(self.log[-40:]))
        return self

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def launch_app(tmp_path_factory, *extra: str) -> Server:
    """Start ``garmentstyle ui`` in a subprocess (the real entry point): tiny preview presets, no weights, analytics
    off, plus ``extra`` arguments. Returns at once (the start overlaps other work); call :meth:`Server.wait`."""
    weights_dir = tmp_path_factory.mktemp("no-weights")
    port = free_port()
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", GARMENTSTYLE_WEIGHTS=str(weights_dir),
               TORCH_HOME=str(weights_dir / "torch"), PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1",
               GRADIO_SERVER_NAME="127.0.0.1", GRADIO_HEARTBEAT_INTERVAL="1")  # closed tabs noticed within 1 s
    env.pop("GRADIO_TEMP_DIR", None)
    cmd = [sys.executable, "-m", "garmentstyle", "ui", "--host", "127.0.0.1", "--port", str(port),
           "--preview-size", str(PREVIEW_SIZE), "--preview-iterations", str(PREVIEW_ITERATIONS), *extra]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log: list[str] = []
    ready = threading.Event()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            log.append(line)
            if "Running on local URL" in line:
                ready.set()
        ready.set()  # the process ended: stop waiting

    threading.Thread(target=pump, daemon=True).start()
    return Server(f"http://127.0.0.1:{port}", proc, log, ready)


@pytest.fixture(name="launch_app", scope="session")
def launch_app_fixture():
    """:func:`launch_app`, for tests that need an app with other settings."""
    return launch_app


@pytest.fixture(scope="session")
def app_server(tmp_path_factory):
    """The app for the whole test session (every browser and client test shares it); stopped at the end."""
    server = launch_app(tmp_path_factory).wait()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    """One headless chromium for the whole run, defined once here (every browser module shares it, each test gets a
    fresh context; a second definition in another module would start a second Playwright inside the first's loop)."""
    from test_browser import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists():
        pytest.skip(f"Debian's chromium is not installed at {CHROMIUM} (`apt-get install chromium`); Playwright's "
                    "own browser download cannot work here")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (python) is not installed")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()

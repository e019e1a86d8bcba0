"""Bounded downloads: a fake misbehaving mirror on 127.0.0.1 (trickle, silent, endless, wrong length) — each stops
with its own clear message, never writes past the manifest's size, never hangs. Timeouts are tiny (parameters and
environment variables), so these tests take about a second."""
from __future__ import annotations

import hashlib
import http.server
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

from garmentstyle import weights as W
from garmentstyle.cli import main
from garmentstyle.errors import OptionsError, WeightsDownloadError

BODY = bytes(range(256)) * 8  # 2048 bytes
STOP = threading.Event()


class _Mirror(http.server.BaseHTTPRequestHandler):
    """/good, /trickle (1 byte per 20 ms), /silent (headers, then nothing), /mute (not even headers), /endless (no
    length, bytes forever), /long (announces 10× the size)."""

    protocol_version = "HTTP/1.0"

    def log_message(self, *args: object) -> None:
        pass

    def _head(self, length: int | None) -> None:
        self.send_response(200)
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.end_headers()

    def do_GET(self) -> None:
        kind = self.path.strip("/")
        try:
            if kind == "good":
                self._head(len(BODY))
                self.wfile.write(BODY)
            elif kind == "trickle":
                self._head(len(BODY))
                for i in range(len(BODY)):
                    if STOP.wait(0.02):
                        return
                    self.wfile.write(BODY[i:i + 1])
                    self.wfile.flush()
            elif kind == "silent":
                self._head(len(BODY))
                self.wfile.write(BODY[:100])
                self.wfile.flush()
                STOP.wait(30)
            elif kind == "mute":
                STOP.wait(30)
            elif kind == "endless":
                self._head(None)
                while not STOP.is_set():
                    self.wfile.write(BODY)
            elif kind == "long":
                self._head(len(BODY) * 10)
                self.wfile.write(BODY * 10)
            else:
                self.send_error(404)
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture(scope="module")
def mirror() -> Iterator[str]:
    STOP.clear()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Mirror)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        STOP.set()
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GARMENTSTYLE_WEIGHTS", str(tmp_path / "w"))
    monkeypatch.delenv("GARMENTSTYLE_WEIGHTS_MIRROR", raising=False)
    monkeypatch.delenv(W.ENV_STALL, raising=False)
    monkeypatch.delenv(W.ENV_TIMEOUT, raising=False)


def ckpt(**kw) -> W.Checkpoint:
    fields = dict(name="tiny", filename="tiny.bin", url="https://example.invalid/tiny.bin",
                  sha256=hashlib.sha256(BODY).hexdigest(), sha256_prefix=None, size_bytes=len(BODY),
                  description="test", licence="none")
    fields.update(kw)
    return W.Checkpoint(**fields)


def files(tmp_path: Path) -> dict[str, int]:
    folder = tmp_path / "w"
    return {p.name: p.stat().st_size for p in folder.iterdir()} if folder.exists() else {}


def test_good_download_within_bounds(mirror, tmp_path):
    assert W.download(ckpt(), url=f"{mirror}/good", timeout=2, total_timeout=5).read_bytes() == BODY


def test_trickle_hits_the_total_time_limit(mirror, tmp_path):
    t0 = time.monotonic()
    with pytest.raises(WeightsDownloadError, match="took longer than its limit of 0.4 s.*resume"):
        W.download(ckpt(), url=f"{mirror}/trickle", timeout=2, total_timeout=0.4)
    assert time.monotonic() - t0 < 2
    assert 0 < files(tmp_path)["tiny.bin.part"] < len(BODY)  # kept for a resume, never the final name


def test_silent_server_hits_the_stall_timeout(mirror, tmp_path):
    t0 = time.monotonic()
    with pytest.raises(WeightsDownloadError, match="stalled: no data for 0.3 s"):
        W.download(ckpt(), url=f"{mirror}/silent", timeout=0.3, total_timeout=10)
    assert time.monotonic() - t0 < 2 and files(tmp_path) == {"tiny.bin.part": 100}


def test_mute_server_did_not_answer(mirror, tmp_path, monkeypatch):
    monkeypatch.setenv(W.ENV_STALL, "0.3")  # the environment variable sets it too
    t0 = time.monotonic()
    with pytest.raises(WeightsDownloadError, match="did not answer within 0.3 s"):
        W.download(ckpt(), url=f"{mirror}/mute")
    assert time.monotonic() - t0 < 2 and files(tmp_path) == {}


def test_endless_stream_stops_at_the_manifest_size(mirror, tmp_path):
    with pytest.raises(WeightsDownloadError, match=f"sent more than {len(BODY):,} bytes.*deleted"):
        W.download(ckpt(), url=f"{mirror}/endless", timeout=2, total_timeout=10, chunk=512)
    assert files(tmp_path) == {}  # nothing past the cap, and the bad bytes removed


def test_wrong_length_refused_before_writing(mirror, tmp_path):
    with pytest.raises(WeightsDownloadError, match=f"announces {10 * len(BODY):,} bytes.*nothing was written"):
        W.download(ckpt(), url=f"{mirror}/long", timeout=2)
    assert files(tmp_path) == {}


def test_bad_limits_are_option_errors(monkeypatch):
    for kw in ({"timeout": 0}, {"timeout": float("nan")}, {"total_timeout": -1}, {"timeout": True}):
        with pytest.raises(OptionsError):
            W.download(ckpt(), url="http://127.0.0.1:1/x", **kw)
    monkeypatch.setenv(W.ENV_TIMEOUT, "soon")
    with pytest.raises(OptionsError, match=W.ENV_TIMEOUT):
        W.download(ckpt(), url="http://127.0.0.1:1/x")


def test_cli_flags_bound_the_download(mirror, tmp_path, capsys):
    rc = main(["weights", "download", "vgg19", "--dir", str(tmp_path / "w"), "--url", f"{mirror}/long"])
    err = capsys.readouterr().err
    assert rc == 2 and "announces" in err and "Traceback" not in err
    t0 = time.monotonic()
    rc = main(["weights", "download", "vgg19", "--dir", str(tmp_path / "w"), "--url", f"{mirror}/mute",
               "--stall-timeout", "0.3", "--max-time", "5"])
    err = capsys.readouterr().err
    assert rc == 2 and "did not answer within 0.3 s" in err and time.monotonic() - t0 < 3

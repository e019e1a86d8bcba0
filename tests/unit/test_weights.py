"""garmentstyle.weights and ``garmentstyle weights``: lookup, resumable verified downloads, the VGG19 features file.

Downloads go to a real HTTP server on 127.0.0.1 (random port) serving small generated files, so the code paths are
the ones a user hits (urllib, Content-Length, Range, a connection cut half-way) without touching the internet.
Every test points ``GARMENTSTYLE_WEIGHTS`` and ``TORCH_HOME`` at tmp folders: the real weights/ is never touched.
"""
from __future__ import annotations

import hashlib
import http.server
import re
import threading
from pathlib import Path
from types import MappingProxyType
from typing import Iterator

import pytest
import torch

from garmentstyle import weights as W
from garmentstyle.cli import main
from garmentstyle.errors import (
    GarmentStyleError,
    InputError,
    OptionsError,
    WeightsDownloadError,
    WeightsNotFoundError,
)

PAYLOAD = bytes(range(256)) * 40 + b"tail"  # 10 244 bytes: several chunks at chunk=1000
SHA = hashlib.sha256(PAYLOAD).hexdigest()


# ------------------------------------------------------------------------------------------------ test server


class _Handler(http.server.BaseHTTPRequestHandler):
    """``/range/NAME`` honours ``Range: bytes=N-``; ``/plain/NAME`` ignores it; ``/cut/NAME`` promises the whole
    file in Content-Length, sends half and closes; anything else is 404."""

    files: dict[str, bytes] = {}
    requests: list[tuple[str, str | None]] = []

    def log_message(self, *args: object) -> None:  # keep pytest output clean
        pass

    def do_GET(self) -> None:
        type(self).requests.append((self.path, self.headers.get("Range")))
        m = re.fullmatch(r"/(range|plain|cut)/(.+)", self.path)
        if m is None or m.group(2) not in self.files:
            self.send_error(404)
            return
        kind, body = m.group(1), self.files[m.group(2)]
        rng = self.headers.get("Range")
        if kind == "range" and rng:
            start = int(re.fullmatch(r"bytes=(\d+)-", rng).group(1))  # type: ignore[union-attr]
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            self.send_header("Content-Length", str(len(body) - start))
            self.end_headers()
            self.wfile.write(body[start:])
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if kind == "cut":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Never look at the real weights/ or torch cache, never use a mirror, start each test with fresh files."""
    monkeypatch.setenv("GARMENTSTYLE_WEIGHTS", str(tmp_path / "weights"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.delenv("GARMENTSTYLE_WEIGHTS_MIRROR", raising=False)
    _Handler.files = {"tiny.bin": PAYLOAD}
    _Handler.requests = []


def tiny(**kw: object) -> W.Checkpoint:
    fields = dict(
        name="tiny",
        filename="tiny.bin",
        url="https://example.invalid/models/tiny.bin",
        sha256=SHA,
        sha256_prefix=None,
        size_bytes=len(PAYLOAD),
        description="test file",
        licence="none",
    )
    fields.update(kw)
    return W.Checkpoint(**fields)  # type: ignore[arg-type]


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# ------------------------------------------------------------------------------------------------ manifest


def test_manifest_entries_are_consistent() -> None:
    assert set(W.MANIFEST) == {"vgg19", "sam-vit-b", "sam-vit-l", "sam-vit-h"}
    vgg = W.MANIFEST["vgg19"]
    assert vgg.url.endswith("/" + vgg.filename)
    assert vgg.sha256 is not None and vgg.sha256.startswith(vgg.sha256_prefix or "x")
    assert vgg.filename == f"vgg19-{vgg.sha256_prefix}.pth"  # torch hub's naming convention
    for name in ("sam-vit-b", "sam-vit-l", "sam-vit-h"):
        ck = W.MANIFEST[name]
        assert ck.url == "https://dl.fbaipublicfiles.com/segment_anything/" + ck.filename
        assert ck.sha256 is not None and len(ck.sha256) == 64 and ck.sha256_prefix is None
        assert ck.licence.startswith("Apache-2.0")


def test_checkpoint_validates_its_hashes() -> None:
    with pytest.raises(OptionsError, match="sha256"):
        tiny(sha256=None, sha256_prefix=None)
    with pytest.raises(OptionsError, match="64"):
        tiny(sha256="abc")
    with pytest.raises(OptionsError, match="prefix does not match"):
        tiny(sha256_prefix="ffff" if not SHA.startswith("ffff") else "0000")
    ck = tiny(sha256=None, sha256_prefix=SHA[:8])
    assert ck.hash_matches(SHA) and not ck.hash_matches("0" * 64)


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(OptionsError, match="vgg19, sam-vit-b"):
        W.find("nope")
    with pytest.raises(OptionsError):
        W.download("nope")


# ------------------------------------------------------------------------------------------------ lookup


def test_weights_dir_default_and_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert W.weights_dir() == tmp_path / "weights"
    monkeypatch.delenv("GARMENTSTYLE_WEIGHTS")
    assert W.weights_dir() == Path(W.__file__).resolve().parents[1] / "weights"


def test_find_looks_in_weights_dir_then_hub_cache(tmp_path: Path) -> None:
    assert W.find("sam-vit-b") is None
    hub = tmp_path / "torch_home" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    (hub / "sam_vit_b_01ec64.pth").write_bytes(b"x")
    assert W.hub_checkpoints_dir() == hub
    assert W.find("sam-vit-b") == hub / "sam_vit_b_01ec64.pth"
    local = tmp_path / "weights"
    local.mkdir()
    (local / "sam_vit_b_01ec64.pth").write_bytes(b"y")
    assert W.find("sam-vit-b") == local / "sam_vit_b_01ec64.pth"  # weights_dir wins
    (local / "sam_vit_b_01ec64.pth").write_bytes(b"")  # an empty file is not a checkpoint
    assert W.find("sam-vit-b") == hub / "sam_vit_b_01ec64.pth"


def test_find_accepts_vgg19_features_file(tmp_path: Path) -> None:
    local = tmp_path / "weights"
    local.mkdir()
    (local / W.VGG19_FEATURES_FILENAME).write_bytes(b"x")
    assert W.find("vgg19") == local / W.VGG19_FEATURES_FILENAME
    (local / "vgg19-dcbb9e9d.pth").write_bytes(b"x")
    assert W.find("vgg19") == local / "vgg19-dcbb9e9d.pth"  # the full file is preferred
    rows = {r["name"]: r for r in W.status()}
    assert rows["vgg19"]["present"] and not rows["vgg19"]["features_only"]
    assert not rows["sam-vit-h"]["present"] and rows["sam-vit-h"]["path"] is None


def test_require_says_where_it_looked_and_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(WeightsNotFoundError) as info:
        W.require("sam-vit-h")
    msg = str(info.value)
    assert "garmentstyle weights download sam-vit-h" in msg
    assert "sam_vit_h_4b8939.pth" in msg
    assert str(tmp_path / "weights") in msg and str(tmp_path / "torch_home" / "hub" / "checkpoints") in msg
    assert "\n" not in msg
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, GarmentStyleError)
    local = tmp_path / "weights"
    local.mkdir()
    (local / "sam_vit_h_4b8939.pth").write_bytes(b"x")
    assert W.require("sam-vit-h") == local / "sam_vit_h_4b8939.pth"


def test_verify(tmp_path: Path) -> None:
    f = tmp_path / "f.bin"
    f.write_bytes(PAYLOAD)
    assert W.verify(f, tiny())
    assert W.verify(f, tiny(sha256=None, sha256_prefix=SHA[:8]))
    assert not W.verify(f, tiny(sha256="0" * 64))
    assert not W.verify(tmp_path / "missing.bin", tiny())


# ------------------------------------------------------------------------------------------------ download


def test_good_download(server: str, tmp_path: Path) -> None:
    seen: list[tuple[int, int | None]] = []
    path = W.download(tiny(), url=f"{server}/range/tiny.bin", chunk=1000, on_progress=lambda d, t: seen.append((d, t)))
    assert path == tmp_path / "weights" / "tiny.bin"
    assert path.read_bytes() == PAYLOAD and W.verify(path, tiny())
    assert leftovers(path.parent) == ["tiny.bin"]
    done = [d for d, _ in seen]
    assert done == sorted(done) and len(seen) > 5
    assert seen[-1] == (len(PAYLOAD), len(PAYLOAD))
    assert _Handler.requests == [("/range/tiny.bin", None)]
    # present and valid: returned without another request
    assert W.download(tiny(), url=f"{server}/range/tiny.bin") == path
    assert len(_Handler.requests) == 1


def test_download_checks_a_prefix_only_hash(server: str, tmp_path: Path) -> None:
    path = W.download(tiny(sha256=None, sha256_prefix=SHA[:8]), url=f"{server}/plain/tiny.bin", dest_dir=tmp_path / "d")
    assert path.read_bytes() == PAYLOAD


def test_wrong_hash_deletes_the_part(server: str, tmp_path: Path) -> None:
    bad = "0" * 64
    with pytest.raises(WeightsDownloadError) as info:
        W.download(tiny(sha256=bad), url=f"{server}/range/tiny.bin")
    assert bad in str(info.value) and SHA in str(info.value)
    assert leftovers(tmp_path / "weights") == []


def test_interrupted_download_keeps_only_the_part(server: str, tmp_path: Path) -> None:
    with pytest.raises(WeightsDownloadError, match="interrupted.*resume"):
        W.download(tiny(), url=f"{server}/cut/tiny.bin", chunk=1000)
    folder = tmp_path / "weights"
    assert leftovers(folder) == ["tiny.bin.part"]
    assert (folder / "tiny.bin.part").read_bytes() == PAYLOAD[: len(PAYLOAD) // 2]
    assert W.find(tiny()) is None
    # re-running resumes from the half that arrived
    path = W.download(tiny(), url=f"{server}/range/tiny.bin")
    assert path.read_bytes() == PAYLOAD and leftovers(folder) == ["tiny.bin"]
    assert _Handler.requests[-1] == ("/range/tiny.bin", f"bytes={len(PAYLOAD) // 2}-")


def test_resume_from_part_with_range(server: str, tmp_path: Path) -> None:
    folder = tmp_path / "weights"
    folder.mkdir()
    have = 3000
    (folder / "tiny.bin.part").write_bytes(PAYLOAD[:have])
    seen: list[tuple[int, int | None]] = []
    path = W.download(tiny(), url=f"{server}/range/tiny.bin", chunk=1000, on_progress=lambda d, t: seen.append((d, t)))
    assert path.read_bytes() == PAYLOAD
    assert _Handler.requests == [("/range/tiny.bin", f"bytes={have}-")]
    assert seen[0] == (have, len(PAYLOAD)) and seen[-1] == (len(PAYLOAD), len(PAYLOAD))
    assert leftovers(folder) == ["tiny.bin"]


def test_server_ignoring_range_gets_a_fresh_download(server: str, tmp_path: Path) -> None:
    folder = tmp_path / "weights"
    folder.mkdir()
    (folder / "tiny.bin.part").write_bytes(b"garbage that must not be kept")
    path = W.download(tiny(), url=f"{server}/plain/tiny.bin")
    assert path.read_bytes() == PAYLOAD
    assert _Handler.requests[0][1] is not None  # we asked to resume …
    assert leftovers(folder) == ["tiny.bin"]  # … and the 200 replaced the part instead of being appended


def test_complete_part_answered_416_restarts(server: str, tmp_path: Path) -> None:
    folder = tmp_path / "weights"
    folder.mkdir()
    (folder / "tiny.bin.part").write_bytes(PAYLOAD + b"extra")
    assert W.download(tiny(), url=f"{server}/range/tiny.bin").read_bytes() == PAYLOAD
    assert [r for _, r in _Handler.requests] == [f"bytes={len(PAYLOAD) + 5}-", None]


def test_existing_bad_file_needs_force(server: str, tmp_path: Path) -> None:
    folder = tmp_path / "weights"
    folder.mkdir()
    (folder / "tiny.bin").write_bytes(b"not it")
    with pytest.raises(WeightsDownloadError, match="--force"):
        W.download(tiny(), url=f"{server}/range/tiny.bin")
    assert W.download(tiny(), url=f"{server}/range/tiny.bin", force=True).read_bytes() == PAYLOAD


def test_http_errors_and_unreachable_hosts(server: str, tmp_path: Path) -> None:
    with pytest.raises(WeightsDownloadError, match="404"):
        W.download(tiny(), url=f"{server}/range/missing.bin")
    with pytest.raises(WeightsDownloadError, match="could not reach"):
        W.download(tiny(), url="http://127.0.0.1:1/tiny.bin", timeout=5)  # port 1: connection refused
    with pytest.raises(OptionsError, match="http"):
        W.download(tiny(), url="ftp://127.0.0.1/tiny.bin")
    assert leftovers(tmp_path / "weights") == []


def test_mirror_replaces_the_host(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GARMENTSTYLE_WEIGHTS_MIRROR", f"{server}/range/")
    ck = tiny(url="https://example.invalid/tiny.bin")
    assert W.resolve_url(ck) == f"{server}/range/tiny.bin"
    assert W.resolve_url(ck, "http://other/x.bin") == "http://other/x.bin"  # an explicit url wins
    assert W.download(ck).read_bytes() == PAYLOAD


# ------------------------------------------------------------------------------------------------ vgg19 features


def _fake_vgg_state() -> dict[str, torch.Tensor]:
    return {
        "features.0.weight": torch.randn(4, 3, 3, 3),
        "features.0.bias": torch.randn(4),
        "classifier.0.weight": torch.randn(50, 20),
        "classifier.0.bias": torch.randn(50),
    }


def test_extract_vgg19_features(tmp_path: Path) -> None:
    state = _fake_vgg_state()
    src = tmp_path / "full.pth"
    torch.save(state, src)
    dst = W.extract_vgg19_features(src, tmp_path / "out" / "feat.pth")
    got = torch.load(dst, weights_only=True)
    assert set(got) == {"features.0.weight", "features.0.bias"}
    assert torch.equal(got["features.0.weight"], state["features.0.weight"])
    assert dst.stat().st_size < src.stat().st_size
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError):
        W.extract_vgg19_features(tmp_path / "junk.pth", tmp_path / "x.pth")
    torch.save({"classifier.0.weight": torch.zeros(1)}, tmp_path / "nofeat.pth")
    with pytest.raises(InputError, match="features"):
        W.extract_vgg19_features(tmp_path / "nofeat.pth", tmp_path / "x.pth")
    assert not (tmp_path / "x.pth").exists()


def test_download_features_only(server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "src.pth"
    torch.save(_fake_vgg_state(), src)
    body = src.read_bytes()
    _Handler.files["vgg19-test.pth"] = body
    ck = tiny(name="vgg19", filename="vgg19-test.pth", sha256=hashlib.sha256(body).hexdigest(), size_bytes=len(body))
    monkeypatch.setattr(W, "MANIFEST", MappingProxyType({"vgg19": ck}))
    path = W.download("vgg19", url=f"{server}/range/vgg19-test.pth", features_only=True)
    assert path == tmp_path / "weights" / W.VGG19_FEATURES_FILENAME
    assert set(torch.load(path, weights_only=True)) == {"features.0.weight", "features.0.bias"}
    assert leftovers(path.parent) == [W.VGG19_FEATURES_FILENAME]  # the big file is gone
    assert W.find("vgg19") == path
    with pytest.raises(OptionsError, match="vgg19"):
        W.download(tiny(), features_only=True)


def test_verify_features_file_by_structure(tmp_path: Path) -> None:
    convs = W._VGG19_CONVS
    state, cin = {}, 3
    for idx, cout in convs.items():  # real shapes, zero-strided so the test stays tiny
        state[f"features.{idx}.weight"] = torch.zeros(1).expand(cout, cin, 3, 3)
        state[f"features.{idx}.bias"] = torch.zeros(1).expand(cout)
        cin = cout
    good = tmp_path / W.VGG19_FEATURES_FILENAME
    torch.save({k: v.clone() for k, v in state.items()}, good)
    assert W.verify(good, "vgg19")
    torch.save(_fake_vgg_state(), good)
    assert not W.verify(good, "vgg19")


# ------------------------------------------------------------------------------------------------ CLI


def test_cli_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["weights", "list"]) == 0
    out = capsys.readouterr().out
    for name in W.MANIFEST:
        assert name in out
    assert "missing" in out and "garmentstyle weights download NAME" in out


def test_cli_download_unknown_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["weights", "download", "nope"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("garmentstyle: error:") and "sam-vit-b" in err[0]


def test_cli_download_verify_path(
    server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(W, "MANIFEST", MappingProxyType({"tiny": tiny()}))
    assert main(["weights", "path", "tiny"]) == 2
    assert "garmentstyle weights download tiny" in capsys.readouterr().err
    assert main(["weights", "download", "tiny", "--url", f"{server}/range/tiny.bin"]) == 0
    out = capsys.readouterr().out.strip()
    assert out == str(tmp_path / "weights" / "tiny.bin")
    assert main(["weights", "path", "tiny"]) == 0
    assert capsys.readouterr().out.strip() == out
    assert main(["weights", "verify", "tiny"]) == 0
    assert "OK" in capsys.readouterr().out
    Path(out).write_bytes(b"tampered")
    assert main(["weights", "verify", "tiny"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("garmentstyle:")]
    assert len(err) == 1 and "mismatch" in err[0]  # (the rest of stderr is the hashing bar)
    assert main(["weights", "download", "tiny", "--url", f"{server}/cut/tiny.bin", "--force"]) == 2
    assert "interrupted" in capsys.readouterr().err

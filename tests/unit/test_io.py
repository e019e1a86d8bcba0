"""Reading any image safely: every odd file either loads as RGB (1, 3, H, W) in [0, 1] or raises ImageReadError."""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from PIL import Image

from garmentstyle import io
from garmentstyle.errors import GarmentStyleError, ImageReadError, MaskError


def _grad(w=40, h=30):
    x = np.linspace(0, 255, w, dtype=np.float32)[None, :].repeat(h, 0)
    return np.stack([x, x[::-1, ::-1] if False else 255 - x, np.full_like(x, 128)], axis=2).astype(np.uint8)


def test_rgb_png_roundtrip(tmp_path):
    arr = _grad()
    Image.fromarray(arr).save(tmp_path / "a.png")
    t = io.load_image(tmp_path / "a.png")
    assert t.shape == (1, 3, 30, 40) and t.dtype == torch.float32
    assert torch.allclose(t[0].permute(1, 2, 0) * 255, torch.from_numpy(arr).float(), atol=0.5)


def test_missing_empty_folder_and_garbage(tmp_path):
    with pytest.raises(ImageReadError, match="no such file"):
        io.load_image(tmp_path / "nope.png")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ImageReadError, match="empty"):
        io.load_image(tmp_path / "empty.png")
    with pytest.raises(ImageReadError, match="folder"):
        io.load_image(tmp_path)
    (tmp_path / "text.png").write_text("hello, not an image")
    with pytest.raises(ImageReadError, match="not an image"):
        io.load_image(tmp_path / "text.png")


def test_truncated_png_is_an_error(tmp_path):
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(tmp_path / "f.png")
    data = (tmp_path / "f.png").read_bytes()
    (tmp_path / "t.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError, match="damaged or truncated"):
        io.load_image(tmp_path / "t.png")


def test_decompression_bomb_refused_before_decoding(tmp_path):
    Image.new("1", (9000, 6000)).save(tmp_path / "bomb.png")  # 54 MP, a few KB on disk
    with pytest.raises(ImageReadError, match="too large"):
        io.load_image(tmp_path / "bomb.png")
    with pytest.raises(ImageReadError, match="too large"):
        io.load_image(tmp_path / "bomb.png", max_pixels=1_000_000)


def test_sixteen_bit_greyscale(tmp_path):
    a = (np.linspace(0, 65535, 50)[None, :].repeat(20, 0)).astype(np.uint16)
    Image.fromarray(a).save(tmp_path / "g16.png")
    t = io.load_image(tmp_path / "g16.png")
    assert t.shape == (1, 3, 20, 50)
    assert t.min() == 0 and abs(float(t.max()) - 1.0) < 1e-4  # full range, not clipped to 255/65535


def test_cmyk_palette_alpha(tmp_path):
    Image.new("CMYK", (10, 8), (0, 255, 255, 0)).save(tmp_path / "c.jpg")  # red in CMYK
    t = io.load_image(tmp_path / "c.jpg")
    assert t[0, 0].mean() > 0.8 and t[0, 1].mean() < 0.3
    p = Image.new("P", (10, 8))
    p.putpalette([0, 0, 255] + [0] * 765)
    p.save(tmp_path / "p.png")
    assert io.load_image(tmp_path / "p.png")[0, 2].mean() > 0.95
    rgba = np.zeros((8, 10, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[:, :5, 3] = 255  # left half opaque red, right half transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    t = io.load_image(tmp_path / "a.png")
    assert torch.allclose(t[0, :, :, :5], torch.tensor([1.0, 0, 0]).view(3, 1, 1).expand(3, 8, 5))
    assert torch.allclose(t[0, :, :, 5:], torch.ones(3, 8, 5))  # transparency = white paper


def test_exif_rotation_applied(tmp_path):
    img = Image.new("RGB", (40, 20), (255, 255, 255))
    img.paste((255, 0, 0), (0, 0, 10, 20))  # red strip on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° CW when displayed
    img.save(tmp_path / "r.jpg", exif=exif, quality=95)
    t = io.load_image(tmp_path / "r.jpg")
    assert t.shape == (1, 3, 40, 20)  # portrait now
    assert t[0, 0, :10].mean() > 0.9 and t[0, 1, :10].mean() < 0.2  # red at the top


def test_mask_loading_and_size_check(tmp_path):
    m = np.zeros((20, 30), np.uint8)
    m[5:15, 5:25] = 255
    Image.fromarray(m).save(tmp_path / "m.png")
    t = io.load_mask(tmp_path / "m.png", size=(20, 30))
    assert t.shape == (20, 30) and float(t.sum()) == 200
    with pytest.raises(MaskError, match="30×20 px but the sketch is 40×20"):
        io.load_mask(tmp_path / "m.png", size=(20, 40))
    rgba = np.zeros((20, 30, 4), np.uint8)
    rgba[..., 3][2:4, 2:4] = 255
    Image.fromarray(rgba, "RGBA").save(tmp_path / "ma.png")
    assert float(io.load_mask(tmp_path / "ma.png").sum()) == 4  # transparency-painted masks use alpha


def test_errors_are_both_ours_and_builtin():
    assert issubclass(ImageReadError, GarmentStyleError) and issubclass(ImageReadError, ValueError)


def test_save_is_atomic_and_png_only(tmp_path, monkeypatch):
    img = torch.rand(1, 3, 8, 8)
    out = io.save_image(img, tmp_path / "o.png")
    back = Image.open(out)
    assert back.format == "PNG" and back.info.get("dpi", (0,))[0] == pytest.approx(io.EXPORT_DPI, abs=1)
    with pytest.raises(ImageReadError, match="PNG"):
        io.save_image(img, tmp_path / "o.webp")
    mask = os.umask(0)
    os.umask(mask)
    assert (out.stat().st_mode & 0o777) == (0o666 & ~mask)  # not mkstemp's private 0600

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(io.os, "replace", boom)
    with pytest.raises(OSError):
        io.save_image(img, tmp_path / "p.png")
    assert not (tmp_path / "p.png").exists()
    assert not list(tmp_path.glob("*.part"))

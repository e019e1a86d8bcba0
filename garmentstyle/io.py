"""Reading and writing images safely; the only place (with the CLI and UI) where PIL/numpy meet torch.

Every reader returns RGB float tensors ``(1, 3, H, W)`` in [0, 1] (or masks ``(H, W)`` float in [0, 1]) whatever the
file held: EXIF orientation is applied, palette / greyscale / CMYK / 16-bit images are converted, and transparency is
flattened onto white paper. Anything unusable raises :class:`~garmentstyle.errors.ImageReadError` with a message that
names the file and the problem. Writers are atomic: a failed save never leaves a partial file behind.
"""
from __future__ import annotations

import errno
import io as _io
import os
import stat
import tempfile
import warnings
from pathlib import Path
from typing import Union

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageReadError, MaskError

ImageSource = Union[str, os.PathLike, bytes, Image.Image, np.ndarray, torch.Tensor]

#: Largest image accepted, in pixels (a decompression-bomb guard; ~ 8000 × 6250).
MAX_PIXELS: int = 50_000_000
#: Smallest side accepted for any image.
MIN_SIDE: int = 1
#: Resolution written into exported PNGs (print quality).
EXPORT_DPI: int = 300


def _name(src: object) -> str:
    if isinstance(src, (str, os.PathLike)):
        return str(src)
    return f"<{type(src).__name__}>"


def _fit(w: int, h: int, max_pixels: int) -> str:
    """``"6000×8300"``: ``w×h`` scaled down to fit ``max_pixels`` (for messages that say how to downscale)."""
    s = (max_pixels / (w * h)) ** 0.5
    return f"{max(1, int(w * s))}×{max(1, int(h * s))}"


def _check_file(path: Path, name: str) -> None:
    """An existing, non-empty regular file, else :class:`ImageReadError` (an ``OSError`` on the way — a name too long
    for the file system, a folder we may not enter — is one too, not a traceback)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ImageReadError(f"{name}: no such file") from None
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            raise ImageReadError(f"{name[:80]}…: a name in this path is longer than the file system allows "
                                 f"({max(len(os.fsencode(p)) for p in path.parts)} bytes; usually 255); rename it") from None
        raise ImageReadError(f"{name}: cannot be read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(st.st_mode):
        raise ImageReadError(f"{name}: is a folder, expected an image file")
    if st.st_size == 0:
        raise ImageReadError(f"{name}: the file is empty (0 bytes)")


def check_finite(values: np.ndarray | torch.Tensor, label: str) -> None:
    """Refuse NaN / ±inf pixels, naming how many and where: they would silently blacken a render (a float TIFF's
    0–1 scale came from a NaN maximum; a NaN swatch poisons every Gram matrix it touches). ``values`` is
    ``(H, W)``, ``(H, W, C)`` or ``(1, C, H, W)`` / ``(C, H, W)`` for tensors."""
    if isinstance(values, torch.Tensor):
        if not values.is_floating_point() or bool(torch.isfinite(values).all()):
            return
        t = values.detach().cpu()
        while t.ndim > 3:
            t = t[0]
        bad = (~torch.isfinite(t)).any(dim=0).numpy() if t.ndim == 3 else (~torch.isfinite(t)).numpy()
    else:
        a = np.asarray(values)
        if a.dtype.kind not in "fc":
            return
        # Fast path (one pass, no image-sized temporary): a finite float64 sum means every value is finite.
        if a.dtype.itemsize <= 4 and np.isfinite(np.add.reduce(a, axis=None, dtype=np.float64)):
            return
        if bool(np.isfinite(a).all()):
            return
        bad = ~np.isfinite(a)
        if bad.ndim == 3:
            bad = bad.any(axis=2)
    ys, xs = np.nonzero(bad)
    n = int(len(xs))
    raise ImageReadError(
        f"{label}: {n} pixel{'s' if n != 1 else ''} {'are' if n != 1 else 'is'} NaN or infinite (of {bad.size}; "
        f"first at x={int(xs[0])}, y={int(ys[0])}; all within x {int(xs.min())}–{int(xs.max())}, "
        f"y {int(ys.min())}–{int(ys.max())}); fill or crop them, or re-export the image as 8/16-bit PNG or TIFF"
    )


def open_pil(src: ImageSource, *, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Open ``src`` as a fully decoded, upright PIL image (mode unchanged apart from EXIF rotation).

    Raises:
        ImageReadError: missing, empty, not an image, truncated, or larger than ``max_pixels``.
    """
    if isinstance(src, Image.Image):
        img = src
    else:
        name = _name(src)
        if isinstance(src, (str, os.PathLike)):
            path = Path(src)
            _check_file(path, name)
            fp: object = path
        elif isinstance(src, bytes):
            if not src:
                raise ImageReadError("the uploaded image is empty (0 bytes)")
            fp = _io.BytesIO(src)
        else:
            raise ImageReadError(f"expected an image file path, bytes or PIL image, got {type(src).__name__}")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                img = Image.open(fp)  # type: ignore[arg-type]
                w, h = img.size
                if w * h > max_pixels:
                    raise ImageReadError(
                        f"{name}: {w}×{h} px is too large ({w * h / 1e6:.0f} MP, limit {max_pixels / 1e6:.0f} MP); "
                        f"scale it down to at most {_fit(w, h, max_pixels)} px first (a 300 dpi scan of an A3 page "
                        "is 17 MP)"
                    )
                img.load()
        except ImageReadError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageReadError(f"{name}: refused as a possible decompression bomb ({exc})") from None
        except UnidentifiedImageError:
            raise ImageReadError(f"{name}: not an image file PIL can read (PNG, JPEG, WebP, TIFF, BMP…)") from None
        except (OSError, SyntaxError, ValueError) as exc:
            raise ImageReadError(f"{name}: the image is damaged or truncated ({exc})") from None
    w, h = img.size
    if w < MIN_SIDE or h < MIN_SIDE:
        raise ImageReadError(f"{_name(src)}: the image has zero size ({w}×{h})")
    if w * h > max_pixels:
        raise ImageReadError(f"{_name(src)}: {w}×{h} px is too large (limit {max_pixels / 1e6:.0f} MP)")
    try:
        img = ImageOps.exif_transpose(img)
    except Exception:  # a broken EXIF block must not make the image unreadable
        pass
    return img


def peek_size(src: object) -> tuple[int, int] | None:
    """``(H, W)`` of an image file or bytes from its header alone (no decoding; EXIF rotation ignored, which keeps
    the longest side), for up-front limits; None for arrays, tensors, PIL images or anything unreadable (the
    reader then gives the real message)."""
    try:
        if isinstance(src, Image.Image):
            return src.size[1], src.size[0]
        if isinstance(src, (str, os.PathLike)):
            with Image.open(src) as img:
                return img.size[1], img.size[0]
        if isinstance(src, bytes):
            with Image.open(_io.BytesIO(src)) as img:
                return img.size[1], img.size[0]
    except Exception:  # noqa: BLE001 - a peek never raises; open_pil reports the problem properly
        return None
    return None


def _to_float_array(img: Image.Image, label: str = "the image") -> tuple[np.ndarray, np.ndarray | None]:
    """PIL image of any mode → (RGB ``(H, W, 3)`` float32 [0, 1], alpha ``(H, W)`` float32 [0, 1] or None).
    A float image with NaN/inf pixels is refused (:func:`check_finite`) before its 0–1 scale is chosen."""
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(img).astype(np.float32)
        check_finite(arr, label)
        top = 65535.0 if (mode.startswith("I;16") or arr.max(initial=0) > 255) else 255.0
        if mode == "F" and arr.max(initial=0) <= 1.0:
            top = 1.0
        grey = np.clip(arr / top, 0.0, 1.0)
        return np.repeat(grey[..., None], 3, axis=2), None
    if mode == "P":
        img = img.convert("RGBA")
    elif mode == "PA":
        img = img.convert("RGBA")
    elif mode == "LA":
        img = img.convert("RGBA")
    elif mode in ("RGBa", "La"):
        img = img.convert("RGBA")
    if img.mode == "RGBA":
        arr = np.multiply(np.asarray(img), np.float32(1 / 255.0), dtype=np.float32)
        return arr[..., :3], arr[..., 3]
    if img.mode != "RGB":
        img = img.convert("RGB")  # L, 1, CMYK, YCbCr, LAB, HSV
    return np.multiply(np.asarray(img), np.float32(1 / 255.0), dtype=np.float32), None  # one pass, no temporary


def read_rgb(src: ImageSource, *, background: float = 1.0, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read any image as RGB ``(H, W, 3)`` float32 in [0, 1]; transparency is flattened onto ``background``."""
    if isinstance(src, np.ndarray):
        return _array_to_rgb(src)
    if isinstance(src, torch.Tensor):
        check_finite(src, "the image tensor")
        return tensor_to_array(src)
    return read_rgba(src, background=background, max_pixels=max_pixels)[0]


def read_rgba(src: ImageSource, *, background: float = 1.0,
              max_pixels: int = MAX_PIXELS) -> tuple[np.ndarray, np.ndarray | None]:
    """A file / bytes / PIL image read once as (RGB ``(H, W, 3)`` float32 in [0, 1] flattened onto ``background``,
    its alpha ``(H, W)`` float32 in [0, 1] or None when the image has no alpha channel): for callers that judge the
    transparency too (a swatch that is a cut-out is refused) without decoding the file twice."""
    rgb, alpha = _to_float_array(open_pil(src, max_pixels=max_pixels), _name(src))
    if alpha is not None:
        rgb = rgb * alpha[..., None] + background * (1.0 - alpha[..., None])
    return np.ascontiguousarray(rgb, dtype=np.float32), alpha


def _array_to_rgb(arr: np.ndarray, label: str = "the image array") -> np.ndarray:
    a = np.asarray(arr)
    if a.dtype.kind not in "biuf":
        raise ImageReadError(f"{label}: expected numbers (uint8, uint16, float or bool pixels), got dtype {a.dtype}")
    check_finite(a, label)
    if a.dtype == np.uint8:
        a = np.multiply(a, np.float32(1 / 255.0), dtype=np.float32)  # one pass, no float64 temporary
    elif a.dtype == np.uint16:
        a = np.multiply(a, np.float32(1 / 65535.0), dtype=np.float32)
    else:
        a = np.array(a, dtype=np.float32)  # always our own copy: the caller's array is never changed
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] not in (1, 3, 4):
        raise ImageReadError(f"expected an image array (H, W), (H, W, 3) or (H, W, 4), got shape {a.shape}")
    if a.shape[2] == 1:
        a = np.repeat(a, 3, axis=2)
    if a.shape[2] == 4:
        alpha = a[..., 3:4]
        a = a[..., :3] * alpha + (1.0 - alpha)
    if a.shape[0] < MIN_SIDE or a.shape[1] < MIN_SIDE:
        raise ImageReadError(f"the image has zero size ({a.shape[1]}×{a.shape[0]})")
    if a.size and (float(a.min()) < 0.0 or float(a.max()) > 1.0):
        np.clip(a, 0.0, 1.0, out=a)
    return np.ascontiguousarray(a, dtype=np.float32)


def load_image(src: ImageSource, *, max_pixels: int = MAX_PIXELS) -> torch.Tensor:
    """Read any image as ``(1, 3, H, W)`` float32 RGB in [0, 1] (alpha flattened onto white)."""
    if isinstance(src, torch.Tensor):
        t = src.detach().float()
        if t.ndim == 3:
            t = t.unsqueeze(0)
        if t.ndim != 4 or t.shape[1] != 3:
            raise ImageReadError(f"expected an image tensor (1, 3, H, W), got shape {tuple(src.shape)}")
        check_finite(t, "the image tensor")
        return t.clamp(0, 1)
    return array_to_tensor(read_rgb(src, max_pixels=max_pixels))


def load_mask(
    src: ImageSource, *, size: tuple[int, int] | None = None, name: str | None = None, max_pixels: int = MAX_PIXELS
) -> torch.Tensor:
    """Read a mask as ``(H, W)`` float32 in [0, 1] (white/opaque = inside).

    A mask with real transparency uses its alpha channel; otherwise its luminance. ``size`` is the expected
    ``(H, W)``; a mismatch raises :class:`MaskError` (masks are never silently resized: they must line up with the
    sketch pixel for pixel).
    """
    label = name or _name(src)
    if isinstance(src, torch.Tensor):
        m = src.detach().float()
        while m.ndim > 2 and m.shape[0] == 1:
            m = m[0]
        if m.ndim != 2:
            raise MaskError(f"{label}: expected a mask of shape (H, W), got {tuple(src.shape)}")
        check_finite(m, label)
        if m.max() > 1.0:
            m = m / 255.0
    elif isinstance(src, np.ndarray):
        a = np.asarray(src)
        if a.ndim == 3:
            a = a[..., 3] if a.shape[2] == 4 and a[..., 3].min() < a[..., 3].max() else a[..., :3].mean(axis=2)
        if a.ndim != 2:
            raise MaskError(f"{label}: expected a mask of shape (H, W), got {a.shape}")
        if a.dtype.kind not in "biuf":
            raise MaskError(f"{label}: expected numbers (uint8, float or bool pixels), got dtype {a.dtype}")
        check_finite(a, label)
        a = a.astype(np.float32)
        if src.dtype == np.uint8 or a.max(initial=0) > 1.0:
            a = a / 255.0
        m = torch.from_numpy(np.ascontiguousarray(a))
    else:
        img = open_pil(src, max_pixels=max_pixels)
        if img.mode in ("L", "1"):  # the usual mask: read the grey channel directly (3× less memory and time)
            a = np.asarray(img.convert("L") if img.mode == "1" else img, dtype=np.float32) / np.float32(255.0)
        else:
            rgb, alpha = _to_float_array(img, label)
            if alpha is not None and float(alpha.min()) < float(alpha.max()):
                a = alpha
            else:
                a = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        m = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
    m = m.clamp(0, 1)
    if size is not None and tuple(m.shape) != tuple(size):
        raise MaskError(
            f"{label}: the mask is {m.shape[1]}×{m.shape[0]} px but the sketch is {size[1]}×{size[0]} px; "
            "masks must be the sketch's size, pixel-aligned with it"
        )
    return m


def array_to_tensor(arr: np.ndarray) -> torch.Tensor:
    """``(H, W, 3)`` float [0, 1] → ``(1, 3, H, W)`` float32."""
    return torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32)).permute(2, 0, 1).unsqueeze(0).contiguous()


def tensor_to_array(t: torch.Tensor) -> np.ndarray:
    """``(1, 3, H, W)`` or ``(3, H, W)`` float [0, 1] → ``(H, W, 3)`` float32."""
    x = t.detach().float().cpu()
    if x.ndim == 4:
        x = x[0]
    if x.ndim != 3 or x.shape[0] not in (1, 3):
        raise ImageReadError(f"expected an image tensor (1, 3, H, W), got shape {tuple(t.shape)}")
    if x.shape[0] == 1:
        x = x.expand(3, -1, -1)
    return np.ascontiguousarray(x.clamp(0, 1).permute(1, 2, 0).numpy())


def to_uint8(arr: np.ndarray) -> np.ndarray:
    return (np.clip(arr, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def to_pil(image: torch.Tensor | np.ndarray, *, alpha: torch.Tensor | np.ndarray | None = None) -> Image.Image:
    """Image tensor ``(1, 3, H, W)`` / array ``(H, W, 3)`` in [0, 1] (+ optional alpha ``(H, W)``) → PIL RGB(A)."""
    arr = tensor_to_array(image) if isinstance(image, torch.Tensor) else _array_to_rgb(image)
    if alpha is None:
        return Image.fromarray(to_uint8(arr), "RGB")
    a = alpha.detach().float().cpu().numpy() if isinstance(alpha, torch.Tensor) else np.asarray(alpha, np.float32)
    rgba = np.concatenate([to_uint8(arr), to_uint8(a)[..., None]], axis=2)
    return Image.fromarray(rgba, "RGBA")


def mask_to_pil(mask: torch.Tensor | np.ndarray) -> Image.Image:
    """Mask ``(H, W)`` float [0, 1] or bool → 8-bit greyscale (255 = inside)."""
    m = mask.detach().float().cpu().numpy() if isinstance(mask, torch.Tensor) else np.asarray(mask, np.float32)
    return Image.fromarray(to_uint8(m), "L")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same folder, so no partial file is ever left."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".gs-", suffix=".part", dir=path.parent)  # short: any legal name still fits
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def save_png(img: Image.Image, path: str | os.PathLike, *, dpi: int = EXPORT_DPI) -> Path:
    """Save a PIL image as PNG atomically (never WebP/JPEG: renders are for print)."""
    buf = _io.BytesIO()
    img.save(buf, format="PNG", dpi=(dpi, dpi), optimize=False)
    return atomic_write_bytes(path, buf.getvalue())


def save_image(image: torch.Tensor | np.ndarray, path: str | os.PathLike, *, alpha=None, dpi: int = EXPORT_DPI) -> Path:
    """Save an image tensor ``(1, 3, H, W)`` in [0, 1] as PNG atomically; ``alpha`` ``(H, W)`` makes it RGBA."""
    suffix = Path(path).suffix.lower()
    if suffix not in (".png", ""):
        raise ImageReadError(f"{path}: renders are saved as PNG (lossless, print quality); use a .png file name")
    return save_png(to_pil(image, alpha=alpha), path, dpi=dpi)


def save_mask(mask: torch.Tensor | np.ndarray, path: str | os.PathLike) -> Path:
    return save_png(mask_to_pil(mask), path)

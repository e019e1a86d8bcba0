"""Style targets kept on disk between processes.

Why: the Gram targets of a fabric are the largest part of a VGG19 render's set-up (one no-grad pass per region on a
≥ 256 px tiled canvas: ~0.4 s each at 256 px on this machine, ~1.2 evaluations for a two-region render), and they
depend only on the swatch's pixels, its zoom and rotation, the layers and the weights. A designer re-renders the same
fabrics across sessions; a batch worker (a new process per worker, a Ray task per item) renders one collection's
fabrics over and over. Kept on disk, a first render of a *process* costs what a second render costs.

Layout: ``$GARMENTSTYLE_CACHE/targets/<sha256 of the key>.pt`` (default folder ``~/.cache/garmentstyle``;
``GARMENTSTYLE_CACHE=off`` turns the disk cache off), each file a ``{layer: (C, C) float32}`` dict written with
``torch.save`` to a temporary name and renamed (a reader never sees half a file), read back with
``weights_only=True`` (a file planted in the folder cannot run code). The folder is kept under
:data:`MAX_BYTES` by dropping the least recently used files. The cache can never fail a render: an unreadable,
corrupt or mismatched file is a miss (and is removed); a folder we cannot write to is left alone.

The key holds everything the values depend on (see :func:`key`), including the encoder's weights fingerprint and
:data:`FORMAT`, which is raised whenever the measurement itself changes; values are stored exactly as computed, so
a hit gives the same render bit for bit.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from pathlib import Path
from typing import Optional

import torch

__all__ = ["ENV_DIR", "MAX_BYTES", "FORMAT", "flush", "folder", "key", "load", "save", "save_later"]

#: Environment variable naming the cache folder (``off``, ``0`` or ``none``: no disk cache).
ENV_DIR = "GARMENTSTYLE_CACHE"
#: Most bytes the targets folder holds (a five-layer VGG19 set is ~2.4 MB: ~100 fabrics).
MAX_BYTES = 256 * 1024 * 1024
#: Version of the target measurement (canvas, guides, Gram normalisation); part of every key.
FORMAT = 1


def folder() -> Optional[Path]:
    """The targets folder (not created here), or None when the disk cache is off. Read on every call, so a changed
    environment variable takes effect."""
    env = os.environ.get(ENV_DIR, "")
    if env.strip().lower() in ("off", "0", "none", "false"):
        return None
    root = Path(env).expanduser() if env else Path.home() / ".cache" / "garmentstyle"
    return root / "targets"


def key(*parts: object) -> str:
    """A file name for ``parts`` (their ``repr``s, with :data:`FORMAT`): 64 hex digits."""
    text = repr((FORMAT,) + tuple(parts))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


#: Targets handed to :func:`save_later` whose file is not written yet (name → CPU float32 copies): :func:`load`
#: answers from here, so a write in flight is never a miss.
_PENDING: dict[str, dict[str, torch.Tensor]] = {}
_WRITERS: list[threading.Thread] = []
_LOCK = threading.Lock()


def load(name: str, layers: tuple[str, ...]) -> Optional[dict[str, torch.Tensor]]:
    """The stored targets for ``name`` if they hold exactly ``layers`` as square float32 matrices, else None (a
    bad file is removed)."""
    root = folder()
    if root is None:
        return None
    with _LOCK:
        pending = _PENDING.get(name)
    if pending is not None and _valid(pending, layers):
        return {n: t.clone() for n, t in pending.items()}
    path = root / f"{name}.pt"
    try:
        value = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        return None
    except Exception:  # noqa: BLE001 - corrupt, truncated, not ours: a miss, never a failed render
        _remove(path)
        return None
    if not _valid(value, layers):
        _remove(path)
        return None
    try:
        os.utime(path)  # recently used: kept when the folder is trimmed
    except OSError:
        pass
    return value


def save(name: str, value: dict[str, torch.Tensor]) -> bool:
    """Store ``value`` under ``name`` (atomically); returns whether it was written. Never raises for I/O."""
    root = folder()
    if root is None:
        return False
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=root, prefix=".tmp-", suffix=".pt")
        try:
            with os.fdopen(fd, "wb") as f:
                torch.save({n: t.detach().to("cpu", torch.float32).contiguous() for n, t in value.items()}, f)
            os.replace(tmp, root / f"{name}.pt")
        except BaseException:
            _remove(Path(tmp))
            raise
        _trim(root)
        return True
    except OSError:
        return False


def save_later(name: str, value: dict[str, torch.Tensor]) -> None:
    """:func:`save` on a background thread, off the render's path (writing a five-layer set took 0.08 s, a fifth of
    a 256 px render's set-up). The values are copied first; until the file exists :func:`load` returns the copy.
    The thread is not a daemon: a process that ends waits for the write (which is atomic either way)."""
    if folder() is None:
        return
    copy = {n: t.detach().to("cpu", torch.float32).contiguous().clone() for n, t in value.items()}

    def write() -> None:
        try:
            save(name, copy)
        finally:
            with _LOCK:
                if _PENDING.get(name) is copy:
                    del _PENDING[name]

    thread = threading.Thread(target=write, name="garmentstyle-target-store", daemon=False)
    with _LOCK:
        _PENDING[name] = copy
        _WRITERS[:] = [t for t in _WRITERS if t.is_alive()] + [thread]
    thread.start()


def flush(timeout: Optional[float] = None) -> None:
    """Wait for every :func:`save_later` write started so far."""
    with _LOCK:
        writers = list(_WRITERS)
    for t in writers:
        t.join(timeout)


def _valid(value: object, layers: tuple[str, ...]) -> bool:
    if not isinstance(value, dict) or set(value) != set(layers):
        return False
    return all(isinstance(t, torch.Tensor) and t.dtype == torch.float32 and t.ndim == 2 and t.shape[0] == t.shape[1]
               and bool(torch.isfinite(t).all()) for t in value.values())


def _trim(root: Path) -> None:
    """Drop the least recently used files while the folder holds more than :data:`MAX_BYTES`."""
    files = []
    for p in root.glob("*.pt"):
        try:
            st = p.stat()
        except OSError:
            continue
        files.append((st.st_mtime, st.st_size, p))
    total = sum(size for _, size, _ in files)
    for _, size, p in sorted(files):
        if total <= MAX_BYTES:
            break
        _remove(p)
        total -= size


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass

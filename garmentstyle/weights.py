"""The pretrained checkpoints garmentstyle can use: what they are, where they live, how to fetch them safely.

One manifest (:data:`MANIFEST`) names every checkpoint with its URL, SHA-256, size and licence, so the lookup, the
download, the ``garmentstyle weights`` command and the error messages can never disagree about a file name.

Lookup (:func:`find`, :func:`require`) is cheap: it checks file names only, in :func:`weights_dir` and then in
torch hub's cache, and never hashes (a 2.5 GB SAM checkpoint takes seconds to hash). Hashing is explicit:
:func:`verify`, and always at the end of :func:`download`.

:func:`download` streams to ``<dest>/<filename>.part``, resumes an existing ``.part`` with an HTTP ``Range`` request
(falling back to a fresh transfer when the server ignores it), checks the hash, and only then renames the file to
its final name, so a file under the final name is always complete and verified. Like the rest of the library it
never prints: progress goes to ``on_progress(done_bytes, total_bytes)``.

Environment:
    ``GARMENTSTYLE_WEIGHTS``: the folder checkpoints are looked up in and downloaded to (default: the repository's
    ``weights/``).
    ``GARMENTSTYLE_WEIGHTS_MIRROR``: a base URL that replaces the scheme and host of every manifest URL (the path is
    kept), for machines that must fetch from an internal mirror.
    ``GARMENTSTYLE_DOWNLOAD_STALL``: seconds without a single byte after which a download stops (default 60).
    ``GARMENTSTYLE_DOWNLOAD_TIMEOUT``: seconds a whole download may take (default: 5 minutes plus the file's size at
    100 kB/s, e.g. about 1 h 40 min for VGG19's 575 MB).

Bounded downloads: a download can neither fill the disk nor hang. It stops with a clear message when the server
announces a length other than the manifest's, when it sends more bytes than the manifest's size (an endless or wrong
mirror; the ``.part`` is deleted), when no byte arrives for the stall timeout (a silent server), and when the whole
transfer exceeds its time limit (a trickle); the last two keep the ``.part`` so a re-run resumes.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import re
import shutil
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import BinaryIO, Callable, Mapping, Optional, Union

from .errors import InputError, OptionsError, WeightsDownloadError, WeightsNotFoundError

#: ``on_progress(done_bytes, total_bytes)``; ``total_bytes`` is None when the server does not say.
ByteProgress = Callable[[int, Optional[int]], None]

#: Environment variable overriding :func:`weights_dir`.
ENV_DIR = "GARMENTSTYLE_WEIGHTS"
#: Environment variable with a mirror base URL replacing the host part of every manifest URL.
ENV_MIRROR = "GARMENTSTYLE_WEIGHTS_MIRROR"
#: File name of the VGG19 convolutional part alone (see :func:`extract_vgg19_features`).
VGG19_FEATURES_FILENAME = "vgg19-features.pth"

_HEX = re.compile(r"[0-9a-f]+")
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")
_URL_SCHEMES = ("http", "https", "file")

#: Environment variables bounding a download (seconds): no byte for this long, and the whole transfer.
ENV_STALL = "GARMENTSTYLE_DOWNLOAD_STALL"
ENV_TIMEOUT = "GARMENTSTYLE_DOWNLOAD_TIMEOUT"
#: Defaults: stall timeout; the total limit is BASE + size / MIN_RATE.
DEFAULT_STALL_S = 60.0
TOTAL_BASE_S = 300.0
MIN_RATE_BYTES_S = 100_000
#: Cap for a checkpoint whose size is not in the manifest (size_bytes=0).
DEFAULT_MAX_BYTES = 5_000_000_000


@dataclass(frozen=True)
class Checkpoint:
    """One downloadable checkpoint.

    ``sha256`` is the full lowercase hex digest when it is known; otherwise ``sha256_prefix`` alone is checked (the
    torch hub convention: ``vgg19-dcbb9e9d.pth`` carries the first 8 hex digits of its SHA-256). When both are set
    the prefix must agree with the full digest. ``size_bytes`` is for messages and disk-space checks only.
    """

    name: str
    filename: str
    url: str
    sha256: Optional[str]
    sha256_prefix: Optional[str]
    size_bytes: int
    description: str
    licence: str

    def __post_init__(self) -> None:
        if not self.name or not self.filename or "/" in self.filename or "\\" in self.filename:
            raise OptionsError(f"checkpoint {self.name!r}: expected a plain file name, got {self.filename!r}")
        if self.sha256 is None and not self.sha256_prefix:
            raise OptionsError(f"checkpoint {self.name!r}: give sha256 or sha256_prefix so downloads can be checked")
        if self.sha256 is not None and (len(self.sha256) != 64 or not _HEX.fullmatch(self.sha256)):
            raise OptionsError(f"checkpoint {self.name!r}: sha256 must be 64 lowercase hex digits, got {self.sha256!r}")
        if self.sha256_prefix is not None and not _HEX.fullmatch(self.sha256_prefix):
            raise OptionsError(
                f"checkpoint {self.name!r}: sha256_prefix must be lowercase hex, got {self.sha256_prefix!r}"
            )
        if self.sha256 and self.sha256_prefix and not self.sha256.startswith(self.sha256_prefix):
            raise OptionsError(f"checkpoint {self.name!r}: sha256_prefix does not match sha256")
        if self.size_bytes < 0:
            raise OptionsError(f"checkpoint {self.name!r}: size_bytes must be ≥ 0, got {self.size_bytes}")

    def hash_matches(self, digest: str) -> bool:
        """True when ``digest`` (full hex SHA-256 of a file) is this checkpoint's."""
        digest = digest.lower()
        if self.sha256 is not None:
            return digest == self.sha256
        return digest.startswith(self.sha256_prefix or "\0")

    @property
    def expected_hash(self) -> str:
        """The full digest, or the prefix followed by ``…`` (for messages)."""
        return self.sha256 if self.sha256 is not None else f"{self.sha256_prefix}…"


# Hashes: the full SHA-256 of vgg19-dcbb9e9d.pth agrees with torch hub's 8-digit prefix in its file name and is
# recorded identically by several independent projects; the SAM digests are those micro-sam's model registry and
# other projects pin for Meta's files (SAM's file-name suffixes are NOT hash prefixes, so only the full digest is
# checked for them). Sizes are exact byte counts of the published files.
MANIFEST: Mapping[str, Checkpoint] = MappingProxyType(
    {
        "vgg19": Checkpoint(
            name="vgg19",
            filename="vgg19-dcbb9e9d.pth",
            url="https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
            sha256="dcbb9e9dad569fff7a846263a77324fc34978fea2bfb039c012d710e1776ae44",
            sha256_prefix="dcbb9e9d",
            size_bytes=574_673_361,
            description="VGG19 ImageNet (torchvision IMAGENET1K_V1): the style/content encoder",
            licence="BSD-3-Clause (torchvision); trained on ImageNet, whose terms apply to the weights",
        ),
        "sam-vit-b": Checkpoint(
            name="sam-vit-b",
            filename="sam_vit_b_01ec64.pth",
            url="https://dl.fbaipublicfiles.com/segment_anything/sam_vit_b_01ec64.pth",
            sha256="ec2df62732614e57411cdcf32a23ffdf28910380d03139ee0f4fcbe91eb8c912",
            sha256_prefix=None,
            size_bytes=375_042_383,
            description="Segment Anything ViT-B: fastest, smallest; good for clean line art",
            licence="Apache-2.0 (Meta, segment-anything)",
        ),
        "sam-vit-l": Checkpoint(
            name="sam-vit-l",
            filename="sam_vit_l_0b3195.pth",
            url="https://dl.fbaipublicfiles.com/segment_anything/sam_vit_l_0b3195.pth",
            sha256="3adcc4315b642a4d2101128f611684e8734c41232a17c648ed1693702a49a622",
            sha256_prefix=None,
            size_bytes=1_249_524_607,
            description="Segment Anything ViT-L: nearly ViT-H quality at half the size",
            licence="Apache-2.0 (Meta, segment-anything)",
        ),
        "sam-vit-h": Checkpoint(
            name="sam-vit-h",
            filename="sam_vit_h_4b8939.pth",
            url="https://dl.fbaipublicfiles.com/segment_anything/sam_vit_h_4b8939.pth",
            sha256="a7bf3b02f3ebf1267aba913ff637d9a2d5c33d3173bb679e46d9f338c26f262e",
            sha256_prefix=None,
            size_bytes=2_564_550_879,
            description="Segment Anything ViT-H: best masks, slowest, needs the most memory",
            licence="Apache-2.0 (Meta, segment-anything)",
        ),
    }
)


# --------------------------------------------------------------------------------------------------------------
# lookup


def get(name: Union[str, Checkpoint]) -> Checkpoint:
    """The manifest entry called ``name`` (a :class:`Checkpoint` passes through, so tests and plugins can use their
    own everywhere a name is accepted).

    Raises:
        OptionsError: unknown name; the message lists the known ones.
    """
    if isinstance(name, Checkpoint):
        return name
    try:
        return MANIFEST[name]
    except KeyError:
        known = ", ".join(MANIFEST)
        raise OptionsError(f"unknown checkpoint {name!r}; expected one of: {known}") from None


def weights_dir() -> Path:
    """The folder checkpoints are looked up in and downloaded to: ``$GARMENTSTYLE_WEIGHTS`` or the repo's ``weights/``.

    Computed on every call (never cached) so a changed environment variable takes effect; never created here.
    """
    env = os.environ.get(ENV_DIR)
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parents[1] / "weights"


def hub_checkpoints_dir() -> Path:
    """torch hub's download cache (``torch.hub.get_dir()/checkpoints``), where torchvision keeps ``vgg19-*.pth``."""
    import torch.hub  # lazy: keeps ``import garmentstyle.weights`` and ``weights list`` cheap

    return Path(torch.hub.get_dir()) / "checkpoints"


def candidates(name: Union[str, Checkpoint]) -> list[Path]:
    """Every path :func:`find` tries, in order (for messages and ``weights list``)."""
    ckpt = get(name)
    here = weights_dir()
    paths = [here / ckpt.filename]
    if ckpt.name == "vgg19":
        paths.append(here / VGG19_FEATURES_FILENAME)
    paths.append(hub_checkpoints_dir() / ckpt.filename)
    return paths


def find(name: Union[str, Checkpoint]) -> Optional[Path]:
    """The checkpoint's file if one is on disk, else None. Does not hash (see :func:`verify`).

    Looks in :func:`weights_dir`, then torch hub's cache, by the manifest file name. For ``vgg19`` a features-only
    file (``vgg19-features.pth``, see :func:`extract_vgg19_features`) in :func:`weights_dir` is accepted too; both
    files hold ``features.*`` keys with the same shapes, only the classifier keys may be missing.

    Raises:
        OptionsError: ``name`` is not in :data:`MANIFEST`.
    """
    for path in candidates(name):
        try:
            if path.is_file() and path.stat().st_size > 0:
                return path
        except OSError:  # an unreadable folder on the way is "not here", not a crash
            continue
    return None


def require(name: Union[str, Checkpoint]) -> Path:
    """Like :func:`find`, but a missing checkpoint raises an error that says where we looked and how to fix it.

    Raises:
        OptionsError: ``name`` is not in :data:`MANIFEST`.
        WeightsNotFoundError: no file found.
    """
    ckpt = get(name)
    path = find(ckpt)
    if path is not None:
        return path
    looked = ", ".join(dict.fromkeys(str(p.parent) for p in candidates(ckpt)))  # each folder once, in order
    raise WeightsNotFoundError(
        f"the {ckpt.name} checkpoint ({ckpt.filename}, {human_size(ckpt.size_bytes)}) is not on disk; "
        f"looked in {looked}. "
        f"Fix: run `garmentstyle weights download {ckpt.name}` (or copy the file {ckpt.filename} into "
        f"{weights_dir()})"
    )


def status() -> list[dict]:
    """One row per manifest checkpoint, for ``garmentstyle weights list`` and the UI's setup panel.

    Keys: ``name``, ``filename``, ``present`` (bool), ``path`` (str or None), ``size`` (bytes on disk or None),
    ``expected_size`` (bytes), ``features_only`` (bool: the vgg19 features file was found), ``description``,
    ``licence``. Does not hash.
    """
    rows = []
    for name, ckpt in MANIFEST.items():
        path = find(ckpt)
        size = None
        if path is not None:
            try:
                size = path.stat().st_size
            except OSError:
                size = None
        rows.append(
            {
                "name": name,
                "filename": ckpt.filename,
                "present": path is not None,
                "path": str(path) if path is not None else None,
                "size": size,
                "expected_size": ckpt.size_bytes,
                "features_only": path is not None and path.name == VGG19_FEATURES_FILENAME,
                "description": ckpt.description,
                "licence": ckpt.licence,
            }
        )
    return rows


# --------------------------------------------------------------------------------------------------------------
# hashing


def sha256_file(
    path: Union[str, os.PathLike], *, on_progress: Optional[ByteProgress] = None, chunk: int = 1 << 20
) -> str:
    """Full hex SHA-256 of a file, streamed (checkpoints are too large to read at once)."""
    path = Path(path)
    total = path.stat().st_size
    h = hashlib.sha256()
    done = 0
    with path.open("rb") as fh:
        while True:
            block = fh.read(chunk)
            if not block:
                break
            h.update(block)
            done += len(block)
            if on_progress is not None:
                on_progress(done, total)
    return h.hexdigest()


def verify(
    path: Union[str, os.PathLike], checkpoint: Union[str, Checkpoint], *, on_progress: Optional[ByteProgress] = None
) -> bool:
    """True when the file at ``path`` is ``checkpoint`` (full SHA-256, or the prefix when only that is known).

    A ``vgg19-features.pth`` file is derived locally, so it has no published hash: it is checked by structure
    instead (it loads with ``weights_only=True`` and holds exactly VGG19's 16 conv layers with the right shapes).
    A missing or unreadable file is False, not an error.
    """
    ckpt = get(checkpoint)
    path = Path(path)
    if not path.is_file():
        return False
    if ckpt.name == "vgg19" and path.name == VGG19_FEATURES_FILENAME:
        return _looks_like_vgg19_features(path)
    try:
        return ckpt.hash_matches(sha256_file(path, on_progress=on_progress))
    except OSError:
        return False


#: Output channels of VGG19's 16 conv layers, keyed by their index in ``torchvision.models.vgg19().features``.
_VGG19_CONVS: dict[int, int] = {
    0: 64, 2: 64, 5: 128, 7: 128, 10: 256, 12: 256, 14: 256, 16: 256,
    19: 512, 21: 512, 23: 512, 25: 512, 28: 512, 30: 512, 32: 512, 34: 512,
}  # fmt: skip


def _looks_like_vgg19_features(path: Path) -> bool:
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # any unreadable / non-torch file
        return False
    if not isinstance(state, dict) or len(state) != 2 * len(_VGG19_CONVS):
        return False
    in_ch = 3
    for idx, out_ch in _VGG19_CONVS.items():
        w, b = state.get(f"features.{idx}.weight"), state.get(f"features.{idx}.bias")
        if not isinstance(w, torch.Tensor) or not isinstance(b, torch.Tensor):
            return False
        if tuple(w.shape) != (out_ch, in_ch, 3, 3) or tuple(b.shape) != (out_ch,):
            return False
        in_ch = out_ch
    return True


# --------------------------------------------------------------------------------------------------------------
# download


def resolve_url(name: Union[str, Checkpoint], url: Optional[str] = None) -> str:
    """The URL :func:`download` will fetch: ``url`` if given, else the manifest URL re-hosted on
    ``$GARMENTSTYLE_WEIGHTS_MIRROR`` when that is set (``https://mirror/base`` + the original path)."""
    ckpt = get(name)
    if url:
        chosen = url
    else:
        mirror = os.environ.get(ENV_MIRROR, "").strip()
        if mirror:
            chosen = mirror.rstrip("/") + urllib.parse.urlsplit(ckpt.url).path
        else:
            chosen = ckpt.url
    scheme = urllib.parse.urlsplit(chosen).scheme.lower()
    if scheme not in _URL_SCHEMES:
        raise OptionsError(f"download URL {chosen!r}: expected an http(s):// or file:// URL")
    return chosen


def download(
    name: Union[str, Checkpoint],
    *,
    dest_dir: Union[str, os.PathLike, None] = None,
    url: Optional[str] = None,
    on_progress: Optional[ByteProgress] = None,
    timeout: Optional[float] = None,
    total_timeout: Optional[float] = None,
    chunk: int = 1 << 20,
    features_only: bool = False,
    force: bool = False,
) -> Path:
    """Fetch a checkpoint into ``dest_dir`` (default :func:`weights_dir`), verified, and return its path.

    The transfer goes to ``<filename>.part``; an existing ``.part`` is resumed with an HTTP ``Range`` request (a
    server that ignores ``Range`` gets a fresh transfer). Only a file whose SHA-256 matches is renamed to its final
    name, so an interrupted or corrupt download never looks finished. ``on_progress(done, total)`` is called after
    every chunk (``done`` starts at the resumed size; ``total`` is None when the server gives no length) and may
    raise to stop; the ``.part`` is then kept for the next attempt.

    A file already present under the final name is hashed and returned (``force=True`` re-downloads it and
    discards any ``.part``).

    Bounds: ``timeout`` is the stall timeout (seconds without a byte; default ``$GARMENTSTYLE_DOWNLOAD_STALL`` or
    60), ``total_timeout`` the limit for the whole transfer (default ``$GARMENTSTYLE_DOWNLOAD_TIMEOUT`` or 5 min +
    size at 100 kB/s); never more than the manifest's ``size_bytes`` is written (see the module doc).

    ``features_only=True`` (``vgg19`` only) keeps just the convolutional part: after the full file is downloaded
    and verified it is reduced with :func:`extract_vgg19_features` to ``vgg19-features.pth`` (~80 MB instead of
    575 MB; the style encoder never uses the classifier) and the full file is deleted, unless it was already there
    before this call.

    Raises:
        OptionsError: unknown name, bad URL, or ``features_only`` for a checkpoint other than vgg19.
        WeightsDownloadError: unreachable server, HTTP error, interrupted transfer (re-running resumes), hash
            mismatch (the ``.part`` is deleted), an existing file that fails the check, or no space / permission.
    """
    ckpt = get(name)
    if features_only and ckpt.name != "vgg19":
        raise OptionsError(f"--features-only applies to vgg19 only, not {ckpt.name}")
    if chunk <= 0:
        raise OptionsError(f"chunk must be a positive number of bytes, got {chunk}")
    src_url = resolve_url(ckpt, url)
    limits = _limits(ckpt, timeout, total_timeout)
    dest = Path(dest_dir).expanduser() if dest_dir is not None else weights_dir()
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WeightsDownloadError(
            f"cannot create the weights folder {dest} ({exc.strerror or exc}); choose another with --dir or "
            f"{ENV_DIR}=DIR"
        ) from None

    final = dest / ckpt.filename
    if features_only:
        features = dest / VGG19_FEATURES_FILENAME
        if features.is_file() and not force:
            if not _looks_like_vgg19_features(features):
                raise WeightsDownloadError(
                    f"{features} exists but is not VGG19's conv layers; delete it or re-run with --force"
                )
            return features
        had_full = final.is_file()
        full = _download_file(ckpt, final, src_url, on_progress=on_progress, limits=limits, chunk=chunk, force=force)
        extract_vgg19_features(full, features)
        if not had_full:
            full.unlink(missing_ok=True)
        return features
    return _download_file(ckpt, final, src_url, on_progress=on_progress, limits=limits, chunk=chunk, force=force)


def _download_file(
    ckpt: Checkpoint,
    final: Path,
    src_url: str,
    *,
    on_progress: Optional[ByteProgress],
    limits: "_Limits",
    chunk: int,
    force: bool,
) -> Path:
    part = final.with_name(final.name + ".part")
    if force:
        part.unlink(missing_ok=True)
    elif final.is_file():
        digest = sha256_file(final, on_progress=on_progress)
        if ckpt.hash_matches(digest):
            return final
        raise WeightsDownloadError(
            f"{final} exists but its SHA-256 is {digest}, expected {ckpt.expected_hash}; it is damaged or a "
            f"different file: re-run with --force to replace it (`garmentstyle weights download {ckpt.name} --force`)"
        )

    # At most two passes: the second one starts afresh when the server refused to resume.
    for _attempt in range(2):
        restart = _transfer(ckpt, part, src_url, on_progress=on_progress, limits=limits, chunk=chunk)
        if not restart:
            break
        part.unlink(missing_ok=True)
    else:  # pragma: no cover - a server that answers a fresh request with 416 again
        raise WeightsDownloadError(f"{src_url}: the server refused the download twice; try again later")

    digest = sha256_file(part)
    if not ckpt.hash_matches(digest):
        part.unlink(missing_ok=True)
        raise WeightsDownloadError(
            f"{ckpt.filename} from {src_url}: SHA-256 mismatch, expected {ckpt.expected_hash}, got {digest}; the "
            "download was deleted. The server or a proxy sent a different file; try again, or use another --url / "
            f"{ENV_MIRROR}"
        )
    os.replace(part, final)
    return final


def _transfer(
    ckpt: Checkpoint,
    part: Path,
    src_url: str,
    *,
    on_progress: Optional[ByteProgress],
    limits: "_Limits",
    chunk: int,
) -> bool:
    """Bring ``part`` to the full file (resuming it if possible). True means "discard ``part`` and start over"."""
    from . import __version__

    have = part.stat().st_size if part.is_file() else 0
    headers = {"User-Agent": f"garmentstyle/{__version__}"}
    if have:
        headers["Range"] = f"bytes={have}-"
    response = _open(ckpt, part, urllib.request.Request(src_url, headers=headers), src_url, limits, resuming=bool(have))
    if response is None:
        return True
    with response:
        plan = _plan_write(ckpt, part, response, src_url, have)
        if plan is None:
            return True
        if on_progress is not None:
            on_progress(plan.done, plan.total)
        try:
            fh = part.open(plan.mode)
        except OSError as exc:
            raise WeightsDownloadError(f"cannot write {part} ({exc.strerror or exc}); check the folder") from None
        with fh:
            received = _stream(ckpt, part, src_url, response, fh, plan, on_progress=on_progress, limits=limits,
                               chunk=chunk)
        if plan.remaining is not None and received < plan.remaining:
            raise _interrupted(ckpt, part, src_url, f"connection closed after {plan.done + received} of {plan.total} bytes")
    return False


def _interrupted(ckpt: Checkpoint, part: Path, src_url: str, why: object) -> WeightsDownloadError:
    return WeightsDownloadError(
        f"the download of {ckpt.filename} from {src_url} was interrupted ({why}); {part.name} keeps what arrived: "
        f"re-run `garmentstyle weights download {ckpt.name}` to resume it (it restarts if the server can't resume)"
    )


def _open(
    ckpt: Checkpoint, part: Path, request: urllib.request.Request, src_url: str, limits: "_Limits", *, resuming: bool
) -> Optional[http.client.HTTPResponse]:
    """The server's response, or None when our resumed ``.part`` is already complete (416: start afresh). Every
    failure to connect becomes one :class:`WeightsDownloadError` saying what to do."""
    try:
        return urllib.request.urlopen(request, timeout=limits.stall)  # noqa: S310 - scheme checked in resolve_url
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and resuming:  # our .part is already complete (or longer than the file): start afresh
            exc.close()
            return None
        raise WeightsDownloadError(
            f"{src_url}: the server answered {exc.code} {exc.reason}; check the URL or try a mirror "
            f"({ENV_MIRROR}=BASE_URL), or download {ckpt.filename} by hand into {part.parent}"
        ) from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", None) or exc
        if isinstance(reason, (socket.timeout, TimeoutError)):
            raise WeightsDownloadError(
                f"{src_url}: the server did not answer within {limits.stall:g} s (stall timeout); try again later, "
                f"use a mirror ({ENV_MIRROR}=BASE_URL), or allow longer with {ENV_STALL}=SECONDS"
            ) from None
        raise WeightsDownloadError(
            f"could not reach {src_url} ({reason}); check the network, set {ENV_MIRROR}=BASE_URL for a mirror, "
            f"or copy {ckpt.filename} by hand into {part.parent}"
        ) from None


@dataclass(frozen=True)
class _WritePlan:
    """How the response's bytes join ``part``: file ``mode`` ("wb" from byte 0, "ab" appending), ``done`` bytes
    already on disk, ``total`` the file's announced size and ``remaining`` the bytes this response announces (None
    where the server did not say)."""

    mode: str
    done: int
    total: Optional[int]
    remaining: Optional[int]


def _plan_write(
    ckpt: Checkpoint, part: Path, response: http.client.HTTPResponse, src_url: str, have: int
) -> Optional[_WritePlan]:
    """Read the response's status and lengths; None means "a range we did not ask for: start over". A server that
    announces another size than the manifest's is refused before a byte is written."""
    code = getattr(response, "status", None) or response.getcode()
    length = response.headers.get("Content-Length")
    remaining = int(length) if length and length.isdigit() else None
    mode, done = "wb", 0
    if have and code == 206:
        m = _CONTENT_RANGE.fullmatch((response.headers.get("Content-Range") or "").strip())
        if m is None or int(m.group(1)) != have:
            return None  # a range we did not ask for: do not splice it onto our bytes
        mode, done = "ab", have
        if m.group(3) != "*":
            total: Optional[int] = int(m.group(3))
        else:
            total = have + remaining if remaining is not None else None
    else:
        total = remaining  # 200 (also when the server ignored our Range): the whole file from byte 0
    if total is not None and ckpt.size_bytes and total != ckpt.size_bytes:
        raise WeightsDownloadError(
            f"{src_url}: the server announces {total:,} bytes but {ckpt.filename} is {ckpt.size_bytes:,} bytes; "
            f"it is sending a different file (a wrong URL or a misbehaving mirror); nothing was written. Check "
            f"--url / {ENV_MIRROR}"
        )
    if remaining is not None:
        _check_space(part.parent, remaining, ckpt)
    return _WritePlan(mode=mode, done=done, total=total, remaining=remaining)


def _stream(
    ckpt: Checkpoint,
    part: Path,
    src_url: str,
    response: http.client.HTTPResponse,
    fh: BinaryIO,
    plan: _WritePlan,
    *,
    on_progress: Optional[ByteProgress],
    limits: "_Limits",
    chunk: int,
) -> int:
    """Copy the response into ``fh`` within ``limits`` (stall, total time, byte cap); the bytes received. On a
    stall, a reset or the time limit the ``.part`` keeps what arrived (resumable); past the byte cap it is deleted."""
    read = getattr(response, "read1", None) or response.read  # read1: returns what arrived, so the clock runs
    done, total, received = plan.done, plan.total, 0
    while True:
        try:
            block = read(chunk)
        except (socket.timeout, TimeoutError):
            fh.flush()
            raise WeightsDownloadError(
                f"the download of {ckpt.filename} from {src_url} stalled: no data for {limits.stall:g} s "
                f"(at {human_size(done)} of {human_size(total)}); {part.name} keeps what arrived: re-run "
                f"`garmentstyle weights download {ckpt.name}` to resume, or allow longer with "
                f"{ENV_STALL}=SECONDS"
            ) from None
        except (OSError, http.client.HTTPException) as exc:  # reset, IncompleteRead
            fh.flush()
            raise _interrupted(ckpt, part, src_url, exc or type(exc).__name__) from None
        if not block:
            break
        if done + len(block) > limits.max_bytes:
            fh.close()
            part.unlink(missing_ok=True)
            raise WeightsDownloadError(
                f"{src_url} sent more than {limits.max_bytes:,} bytes, the size of {ckpt.filename}; stopped "
                f"and deleted the download (an endless or wrong file: check --url / {ENV_MIRROR})"
            )
        try:
            fh.write(block)
        except OSError as exc:
            raise WeightsDownloadError(
                f"cannot write {part} ({exc.strerror or exc}); free some space or choose another --dir"
            ) from None
        received += len(block)
        done += len(block)
        if on_progress is not None:
            on_progress(done, total)
        if time.monotonic() > limits.deadline:
            fh.flush()
            raise WeightsDownloadError(
                f"the download of {ckpt.filename} from {src_url} took longer than its limit of "
                f"{limits.total:g} s (at {human_size(done)} of {human_size(total)}; too slow); "
                f"{part.name} keeps what arrived: re-run to resume, or allow longer with "
                f"{ENV_TIMEOUT}=SECONDS"
            )
    fh.flush()
    os.fsync(fh.fileno())
    return received


@dataclass(frozen=True)
class _Limits:
    """A download's bounds: ``stall`` s without a byte, ``total`` s in all (ending at monotonic ``deadline``), at
    most ``max_bytes`` written."""

    stall: float
    total: float
    deadline: float
    max_bytes: int


def _seconds(value: Optional[float], env: str, default: float, what: str) -> float:
    if value is None:
        text = os.environ.get(env, "").strip()
        if not text:
            return default
        try:
            value = float(text)
        except ValueError:
            raise OptionsError(f"{env}={text!r}: expected a number of seconds") from None
        what = env
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0 < value < 1e7):
        raise OptionsError(f"{what} must be a positive number of seconds below 10 000 000; got {value!r}")
    return float(value)


def _limits(ckpt: Checkpoint, stall: Optional[float], total: Optional[float]) -> _Limits:
    default_total = TOTAL_BASE_S + (ckpt.size_bytes or DEFAULT_MAX_BYTES) / MIN_RATE_BYTES_S
    stall_s = _seconds(stall, ENV_STALL, DEFAULT_STALL_S, "the stall timeout")
    total_s = _seconds(total, ENV_TIMEOUT, default_total, "the download time limit")
    return _Limits(stall=stall_s, total=total_s, deadline=time.monotonic() + total_s,
                   max_bytes=ckpt.size_bytes or DEFAULT_MAX_BYTES)


def _check_space(folder: Path, needed: int, ckpt: Checkpoint) -> None:
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return
    if needed > free:
        raise WeightsDownloadError(
            f"not enough disk space for {ckpt.filename} in {folder}: needs {human_size(needed)}, "
            f"{human_size(free)} free; free some space or choose another --dir"
        )


# --------------------------------------------------------------------------------------------------------------
# VGG19 features-only file


def extract_vgg19_features(src: Union[str, os.PathLike], dst: Union[str, os.PathLike]) -> Path:
    """Save only the ``features.*`` entries of a torchvision VGG19 state dict (``src``) to ``dst``, atomically.

    Why: the style encoder uses only VGG19's conv layers; the classifier is ~495 of the file's 575 MB. The result
    (~80 MB) loads into ``torchvision.models.vgg19().features`` after stripping the ``features.`` prefix, or into a
    full VGG19 with ``strict=False``. ``src`` is read with ``weights_only=True`` (no pickled code runs).

    Raises:
        InputError: ``src`` is not a readable state dict with ``features.*`` tensors.
    """
    import io as _bytes_io

    import torch

    from .io import atomic_write_bytes

    src = Path(src)
    try:
        state = torch.load(src, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise InputError(f"{src}: no such file") from None
    except Exception as exc:  # pickle / zip errors of every kind
        raise InputError(f"{src}: not a PyTorch checkpoint that loads with weights_only=True ({exc})") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise InputError(f"{src}: expected a state dict (name → tensor), got {type(state).__name__}")
    features = {k: v for k, v in state.items() if isinstance(k, str) and k.startswith("features.")}
    if not features:
        raise InputError(f"{src}: no 'features.*' entries; expected torchvision's VGG19 state dict")
    buf = _bytes_io.BytesIO()
    torch.save({k: v.contiguous() for k, v in features.items()}, buf)
    return atomic_write_bytes(dst, buf.getvalue())


def human_size(n: Optional[int]) -> str:
    """Bytes for people in SI units: ``575 MB``, ``2.6 GB``."""
    if n is None:
        return "?"
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit in ("B", "KB", "MB") else f"{value:.1f} {unit}"
        value /= 1000
    return f"{n} B"  # pragma: no cover

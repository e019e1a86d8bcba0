"""``garmentstyle weights {list,download,verify,path}``: see, fetch and check the pretrained checkpoints.

A thin shell over :mod:`garmentstyle.weights`: the library reports bytes through ``on_progress``; this module owns
the tqdm bar (on stderr, so stdout stays clean for scripts: ``path`` prints only the path).
"""
from __future__ import annotations

import argparse
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

from .. import weights as W
from ..errors import WeightsDownloadError


def register(subparsers: argparse._SubParsersAction) -> None:
    names = ", ".join(W.MANIFEST)
    parser = subparsers.add_parser(
        "weights",
        help="list, download and verify pretrained checkpoints",
        description=f"Pretrained checkpoints ({names}). They live in ${W.ENV_DIR} (default: the repository's "
        f"weights/ folder); torch hub's cache is searched too.",
    )
    sub = parser.add_subparsers(dest="weights_command", metavar="ACTION")  # no ACTION: list

    p = sub.add_parser("list", help="show every checkpoint, whether it is present, where, and its size")
    p.set_defaults(func=run_list)

    p = sub.add_parser("download", help="download a checkpoint (resumable, SHA-256 checked)")
    p.add_argument("name", metavar="NAME", help=f"one of: {names}")
    p.add_argument("--dir", type=Path, default=None, help=f"target folder (default: ${W.ENV_DIR} or weights/)")
    p.add_argument("--url", default=None, help=f"download from this URL instead (see also ${W.ENV_MIRROR})")
    p.add_argument(
        "--features-only",
        action="store_true",
        help="vgg19 only: keep just the conv layers (~80 MB instead of 575 MB); the style encoder needs no more",
    )
    p.add_argument("--force", action="store_true", help="download again even if the file is present")
    p.add_argument("--stall-timeout", type=float, default=None, metavar="S",
                   help=f"stop when no byte arrives for S seconds (default: ${W.ENV_STALL} or {W.DEFAULT_STALL_S:g})")
    p.add_argument("--max-time", type=float, default=None, metavar="S",
                   help=f"stop when the whole download takes longer than S seconds (default: ${W.ENV_TIMEOUT} or "
                        f"{W.TOTAL_BASE_S:g} s + the file's size at {W.MIN_RATE_BYTES_S // 1000} kB/s); a re-run "
                        "resumes")
    p.set_defaults(func=run_download)

    p = sub.add_parser("verify", help="check a checkpoint's SHA-256")
    p.add_argument("name", metavar="NAME", help=f"one of: {names}")
    p.add_argument("--path", type=Path, default=None, help="check this file instead of the one found")
    p.set_defaults(func=run_verify)

    p = sub.add_parser("path", help="print the path of a checkpoint (exit 2 if missing)")
    p.add_argument("name", metavar="NAME", help=f"one of: {names}")
    p.set_defaults(func=run_path)

    parser.set_defaults(func=run_list)


@contextmanager
def _bar(desc: str) -> Iterator[W.ByteProgress]:
    """A byte progress bar on stderr, adapted to the library's ``on_progress(done, total)``."""
    from tqdm import tqdm

    bar = tqdm(desc=desc, unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr, leave=True, dynamic_ncols=True)

    def update(done: int, total: Optional[int]) -> None:
        if total is not None and bar.total != total:
            bar.total = total
        bar.update(done - bar.n)

    try:
        yield update
    finally:
        bar.close()


def run_list(args: argparse.Namespace) -> int:
    rows = W.status()
    here = W.weights_dir()
    table = [("NAME", "STATUS", "SIZE", "PATH", "DESCRIPTION")]
    for r in rows:
        if r["present"]:
            state = "features" if r["features_only"] else "present"
            size, path = W.human_size(r["size"]), r["path"]
        else:
            state, size, path = "missing", f"({W.human_size(r['expected_size'])})", str(here / r["filename"])
        table.append((r["name"], state, size, path, r["description"]))
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths)) + "  " + row[4])
    if not all(r["present"] for r in rows):
        print(f"\nfetch a missing one with: garmentstyle weights download NAME  (into {here})")
    return 0


def run_download(args: argparse.Namespace) -> int:
    ckpt = W.get(args.name)  # validate before drawing anything
    with _bar(ckpt.filename) as progress:
        path = W.download(
            ckpt.name,
            dest_dir=args.dir,
            url=args.url,
            on_progress=progress,
            features_only=args.features_only,
            force=args.force,
            timeout=args.stall_timeout,
            total_timeout=args.max_time,
        )
    print(path)
    if args.dir is not None and Path(args.dir).expanduser().resolve() != W.weights_dir().resolve():
        print(
            f"note: garmentstyle looks in {W.weights_dir()}; set {W.ENV_DIR}={path.parent} so it finds this file",
            file=sys.stderr,
        )
    return 0


def run_verify(args: argparse.Namespace) -> int:
    ckpt = W.get(args.name)
    path = args.path if args.path is not None else W.require(ckpt.name)
    if not Path(path).is_file():
        raise WeightsDownloadError(f"{path}: no such file")
    if Path(path).name == W.VGG19_FEATURES_FILENAME and ckpt.name == "vgg19":
        if not W.verify(path, ckpt):
            raise WeightsDownloadError(
                f"{path} is not VGG19's conv layers; re-create it with "
                f"`garmentstyle weights download vgg19 --features-only --force`"
            )
        print(f"OK  {ckpt.name}  {path}  (features-only file: structure checked, it has no published hash)")
        return 0
    with _bar(f"hashing {Path(path).name}") as progress:
        digest = W.sha256_file(path, on_progress=progress)
    if not ckpt.hash_matches(digest):
        raise WeightsDownloadError(
            f"{path}: SHA-256 mismatch, expected {ckpt.expected_hash}, got {digest}; replace it with "
            f"`garmentstyle weights download {ckpt.name} --force`"
        )
    print(f"OK  {ckpt.name}  {path}  sha256 {digest}")
    return 0


def run_path(args: argparse.Namespace) -> int:
    print(W.require(args.name))
    return 0

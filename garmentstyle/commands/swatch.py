"""``garmentstyle swatch prepare PHOTO --out TILE.png``: turn a fabric photo into a seamless, evenly lit repeat.

A thin shell over :func:`garmentstyle.swatches.prepare`: prints one line saying what was found and done, writes the
tile (and optionally the JSON report) atomically; the photo is only read.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import InputError

_MODES = ("auto", "off", "repeat", "synthesize", "flatten")  # = garmentstyle.swatches.PREPARE_MODES (tested)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "swatch", help="prepare a fabric photo as a seamless, evenly lit tile",
        description="Swatch tools. `prepare`: flatten the light of a fabric photo and cut an exact, straightened "
                    "repeat (checks, stripes, prints, regular weaves) or synthesize a seamless tile (denim, knit, "
                    "tweed); a swatch that already tiles is written unchanged.",
    )
    sub = p.add_subparsers(dest="swatch_command", metavar="ACTION")
    sub.required = True
    q = sub.add_parser("prepare", help="photo → seamless tile",
                       epilog="Example: garmentstyle swatch prepare tartan_photo.jpg --out tartan_tile.png "
                              "--report tartan.json")
    q.add_argument("photo", type=Path, help="the swatch photo or scan (PNG, JPEG, WebP, TIFF…)")
    q.add_argument("--out", "-o", type=Path, required=True, help="the prepared tile (PNG)")
    q.add_argument("--report", type=Path, help="also write what was found and done as JSON")
    q.add_argument("--mode", choices=_MODES, default="auto",
                   help="auto (default): leave a seamless swatch as it is, else an exact repeat when a lattice is "
                        "found, else synthesis; or force repeat / synthesize / flatten; off copies the pixels")
    q.add_argument("--tile-size", type=int, default=256, help="side of a synthesized tile in px (default 256)")
    q.add_argument("--seed", type=int, default=0, help="random seed for synthesis")
    q.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .. import io
    from ..outputs import Outputs
    from ..swatches import prepare

    outs = Outputs({"photo": args.photo})  # checked before any work; written all-or-nothing (garmentstyle/outputs.py)
    out_path = outs.file("--out", args.out, suffixes=(".png",))
    report_path = outs.file("--report", args.report, suffixes=(".json",)) if args.report else None
    outs.check()
    p = prepare(args.photo, args.mode, tile_size=args.tile_size, seed=args.seed, name=str(args.photo))
    with outs.writing() as tx:
        io.save_image(p.tile, tx.path(out_path))
        if report_path is not None:
            data = {"photo": str(args.photo), "tile": str(args.out), **p.report.to_dict(),
                    "outline_px": p.outline()}
            io.atomic_write_bytes(tx.path(report_path), json.dumps(data, indent=2).encode())
    r = p.report
    print(f"{args.photo}: {r.summary()} ({r.method}; {r.seconds:.2f} s)")
    for note in r.notes:
        print(f"  note: {note}", file=sys.stderr)
    print(f"wrote {args.out}" + (f" and {args.report}" if args.report else ""))
    return 0

"""``garmentstyle colourway``: recolour a swatch (a print or a fabric photo) to a palette, the swatch alone.

``garmentstyle colourway SWATCH --palette "#1b2a49/#e4c59e/#ffffff" --out OUT.png`` finds the swatch's k dominant
colours (k = the palette's length) and maps them, largest first, to the palette's colours; it prints what it found,
what each became and the ΔE2000 reached. ``--palette NAME --palette-file palettes.json`` takes a named palette;
``--find K`` only lists the K dominant colours (to write a palette for them). The same recolouring runs inside a
render with ``--region MASK=SWATCH@colourway=#1b2a49/#e4c59e/#ffffff`` (see :mod:`garmentstyle.colourway`).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import InputError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "colourway", help="recolour a swatch to a palette (its k dominant colours → the palette's k colours)",
        description="Recolour a print or fabric to a palette, keeping its texture and shading. The swatch's k "
                    "dominant colours (CIELAB k-means, k = the palette's length, largest coverage first) become the "
                    "palette's colours in order.",
        epilog='Example: garmentstyle colourway samples/swatches/gingham.png --palette "#1b2a49/#e4c59e/#ffffff" '
               "--out gingham_navy.png",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("swatch", type=Path, help="the swatch image")
    p.add_argument("--palette", help="colours largest-first: '#1b2a49/#e4c59e/#ffffff', 'lab(30 5 -20)/…', or a "
                                     "palette name from --palette-file")
    p.add_argument("--palette-file", type=Path, help="JSON file of named palettes {\"name\": [\"#rrggbb\", …]} "
                                                     "(default: $GARMENTSTYLE_PALETTES)")
    p.add_argument("--find", type=int, metavar="K", help="only list the K dominant colours (no --out needed)")
    p.add_argument("--out", "-o", type=Path, help="recoloured swatch (PNG)")
    p.add_argument("--report", type=Path, help="write found colours, targets and ΔE2000 as JSON")
    p.set_defaults(func=run)


def _print_found(found) -> None:
    for i, c in enumerate(found.colours):
        L, a, b = c.lab
        print(f"  {i + 1}. {c.hex}  lab({L:.1f} {a:.1f} {b:.1f})  {c.coverage:6.1%}")
    for note in found.notes:
        print(f"  note: {note}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from .. import colourway, io
    from ..outputs import Outputs

    if args.find is not None:
        found = colourway.find_colours(args.swatch, args.find)
        print(f"{args.swatch}: {args.find} dominant colours (largest first)")
        _print_found(found)
        return 0
    if not args.palette:
        raise InputError("give --palette '#rrggbb/#rrggbb/…' (or a palette name with --palette-file), or --find K")
    if args.out is None:
        raise InputError("give --out OUT.png for the recoloured swatch")
    outs = Outputs({"swatch": args.swatch, "palette file": args.palette_file})
    out_path = outs.file("--out", args.out, suffixes=(".png",))
    report_path = outs.file("--report", args.report, suffixes=(".json",)) if args.report else None
    outs.check()
    palette = colourway.parse_palette(args.palette, palette_file=args.palette_file)  # errors before any work
    res = colourway.recolour(args.swatch, palette)
    with outs.writing() as tx:
        io.save_image(res.image, tx.path(out_path))
        if report_path is not None:
            io.atomic_write_bytes(tx.path(report_path), json.dumps(res.to_dict(), indent=2).encode())
    print(f"wrote {out_path} ({res.image.shape[-1]}×{res.image.shape[-2]})")
    for i, (f, t, d) in enumerate(zip(res.found.colours, res.targets, res.delta_e)):
        print(f"  {i + 1}. {f.hex} ({f.coverage:5.1%}) → {t.spec}  ΔE2000 {d:.2f}")
    for note in res.notes:
        print(f"  note: {note}", file=sys.stderr)
    return 0

"""``garmentstyle segment SKETCH --out-dir DIR``: find the garment and its parts, write the masks.

A thin shell over :func:`garmentstyle.segment.segment`; prints which method ran, the confidence, the notes and the
regions with their areas. STROKES.png: green (#00ff00) = positive, red (#ff0000) = negative, anything else ignored.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..segment.types import LAYOUTS, METHODS, SAM_MODELS, SegmentOptions

_D = SegmentOptions()


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "segment",
        help="find the garment and its part regions in a sketch; write masks",
        description="Find the garment (and its parts, split by seam lines) in a sketch and write garment.png, "
        "one PNG per part, labels.png / labels_raw.png and regions.json into --out-dir. Without --strokes the "
        "garment is picked automatically. STROKES.png: paint positive strokes in green (#00ff00), negative ones in "
        "red (#ff0000) on a copy of the sketch (same size); every other colour is ignored.",
    )
    p.add_argument("sketch", metavar="SKETCH", type=Path, help="the sketch (PNG/JPEG…; dark lines on light paper)")
    p.add_argument("--out-dir", "-o", type=Path, required=True, help="folder for the masks (created if missing)")
    p.add_argument(
        "--auto",
        action="store_true",
        help="pick the garment automatically (the default without --strokes); with --strokes: start from the auto "
        "garment and let the strokes add / remove regions",
    )
    p.add_argument("--strokes", type=Path, default=None, help="STROKES.png: green = select, red = remove")
    p.add_argument("--method", choices=METHODS, default="auto", help="auto: SAM if its checkpoint is present, else "
                   "classical (default: %(default)s)")
    p.add_argument("--gap", type=int, default=_D.gap, metavar="PX",
                   help="close gaps in the outlines up to PX pixels (default: automatic)")
    p.add_argument("--soft-edge", type=float, default=_D.soft_edge, metavar="PX",
                   help="feather the mask edges over PX pixels (default: %(default)s, hard 0/255 masks)")
    p.add_argument("--layout", choices=LAYOUTS, default=_D.layout,
                   help="flat: a garment drawn alone; figure: a croquis wearing it (default: %(default)s, detect)")
    p.add_argument("--sam-model", choices=SAM_MODELS, default=_D.sam_model, help="SAM checkpoint (default: %(default)s)")
    p.add_argument("--no-fill-holes", action="store_true", help="keep holes inside the garment")
    p.add_argument("--smooth", type=int, default=_D.smooth, metavar="PX",
                   help="smooth jagged edges, radius in px (0: off; default: %(default)s)")
    p.add_argument("--max-parts", type=int, default=_D.max_parts, help="at most this many parts (default: %(default)s)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..io import read_rgb
    from ..outputs import Outputs
    from ..segment import load_strokes, segment

    outs = Outputs({"sketch": args.sketch, "strokes": args.strokes})  # checked before any work (issue 12)
    out_dir = outs.directory("--out-dir", args.out_dir)
    outs.check()
    options = SegmentOptions(
        gap=args.gap,
        layout=args.layout,
        soft_edge=float(args.soft_edge),
        sam_model=args.sam_model,
        fill_holes=not args.no_fill_holes,
        smooth=args.smooth,
        max_parts=args.max_parts,
        add_to_auto=bool(args.auto and args.strokes is not None),
    )
    sketch = read_rgb(args.sketch)
    strokes = load_strokes(args.strokes, size=sketch.shape[:2]) if args.strokes is not None else None
    seg = segment(sketch, method=args.method, strokes=strokes, options=options)
    stale = _earlier_files(out_dir)
    with outs.writing() as tx:  # all or nothing: a failed save leaves no half set of masks
        data = seg.save(tx.folder(out_dir))
        tx.remove(out_dir, stale)  # an earlier run's part masks that this run does not write
    h, w = seg.size
    total = h * w
    out = sys.stdout
    print(f"method: {seg.method}  layout: {seg.layout}  gap: {seg.gap} px  confidence: {seg.confidence:.2f}", file=out)
    g = data["garment"]
    print(f"garment: {g['area']} px ({g['area'] / total:.1%} of {w}×{h})  -> {args.out_dir / 'garment.png'}", file=out)
    for r in seg.regions:
        x0, y0, x1, y1 = r.box
        print(
            f"  {r.name}: {r.area:>8} px ({r.area / max(g['area'], 1):5.1%} of the garment)  box ({x0}, {y0}, {x1}, "
            f"{y1})  score {r.score:.2f}",
            file=out,
        )
    for note in seg.notes:
        print(f"note: {note}", file=out)
    print(f"wrote {len(seg.regions) + 4} files to {args.out_dir}", file=out)
    return 0


def _earlier_files(out_dir: Path) -> list[str]:
    """The files an earlier ``segment`` run wrote into ``out_dir``, read from its ``regions.json`` (only those:
    other files in the folder are the user's). Unreadable or foreign JSON: none."""
    import json

    try:
        data = json.loads((out_dir / "regions.json").read_text())
    except (OSError, ValueError):
        return []
    if not isinstance(data, dict):
        return []
    names = []
    for r in data.get("regions", []) if isinstance(data.get("regions"), list) else []:
        if isinstance(r, dict) and isinstance(r.get("file"), str):
            names.append(r["file"])
    return sorted({n for n in names if n and Path(n).name == n and n.endswith(".png")})

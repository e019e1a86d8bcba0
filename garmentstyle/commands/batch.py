"""``garmentstyle batch``: render a catalogue batch into PNGs, a report and a PDF line sheet.

``garmentstyle batch BATCH.json --out-dir DIR [--workers N] [--ray local|HOST:PORT] [--sheet sheet.pdf]`` — see
:mod:`garmentstyle.batch.spec` for the batch file. Bad input (a wrong field, a duplicate output name, a cross product
over ``--max-items``, an unreachable Ray address) is one line and exit code 2 before any work; a failing item is
reported and the others go on (exit code 1 if any failed); re-running skips complete outputs; Ctrl-C writes the
report and exits 130.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import InputError


def register(subparsers: argparse._SubParsersAction) -> None:
    from ..batch.spec import DEFAULT_MAX_ITEMS

    p = subparsers.add_parser(
        "batch", help="render a batch of recipes (or sketches × fabrics × colourways) into PNGs + report + sheet",
        description="Render every item of a batch file: a JSON list (or JSON lines) of recipes each with an \"out\" "
                    "name, or an object with sketches × fabrics × colourways. Paths are relative to the batch "
                    "file's folder. Items whose output is already complete are skipped (resume).",
        epilog="Example: garmentstyle batch collection/batch.json --out-dir renders --workers 2 --sheet sheet.pdf",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("batch", type=Path, help="the batch JSON / JSON-lines file")
    p.add_argument("--out-dir", type=Path, required=True, help="folder for the PNGs and batch_report.json")
    p.add_argument("--workers", type=int, default=1, help="worker processes (or Ray tasks at once) (default: 1)")
    p.add_argument("--threads", type=int, default=0,
                   help="torch threads per worker (default 0: the cores divided among the workers); optimised "
                        "renders are bit-identical between runs only with the same value")
    p.add_argument("--ray", metavar="ADDRESS", help="run items as Ray tasks: 'local' starts a local Ray instance, "
                                                     "HOST:PORT or ray://HOST:10001 joins a cluster (pip install "
                                                     "'garmentstyle[ray]')")
    p.add_argument("--device", help="override every item's device (cpu, cuda, auto); on a GPU cluster use auto")
    p.add_argument("--sheet", type=Path, help="also write a PDF line sheet of the renders")
    p.add_argument("--max-items", type=int, default=None,
                   help=f"allow a batch of up to this many items (default limit {DEFAULT_MAX_ITEMS})")
    p.add_argument("--allow-outside-paths", action="store_true",
                   help="let items use files outside the batch file's folder")
    p.add_argument("--verbose", "-v", action="store_true", help="a line per item")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _line(ev) -> str:
    r = ev.result
    what = f"[{ev.settled}/{ev.total}] {r.status:<8} {r.out}"
    if r.status == "done":
        return f"{what}  {r.seconds:.1f} s, {r.encoder}, {r.worker}"
    if r.status == "failed":
        return f"{what}  {r.error}"
    return what


def run(args: argparse.Namespace) -> int:
    from ..batch import RunSettings, load_batch, run_batch, write_sheet
    from ..batch.spec import DEFAULT_MAX_ITEMS
    from ..outputs import Outputs

    if args.max_items is not None and args.max_items < 1:
        raise InputError(f"--max-items must be ≥ 1; got {args.max_items}")
    if args.device is not None:
        from ..options import RenderOptions

        RenderOptions(device=args.device)  # the same check as every render's: one line now, not N failures later
    outs = Outputs({"batch": args.batch})
    outs.directory("--out-dir", args.out_dir)
    sheet = outs.file("--sheet", args.sheet, suffixes=(".pdf",)) if args.sheet else None
    outs.check()
    settings = RunSettings(workers=args.workers, threads=args.threads, ray=args.ray, device=args.device)
    if args.ray is not None:
        from ..batch.ray_backend import preflight

        preflight(args.ray)
    plan = load_batch(args.batch, max_items=args.max_items or DEFAULT_MAX_ITEMS,
                      allow_outside_paths=args.allow_outside_paths)
    backend = f"Ray ({args.ray})" if args.ray else "local"
    print(f"batch: {len(plan.items)} items ({plan.kind}); {backend}, {settings.workers} worker(s) × "
          f"{settings.resolved_threads()} thread(s)", file=sys.stderr)
    bar = None
    if not args.quiet:
        from tqdm import tqdm

        bar = tqdm(total=len(plan.items), unit="render", file=sys.stderr, dynamic_ncols=True)

    def on_event(ev) -> None:
        if bar is not None:
            bar.update(1)
            bar.set_postfix_str(ev.result.out[-40:], refresh=False)
        if args.verbose:
            (bar.write if bar is not None else lambda s: print(s, file=sys.stderr))(_line(ev))

    try:
        report = run_batch(plan, args.out_dir, settings, on_event=on_event)
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
        print(f"garmentstyle: interrupted; report written to {args.out_dir / 'batch_report.json'} — run the same "
              "command again to finish", file=sys.stderr)
        return 130
    finally:
        if bar is not None:
            bar.close()
    counts = report.count()
    if sheet is not None:
        write_sheet(sheet, plan.items, report.items, args.out_dir, title=f"{plan.source.stem} — line sheet")
    print(f"done: {counts['done']} rendered, {counts['skipped']} already complete, {counts['failed']} failed "
          f"({report.seconds:.1f} s); report {args.out_dir / 'batch_report.json'}"
          + (f"; sheet {sheet}" if sheet else ""))
    for r in report.items:
        if r.status == "failed" and not args.verbose:
            print(f"  failed: {r.out}: {r.error}", file=sys.stderr)
    return 1 if counts["failed"] else 0

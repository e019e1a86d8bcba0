"""``garmentstyle render``: render fabric swatches into a sketch's regions.

Flags are generated from :class:`~garmentstyle.options.RenderOptions` (help, choices and bounds from its metadata).
Regions: ``--region MASK=SWATCH[@key=value,...]`` (keys: name, scale, repeat, rotation, weight), repeatable; or
``--auto`` to find the garment first (``--swatch`` for the whole garment, or ``--region PART=SWATCH`` naming a
part found by the segmenter); or ``--recipe recipe.json`` from an export.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields
from pathlib import Path

from ..errors import InputError, OptionsError
from ..options import RenderOptions, Spec, specs


def _option_help(spec: Spec | None, default: object) -> str:
    """Help text from the option's metadata (:mod:`garmentstyle.options`): what it does, its bounds, its default."""
    if spec is None:
        return f"(default: {default})"
    bounds = "" if spec.kind in (bool, str) or spec.choices else f"; {spec.bounds_text()}"
    return f"{spec.help} (default: {default}{bounds})".replace("%", "%%")


def _flag(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(text)


_REGION_KEYS = {"name": str, "scale": float, "repeat": float, "rotation": float, "weight": float, "tileable": _flag}


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "render", help="render fabric swatches into the regions of a sketch",
        description="Render each swatch into its region of the sketch (spatially guided Gram-matrix transfer).",
        epilog="Example: garmentstyle render samples/sketches/dress.png "
               "--region samples/masks/dress__bodice.png=samples/swatches/tartan.png@scale=1.5 "
               "--region samples/masks/dress__skirt.png=samples/swatches/floral.png --out dress.png",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("sketch", nargs="?", help="the garment sketch (PNG, JPEG, WebP, TIFF…)")
    p.add_argument("--region", action="append", default=[], metavar="MASK=SWATCH[@k=v,…]",
                   help="a region mask and its swatch; options after @: name, scale (swatch px per sketch px), "
                        "repeat (px on the sketch per repeat), rotation (degrees), weight, tileable=1 (blend the "
                        "edges of a swatch photo that does not repeat). Repeatable.")
    p.add_argument("--auto", action="store_true", help="find the garment automatically (see `garmentstyle segment`)")
    p.add_argument("--swatch", help="with --auto: the swatch for the whole garment")
    p.add_argument("--recipe", type=Path, help="render a recipe.json exported by the UI or a --bundle (validated "
                   "before anything runs; its files must lie in the recipe's folder)")
    p.add_argument("--allow-outside-paths", action="store_true",
                   help="let --recipe use files outside its folder (absolute or ../ paths); only for recipes you trust")
    p.add_argument("--scale", type=float, default=1.0, help="default pattern scale for every region")
    p.add_argument("--rotation", type=float, default=0.0, help="default rotation for every region")
    p.add_argument("--out", "-o", type=Path, required=True, help="output PNG (checked before any work; never an input)")
    p.add_argument("--transparent", action="store_true", help="transparent background outside the garment")
    p.add_argument("--report", type=Path, help="write a JSON report (encoder, device, sizes, losses, seconds)")
    p.add_argument("--bundle", type=Path, help="also write a layered ZIP (layers, masks, recipe.json)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    g = p.add_argument_group("render options")
    for name, default, spec in specs(RenderOptions):
        flag = "--" + name.replace("_", "-")
        kind = spec.kind if spec is not None else type(default)
        if kind is bool:
            g.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction, default=None,
                           help=_option_help(spec, default))
        else:
            g.add_argument(flag, dest=name, type=kind, default=None, choices=(spec.choices or None) if spec else None,
                           help=_option_help(spec, default))
    p.set_defaults(func=run)


def _parse_region(text: str, default_scale: float, default_rotation: float):
    from ..api import Region

    if "=" not in text:
        raise InputError(f"--region {text!r}: expected MASK=SWATCH (e.g. masks/skirt.png=swatches/denim.png)")
    mask, rest = text.split("=", 1)
    swatch, _, opts = rest.partition("@")
    kw: dict = {"scale": default_scale, "rotation": default_rotation}
    for item in filter(None, opts.split(",")):
        key, sep, value = item.partition("=")
        if not sep or key not in _REGION_KEYS:
            raise InputError(f"--region {text!r}: unknown option {item!r}; use {', '.join(_REGION_KEYS)}")
        try:
            kw["style_weight" if key == "weight" else key] = _REGION_KEYS[key](value)
        except ValueError:
            kind = "1 or 0" if key == "tileable" else "a number"
            raise InputError(f"--region {text!r}: {key} must be {kind}, got {value!r}") from None
    if not mask or not swatch:
        raise InputError(f"--region {text!r}: expected MASK=SWATCH")
    return mask, Region(mask=mask, swatch=swatch, name=kw.pop("name", "") or Path(mask).stem.split("__")[-1], **kw)


def _options(args: argparse.Namespace, base: RenderOptions) -> RenderOptions:
    data = base.to_dict()
    for f in fields(RenderOptions):
        v = getattr(args, f.name, None)
        if v is not None:
            data[f.name] = v
    return RenderOptions.from_dict(data)


def _auto_regions(args: argparse.Namespace, specs: list[str]):
    from ..api import Region
    from .. import segment as seg_mod

    seg = seg_mod.segment(args.sketch)
    print(f"segmenter: {seg.method} (confidence {seg.confidence:.2f})", file=sys.stderr)
    for note in seg.notes:
        print(f"  note: {note}", file=sys.stderr)
    regions = []
    if args.swatch:
        regions.append(Region(mask=seg.garment, swatch=args.swatch, name="garment", scale=args.scale,
                              rotation=args.rotation))
    by_name = {r.name: r for r in seg.regions}
    for text in specs:
        mask, region = _parse_region(text, args.scale, args.rotation)
        if mask not in by_name:
            raise InputError(f"--region {text!r}: with --auto, name a part found by the segmenter: "
                             f"{', '.join(by_name) or '(none found)'}")
        regions.append(Region(mask=by_name[mask].mask, swatch=region.swatch, name=mask, scale=region.scale,
                              repeat=region.repeat, rotation=region.rotation, style_weight=region.style_weight,
                              tileable=region.tileable))
    if not regions:
        raise InputError("--auto needs --swatch FABRIC (whole garment) or --region PART=FABRIC")
    return regions, seg.method


def run(args: argparse.Namespace) -> int:
    from ..api import render
    from .. import encoders, export
    from ..outputs import Outputs

    # Every output path is checked before any work (a render must never fail at the end on a bad path, nor
    # overwrite one of its inputs); see garmentstyle/outputs.py.
    outs = Outputs({"sketch": args.sketch, "recipe": args.recipe, "swatch": args.swatch})
    out_path = outs.file("--out", args.out, suffixes=(".png",))
    report_path = outs.file("--report", args.report, suffixes=(".json",)) if args.report else None
    bundle_path = outs.file("--bundle", args.bundle, suffixes=(".zip",)) if args.bundle else None
    outs.check()
    segmenter = None
    if args.recipe:
        sketch, regions, base = export.load_recipe(args.recipe, allow_outside_paths=args.allow_outside_paths)
        if args.sketch:
            sketch = args.sketch
        options = _options(args, base)
    else:
        if not args.sketch:
            raise InputError("no sketch given: garmentstyle render SKETCH --region MASK=SWATCH --out OUT.png")
        sketch, options = args.sketch, _options(args, RenderOptions())
        if args.auto:
            regions, segmenter = _auto_regions(args, args.region)
        else:
            if not args.region:
                raise InputError("no regions: add --region MASK=SWATCH (repeatable), or --auto --swatch FABRIC")
            regions = [_parse_region(t, args.scale, args.rotation)[1] for t in args.region]
    outs.add_inputs({"sketch": sketch, "mask": [r.mask for r in regions], "swatch": [r.swatch for r in regions]})
    outs.check()
    enc_name = encoders.resolve_name(options.encoder)
    if enc_name == "texture" and options.encoder == "auto":
        print("encoder: texture (offline fallback: VGG19 weights not found; get them with "
              "`garmentstyle weights download vgg19`)", file=sys.stderr)
    else:
        print(f"encoder: {enc_name}", file=sys.stderr)

    bar = None
    if not args.quiet:
        from tqdm import tqdm

        bar = tqdm(total=100, file=sys.stderr, unit="%", bar_format="{l_bar}{bar}| {n:.0f}% [{elapsed}<{remaining}]",
                   dynamic_ncols=True)

    def on_progress(p) -> None:  # p: transfer.Progress
        if bar is None:
            return
        bar.n = round(100 * p.fraction)
        loss = p.losses.get("total")
        where = p.stage if p.stage in ("prepare", "finish") else f"{p.stage} {p.level + 1}/{p.levels}"
        bar.set_description(where + (f" loss {loss:.3g}" if loss is not None else ""))
        bar.refresh()

    try:
        result = render(sketch, regions, options, on_progress=on_progress)
    finally:
        if bar is not None:
            bar.close()
    if segmenter:
        result.report["segmenter"] = segmenter
    rep = result.report
    from ..io import atomic_write_bytes

    with outs.writing() as tx:  # all or nothing: no file appears unless every file could be written
        result.save(tx.path(out_path), transparent=args.transparent)
        if report_path is not None:
            atomic_write_bytes(tx.path(report_path), json.dumps(rep, indent=2, default=str).encode())
        if bundle_path is not None:
            export.bundle(result, regions, tx.path(bundle_path))
    print(f"wrote {args.out} ({rep['output_size'][0]}×{rep['output_size'][1]}, encoder {rep['encoder']}"
          f"{' pretrained' if rep['encoder_pretrained'] else ' offline'}, {rep['iterations']} iterations, "
          f"{rep['seconds']:.1f} s)")
    for note in rep["notes"]:
        print(f"  note: {note}", file=sys.stderr)
    for extra in (args.report, args.bundle):
        if extra:
            print(f"wrote {extra}")
    return 0

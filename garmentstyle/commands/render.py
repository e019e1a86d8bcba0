"""``garmentstyle render``: render fabric swatches into a sketch's regions.

Flags are generated from :class:`~garmentstyle.options.RenderOptions` (help, choices and bounds from its metadata).
Regions: ``--region MASK=SWATCH[@key=value,...]`` (keys: name, scale, repeat, rotation, weight), repeatable; or
``--auto`` to find the garment first (``--swatch`` for the whole garment, or ``--region PART=SWATCH`` naming a
part found by the segmenter); or ``--recipe recipe.json`` from an export.
"""
from __future__ import annotations

import argparse
import dataclasses
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
                        "repeat (px on the sketch per repeat), rotation (degrees), weight, prepare=auto|off|repeat|"
                        "synthesize|flatten (swatch preparation; auto: a seamless swatch is left as it is, a photo is "
                        "made a seamless repeat), swatch_cm / repeat_cm (true size of the swatch file / one repeat; "
                        "needs --sketch-cm or --sketch-dpi), tileable=1 (alias of prepare=auto). Repeatable. A file name holding = @ or , "
                        "goes in quotes inside the argument (--region \"'run=1/m.png'='tartan@2x.png'@scale=2\") or "
                        "takes a backslash before the character (tartan\\@2x.png); or use --mask/--swatch.")
    p.add_argument("--mask", action=_PairAction, metavar="MASK",
                   help="a region mask; the next --swatch is its fabric (for scripts: no quoting). Repeatable.")
    p.add_argument("--swatch", action=_PairAction, metavar="SWATCH",
                   help="after --mask: that region's fabric; with --auto and no --mask: the whole garment's")
    p.add_argument("--with", dest="with_", action=_PairAction, metavar="K=V[,…]",
                   help="after --mask/--swatch: that region's options, as after @ in --region (name=…,scale=…)")
    p.add_argument("--auto", action="store_true", help="find the garment automatically (see `garmentstyle segment`)")
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
    p.add_argument("--print-cm", type=float, default=None, metavar="CM",
                   help="print size instead of --size: the output is CM wide at --print-dpi (the longest side follows "
                        "the sketch's proportions)")
    p.add_argument("--print-dpi", type=float, default=300.0, metavar="DPI",
                   help="resolution of --print-cm (default: 300)")
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


#: Characters a backslash escapes in --region (elsewhere a backslash is kept: Windows paths).
_ESCAPABLE = "=@,\\\"'"


def _unquoted(text: str, flag: str) -> list[tuple[str, bool]]:
    """``text`` as (character, literal) pairs: characters inside '…' or "…", or after a backslash, are literal
    (never separators). Raises InputError on an unclosed quote."""
    out: list[tuple[str, bool]] = []
    quote, i = None, 0
    while i < len(text):
        c = text[i]
        if quote:
            if c == quote:
                quote = None
            else:
                out.append((c, True))
        elif c in "\"'":
            quote = c
        elif c == "\\" and i + 1 < len(text) and text[i + 1] in _ESCAPABLE:
            out.append((text[i + 1], True))
            i += 1
        else:
            out.append((c, False))
        i += 1
    if quote:
        raise InputError(f"{flag} {text!r}: unclosed {quote} quote")
    return out


def _split(chars: list[tuple[str, bool]], sep: str, maxsplit: int = -1) -> list[list[tuple[str, bool]]]:
    parts: list[list[tuple[str, bool]]] = [[]]
    for c, literal in chars:
        if c == sep and not literal and (maxsplit < 0 or len(parts) <= maxsplit):
            parts.append([])
        else:
            parts[-1].append((c, literal))
    return parts


def _text(chars: list[tuple[str, bool]]) -> str:
    return "".join(c for c, _ in chars)


def _region_value(key: str, value: str):
    """Parse one @key=value: the converters in _REGION_KEYS, else by the type in Region's field metadata."""
    if key in _REGION_KEYS:
        return _REGION_KEYS[key](value)
    from ..api import Region
    from ..options import spec_of

    spec = spec_of(Region, key)
    kind = spec.kind if spec is not None else str
    return _flag(value) if kind is bool else kind(value)


def _region_keys() -> list[str]:
    from dataclasses import fields as dc_fields

    from ..api import Region

    extra = [f.name for f in dc_fields(Region) if f.name not in ("mask", "swatch", "style_weight") and
             f.name not in _REGION_KEYS]
    return [*_REGION_KEYS, *extra]


def _region_options(text: str, opts: list[tuple[str, bool]], flag: str) -> dict:
    keys = _region_keys()
    kw: dict = {}
    for item in _split(opts, ","):
        if not item:
            continue
        parts = _split(item, "=", 1)
        key = _text(parts[0]).strip()
        if len(parts) != 2 or key not in keys:
            hint = (" (is @ part of a file name? quote it: 'tartan@2x.png', or tartan\\@2x.png)"
                    if flag == "--region" else "")
            raise InputError(f"{flag} {text!r}: unknown option {_text(item)!r}; use {', '.join(keys)}{hint}")
        value = _text(parts[1])
        try:
            kw["style_weight" if key == "weight" else key] = _region_value(key, value)
        except ValueError:
            kind = "1 or 0" if key == "tileable" else "a number"
            raise InputError(f"{flag} {text!r}: {key} must be {kind}, got {value!r}") from None
    return kw


def _make_region(mask, swatch, kw: dict, flag: str, text: str):
    from ..api import Region

    name = kw.pop("name", "") or Path(str(mask)).stem.split("__")[-1]
    try:
        return Region(mask=mask, swatch=swatch, name=name, **kw)
    except InputError as exc:
        raise type(exc)(f"{flag} {text!r}: {exc}") from None


def _parse_region(text: str, default_scale: float, default_rotation: float):
    """``MASK=SWATCH[@key=value,…]`` → (mask text, Region). The first unquoted ``=`` ends the mask and the first
    unquoted ``@`` after it ends the swatch; quote a name holding ``=``, ``@`` or ``,`` ('run=1/m.png') or escape
    the character with a backslash (tartan\\@2x.png)."""
    chars = _unquoted(text, "--region")
    parts = _split(chars, "=", 1)
    if len(parts) != 2:
        raise InputError(f"--region {text!r}: expected MASK=SWATCH (e.g. masks/skirt.png=swatches/denim.png)")
    rest = _split(parts[1], "@", 1)
    mask, swatch = _text(parts[0]), _text(rest[0])
    if not mask or not swatch:
        raise InputError(f"--region {text!r}: expected MASK=SWATCH")
    kw: dict = {"scale": default_scale, "rotation": default_rotation}
    kw.update(_region_options(text, rest[1] if len(rest) == 2 else [], "--region"))
    return mask, _make_region(mask, swatch, kw, "--region", text)


def _check_region_files(text: str, region) -> None:
    """Before any work: a --region's files exist; when they don't and the text holds more = or @, say how to quote."""
    for what in ("mask", "swatch"):
        path = getattr(region, what)
        try:
            missing = not Path(path).exists()
        except OSError:
            continue  # a name too long etc.: io's reader gives the message
        if missing:
            hint = ""
            if text.count("=") > 1 or text.count("@") > 1:
                hint = (" (a file name holding = or @? quote it: --region \"'run=1/mask.png'='tartan@2x.png'\", or "
                        "escape the character: run\\=1/mask.png, or use --mask FILE --swatch FILE)")
            raise InputError(f"--region {text!r}: the {what} {str(path)!r}: no such file{hint}")


class _PairAction(argparse.Action):
    """``--mask M --swatch S [--with k=v,…]``, repeatable: each --mask opens a region, the next --swatch and --with
    complete it (no quoting needed: for scripts). A --swatch before any --mask is the --auto whole-garment swatch."""

    def __call__(self, parser, namespace, values, option_string=None):
        pairs = getattr(namespace, "pairs", None)
        if pairs is None:
            pairs = []
            setattr(namespace, "pairs", pairs)
        if self.dest == "mask":
            pairs.append({"mask": values})
        elif self.dest == "swatch":
            if pairs and "mask" in pairs[-1] and "swatch" not in pairs[-1]:
                pairs[-1]["swatch"] = values
            else:
                pairs.append({"swatch": values})
        else:  # --with
            if not pairs or "mask" not in pairs[-1] or "with" in pairs[-1]:
                parser.error(f"{option_string} {values}: give it after the --mask/--swatch it belongs to")
            pairs[-1]["with"] = values


def _pair_regions(pairs: list[dict], default_scale: float, default_rotation: float):
    regions = []
    for p in pairs:
        if "mask" not in p:
            continue
        text = f"--mask {p['mask']} --swatch {p.get('swatch', '?')}"
        if "swatch" not in p:
            raise InputError(f"--mask {p['mask']}: give its fabric with --swatch FILE right after it")
        kw: dict = {"scale": default_scale, "rotation": default_rotation}
        if "with" in p:
            kw.update(_region_options(p["with"], _unquoted(p["with"], "--with"), "--with"))
        regions.append((text, _make_region(p["mask"], p["swatch"], kw, "--mask", p["mask"])))
    return regions


def _options(args: argparse.Namespace, base: RenderOptions) -> RenderOptions:
    data = base.to_dict()
    for f in fields(RenderOptions):
        v = getattr(args, f.name, None)
        if v is not None:
            data[f.name] = v
    return RenderOptions.from_dict(data)


def _print_size(args: argparse.Namespace, sketch, options: RenderOptions) -> RenderOptions:
    """``--print-cm`` at ``--print-dpi`` as the output's longest side in px (the sketch's proportions), checked
    against the same bounds as ``--size``. Without it, the options as they are (``size`` 0: the sketch's size)."""
    import math

    cm, dpi = args.print_cm, args.print_dpi
    if cm is None:
        return options
    if getattr(args, "size", None) is not None:
        raise InputError("give either --size (px) or --print-cm (cm at --print-dpi), not both")
    for flag, v, lo, hi in (("--print-cm", cm, 0.5, 1000.0), ("--print-dpi", dpi, 36.0, 2400.0)):
        if not math.isfinite(v) or not lo <= v <= hi:
            raise InputError(f"{flag} must be {lo:g}…{hi:g}; got {v:g}")
    from ..io import open_pil

    w, h = open_pil(sketch).size
    longest = round(cm / 2.54 * dpi * max(w, h) / w)
    try:
        return dataclasses.replace(options, size=max(32, longest))
    except OptionsError:
        raise InputError(f"--print-cm {cm:g} at {dpi:g} dpi is {longest} px on the longest side, above the limit; "
                         "choose a smaller print or a lower --print-dpi") from None


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
        regions.append(dataclasses.replace(region, mask=by_name[mask].mask, name=mask))  # every other field kept
    if not regions:
        raise InputError("--auto needs --swatch FABRIC (whole garment) or --region PART=FABRIC")
    return regions, seg.method


def run(args: argparse.Namespace) -> int:
    from ..api import render
    from .. import encoders, export
    from ..outputs import Outputs

    pairs = getattr(args, "pairs", None) or []  # --mask/--swatch/--with, in order
    garment = [p["swatch"] for p in pairs if "mask" not in p]
    if len(garment) > 1 or (garment and not args.auto):
        raise InputError("--swatch belongs after its --mask (--mask M --swatch S), or once with --auto for the "
                         "whole garment")
    args.swatch = garment[0] if garment else None
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
            parsed = [(t, _parse_region(t, args.scale, args.rotation)[1]) for t in args.region]
            parsed += _pair_regions(pairs, args.scale, args.rotation)
            if not parsed:
                raise InputError("no regions: add --region MASK=SWATCH or --mask MASK --swatch SWATCH (repeatable), "
                                 "or --auto --swatch FABRIC")
            for text, region in parsed:
                _check_region_files(text, region)
            regions = [r for _, r in parsed]
    outs.add_inputs({"sketch": sketch, "mask": [r.mask for r in regions], "swatch": [r.swatch for r in regions]})
    outs.check()
    options = _print_size(args, sketch, options)
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
        result.report = dataclasses.replace(result.report, segmenter=segmenter)
    rep = result.report
    from ..io import atomic_write_bytes

    with outs.writing() as tx:  # all or nothing: no file appears unless every file could be written
        result.save(tx.path(out_path), transparent=args.transparent)
        if report_path is not None:
            atomic_write_bytes(tx.path(report_path), json.dumps(rep.to_json(), indent=2, default=str).encode())
        if bundle_path is not None:
            export.bundle(result, regions, tx.path(bundle_path))
    print(f"wrote {args.out} ({rep.output_size[0]}×{rep.output_size[1]}, encoder {rep.encoder}"
          f"{' pretrained' if rep.encoder_pretrained else ' offline'}, {rep.iterations} iterations, "
          f"{rep.seconds:.1f} s)")
    for r in rep.regions:  # one line per prepared swatch (issue 7)
        if r.prepare is not None and r.prepare.action not in ("unchanged", "as given"):
            print(f"  swatch {r.name}: {r.prepare.summary()}", file=sys.stderr)
    for note in rep.notes:
        print(f"  note: {note}", file=sys.stderr)
    for extra in (args.report, args.bundle):
        if extra:
            print(f"wrote {extra}")
    return 0

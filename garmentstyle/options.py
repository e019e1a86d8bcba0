"""Render options and the one place every option's type and bounds are checked (no torch: ``--help`` stays fast).

Each field of :class:`RenderOptions` is declared with :func:`opt`, which records its help text, type and bounds in
the field's metadata (a :class:`Spec`). The CLI (``garmentstyle render``), the web UI and recipes read help, choices
and bounds from there, and :func:`validate_fields` checks every value in ``__post_init__``, so the CLI, the API,
recipes and the UI refuse exactly the same things with the same message. :class:`garmentstyle.api.Region` uses the
same helpers for its numeric fields.

Adding an option is one line::

    keep_paper: bool = opt(False, "keep the scanned paper's texture under the fabric")
    sketch_cm: float = opt(0.0, "the sketch's width in cm (0 = unknown)", lo=0, hi=1000)

Types are strict: ``bool`` is not an ``int``, the string ``"2"`` is not a number, NaN and ±inf are refused, an
``int`` is accepted where a ``float`` is expected (and stored as ``float``).
"""
from __future__ import annotations

import math
import numbers
import re
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any, Iterator, Optional

from .errors import OptionsError

#: Feature extractors (``garmentstyle.encoders`` re-exports this).
ENCODERS: tuple[str, ...] = ("auto", "vgg19", "texture")
#: Colour modes (``garmentstyle.colour`` re-exports this).
COLOUR_MODES: tuple[str, ...] = ("swatch", "luminance", "histogram")
INITS: tuple[str, ...] = ("tiled", "content", "style", "noise")
OPTIMIZERS: tuple[str, ...] = ("lbfgs", "adam")
POOLINGS: tuple[str, ...] = ("avg", "max")
#: Encoder arithmetic (``garmentstyle.precision``).
PRECISIONS: tuple[str, ...] = ("auto", "fp32", "bf16")
#: Largest output side in pixels.
MAX_SIZE = 4096
#: Largest seed (fits every RNG torch and numpy offer).
MAX_SEED = 2**32 - 1
#: Longest text accepted in a string option (a name, a layer list, a device).
MAX_TEXT = 200

_LAYER = re.compile(r"[A-Za-z][A-Za-z0-9_.]*")
_DEVICE = re.compile(r"auto|cpu|mps|cuda(:\d{1,2})?")


@dataclass(frozen=True)
class Spec:
    """What a field accepts. ``kind`` is ``int``, ``float``, ``bool`` or ``str``; ``lo``/``hi`` are inclusive
    bounds (``lo_open``/``hi_open`` make them exclusive); ``also`` lists values allowed outside the bounds (``0`` =
    automatic); ``choices`` restricts a string; ``optional`` allows None; ``max_len`` caps a string's length; ``check`` is an
    extra ``check(value) -> problem text or None``."""

    help: str
    kind: type
    lo: Optional[float] = None
    hi: Optional[float] = None
    lo_open: bool = False
    hi_open: bool = False
    also: tuple = ()
    also_help: str = ""
    choices: tuple[str, ...] = ()
    optional: bool = False
    max_len: int = MAX_TEXT
    check: Any = None

    def bounds_text(self) -> str:
        """``"32…4096 (or 0: the sketch's size)"`` — for help texts and messages."""
        if self.choices:
            return "one of " + ", ".join(self.choices)
        parts = []
        if self.lo is not None and self.hi is not None:
            left = "(" if self.lo_open else ""
            right = ")" if self.hi_open else ""
            parts.append(f"{left}{_num(self.lo)}…{_num(self.hi)}{right}" if (left or right)
                         else f"{_num(self.lo)}…{_num(self.hi)}")
        elif self.lo is not None:
            parts.append(f"{'>' if self.lo_open else '≥'} {_num(self.lo)}")
        elif self.hi is not None:
            parts.append(f"{'<' if self.hi_open else '≤'} {_num(self.hi)}")
        if self.also:
            parts.append(f"or {', '.join(map(_num, self.also))}" + (f" ({self.also_help})" if self.also_help else ""))
        return " ".join(parts)


def _num(x: float) -> str:
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return f"{x:g}" if isinstance(x, float) else str(x)


def opt(default: Any, help: str, *, kind: type | None = None, **spec: Any) -> Any:
    """A dataclass field with its :class:`Spec` in ``metadata["spec"]``; ``kind`` defaults to ``type(default)``."""
    if kind is None:
        if default is None:
            raise TypeError("opt(None, …) needs kind=")
        kind = type(default)
    if default is None:
        spec.setdefault("optional", True)
    return field(default=default, metadata={"spec": Spec(help=help, kind=kind, **spec)})


def spec_of(cls_or_obj: Any, name: str) -> Optional[Spec]:
    """The :class:`Spec` of field ``name`` (None for a field declared without :func:`opt`)."""
    for f in fields(cls_or_obj):
        if f.name == name:
            return f.metadata.get("spec")
    raise KeyError(name)


def specs(cls_or_obj: Any) -> Iterator[tuple[str, Any, Optional[Spec]]]:
    """``(name, default, spec)`` for every field of a dataclass, in order (for the CLI and UI)."""
    for f in fields(cls_or_obj):
        default = f.default if f.default is not MISSING else None
        yield f.name, default, f.metadata.get("spec")


def _type_name(kind: type) -> str:
    return {int: "a whole number", float: "a number", bool: "true or false", str: "text"}.get(kind, kind.__name__)


def check_value(value: Any, spec: Spec, *, label: str) -> Any:
    """``value`` converted to ``spec.kind`` (int → float, numpy scalars → Python) if it satisfies ``spec``.

    Raises:
        OptionsError: wrong type, non-finite, out of bounds, not a choice; the message names ``label``, the bounds
            and what came.
    """
    if value is None:
        if spec.optional:
            return None
        raise OptionsError(f"{label} must be {_type_name(spec.kind)}; got None")
    kind = spec.kind
    is_bool = isinstance(value, bool) or type(value).__name__ == "bool_"
    if kind is bool:
        if not is_bool:
            raise OptionsError(f"{label} must be true or false; got {value!r}")
        return bool(value)
    if kind is str:
        if not isinstance(value, str):
            raise OptionsError(f"{label} must be text; got {type(value).__name__} {_short(value)}")
        if len(value) > spec.max_len:
            raise OptionsError(f"{label} must be at most {spec.max_len} characters; got {len(value)}")
        if spec.choices and value not in spec.choices:
            raise OptionsError(f"{label} must be one of {', '.join(spec.choices)}; got {value!r}")
    elif kind in (int, float):
        ok = isinstance(value, numbers.Integral) if kind is int else isinstance(value, numbers.Real)
        if is_bool or not ok:
            raise OptionsError(f"{label} must be {_type_name(kind)}; got {type(value).__name__} {_short(value)}")
        value = int(value) if kind is int else float(value)
        if not math.isfinite(value):
            raise OptionsError(f"{label} must be a finite number; got {value}")
        if value not in spec.also and not _in_bounds(value, spec):
            raise OptionsError(f"{label} must be {spec.bounds_text()}; got {_short(value)}")
    if spec.check is not None:
        problem = spec.check(value)
        if problem:
            raise OptionsError(f"{label}: {problem}")
    return value


def _in_bounds(value: float, spec: Spec) -> bool:
    if spec.lo is not None and (value <= spec.lo if spec.lo_open else value < spec.lo):
        return False
    if spec.hi is not None and (value >= spec.hi if spec.hi_open else value > spec.hi):
        return False
    return True


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "…"


def validate_fields(obj: Any, *, label: str = "") -> None:
    """Check (and normalise in place, frozen or not) every field of dataclass ``obj`` declared with :func:`opt`.
    ``label`` prefixes messages (``"region skirt: "``); call it first thing in ``__post_init__``."""
    for f in fields(obj):
        spec = f.metadata.get("spec")
        if spec is None:
            continue
        value = check_value(getattr(obj, f.name), spec, label=f"{label}{f.name}")
        object.__setattr__(obj, f.name, value)


def check_output_side(native_hw: tuple[int, int], size: int) -> None:
    """Bounded work: ``size=0`` means "the sketch's own size", which must obey the same :data:`MAX_SIZE` bound as
    every explicit size (a 50 MP scan would otherwise render at 8000 px). Raises :class:`OptionsError` with the fix."""
    h, w = native_hw
    if size == 0 and max(h, w) > MAX_SIZE:
        raise OptionsError(
            f"size 0 renders at the sketch's own size, {w}×{h} px here, above the {MAX_SIZE} px limit for an output "
            f"(longest side); give a size up to {MAX_SIZE} (--size {MAX_SIZE}) or scale the sketch down first"
        )


def _check_layers(text: str) -> Optional[str]:
    if not text:
        return None
    names = [n.strip() for n in text.split(",")]
    if any(not n for n in names):
        return f"expected comma-separated layer names like relu1_1,relu2_1 (no empty names); got {text!r}"
    bad = [n for n in names if not _LAYER.fullmatch(n)]
    if bad:
        return f"{bad[0]!r} is not a layer name (letters, digits, _ and .; e.g. relu2_1)"
    if len(set(names)) != len(names):
        return f"a layer is listed twice in {text!r}"
    return None


def _check_device(text: str) -> Optional[str]:
    return None if _DEVICE.fullmatch(text) else f"{text!r} is not a device; use cpu, cuda, cuda:N, mps or auto"


@dataclass(frozen=True)
class RenderOptions:
    """Everything that controls a render. Defaults are the fast, good settings measured in bench/RESULTS.md.

    Every field's help text, type and bounds are in its metadata (:func:`opt`); see ``garmentstyle render --help``.
    Notes beyond the help: ``content_weight`` is 0 by default because the sketch is kept by the finishing step
    instead (finish.py); ``levels=0`` is one level for a tiled start or the texture encoder, else enough levels to
    start near 192 px; the texture encoder's filters are fixed (``seed`` drives the noise init and Adam).
    """

    size: int = opt(0, "longest side of the output in px; by default the sketch's own size (print size: a 300 dpi "
                    "scan comes out at 300 dpi)", lo=32, hi=MAX_SIZE, also=(0,), also_help="the sketch's size")
    iterations: int = opt(30, "optimiser iterations per pyramid level", lo=0, hi=5000)
    encoder: str = opt("auto", "feature extractor: auto = vgg19 if its weights are present, else the offline "
                       "texture encoder", choices=ENCODERS)
    pooling: str = opt("avg", "VGG19 pooling", choices=POOLINGS)
    init: str = opt("tiled", "start image: tiled swatch (fastest good), the sketch, the stretched swatch, or noise",
                    choices=INITS)
    optimizer: str = opt("lbfgs", "L-BFGS (default) or Adam with iterate averaging", choices=OPTIMIZERS)
    colour: str = opt("swatch", "keep the swatch's colours, or the sketch's (luminance-only transfer / histogram "
                      "matching)", choices=COLOUR_MODES)
    keep_sketch: bool = opt(True, "multiply the sketch's line art and shading over the fabric")
    shading_strength: float = opt(1.0, "0 = flat fabric … 1 = full shading", lo=0, hi=1)
    content_weight: float = opt(0.0, "content/style weight ratio (content = the sketch at the content layer)",
                                lo=0, hi=1e6)
    tv_weight: float = opt(0.0, "total-variation smoothing weight", lo=0, hi=1e6)
    style_layers: str = opt("", "comma-separated style layers, e.g. relu1_1,relu2_1 (default: the encoder's)",
                            check=_check_layers)
    guide_erosion: int = opt(0, "extra erosion (>0) / dilation (<0) of the guides, in cells", lo=-8, hi=8)
    levels: int = opt(0, "coarse-to-fine levels in steps of √2", lo=1, hi=8, also=(0,), also_help="automatic")
    soft_edge: float = opt(1.5, "opacity ramp inside the mask edge, px", lo=0, hi=64)
    lr: float = opt(0.02, "Adam learning rate", lo=0, hi=1, lo_open=True, hi_open=True)
    seed: int = opt(0, "random seed (noise start, Adam)", lo=0, hi=MAX_SEED)
    device: str = opt("cpu", "cpu, cuda, cuda:N, mps or auto (the GPU when there is one)", check=_check_device)
    preview_every: int = opt(5, "iterations between progress updates (0 = never send a preview)", lo=0, hi=5000)
    sketch_cm: float = opt(0.0, "the sketch's height in cm (0 = unknown); with a region's swatch_cm / repeat_cm "
                           "the pattern gets its true size", lo=0, hi=10000)
    sketch_dpi: float = opt(0.0, "the sketch's resolution in dots per inch (0 = unknown), instead of --sketch-cm",
                            lo=0, hi=100000)
    keep_paper: bool = opt(False, "keep a scan's / photo's own paper (grey, cream, shadows) instead of finishing on "
                           "the cleaned sketch (paper flattened to white; see garmentstyle.sketchprep)")
    precision: str = opt("auto", "encoder arithmetic: auto = bf16 for VGG19 on a bf16 CUDA GPU, else fp32 (on "
                         "CPUs bf16 was not within 5 percent of fp32: see garmentstyle.precision), with the style "
                         "targets measured in bf16 wherever it is native; bf16 = wherever it is native "
                         "(AVX-512-BF16/AMX CPUs too); fp32 forces full precision everywhere (Grams and losses are "
                         "always fp32)", choices=PRECISIONS)

    def __post_init__(self) -> None:
        validate_fields(self)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> "RenderOptions":
        """Options from a mapping (a recipe's ``options``); unknown keys and non-mappings are refused by name."""
        if not isinstance(data, dict):
            raise OptionsError(f"render options must be a mapping of option → value; got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(str(k) for k in set(data) - known)
        if unknown:
            raise OptionsError(f"unknown render option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**data)

"""Every value the browser (or an API client) sends, checked in one place: type, finite, bounds, in the designer's
words. The bounds come from the library's field metadata (:func:`garmentstyle.options.opt` specs of
:class:`~garmentstyle.options.RenderOptions` and :class:`garmentstyle.api.Region`), narrowed where a control shows
less (a UI slider's range), so the UI refuses exactly what the CLI, the API and recipes refuse, and more only where
it says so.

Gradio range-checks a Slider / Number and checks a Radio / Dropdown's choices itself, *before* the handler runs, and
logs a traceback for each refusal (its own ``gr.Error`` has ``print_exception=True``); a NaN or a huge number even
crashes its rounding. :func:`checked_by_handlers` turns that pre-validation off for the app's input components, so
every value reaches the handler, which checks it here and raises an :class:`~garmentstyle.errors.InputError` (shown
as a message, never logged as a crash: see :func:`ui.app._guard`). The browser's widgets keep their ranges.
"""
from __future__ import annotations

import math
import numbers
import re
from abc import ABCMeta
from functools import lru_cache
from typing import Any, Iterable, Optional, Sequence

from garmentstyle.errors import InputError
from garmentstyle.options import RenderOptions, Spec, spec_of

#: Longest text echoed back in a message (an API client may send anything).
ECHO = 40
_HEX = re.compile(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})")


def _echo(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**15:
        return f"a {len(str(abs(value)))}-digit number"
    text = repr(value)
    return text if len(text) <= ECHO else text[: ECHO - 1] + "…"


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


def number(value: Any, what: str, lo: Optional[float] = None, hi: Optional[float] = None, *,
           integer: bool = False, also: Sequence[float] = (), also_help: str = "") -> float | int:
    """A value from the browser as a finite number in [lo, hi] (or one of ``also``), an ``int`` if ``integer``.

    Accepts ints, floats, numpy scalars and numeric text (an API client may send "2"); refuses bools, None, NaN,
    ±inf, integers too large for a float, and fractions where a whole number is asked for, with a message that
    names ``what`` and the range."""
    if isinstance(value, bool) or value is None or type(value).__name__ == "bool_":
        raise InputError(f"{what} must be a number; got {_echo(value)}")
    if isinstance(value, str):
        text = value.strip()
        try:
            value = int(text) if re.fullmatch(r"[-+]?\d{1,30}", text) else float(text)
        except ValueError:
            raise InputError(f"{what} must be a number; got {_echo(value)}") from None
    if not isinstance(value, numbers.Real):
        raise InputError(f"{what} must be a number; got {type(value).__name__}")
    rng = _range_text(lo, hi, also, also_help)
    if isinstance(value, numbers.Integral):
        v: float | int = int(value)
        try:
            float(v)
        except OverflowError:
            raise InputError(f"{what} must be {rng}; got {_echo(v)}") from None
    else:
        v = float(value)
        if not math.isfinite(v):
            raise InputError(f"{what} must be a finite number; got {v}")
    if v not in also and ((lo is not None and v < lo) or (hi is not None and v > hi)):
        raise InputError(f"{what} must be {rng}; got {_echo(v) if isinstance(v, int) else _num(v)}")
    if integer:
        if float(v) != math.floor(float(v)):
            raise InputError(f"{what} must be a whole number; got {_num(float(v))}")
        return int(v)
    return float(v)


def _range_text(lo: Optional[float], hi: Optional[float], also: Sequence[float], also_help: str) -> str:
    if lo is not None and hi is not None:
        text = f"between {_num(lo)} and {_num(hi)}"
    elif lo is not None:
        text = f"at least {_num(lo)}"
    elif hi is not None:
        text = f"at most {_num(hi)}"
    else:
        text = "a number"
    if also:
        text += " (or " + ", ".join(_num(a) for a in also) + (f": {also_help}" if also_help else "") + ")"
    return text


def _narrow(spec: Spec, lo: Optional[float], hi: Optional[float]) -> tuple[Optional[float], Optional[float]]:
    """The spec's bounds, narrowed to the control's ``lo``/``hi`` where given (never widened)."""
    a, b = spec.lo, spec.hi
    if lo is not None:
        a = lo if a is None else max(a, lo)
    if hi is not None:
        b = hi if b is None else min(b, hi)
    return a, b


def from_spec(spec: Spec, value: Any, what: str, *, lo: Optional[float] = None, hi: Optional[float] = None,
              also: Optional[Sequence[float]] = None) -> Any:
    """``value`` checked against a field's :class:`~garmentstyle.options.Spec` (narrowed to the control's range),
    converted to the field's kind."""
    if spec.kind is bool:
        return flag(value, what)
    if spec.kind is str:
        if spec.choices:
            return choice(value, what, spec.choices)
        return text(value, what, max_len=spec.max_len)
    a, b = _narrow(spec, lo, hi)
    keep = tuple(spec.also if also is None else also)
    return number(value, what, a, b, integer=spec.kind is int, also=keep, also_help=spec.also_help if keep else "")


def option(name: str, value: Any, what: str, *, lo: Optional[float] = None, hi: Optional[float] = None,
           also: Optional[Sequence[float]] = None) -> Any:
    """A :class:`RenderOptions` field's value from a control labelled ``what``."""
    spec = spec_of(RenderOptions, name)
    assert spec is not None, name
    return from_spec(spec, value, what, lo=lo, hi=hi, also=also)


@lru_cache(maxsize=None)
def _region_spec(name: str) -> Spec:
    from garmentstyle.api import Region

    spec = spec_of(Region, name)
    assert spec is not None, name
    return spec


def region(name: str, value: Any, what: str, *, lo: Optional[float] = None, hi: Optional[float] = None) -> Any:
    """A :class:`garmentstyle.api.Region` field's value from a control labelled ``what``."""
    return from_spec(_region_spec(name), value, what, lo=lo, hi=hi)


def region_bounds(name: str) -> tuple[float, float]:
    """(lo, hi) of a numeric Region field (for the sliders)."""
    s = _region_spec(name)
    return float(s.lo), float(s.hi)  # type: ignore[arg-type]


def flag(value: Any, what: str) -> bool:
    """A checkbox: True or False only (an API client's ``"no"`` is not silently True)."""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return bool(value)
    if value is None:
        return False
    raise InputError(f"{what} must be on or off (true or false); got {_echo(value)}")


def choice(value: Any, what: str, allowed: Iterable[str], labels: Optional[dict] = None) -> str:
    """One of ``allowed`` (a radio or a dropdown); the message lists them (by their labels when given)."""
    allowed = tuple(allowed)
    if not isinstance(value, str) or value not in allowed:
        names = ", ".join(f"“{labels.get(a, a)}”" if labels else a for a in allowed)
        raise InputError(f"{what} must be one of {names}; got {_echo(value)}")
    return value


def text(value: Any, what: str, *, max_len: int = 200) -> str:
    if not isinstance(value, str):
        raise InputError(f"{what} must be text; got {type(value).__name__}")
    if len(value) > max_len:
        raise InputError(f"{what} must be at most {max_len} characters; got {len(value)}")
    return value


def hex_colour(value: Any, what: str) -> str:
    """A colour as ``#rrggbb`` (``#rgb`` and a missing ``#`` accepted; Gradio's colour picker may send
    ``rgba(r, g, b, a)``, accepted too)."""
    if isinstance(value, str):
        v = value.strip()
        m = _HEX.fullmatch(v)
        if m:
            h = m.group(1).lower()
            return "#" + (h if len(h) == 6 else "".join(c * 2 for c in h))
        m = re.fullmatch(r"rgba?\(\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)\s*(?:,\s*[\d.]+\s*)?\)", v)
        if m and all(float(c) <= 255 for c in m.groups()):
            return "#" + "".join(f"{round(float(c)):02x}" for c in m.groups())
    raise InputError(f"{what} must be a colour like #1b2a49; got {_echo(value)}")


# ------------------------------------------------------------------------------------------- Gradio's own checks
#: The components whose ``preprocess`` only range- or choice-checks (the value itself passes through unchanged once
#: valid), so turning it off loses nothing but the traceback.
_PRECHECKED = ("Slider", "Number", "Radio", "Dropdown", "Checkbox")
#: Upload components: a valid upload is preprocessed as before (a file path); anything else an API client sends
#: (a number, a made-up string) reaches the handler as sent, which says that no file arrived.
_UPLOADS = ("File", "UploadButton", "ImageEditor")
_LENIENT: dict = {}


class _Raw:
    """A value an upload component received that is not a file (kept for the handler to refuse: it is not a str
    or a Path, so :func:`ui.handlers.validate_upload` says no file arrived)."""

    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value


class _FileOrRaw:
    """Stands in for a component's ``data_model`` (Gradio validates an upload's payload against it before
    ``preprocess``, and logs a traceback when that fails): valid payloads validate as before, others become
    :class:`_Raw`. Everything else (the API schema) is the model's own."""

    def __init__(self, model: Any):
        self.model = model

    def model_validate(self, obj: Any, **kwargs: Any) -> Any:
        try:
            return self.model.model_validate(obj, **kwargs)
        except Exception:  # pydantic's ValidationError (and whatever a garbled payload raises)
            return _Raw(obj)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)


def _upload_attrs(base: type) -> dict:
    def preprocess(self, payload: Any) -> Any:
        """A file upload as before (a path Gradio checked is in its upload folder); a payload that is not one stays
        a :class:`_Raw` — never a path, so a string an API client sends can never name a server file to read —
        and its handler refuses it."""
        if isinstance(payload, _Raw):
            return payload
        return base.preprocess(self, payload)

    def get_model(self) -> Any:
        m = self.__dict__.get("_gs_data_model", self.__dict__.get("data_model", base.__dict__.get("data_model")))
        return _FileOrRaw(m) if m is not None and not isinstance(m, _FileOrRaw) else m

    def set_model(self, value: Any) -> None:
        self.__dict__["_gs_data_model"] = value

    return {"preprocess": preprocess, "data_model": property(get_model, set_model)}


def _lenient(base: type) -> type:
    """A subclass of Gradio component ``base`` that passes the value through as sent (the handler checks it). It is
    a Gradio *template* (``is_template``), so the browser draws it as ``base``; being a class (not a patched
    instance) it survives Gradio re-creating a session's copy of the component (``block.__class__(**kwargs)``)."""
    if base not in _LENIENT:
        def preprocess(self, payload: Any) -> Any:
            """The value as sent: the event's handler checks it with :mod:`ui.validate`."""
            return payload

        attrs = {"is_template": True, "preprocess": preprocess, "__module__": __name__, "__doc__": base.__doc__,
                 "__qualname__": base.__name__}
        if base.__name__ in _UPLOADS:
            attrs.update(_upload_attrs(base))
        # Gradio's ComponentMeta.__new__ only wraps a new __init__ / EVENTS (neither here) and writes a .pyi stub
        # next to the defining module's source; ABCMeta's __new__ makes the same class without that stub.
        _LENIENT[base] = ABCMeta.__new__(type(base), base.__name__, (base,), attrs)
    return _LENIENT[base]


def checked_by_handlers(components: Iterable[Any]) -> list:
    """Let ``components``' values reach their handlers unchecked by Gradio (which would log a traceback for every
    out-of-range or unknown value before the handler could say what is wrong). Only Slider, Number, Radio,
    Dropdown (``type="value"``), Checkbox and single-file File / UploadButton are touched (their class becomes a
    lenient subclass; a valid upload is still a file path); returns those changed. Every handler that reads them
    validates with this module (uploads: :func:`ui.handlers.validate_upload`)."""
    done = []
    for c in components:
        base = type(c)
        if base in _LENIENT.values():
            done.append(c)
            continue
        if base.__module__.split(".")[0] != "gradio":
            continue
        upload = base.__name__ in _UPLOADS and getattr(c, "file_count", "single") == "single" \
            and (base.__name__ != "ImageEditor" or "data_model" in base.__dict__)
        if not upload and (base.__name__ not in _PRECHECKED or getattr(c, "type", "value") != "value"):
            continue
        c.__class__ = _lenient(base)
        done.append(c)
    return done


def is_checked_by_handlers(component: Any) -> bool:
    return type(component) in _LENIENT.values()


__all__ = ["number", "option", "region", "region_bounds", "from_spec", "flag", "choice", "text", "hex_colour",
           "checked_by_handlers", "is_checked_by_handlers"]

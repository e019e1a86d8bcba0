"""Where the bundled sample sketches, region masks and fabric swatches live.

The samples sit in the repository's ``samples/`` folder (drawn by ``samples/make_samples.py``)::

    samples/sketches/<name>.png              a garment flat, e.g. "dress"
    samples/masks/<name>__<part>.png         8-bit masks (255 = inside), one per part, plus "garment" (the whole)
    samples/swatches/<name>.png              a seamlessly tileable fabric, e.g. "tartan"

Only paths are returned; nothing is read or cached, and importing this module touches no file.
"""
from __future__ import annotations

from pathlib import Path

from .errors import GarmentStyleError, InputError

__all__ = [
    "SamplesNotFoundError",
    "samples_dir",
    "list_sketches",
    "sketch_path",
    "mask_paths",
    "list_swatches",
    "swatch_path",
]

#: Separates the sketch name from the part name in a mask's file name.
MASK_SEP = "__"


class SamplesNotFoundError(GarmentStyleError, FileNotFoundError):
    """The bundled ``samples/`` folder is not where it should be (e.g. a wheel install without the repository)."""


def samples_dir() -> Path:
    """The repository's ``samples/`` folder, found relative to this file."""
    path = Path(__file__).resolve().parent.parent / "samples"
    if not (path / "sketches").is_dir() or not (path / "swatches").is_dir():
        raise SamplesNotFoundError(
            f"the bundled samples were expected in {path} (with sketches/ and swatches/ inside) but are not there; "
            "they ship with the source repository, not with the installed package: run from a clone of the "
            "repository, or regenerate them with `python samples/make_samples.py`"
        )
    return path


def _names(folder: str) -> list[str]:
    return sorted(p.stem for p in (samples_dir() / folder).glob("*.png"))


def _check(name: str, known: list[str], kind: str) -> str:
    if not isinstance(name, str) or name not in known:
        raise InputError(f"unknown sample {kind} {name!r}; expected one of: {', '.join(known) or '(none)'}")
    return name


def list_sketches() -> list[str]:
    """Names of the bundled sketches, sorted (e.g. ``["dress", "jacket", "trousers", "tshirt"]``)."""
    return _names("sketches")


def sketch_path(name: str) -> Path:
    """The PNG of the bundled sketch ``name``; :class:`InputError` if there is no such sketch."""
    _check(name, list_sketches(), "sketch")
    return samples_dir() / "sketches" / f"{name}.png"


def mask_paths(name: str) -> dict[str, Path]:
    """Part name -> mask PNG for sketch ``name``, sorted by part, including ``"garment"`` (the whole garment)."""
    _check(name, list_sketches(), "sketch")
    prefix = f"{name}{MASK_SEP}"
    found = sorted((samples_dir() / "masks").glob(f"{prefix}*.png"))
    return {p.stem[len(prefix) :]: p for p in found}


def list_swatches() -> list[str]:
    """Names of the bundled fabric swatches, sorted (e.g. ``["denim", "floral", ...]``)."""
    return _names("swatches")


def swatch_path(name: str) -> Path:
    """The PNG of the bundled swatch ``name``; :class:`InputError` if there is no such swatch."""
    _check(name, list_swatches(), "swatch")
    return samples_dir() / "swatches" / f"{name}.png"

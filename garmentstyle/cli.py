"""The ``garmentstyle`` command: a thin shell over the Python API.

Errors a user can cause (:class:`~garmentstyle.errors.GarmentStyleError`) and every ``OSError`` (permissions, full
disk, names too long: the file system's refusal, not a bug) become one line on stderr and exit code 2; anything else
is a bug and keeps its traceback.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from .errors import Cancelled, GarmentStyleError

#: Sub-command modules under ``garmentstyle.commands``, in the order ``--help`` lists them.
COMMANDS: tuple[str, ...] = ("render", "segment", "weights", "ui", "swatch", "colourway", "batch")


#: One line per command for ``garmentstyle --help``, so listing the commands imports none of them (their modules pull
#: in torch: seconds). A test checks these match each module's own ``help``.
SUMMARIES: dict[str, str] = {
    "render": "render fabric swatches into the regions of a sketch",
    "segment": "find the garment and its part regions in a sketch; write masks",
    "weights": "list, download and verify pretrained checkpoints",
    "ui": "start the web app for designers (open the printed address in a browser)",
    "swatch": "prepare a fabric photo as a seamless, evenly lit tile",
    "colourway": "recolour a swatch to a palette (its k dominant colours → the palette's k colours)",
    "batch": "render a batch of recipes (or sketches × fabrics × colourways) into PNGs + report + sheet",
}


def _command_in(argv: Sequence[str]) -> str | None:
    """The sub-command ``argv`` asks for (the first non-option token), if it is one of :data:`COMMANDS`."""
    for token in argv:
        if not token.startswith("-"):
            return token if token in COMMANDS else None
    return None


def build_parser(only: str | None = None, *, lazy: bool = False) -> argparse.ArgumentParser:
    """The full parser; with ``lazy``, only the command ``only`` is registered in full and the others are listed
    by name and summary (what ``main`` does: ``garmentstyle --help`` then imports no command module)."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="garmentstyle",
        description="Render fabric swatches into the regions of a garment sketch.",
    )
    parser.add_argument("--version", action="version", version=f"garmentstyle {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        if lazy and name != only and name in SUMMARIES:
            sub.add_parser(name, help=SUMMARIES[name])
            continue
        try:
            module = importlib.import_module(f"garmentstyle.commands.{name}")
        except ModuleNotFoundError as exc:  # a command whose module is not written yet
            if exc.name != f"garmentstyle.commands.{name}":
                raise
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_command_in(argv), lazy=True)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except GarmentStyleError as exc:
        print(f"garmentstyle: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the file system refused something (permissions, space, a name too long): not a bug
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        print(f"garmentstyle: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("garmentstyle: interrupted", file=sys.stderr)
        return 130
    except Cancelled as exc:  # not an error: the work was stopped on request (garmentstyle.progress)
        print(f"garmentstyle: {exc}", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""``garmentstyle ui``: start the designer's web app (Gradio) on this machine.

A thin shell over :func:`ui.app.launch`: it parses the address and the preview presets, then serves until Ctrl-C.
The app listens on 127.0.0.1 by default (this machine only); ``--host 0.0.0.0`` opens it to the network and
``--share`` asks Gradio for a temporary public link — both only on purpose.
"""
from __future__ import annotations

import argparse
import signal
import threading

from ..errors import InputError


def register(subparsers: argparse._SubParsersAction) -> None:
    from ..options import INITS, MAX_SIZE

    p = subparsers.add_parser(
        "ui",
        help="start the web app for designers (open the printed address in a browser)",
        description="Start the garmentstyle web app: load a sketch, mark its regions, choose fabrics, render, "
                    "export. Open the printed address in a browser.",
    )
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: 127.0.0.1, this machine only; 0.0.0.0 = every network)")
    p.add_argument("--port", type=int, default=7860, help="port (default: 7860)")
    p.add_argument("--share", action="store_true", default=False,
                   help="also make a temporary public gradio.live link (off by default)")
    p.add_argument("--preview-size", type=int, default=None, metavar="PX",
                   help=f"default preview size, longest side in px (64…{MAX_SIZE}; default 256)")
    p.add_argument("--preview-iterations", type=int, default=None, metavar="N",
                   help="default preview iterations per level (default 10)")
    p.add_argument("--device", default="auto",
                   help="where renders run: auto (the GPU when there is one, else the CPU), cpu, cuda, cuda:N")
    p.add_argument("--init", default="tiled", choices=INITS,
                   help="how every render starts (default: tiled, the fastest good start); noise makes each render "
                        "optimise from scratch: much slower, for comparisons")
    p.add_argument("--quiet", "-q", action="store_true", help="print only the address")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..options import MAX_SIZE

    if not 0 < args.port < 65536:
        raise InputError(f"--port must be 1…65535; got {args.port}")
    if args.preview_size is not None and not 64 <= args.preview_size <= MAX_SIZE:
        raise InputError(f"--preview-size must be 64…{MAX_SIZE} px; got {args.preview_size}")
    if args.preview_iterations is not None and not 1 <= args.preview_iterations <= 5000:
        raise InputError(f"--preview-iterations must be 1…5000; got {args.preview_iterations}")
    from ..api import resolve_device

    resolve_device(args.device)  # an unknown or unavailable device fails here, not at the first render
    from ui.app import launch  # Gradio loads only for this command

    _stop_on_sigterm()
    launch(host=args.host, port=args.port, share=args.share, preview_size=args.preview_size,
           preview_iterations=args.preview_iterations, device=args.device, init=args.init, quiet=args.quiet)
    return 0


def _stop_on_sigterm() -> None:
    """Let SIGTERM (a service manager, a test) stop the server like Ctrl-C does, so the app's temp folder is
    removed on the way out."""
    if threading.current_thread() is not threading.main_thread():
        return

    def stop(signum, frame):  # noqa: ARG001
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)

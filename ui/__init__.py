"""The designer's web app (Gradio): ``garmentstyle ui``.

``ui.handlers`` holds the behaviour as plain, unit-tested functions; ``ui.state`` the per-tab session and the
app-wide context; ``ui.app`` only the Blocks wiring. Importing ``ui`` is cheap: Gradio loads with ``ui.app``.
"""
from __future__ import annotations

__all__ = ["build_app", "launch"]


def __getattr__(name: str):  # PEP 562: Gradio is imported only when the app is built
    if name in __all__:
        from . import app

        return getattr(app, name)
    raise AttributeError(f"module 'ui' has no attribute {name!r}")

"""Imported once by the local backend's forkserver (:data:`garmentstyle.batch.local.PRELOAD`) so every worker starts
with the heavy, lazily imported libraries already loaded: colour-science (~2.5 s to import, used by colourways)."""
from __future__ import annotations

from ..colourway import _colour

_colour()

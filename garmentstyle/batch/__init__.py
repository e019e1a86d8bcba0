"""Catalogue batches: many renders from one batch file, on local processes or a Ray cluster.

- :mod:`.spec` — batch files (recipe lists, JSON lines, sketches × fabrics × colourways), validated up front;
- :mod:`.runner` — resume, dispatch, atomic PNGs, the report, Ctrl-C;
- :mod:`.worker` — one item on one worker (the same code locally and on Ray);
- :mod:`.local` / :mod:`.ray_backend` — the two backends (Ray imported only when asked);
- :mod:`.report` — ``batch_report.json`` dataclasses; :mod:`.sheet` — the PDF line sheet.

Example::

    from garmentstyle.batch import load_batch, run_batch, RunSettings, write_sheet
    plan = load_batch("collection/batch.json")
    report = run_batch(plan, "out/", RunSettings(workers=2))
    write_sheet("out/sheet.pdf", plan.items, report.items, "out/")
"""
from __future__ import annotations

from .report import BatchReport, ItemResult
from .runner import BatchEvent, RunSettings, run_batch
from .sheet import write_sheet
from .spec import DEFAULT_MAX_ITEMS, BatchItem, BatchPlan, Labels, load_batch

__all__ = ["BatchEvent", "BatchItem", "BatchPlan", "BatchReport", "DEFAULT_MAX_ITEMS", "ItemResult", "Labels",
           "RunSettings", "load_batch", "run_batch", "write_sheet"]

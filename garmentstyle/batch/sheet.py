"""The line sheet: a PDF (reportlab) of the batch's renders in a grid, labelled style / fabric / colourway.

A4 landscape, :data:`COLUMNS` × :data:`ROWS` renders a page in batch order; under each render its style (bold), its
fabric, and its colourway with a chip per palette colour. A failed item keeps its cell with the error, so a gap on
the sheet is explained on the sheet. Written atomically and reproducibly (reportlab's ``invariant`` mode: no
timestamps), so the same renders give the same PDF.
"""
from __future__ import annotations

import io as _io
from pathlib import Path
from typing import Sequence

#: Grid per page.
COLUMNS = 4
ROWS = 2
#: Longest side of the embedded render thumbnails, px (≈ 250 dpi at the cell size: print-sharp, a small file).
THUMB_PX = 700


def _thumb(path: Path):
    from PIL import Image

    with Image.open(path) as im:
        im = im.convert("RGB")
        im.thumbnail((THUMB_PX, THUMB_PX), Image.LANCZOS)
        return im.copy()


def _fit(text: str, font: str, size: float, width: float) -> str:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"


def _cell(c, x: float, y: float, w: float, h: float, item, result, out_dir: Path) -> None:
    """Draw one render (or its failure) in the cell whose lower-left corner is (x, y)."""
    from reportlab.lib.colors import HexColor
    from reportlab.lib.utils import ImageReader

    label_h = 40
    img_h = h - label_h - 6
    path = out_dir / item.out
    if result.status in ("done", "skipped") and path.exists():
        im = _thumb(path)
        s = min(w / im.width, img_h / im.height)
        iw, ih = im.width * s, im.height * s
        c.drawImage(ImageReader(im), x + (w - iw) / 2, y + label_h + (img_h - ih) / 2, iw, ih)
    else:
        c.setFillColor(HexColor("#f2f2f2"))
        c.rect(x, y + label_h, w, img_h, stroke=0, fill=1)
        c.setFillColor(HexColor("#a01010"))
        c.setFont("Helvetica-Bold", 8)
        c.drawCentredString(x + w / 2, y + label_h + img_h / 2 + 6, result.status.upper())
        c.setFont("Helvetica", 6.5)
        c.drawCentredString(x + w / 2, y + label_h + img_h / 2 - 6,
                            _fit(result.error or "not rendered", "Helvetica", 6.5, w - 8))
    lab = item.labels
    c.setFillColor(HexColor("#000000"))
    c.setFont("Helvetica-Bold", 9)
    c.drawString(x, y + 28, _fit(lab.style, "Helvetica-Bold", 9, w))
    c.setFont("Helvetica", 8)
    c.drawString(x, y + 16, _fit(lab.fabric, "Helvetica", 8, w))
    chip = 7
    for i, spec in enumerate(lab.colours[:12]):
        c.setFillColor(HexColor(_chip_hex(spec)))
        c.setStrokeColor(HexColor("#808080"))
        c.rect(x + i * (chip + 2), y + 2, chip, chip, stroke=1, fill=1)
    c.setFillColor(HexColor("#000000"))
    off = len(lab.colours[:12]) * (chip + 2) + (3 if lab.colours else 0)
    c.drawString(x + off, y + 3, _fit(lab.colourway, "Helvetica", 8, w - off))


def _chip_hex(spec: str) -> str:
    if spec.startswith("#"):
        return spec
    from ..colourway import resolve_palette

    return resolve_palette([spec])[0].hex


def write_sheet(path: str | Path, items: Sequence, results: Sequence, out_dir: str | Path, *,
                title: str = "") -> Path:
    """Write the line sheet PDF for ``items`` (:class:`~garmentstyle.batch.spec.BatchItem`) and their
    ``results`` (:class:`~garmentstyle.batch.report.ItemResult`, same order); renders are read from ``out_dir``."""
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.pdfgen.canvas import Canvas

    from ..io import atomic_write_bytes

    out_dir = Path(out_dir)
    buf = _io.BytesIO()
    pw, ph = landscape(A4)
    c = Canvas(buf, pagesize=(pw, ph), invariant=1)
    c.setTitle(title or "line sheet")
    c.setCreator("garmentstyle batch")
    margin, header, gap = 28, 26, 14
    cw = (pw - 2 * margin - (COLUMNS - 1) * gap) / COLUMNS
    ch = (ph - 2 * margin - header - (ROWS - 1) * gap) / ROWS
    per_page = COLUMNS * ROWS
    pages = max(1, -(-len(items) // per_page))
    for p in range(pages):
        c.setFont("Helvetica-Bold", 12)
        c.drawString(margin, ph - margin - 12, _fit(title or "Line sheet", "Helvetica-Bold", 12, pw * 0.7))
        c.setFont("Helvetica", 8)
        c.drawRightString(pw - margin, ph - margin - 12, f"page {p + 1} / {pages} · {len(items)} renders")
        for k, (item, res) in enumerate(zip(items[p * per_page:(p + 1) * per_page],
                                            results[p * per_page:(p + 1) * per_page])):
            col, row = k % COLUMNS, k // COLUMNS
            x = margin + col * (cw + gap)
            y = ph - margin - header - (row + 1) * ch - row * gap
            _cell(c, x, y, cw, ch, item, res, out_dir)
        c.showPage()
    c.save()
    return atomic_write_bytes(path, buf.getvalue())

"""Render the engine's summary Document as a PDF a patient can take to their doctor (fpdf2): the blocks, the
figures as pictures, then a page for the doctor. In the bundled DejaVu Sans (every character of English and
Spanish); large print on request (body text 16 pt)."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from bot.pictures import BOLD, REGULAR
from flows.replies import Blocks, Document

if TYPE_CHECKING:
    from fpdf import FPDF

FONT = "DejaVu"
# Emoji and pictographs (in some headings) are not in the font: they are left out of the PDF.
_NOT_IN_FONT = re.compile("[\U0001f000-\U0001faff\u2300-\u23ff\u2600-\u27bf\ufe0f\u200d\u2b00-\u2bff]")
Drawer = Callable[[str, str], bytes]  # (figure id, language) -> PNG


@dataclass(frozen=True)
class Sizes:
    """Type sizes (pt) and line heights (mm) for one print size."""

    title: float
    heading: float
    body: float
    line: float


NORMAL = Sizes(title=16, heading=12, body=11, line=6)
LARGE = Sizes(title=24, heading=19, body=16, line=8.5)


def printable(text: str) -> str:
    """`text` without the characters the font lacks (emoji)."""
    return _NOT_IN_FONT.sub("", text).strip()


def render_pdf(document: Document, today: date, draw: Drawer | None = None) -> bytes:
    """The summary as PDF bytes: a title with the date, each block as a heading and bullet lines, the figures
    (drawn by `draw`), then the doctor's page."""
    from fpdf import FPDF  # a heavy import (fonts), needed only when someone asks for a PDF

    sizes = LARGE if document.large_print else NORMAL
    pdf = FPDF(format="A4")
    pdf.add_font(FONT, "", str(REGULAR))
    pdf.add_font(FONT, "B", str(BOLD))
    pdf.set_margins(18, 18, 18)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_page()
    pdf.set_title(printable(document.title))
    _title(pdf, document.title, sizes)
    pdf.set_font(FONT, size=sizes.body)
    pdf.multi_cell(0, sizes.line, today.isoformat(), new_x="LMARGIN", new_y="NEXT")
    _blocks(pdf, document.blocks, sizes)
    if draw is not None:
        for figure in document.figures:
            _picture(pdf, draw(figure, document.language))
    if document.clinician:  # a page of its own, for the patient's doctor
        pdf.add_page()
        _title(pdf, document.clinician_title, sizes)
        _blocks(pdf, document.clinician, sizes)
    return bytes(pdf.output())


def _title(pdf: FPDF, title: str, sizes: Sizes) -> None:
    pdf.set_font(FONT, style="B", size=sizes.title)
    pdf.multi_cell(0, sizes.line + 2, printable(title), new_x="LMARGIN", new_y="NEXT")


def _blocks(pdf: FPDF, blocks: Blocks, sizes: Sizes) -> None:
    for heading, lines in blocks:
        pdf.ln(3)
        if heading:
            pdf.set_font(FONT, style="B", size=sizes.heading)
            pdf.multi_cell(0, sizes.line + 1, printable(heading), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FONT, size=sizes.body)
        for line in lines:
            prefix = "• " if heading else ""
            pdf.multi_cell(0, sizes.line, prefix + printable(line), new_x="LMARGIN", new_y="NEXT")


def _picture(pdf: FPDF, png: bytes) -> None:
    """A picture as wide as the page, or as tall as a page allows; a new page when it does not fit below."""
    from PIL import Image

    width_px, height_px = Image.open(io.BytesIO(png)).size
    page_width = pdf.w - pdf.l_margin - pdf.r_margin
    page_height = pdf.h - pdf.t_margin - pdf.b_margin
    width = page_width
    height = width * height_px / width_px
    if height > page_height:
        height, width = page_height, page_height * width_px / height_px
    if pdf.get_y() + height > pdf.h - pdf.b_margin:
        pdf.add_page()
    pdf.image(io.BytesIO(png), x=pdf.l_margin + (page_width - width) / 2, w=width, h=height)
    pdf.ln(4)

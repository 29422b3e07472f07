"""Render the engine's summary Document as a PDF a patient can take to their doctor (fpdf2)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from flows.replies import Blocks, Document

if TYPE_CHECKING:
    from fpdf import FPDF

# The PDF core fonts cover Latin-1 (Spanish included); other characters get a close stand-in.
_STAND_INS = str.maketrans(
    {"•": "-", "–": "-", "—": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "…": "...", "≥": ">=", "≤": "<="}
)


def latin1(text: str) -> str:
    """`text` with every character the core fonts lack replaced or dropped (emoji, symbols)."""
    return text.translate(_STAND_INS).encode("latin-1", "ignore").decode("latin-1").strip()


def render_pdf(document: Document, today: date) -> bytes:
    """The summary as PDF bytes: a title with the date, then each block as a heading and bullet lines."""
    from fpdf import FPDF  # a heavy import (fonts), needed only when someone asks for a PDF

    pdf = FPDF(format="A4")
    pdf.set_margins(18, 18, 18)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_page()
    pdf.set_title(latin1(document.title))
    pdf.set_font("Helvetica", style="B", size=16)
    pdf.multi_cell(0, 8, latin1(document.title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    pdf.multi_cell(0, 6, today.isoformat(), new_x="LMARGIN", new_y="NEXT")
    _blocks(pdf, document.blocks)
    if document.clinician:  # a page of its own, for the patient's doctor
        pdf.add_page()
        pdf.set_font("Helvetica", style="B", size=16)
        pdf.multi_cell(0, 8, latin1(document.clinician_title), new_x="LMARGIN", new_y="NEXT")
        _blocks(pdf, document.clinician)
    return bytes(pdf.output())


def _blocks(pdf: FPDF, blocks: Blocks) -> None:
    for heading, lines in blocks:
        pdf.ln(3)
        if heading:
            pdf.set_font("Helvetica", style="B", size=12)
            pdf.multi_cell(0, 7, latin1(heading), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=11)
        for line in lines:
            prefix = "- " if heading else ""
            pdf.multi_cell(0, 6, prefix + latin1(line), new_x="LMARGIN", new_y="NEXT")

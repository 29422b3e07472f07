"""bot/pictures.py: the figures as pictures. Each icon array shows exactly its figure's numbers (counted from
the pixels), in patterns that do not rely on colour, with every label drawn in the bundled font; the options
table has large type and every option; the same picture is drawn once."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from bot.pictures import BOLD, REGULAR, TABLE_TEXT_PX, Cell, Pictures, icon_sequence
from flows.content import Content
from flows.limits import plain_text
from flows.loader import load_content
from flows.model import Figure

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def content() -> Content:
    loaded = load_content(ROOT / "content")
    assert loaded.content is not None
    return loaded.content


@pytest.fixture(scope="module")
def pictures(content: Content) -> Pictures:
    return Pictures(content)


def icon_arrays(content: Content) -> list[Figure]:
    return [f for f in content.figure_by_id.values() if f.kind == "icon_array"]


def ink_share(image: Image.Image, cell: Cell) -> float:
    """The share of dark pixels in the middle of the icon's body (solid: almost all; outlined: none)."""
    x0, y0, x1, y1 = cell.box
    size = x1 - x0
    body = image.crop((x0 + int(size * 0.4), y0 + int(size * 0.62), x1 - int(size * 0.4), y1 - int(size * 0.18)))
    pixels = body.convert("L").tobytes()
    return sum(p < 128 for p in pixels) / len(pixels)


def classify(image: Image.Image, cell: Cell) -> str:
    share = ink_share(image, cell)
    return "solid" if share > 0.85 else "outline" if share < 0.1 else "hatched"


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_icon_array_shows_exactly_its_numbers(content: Content, pictures: Pictures, language: str) -> None:
    for figure in icon_arrays(content):
        drawing = pictures.drawing(figure.id, language)
        image = Image.open(io.BytesIO(drawing.png)).convert("RGB")
        for index, panel in enumerate(figure.panels):
            cells = [c for c in drawing.cells if c.panel == index]
            assert len(cells) == figure.denominator, figure.id
            seen = [classify(image, cell) for cell in cells]
            expected = ["solid", "outline", "hatched"]
            for group_number, group in enumerate(panel.groups):
                drawn_plain = sum(
                    1 for c, s in zip(cells, seen, strict=True) if not c.band and s == expected[group_number]
                )
                assert drawn_plain == group.count, (figure.id, language, group.id, drawn_plain, group.count)
                if group.high is not None and not group.rest:
                    band = [c for c in cells if c.band]
                    assert len(band) == group.high - group.count, (figure.id, group.id)
                    assert all(image.getpixel((c.box[0] + 2, c.box[1] + 2)) != (255, 255, 255) for c in band)


def test_patterns_differ_without_colour(content: Content, pictures: Pictures) -> None:
    figure = content.figure_by_id["natural_history"]  # three groups: better, the same, worse
    drawing = pictures.drawing(figure.id, "en")
    grey = Image.open(io.BytesIO(drawing.png)).convert("L").convert("RGB")  # no colour at all
    shares = {cell.style: ink_share(grey, cell) for cell in drawing.cells}
    assert shares["solid"] > 0.85 and shares["outline"] < 0.1 and 0.2 < shares["hatched"] < 0.8


def test_the_icon_sequence_puts_a_range_between_its_low_and_high_end(content: Content) -> None:
    side_effects = content.figure_by_id["surgery_side_effects"].panels[0].groups
    sequence = icon_sequence(list(side_effects), 100)
    assert sequence[:10] == [(0, False)] * 10
    assert sequence[10:24] == [(1, True)] * 14
    assert sequence[24:] == [(1, False)] * 76


def test_pictures_fit_a_phone_and_telegrams_limits(content: Content, pictures: Pictures) -> None:
    for figure in content.figure_by_id.values():
        for language in content.texts.languages:
            drawing = pictures.drawing(figure.id, language)
            image = Image.open(io.BytesIO(drawing.png))
            assert image.size == (drawing.width, drawing.height)
            assert drawing.width >= 1000
            assert drawing.width + drawing.height <= 10_000 and drawing.height <= 20 * drawing.width
            assert len(drawing.png) < 10 * 2**20


def test_the_same_picture_is_drawn_once(pictures: Pictures) -> None:
    first = pictures.png("natural_history", "es")
    assert pictures.png("natural_history", "es") is first
    assert pictures.png("natural_history", "en") != first


def _glyph(char: str, face: ImageFont.FreeTypeFont) -> bytes:
    image = Image.new("L", (80, 80))
    ImageDraw.Draw(image).text((10, 10), char, font=face, fill=255)
    return image.tobytes()


def _missing_glyphs(text: str, face: ImageFont.FreeTypeFont) -> set[str]:
    """Characters the font draws as its 'missing' box (what it draws for a character no font has)."""
    missing = _glyph("\U0010fffd", face)
    return {char for char in set(text) if not char.isspace() and _glyph(char, face) == missing}


def test_every_label_of_every_picture_is_in_the_bundled_font(content: Content) -> None:
    keys = {"figure.time_label", "figure.in_total", "figure.range", "figure.band_note", "figure.source"}
    keys |= {"table.option", "table.may", "table.risks", "table.time_cost"}
    for figure in icon_arrays(content):
        keys |= {figure.reference or "", figure.time_frame or ""}
        keys |= {panel.label for panel in figure.panels if panel.label} | {
            g.label for p in figure.panels for g in p.groups
        }
    for option in content.options:
        keys |= {option.name, option.may, option.risks, option.time_cost}
    sources = " ".join(s.title for s in content.sources)
    for path in (REGULAR, BOLD):
        face = ImageFont.truetype(str(path), 30)
        for language in content.texts.languages:
            text = " ".join(plain_text(content.texts.get(language, key)) for key in keys if key) + sources
            assert _missing_glyphs(text, face) == set(), (path.name, language)


def test_the_options_table_has_large_type_and_every_option(content: Content, pictures: Pictures) -> None:
    assert TABLE_TEXT_PX >= 28
    face = ImageFont.truetype(str(REGULAR), TABLE_TEXT_PX)
    _left, top, _right, bottom = face.getbbox("Hg")
    assert bottom - top >= 28 * 0.9  # glyphs as tall as the type size says
    table = next(f for f in content.figure_by_id.values() if f.kind == "table")
    for language in content.texts.languages:
        drawing = pictures.drawing(table.id, language)
        rows = len(content.options)
        assert drawing.height > rows * 4 * TABLE_TEXT_PX  # every option has its row of several lines

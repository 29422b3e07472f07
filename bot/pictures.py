"""Figures as pictures, drawn with Pillow: icon arrays ("what happens to 100 people like you") and the options
table. Sized for a phone (1,080 px wide), high contrast, never colour alone: each group has its own pattern
(solid, outlined, hatched) and a legend. The same picture for the same figure and language, drawn once."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

from flows.content import Content
from flows.limits import plain_text
from flows.model import DecisionOption, Figure, Outcome_
from flows.texts import fill

FONTS = Path(__file__).resolve().parent / "fonts"
REGULAR, BOLD = FONTS / "DejaVuSans.ttf", FONTS / "DejaVuSans-Bold.ttf"
WIDTH = 1080
MARGIN = 40
PAPER = (255, 255, 255)
INK = (20, 20, 20)
STYLES = ("solid", "outline", "hatched")  # one per outcome group, in order
STYLE_INK = {"solid": (23, 55, 94), "outline": (40, 40, 40), "hatched": (150, 62, 0)}
BAND = (255, 224, 130)  # behind the icons of a range (e.g. 10 to 24 in 100): from the low to the high end
TABLE_TEXT_PX = 30
Text = Callable[[str], str]


@dataclass(frozen=True)
class Cell:
    """Where one icon is drawn, and how: its group, its pattern, and whether it lies in a range's band."""

    panel: int
    box: tuple[int, int, int, int]
    group: int
    style: str
    band: bool


@dataclass(frozen=True)
class Drawing:
    """A picture as PNG bytes, with the icons it holds (for checking what it shows)."""

    png: bytes
    width: int
    height: int
    cells: tuple[Cell, ...] = ()


def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    """The bundled DejaVu Sans (every character of English and Spanish)."""
    return ImageFont.truetype(str(BOLD if bold else REGULAR), size)


def wrap(text: str, face: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Lines of `text` that fit `width` pixels, broken between words (a word too long for a line is hyphenated)."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in _fitting_pieces(paragraph.split(), face, width):
            candidate = f"{line} {word}".strip()
            if face.getlength(candidate) <= width or not line:
                line = candidate
            else:
                lines.append(line)
                line = word
        lines.append(line)
    return lines


def _fitting_pieces(words: list[str], face: ImageFont.FreeTypeFont, width: int) -> list[str]:
    pieces: list[str] = []
    for word in words:
        while face.getlength(word) > width and len(word) > 4:
            cut = len(word) - 1
            while cut > 2 and face.getlength(word[:cut] + "-") > width:
                cut -= 1
            pieces.append(word[:cut] + "-")
            word = word[cut:]
        pieces.append(word)
    return pieces


def icon_sequence(groups: list[Outcome_], denominator: int) -> list[tuple[int, bool]]:
    """(group, in band) for each icon, in reading order: each group's count, and after a range's low end the
    band up to its high end, drawn like the group that follows it."""
    sequence: list[tuple[int, bool]] = []
    for index, group in enumerate(groups):
        sequence += [(index, False)] * group.count
        if group.high is not None and not group.rest:
            after = min(index + 1, len(groups) - 1)
            sequence += [(after, True)] * (group.high - group.count)
    return sequence[:denominator]


def _person(size: int) -> Image.Image:
    """A person-shaped mask (head and body) filling a square of `size` pixels."""
    mask = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(mask)
    head = size * 0.16
    cx = size / 2
    draw.ellipse((cx - head, size * 0.06, cx + head, size * 0.06 + 2 * head), fill=255)
    draw.rounded_rectangle((cx - size * 0.25, size * 0.42, cx + size * 0.25, size * 0.95), radius=size * 0.12, fill=255)
    return mask


def _icon(style: str, size: int) -> Image.Image:
    """One icon in a group's pattern, on transparent ground: solid, outlined, or outlined and hatched."""
    mask = _person(size)
    color = (*STYLE_INK[style], 255)
    icon = Image.new("RGBA", (size, size), (*PAPER, 0))
    if style == "solid":
        icon.paste(color, (0, 0), mask)
        return icon
    icon.paste((*PAPER, 255), (0, 0), mask)
    if style == "hatched":
        stripes = Image.new("L", (size, size), 0)
        lines = ImageDraw.Draw(stripes)
        step = max(6, size // 6)
        for offset in range(-size, size, step):
            lines.line((offset, size, offset + size, 0), fill=255, width=max(2, size // 14))
        icon.paste(color, (0, 0), ImageChops.multiply(stripes, mask))
    icon.paste(color, (0, 0), _ring(mask, max(2, size // 14)))
    return icon


def _ring(mask: Image.Image, width: int) -> Image.Image:
    """The outline of a mask, `width` pixels thick, inside its edge."""
    solid = mask.point(lambda v: 255 if v > 127 else 0)
    return ImageChops.subtract(solid, solid.filter(ImageFilter.MinFilter(2 * width + 1)))


def draw_icon_array(figure: Figure, text: Text, source: str) -> Drawing:
    """The figure's panels as 10 x 10 icon arrays, with its reference class, time frame, legend and source."""
    panels = len(figure.panels)
    columns = 10
    rows = -(-figure.denominator // columns)
    cell = 48 if panels == 2 else 60
    gap = WIDTH - 2 * MARGIN - panels * columns * cell
    title_font, body_font, small_font = font(34, bold=True), font(30), font(24)
    heading = wrap(text(figure.reference or ""), title_font, WIDTH - 2 * MARGIN)
    time_line = fill(text("figure.time_label"), {"time": text(figure.time_frame or "")})
    y = MARGIN + len(heading) * 44 + 44 + 24
    label_height = 44 if any(p.label for p in figure.panels) else 0
    grid_top = y + label_height
    legend_lines = max(len(p.groups) for p in figure.panels) + 2
    height = grid_top + rows * cell + 30 + legend_lines * 40 + 90 + MARGIN
    image = Image.new("RGB", (WIDTH, height), PAPER)
    draw = ImageDraw.Draw(image)
    for number, line in enumerate(heading):
        draw.text((MARGIN, MARGIN + number * 44), line, font=title_font, fill=INK)
    draw.text((MARGIN, MARGIN + len(heading) * 44), time_line, font=body_font, fill=INK)
    icons = {style: _icon(style, cell - 6) for style in STYLES}
    cells: list[Cell] = []
    first = MARGIN if panels == 2 else (WIDTH - columns * cell) // 2
    for index, panel in enumerate(figure.panels):
        left = first + index * (columns * cell + gap)
        if panel.label is not None:
            draw.text((left, y), text(panel.label), font=font(30, bold=True), fill=INK)
        for position, (member, band) in enumerate(icon_sequence(list(panel.groups), figure.denominator)):
            row, column = divmod(position, columns)
            box = (left + column * cell, grid_top + row * cell, left + (column + 1) * cell, grid_top + (row + 1) * cell)
            style = STYLES[member]
            if band:
                draw.rectangle(box, fill=BAND)
            image.paste(icons[style], (box[0] + 3, box[1] + 3), icons[style])
            cells.append(Cell(index, box, member, style, band))
        legend_y = grid_top + rows * cell + 30
        legend_width = columns * cell - 44
        for group_index, group in enumerate(panel.groups):
            swatch = icons[STYLES[group_index]].resize((34, 34))
            image.paste(swatch, (left, legend_y), swatch)
            count = fill(
                text("figure.range" if group.high is not None else "figure.in_total"),
                {"n": str(group.count), "high": str(group.high), "total": str(figure.denominator)},
            )
            for line in wrap(f"{text(group.label)}: {count}", body_font, legend_width):
                draw.text((left + 44, legend_y), line, font=body_font, fill=INK)
                legend_y += 40
    bottom = height - MARGIN - 90
    if any(g.high is not None for p in figure.panels for g in p.groups):
        draw.rectangle((MARGIN, bottom, MARGIN + 30, bottom + 26), fill=BAND)
        draw.text((MARGIN + 40, bottom - 2), text("figure.band_note"), font=small_font, fill=INK)
    for number, line in enumerate(
        wrap(fill(text("figure.source"), {"source": source}), small_font, WIDTH - 2 * MARGIN)[:2]
    ):
        draw.text((MARGIN, bottom + 32 + number * 30), line, font=small_font, fill=INK)
    return Drawing(_png(image), WIDTH, height, tuple(cells))


def draw_options_table(options: list[DecisionOption], text: Text) -> Drawing:
    """The options in their fixed order as one table: each option a row; what it may do, its risks, time and
    cost as columns. Body text is TABLE_TEXT_PX high."""
    body, bold = font(TABLE_TEXT_PX), font(TABLE_TEXT_PX, bold=True)
    line_height = int(TABLE_TEXT_PX * 1.3)
    widths = (250, 275, 265, 230)
    margin = (WIDTH - sum(widths)) // 2
    headers = [text(key) for key in ("table.option", "table.may", "table.risks", "table.time_cost")]
    rows = [
        [
            text(option.name),
            plain_text(text(option.may)),
            plain_text(text(option.risks)),
            plain_text(text(option.time_cost)),
        ]
        for option in options
    ]
    wrapped = [
        [wrap(cell, bold if column == 0 else body, widths[column] - 20) for column, cell in enumerate(row)]
        for row in rows
    ]
    header_lines = [wrap(h, bold, w - 20) for h, w in zip(headers, widths, strict=True)]
    header_height = max(len(lines) for lines in header_lines) * line_height + 20
    heights = [max(len(lines) for lines in row) * line_height + 24 for row in wrapped]
    height = 2 * margin + header_height + sum(heights)
    image = Image.new("RGB", (WIDTH, height), PAPER)
    draw = ImageDraw.Draw(image)
    y = margin
    draw.rectangle((margin, y, WIDTH - margin, y + header_height), fill=(225, 232, 242))
    x = margin
    for lines, width in zip(header_lines, widths, strict=True):
        for number, line in enumerate(lines):
            draw.text((x + 10, y + 10 + number * line_height), line, font=bold, fill=INK)
        x += width
    y += header_height
    for index, (row, row_height) in enumerate(zip(wrapped, heights, strict=True)):
        if index % 2:
            draw.rectangle((margin, y, WIDTH - margin, y + row_height), fill=(245, 245, 245))
        x = margin
        for column, (lines, width) in enumerate(zip(row, widths, strict=True)):
            for number, line in enumerate(lines):
                draw.text((x + 10, y + 12 + number * line_height), line, font=bold if column == 0 else body, fill=INK)
            x += width
        draw.line((margin, y, WIDTH - margin, y), fill=(150, 150, 150), width=2)
        y += row_height
    draw.rectangle((margin, margin, WIDTH - margin, height - margin), outline=INK, width=2)
    return Drawing(_png(image), WIDTH, height)


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


class Pictures:
    """Draws the content's figures for a language, once each; cheap to ask again."""

    def __init__(self, content: Content) -> None:
        self.content = content
        self._drawn: dict[tuple[str, str], Drawing] = {}

    def drawing(self, figure_id: str, language: str) -> Drawing:
        """The figure drawn in `language` (KeyError for an unknown figure)."""
        key = (figure_id, language)
        if key not in self._drawn:
            self._drawn[key] = self._draw(self.content.figure_by_id[figure_id], language)
        return self._drawn[key]

    def png(self, figure_id: str, language: str) -> bytes:
        """The figure as PNG bytes."""
        return self.drawing(figure_id, language).png

    def _draw(self, figure: Figure, language: str) -> Drawing:
        def text(key: str) -> str:
            return plain_text(self.content.texts.get(language, key))

        if figure.kind == "table":
            return draw_options_table(self.content.options, text)
        source = self.content.source_by_id.get(figure.source or "")
        return draw_icon_array(figure, text, source.title if source else "")


@dataclass(frozen=True)
class Bar:
    """One bar of the funnel chart: its group (clinic and week), stage, count and box; a masked count (1 to 4)
    is drawn hatched at one fixed length, never at its true length."""

    group: int
    stage: str
    count: int
    masked: bool
    box: tuple[int, int, int, int]


@dataclass(frozen=True)
class Chart:
    """A chart as PNG bytes, with its bars (for checking what it shows)."""

    png: bytes
    width: int
    height: int
    bars: tuple[Bar, ...]


CHART_LABEL_PX, CHART_ROW_PX = 24, 34
CHART_BAR_LEFT, CHART_BAR_RIGHT = 330, WIDTH - 120
MASKED_BAR_PX = 60
FUNNEL_INK, MASKED_INK = (23, 55, 94), (120, 120, 120)


def draw_funnel_chart(groups: list[tuple[str, list[tuple[str, int]]]], small: int, masked_label: str) -> Chart:
    """The funnel of each group (a clinic and a week): one bar per stage, in the flow's order, as long as its
    count (all groups on one scale). Counts from 1 to small-1 are masked: a hatched bar of one length, labelled."""
    label_font, title_font = font(CHART_LABEL_PX), font(28, bold=True)
    shown = [count for _, stages in groups for _, count in stages if count >= small]
    top = max(shown, default=small)
    height = MARGIN * 2 + sum(50 + len(stages) * CHART_ROW_PX + 20 for _, stages in groups)
    image = Image.new("RGB", (WIDTH, max(height, 200)), PAPER)
    draw = ImageDraw.Draw(image)
    bars: list[Bar] = []
    y = MARGIN
    span = CHART_BAR_RIGHT - CHART_BAR_LEFT
    for index, (title, stages) in enumerate(groups):
        draw.text((MARGIN, y), title, font=title_font, fill=INK)
        y += 50
        for stage, count in stages:
            draw.text((MARGIN, y + 4), stage, font=label_font, fill=INK)
            masked = 0 < count < small
            length = MASKED_BAR_PX if masked else round(span * count / top)
            box = (CHART_BAR_LEFT, y + 4, CHART_BAR_LEFT + length, y + CHART_ROW_PX - 4)
            if masked:
                draw.rectangle(box, outline=MASKED_INK, width=2)
                for offset in range(box[0] - 30, box[2], 8):
                    draw.line((offset, box[3], offset + 26, box[1]), fill=MASKED_INK, width=2)
                draw.rectangle((box[2], box[1], box[2] + 30, box[3]), fill=PAPER)  # hatching stays in the box
                draw.rectangle(box, outline=MASKED_INK, width=2)
            elif length:
                draw.rectangle(box, fill=FUNNEL_INK)
            label = masked_label if masked else str(count)
            draw.text((CHART_BAR_LEFT + length + 10, y + 4), label, font=label_font, fill=INK)
            bars.append(Bar(index, stage, count, masked, box))
            y += CHART_ROW_PX
        y += 20
    return Chart(_png(image), WIDTH, image.height, tuple(bars))

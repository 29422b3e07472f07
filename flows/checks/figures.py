"""Rule: a figure's numbers add up, and every text that states them (the figure's caption in each language,
an option's figures line) states the same numbers, and the caption the same time frame."""

from __future__ import annotations

import re

from flows.checks.report import Report
from flows.checks.texts import TextEntry
from flows.checks.walker import Files
from flows.limits import plain_text
from flows.model import Figure
from flows.problems import FigureMismatch

_NUMBER = re.compile(r"\d[\d,.]*")


def numbers_in(text: str) -> set[int]:
    """The whole numbers written in a text ('1,000' counts as 1000)."""
    found = set()
    for match in _NUMBER.findall(plain_text(text)):
        digits = match.rstrip(".,").replace(",", "")
        if digits.isdigit():
            found.add(int(digits))
    return found


def stated_numbers(figure: Figure) -> set[int]:
    """Every count (and top of a range) the figure shows, but for the groups of everyone else."""
    return {
        n for panel in figure.panels for g in panel.groups if not g.rest for n in (g.count, g.high) if n is not None
    }


def check_figures(files: Files, texts: dict[str, dict[str, TextEntry]], report: Report) -> None:
    """Sums, captions and the options' figures lines."""
    by_id = {figure.id: figure for figure in files.decision.figures}
    for index, figure in enumerate(files.decision.figures):
        for j, panel in enumerate(figure.panels):
            low = sum(g.count for g in panel.groups)
            high = sum(g.high if g.high is not None else g.count for g in panel.groups)
            if not low <= figure.denominator <= high:
                report.add(
                    FigureMismatch,
                    files.place("decision.yaml", "figures", index, "panels", j),
                    f"figure '{figure.id}': the groups add up to {low}"
                    + (f"-{high}" if high != low else "")
                    + f", not {figure.denominator}",
                    "every person is in one group: add the rest as a group of its own",
                )
        for language, entries in texts.items():
            caption = entries.get(figure.caption)
            time_frame = entries.get(figure.time_frame or "")
            if caption is None:
                continue  # reported as a missing text
            missing = sorted(stated_numbers(figure) - numbers_in(caption.text))
            if missing:
                report.add(
                    FigureMismatch,
                    caption.place,
                    f"'{figure.caption}' ({language}) does not state {_listed(missing)} from figure '{figure.id}'",
                    "the caption must say the same numbers as the picture",
                )
            if time_frame is not None and plain_text(time_frame.text).lower() not in plain_text(caption.text).lower():
                report.add(
                    FigureMismatch,
                    caption.place,
                    f"'{figure.caption}' ({language}) does not state the time frame '{plain_text(time_frame.text)}'",
                    f"write the words of '{figure.time_frame}' in the caption",
                )
    for option in files.decision.options:
        wanted = set().union(*(stated_numbers(by_id[f]) for f in option.figures if f in by_id))
        for language, entries in texts.items():
            line = entries.get(option.figures_line)
            if line is None:
                continue
            missing = sorted(wanted - numbers_in(line.text))
            if missing:
                report.add(
                    FigureMismatch,
                    line.place,
                    f"'{option.figures_line}' ({language}) does not state {_listed(missing)} from its figures",
                    f"option '{option.id}' lists figures {', '.join(option.figures)}: state their numbers",
                )


def _listed(numbers: list[int]) -> str:
    return ", ".join(map(str, numbers))

"""Content checks beyond shapes. One walk finds every reference (walker.py); each rule family checks what it
found and reports problems as `path:line: message (hint)`."""

from __future__ import annotations

from flows.checks.candidacy import check_examples
from flows.checks.conditions import check_conditions
from flows.checks.figures import check_figures
from flows.checks.flow import check_flow
from flows.checks.ids import check_ids
from flows.checks.registry import check_registry
from flows.checks.report import Report
from flows.checks.texts import TextEntry, check_composed, check_texts
from flows.checks.walker import Files, walk
from flows.problems import Problem

__all__ = ["Files", "TextEntry", "check_content"]


def check_content(
    files: Files, texts: dict[str, dict[str, TextEntry]], default_language: str, readability: bool = False
) -> list[Problem]:
    """Every problem found across the content files."""
    report = Report()
    refs = walk(files)
    check_ids(files, report)
    check_flow(files, refs, report)
    check_conditions(files, refs, report)
    check_registry(files, refs, set(texts), report)
    check_examples(files, report)
    check_figures(files, texts, report)
    check_texts(files, refs, texts, default_language, readability, report)
    check_composed(files, texts, report)
    return report.problems

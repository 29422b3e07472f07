"""Collects problems as the rule families find them."""

from __future__ import annotations

from flows.checks.walker import Place
from flows.problems import Problem


class Report:
    """The problems found so far, in the order found."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, rule: type[Problem], place: Place, message: str, hint: str = "") -> None:
        """Note one problem of class `rule` at `place`."""
        self.problems.append(rule(place.path, place.line, message, hint))

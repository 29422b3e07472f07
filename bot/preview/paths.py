"""Where each page and picture lives in the site (paths relative to its root, always with '/')."""

from __future__ import annotations


def state_path(language: str, state_id: str, variant: str | None = None) -> str:
    """The page of a state (of one example patient, with `variant`)."""
    return f"{language}/states/{state_id}{'.' + variant if variant else ''}.html"


def topic_path(language: str, section_id: str) -> str:
    """The page of a topic."""
    return f"{language}/topics/{section_id}.html"


def group_path(language: str, group_id: str) -> str:
    """The menu of one group of topics."""
    return f"{language}/menu/group.{group_id}.html"


def comparison_path(language: str) -> str:
    """The options side by side, as the menu shows them."""
    return f"{language}/menu/comparison.html"


def figure_path(language: str, figure_id: str) -> str:
    """A figure's picture."""
    return f"figures/{language}/{figure_id}.png"

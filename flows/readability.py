"""Reading level of a text, per language: Flesch-Kincaid grade for English, Fernández-Huerta for Spanish.
Each line or bullet counts as its own sentence."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    """The reading level a language's topics must meet, on its scale."""

    scale: str
    bound: float
    higher_is_easier: bool

    def met(self, score: float) -> bool:
        """True when `score` is at the target or easier."""
        return score >= self.bound if self.higher_is_easier else score <= self.bound

    @property
    def wanted(self) -> str:
        """The target in words."""
        return f"needs {self.bound:.0f} or " + ("above (fairly easy)" if self.higher_is_easier else "below")


TARGETS = {
    "en": Target("the Flesch-Kincaid grade", 8.0, higher_is_easier=False),
    "es": Target("the Fernández-Huerta scale", 70.0, higher_is_easier=True),
}
TARGET_GRADE = TARGETS["en"].bound


def plain_sentences(text: str) -> str:
    """Telegram HTML to plain text in which every line ends a sentence (bullets are not run-ons)."""
    plain = html.unescape(re.sub(r"<[^>]+>", "", text))
    lines = [line.strip(" •-\t") for line in plain.splitlines()]
    return " ".join(line if line[-1] in ".!?:" else f"{line}." for line in lines if line)


def english_grade(text: str) -> float:
    """The US school grade needed to read `text` (Flesch-Kincaid)."""
    return grade("en", text)


def grade(language: str, text: str) -> float:
    """The score of `text` on its language's scale (see TARGETS)."""
    import textstat  # loads pronunciation data: only maintainers' `validate` needs it

    sentences = plain_sentences(text)
    if language == "es":
        textstat.set_lang("es")
        try:
            return float(textstat.fernandez_huerta(sentences))
        finally:
            textstat.set_lang("en_US")
    return float(textstat.flesch_kincaid_grade(sentences))

"""Reading grade of a text (Flesch-Kincaid, English), treating each line or bullet as its own sentence."""

from __future__ import annotations

import html
import re

TARGET_GRADE = 8.0


def plain_sentences(text: str) -> str:
    """Telegram HTML to plain text in which every line ends a sentence (bullets are not run-ons)."""
    plain = html.unescape(re.sub(r"<[^>]+>", "", text))
    lines = [line.strip(" •-\t") for line in plain.splitlines()]
    return " ".join(line if line[-1] in ".!?:" else f"{line}." for line in lines if line)


def english_grade(text: str) -> float:
    """The US school grade needed to read `text` (Flesch-Kincaid)."""
    import textstat  # loads a pronunciation dictionary: only maintainers' `validate` needs it

    return float(textstat.flesch_kincaid_grade(plain_sentences(text)))

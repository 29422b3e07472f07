"""Match a typed question ("how much does it cost?", "¿duele?") to the sections that answer it.

Each section's phrases are content (`section.<id>.keywords`, comma-separated, per language). A phrase
found as whole words scores 100; longer phrases also match a run of as many words with small typos
(rapidfuzz), never a piece of a word.
"""

from __future__ import annotations

import re
import unicodedata

from rapidfuzz import fuzz

from flows.content import Content

MIN_SCORE = 90
MIN_FUZZY_LENGTH = 5
MAX_RESULTS = 3


def normalize(text: str) -> str:
    """Lowercase, accents removed, punctuation to spaces, single spaces."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w]+", " ", plain).split())


class SectionMatcher:
    """Finds the best sections for a typed text, per language; built once from the content."""

    def __init__(self, content: Content) -> None:
        self._phrases: dict[str, list[tuple[str, list[str]]]] = {}
        for language in content.texts.languages:
            entries = []
            for section in content.sections:
                phrases = [content.texts.get(language, section.title)]
                if section.keywords:
                    phrases += content.texts.get(language, section.keywords).split(",")
                normalized = dict.fromkeys(normalize(p) for p in phrases)
                entries.append((section.id, [p for p in normalized if p]))
            self._phrases[language] = entries

    def match(self, language: str, text: str) -> list[str]:
        """Ids of up to three sections that fit `text`, best first (empty when nothing fits)."""
        query = normalize(text)
        if not query:
            return []
        words = query.split()
        scored = []
        for order, (section_id, phrases) in enumerate(self._phrases.get(language, [])):
            scores = [_score(phrase, words) for phrase in phrases]
            best = max(scores, default=0)
            if best >= MIN_SCORE:
                hits = sum(score >= MIN_SCORE for score in scores)
                scored.append((-best, -hits, order, section_id))
        return [section_id for *_, section_id in sorted(scored)[:MAX_RESULTS]]


def _score(phrase: str, words: list[str]) -> float:
    """100 when the phrase's words appear in a row; else the best typo-tolerant match on a run of words."""
    size = len(phrase.split())
    runs = [" ".join(words[i : i + size]) for i in range(max(len(words) - size + 1, 1))]
    if phrase in runs:
        return 100.0
    if len(phrase) < MIN_FUZZY_LENGTH:
        return 0.0
    return max(float(fuzz.ratio(phrase, run)) for run in runs)

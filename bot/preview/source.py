"""The content as the preview reads it: loaded and checked like the bot's, except that a translation still being
written does not stop the preview (its missing texts fall back to English, as in the bot, and are marked); every
text asked for while a page is drawn is noted, so a page knows which of its texts are missing."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from flows.content import Content
from flows.loader import DEFAULT_LANGUAGE, content_version, load_content
from flows.problems import MissingTranslation, Problem
from flows.texts import Texts

# A text missing in a language is shown as OPEN key MID english-text CLOSE; the HTML writer turns these
# private-use characters into a visible mark (and strips them where no mark can go, e.g. alt text).
OPEN, MID, CLOSE = "\ue000", "\ue001", "\ue002"
FILLER = "untranslated-preview"  # the part name of the texts file that fills gaps in the temporary copy


class ContentProblems(Exception):
    """The content has problems other than missing translations: the preview is not built."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the content: run python -m bot validate")
        self.problems = problems


@dataclass
class KeyLog:
    """The text keys asked for since the last `clear`, and those of them missing in the language asked."""

    used: set[str] = field(default_factory=set)
    missing: set[str] = field(default_factory=set)

    def clear(self) -> None:
        """Start noting afresh (before drawing a page)."""
        self.used.clear()
        self.missing.clear()


@dataclass(frozen=True)
class MarkedTexts(Texts):
    """Texts that note every key asked for, and wrap a text that falls back to the default language in marks."""

    log: KeyLog = field(default_factory=KeyLog)

    def get(self, language: str, key: str) -> str:
        found = super().get(language, key)
        self.log.used.add(key)
        own = self.by_language.get(language, {})
        default = self.by_language.get(self.default_language, {})
        if language == self.default_language or key in own or key not in default:
            return found
        self.log.missing.add(key)
        return f"{OPEN}{key}{MID}{found}{CLOSE}"


def marked(content: Content, log: KeyLog) -> Content:
    """The same content, with texts that note what is asked for and mark what falls back."""
    texts = MarkedTexts(content.texts.by_language, content.texts.default_language, log)
    return replace(content, texts=texts)


def missing_texts(content: Content) -> dict[str, list[str]]:
    """For each language but the default: the keys written in the default language and not in it."""
    default = content.texts.by_language.get(content.texts.default_language, {})
    return {
        language: sorted(key for key in default if key not in content.texts.by_language.get(language, {}))
        for language in content.texts.languages
        if language != content.texts.default_language
    }


def load(root: Path) -> Content:
    """The content of `root`, checked like the bot's. Missing translations alone do not stop it: the rest is
    checked with the gaps filled from the default language, then the gaps are left open again."""
    result = load_content(root)
    if result.content is not None:
        return result.content
    if not result.problems or not all(isinstance(p, MissingTranslation) for p in result.problems):
        raise ContentProblems(result.problems)
    written = read_texts(root / "texts")
    default = written.get(DEFAULT_LANGUAGE, {})
    gaps = {language: [k for k in default if k not in keys] for language, keys in written.items()}
    with tempfile.TemporaryDirectory(prefix="preview-content-") as folder:
        copy = Path(folder) / "content"
        shutil.copytree(root, copy)
        for language, keys in gaps.items():
            if keys:
                filler = {key: default[key] for key in keys}
                (copy / "texts" / f"{language}.{FILLER}.yaml").write_text(
                    yaml.safe_dump(filler, allow_unicode=True, sort_keys=False), encoding="utf-8"
                )
        filled = load_content(copy)
    if filled.content is None:
        raise ContentProblems(result.problems + filled.problems)
    by_language = {
        language: {key: text for key, text in entries.items() if key not in set(gaps.get(language, []))}
        for language, entries in filled.content.texts.by_language.items()
    }
    texts = Texts(by_language, filled.content.texts.default_language)
    return replace(filled.content, texts=texts, version=content_version(root))


def read_texts(folder: Path) -> dict[str, dict[str, str]]:
    """Every text as written, by language and dotted key (`texts/<lang>.yaml` and `texts/<lang>.<part>.yaml`)."""
    texts: dict[str, dict[str, str]] = {}
    for path in sorted(folder.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        language = texts.setdefault(path.name.split(".")[0], {})
        _flatten(data, (), language)
    return texts


def _flatten(value: Any, location: tuple[str, ...], into: dict[str, str]) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _flatten(child, (*location, str(key)), into)
    elif isinstance(value, str):
        into[".".join(location)] = value

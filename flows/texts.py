"""Texts by language and key, with the default language as the fallback."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Texts:
    """All texts: `by_language[lang][key]` is Telegram HTML."""

    by_language: dict[str, dict[str, str]]
    default_language: str = "en"

    @property
    def languages(self) -> list[str]:
        """Languages with texts, the default first."""
        others = sorted(lang for lang in self.by_language if lang != self.default_language)
        return [self.default_language, *others]

    def language_for(self, code: str | None) -> str:
        """The best language we have for a Telegram language code such as 'es-MX'."""
        base = (code or "").split("-")[0].lower()
        return base if base in self.by_language else self.default_language

    def has(self, language: str, key: str) -> bool:
        """True when `key` is written in `language` or the default language."""
        return key in self.by_language.get(language, {}) or key in self.by_language.get(self.default_language, {})

    def get(self, language: str, key: str) -> str:
        """The text for `key`, falling back to the default language, then to the key itself."""
        found = self.by_language.get(language, {}).get(key)
        if found is None:
            found = self.by_language.get(self.default_language, {}).get(key, key)
        return found


def fill(template: str, values: dict[str, str]) -> str:
    """Put values (already safe HTML) in the `{name}` places of a text."""
    for name, value in values.items():
        template = template.replace("{" + name + "}", value)
    return template

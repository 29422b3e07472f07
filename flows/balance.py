"""How the topic text is shared between the options of the decision: words of each topic body, counted under
the option the topic is about (general topics under none), in one language."""

from __future__ import annotations

from dataclasses import dataclass

from flows.content import Content
from flows.limits import plain_text

GENERAL = "general"
GOAL = 0.35  # no option should have more than this share of all topic words


@dataclass(frozen=True)
class Share:
    """One option's words and its share of all topic words."""

    option: str
    words: int
    share: float

    @property
    def over_goal(self) -> bool:
        """True when an option (not the general topics) has more than its share."""
        return self.option != GENERAL and self.share > GOAL


def topic_balance(content: Content, language: str = "en") -> list[Share]:
    """The options in their order, then the general topics: words and share of all topic words."""
    words: dict[str, int] = {option.id: 0 for option in content.options}
    words[GENERAL] = 0
    for section in content.sections:
        body = plain_text(content.texts.get(language, section.body))
        words[section.option or GENERAL] = words.get(section.option or GENERAL, 0) + len(body.split())
    total = sum(words.values()) or 1
    return [Share(option, count, count / total) for option, count in words.items()]

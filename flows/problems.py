"""Problems found in content: one class per rule, each printed as `path:line: message (hint)`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    """A mistake in a content file, with where it is and how to fix it."""

    path: Path
    line: int
    message: str
    hint: str = ""

    def __str__(self) -> str:
        suffix = f" ({self.hint})" if self.hint else ""
        return f"{self.path}:{self.line}: {self.message}{suffix}"


class YamlSyntax(Problem):
    """The file is not valid YAML."""


class MissingFile(Problem):
    """A content file the bot needs does not exist."""


class SchemaViolation(Problem):
    """A value has the wrong shape or type, or a field is unknown."""


class DuplicateKey(Problem):
    """The same key appears twice in one YAML mapping (the first would be silently lost)."""


class DuplicateId(Problem):
    """Two states, options, sections, outcomes or rules share an id."""


class UnknownReference(Problem):
    """A reference names a state, option, question, outcome or section that does not exist."""


class UnknownAction(Problem):
    """An `action` names no action the engine knows."""


class UnreachableState(Problem):
    """No path from the start leads to this state."""


class DeadEnd(Problem):
    """A state that is not an ending has no way forward."""


class MissingText(Problem):
    """A text key is used but not written in the default language."""


class MissingTranslation(Problem):
    """A text exists in the default language but not in another one."""


class EmptyText(Problem):
    """A text shows nothing once its HTML is read (Telegram refuses an empty message, caption or button)."""


class TextTooLong(Problem):
    """A text is longer than Telegram allows in one message."""


class InvalidHtml(Problem):
    """A text uses HTML that Telegram would reject."""


class LabelTooLong(Problem):
    """A button label is longer than fits on a button."""


class CallbackTooLong(Problem):
    """An id would make a button's callback data longer than Telegram's 64 bytes."""


class ReadabilityAboveTarget(Problem):
    """A topic reads harder than its language's target (English: grade 8; Spanish: Fernández-Huerta 70)."""


class ExampleMismatch(Problem):
    """A candidacy rule does not fire for the example patient it names, or an example gets another outcome."""


class FigureMismatch(Problem):
    """A figure's numbers do not add up, or a text states other numbers or another time frame than it."""

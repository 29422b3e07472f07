"""What the engine answers with: plain data that bot/ renders for Telegram or the terminal."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from flows.limits import plain_text

ReplyKind = Literal["question", "message", "notice"]


class EmptyReply(ValueError):
    """A reply whose text shows nothing: Telegram refuses such a message or caption (`validate` reports the texts
    that would make one)."""


@dataclass(frozen=True)
class Button:
    """An inline button: its label and the callback data it sends."""

    label: str
    data: str


Blocks = tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class Document:
    """A file to send (the personal summary): plain-text blocks of (heading, lines), rendered by bot/; the
    `figures` are drawn in `language` after the blocks; the `clinician` blocks go on a page of their own, for
    the patient's doctor; `large_print` sets the body in large type."""

    filename: str
    title: str
    blocks: Blocks
    clinician_title: str = ""
    clinician: Blocks = ()
    figures: tuple[str, ...] = ()
    language: str = "en"
    large_print: bool = False


@dataclass(frozen=True)
class Picture:
    """A figure to send as a picture, drawn in `language` (bot/pictures.py)."""

    figure: str
    language: str


@dataclass(frozen=True)
class Reply:
    """One message: `key` names the text it came from (tests assert on it), `text` is Telegram HTML.

    With `edit`, it replaces the message whose button was tapped (e.g. a tick on a multi-choice
    question). A "notice" is short and may be shown as a pop-up answer to a tapped button.
    """

    key: str
    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    kind: ReplyKind = "message"
    edit: bool = False
    extra_keys: tuple[str, ...] = field(default=())
    document: Document | None = None  # when set, `text` is the caption of this file
    picture: Picture | None = None  # when set, `text` is the caption of this picture (its text alternative)
    contact_keyboard: tuple[str, str] | None = None  # labels: "share my phone number" and "cancel"

    def __post_init__(self) -> None:
        if not plain_text(self.text).strip():
            raise EmptyReply(f"the reply built from '{self.key}' shows nothing")

    def keys(self) -> tuple[str, ...]:
        """Every text key this reply was built from."""
        return (self.key, *self.extra_keys)

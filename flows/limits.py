"""Telegram's limits on what a bot sends, as plain rules (no telegram import): length, HTML, buttons."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

MAX_MESSAGE_CHARS = 4096
MAX_CAPTION_CHARS = 1024  # under a photo or a file
MAX_NOTICE_CHARS = 200  # a pop-up answer to a tapped button
MAX_CALLBACK_BYTES = 64
MAX_LABEL_BYTES = 64
ALLOWED_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-spoiler",
    }
)
_ENTITY = re.compile(r"&(?!(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);)")
_TAG_START = re.compile(r"<(?!/?[a-zA-Z][a-zA-Z-]*[\s>/])")


def plain_text(text: str) -> str:
    """Telegram HTML as the reader sees it: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]*>", "", text))


def visible_length(text: str) -> int:
    """Length of `text` as Telegram counts it: after the HTML tags are parsed away."""
    return len(plain_text(text))


def html_problems(text: str) -> list[str]:
    """What Telegram would reject in this HTML text (empty list when it is fine)."""
    problems = []
    if _ENTITY.search(text):
        problems.append("a bare '&' must be written '&amp;'")
    if _TAG_START.search(text):
        problems.append("a bare '<' must be written '&lt;'")
    checker = _TagChecker()
    checker.feed(text)
    checker.close()
    return problems + checker.problems + [f"tag <{tag}> is never closed" for tag in checker.open_tags]


class _TagChecker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open_tags: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"tag <{tag}> is not one Telegram supports")
        elif tag == "a" and not dict(attrs).get("href"):
            self.problems.append("a link <a> needs an href")
        self.open_tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open_tags or self.open_tags[-1] != tag:
            self.problems.append(f"closing </{tag}> does not match the open tag")
            return
        self.open_tags.pop()


def split_message(text: str, limit: int = MAX_MESSAGE_CHARS) -> list[str]:
    """Split `text` into parts Telegram accepts, on paragraph (then line, then word) boundaries.

    Tags are never cut: content is written so that tags do not span paragraphs.
    """
    if visible_length(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for separator, pieces in _pieces(text, limit):
        for piece in pieces:
            candidate = f"{current}{separator}{piece}" if current else piece
            if visible_length(candidate) <= limit:
                current = candidate
                continue
            if current:
                parts.append(current)
            current = piece
    if current:
        parts.append(current)
    return parts


def _pieces(text: str, limit: int) -> list[tuple[str, list[str]]]:
    for separator in ("\n\n", "\n", " "):
        pieces = text.split(separator)
        if all(visible_length(piece) <= limit for piece in pieces):
            return [(separator, pieces)]
    return [("", [text[i : i + limit] for i in range(0, len(text), limit)])]


def callback_fits(data: str) -> bool:
    """True when `data` fits Telegram's 64-byte callback data limit."""
    return 0 < len(data.encode("utf-8")) <= MAX_CALLBACK_BYTES

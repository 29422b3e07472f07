"""Telegram HTML as web HTML: the tags Telegram formats (b, i, u, s, a, code, pre, blockquote, spoilers) are kept,
anything else is dropped, text is escaped, line breaks are kept as <br> (so they survive without CSS), and the
marks of texts missing in a language become a visible note."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

from bot.preview.source import CLOSE, MID, OPEN

TAGS = {
    "b": "b",
    "strong": "strong",
    "i": "i",
    "em": "em",
    "u": "u",
    "ins": "u",
    "s": "s",
    "strike": "s",
    "del": "s",
    "a": "a",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-spoiler": "span",
}
LINK_SCHEMES = ("http://", "https://", "mailto:", "tg://")
_MARK = re.compile(f"{OPEN}([a-z0-9_.]+){MID}")


class _Converter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        name = TAGS.get(tag)
        if name is None:
            return
        if tag == "a":
            href = dict(attrs).get("href") or ""
            safe = href.startswith(LINK_SCHEMES)
            self.out.append(f'<a href="{html.escape(href, quote=True)}">' if safe else "<a>")
        elif tag == "tg-spoiler":
            self.out.append('<span class="spoiler">')
        else:
            self.out.append(f"<{name}>")
        self.open.append(name)

    def handle_endtag(self, tag: str) -> None:
        name = TAGS.get(tag)
        if name is None or name not in self.open:
            return
        while self.open:
            closing = self.open.pop()
            self.out.append(f"</{closing}>")
            if closing == name:
                break

    def handle_data(self, data: str) -> None:
        text = html.escape(data, quote=False)
        if "pre" not in self.open:
            text = text.replace("\n", "<br>\n")
        self.out.append(text)

    def result(self) -> str:
        self.close()
        return "".join(self.out) + "".join(f"</{name}>" for name in reversed(self.open))


def to_html(text: str) -> str:
    """A Telegram HTML text as web HTML, with missing translations marked."""
    converter = _Converter()
    converter.feed(text)
    return show_marks(converter.result())


def label_html(label: str) -> str:
    """A button label (plain text on Telegram) as web HTML, with missing translations marked."""
    return show_marks(html.escape(label, quote=False))


def show_marks(markup: str) -> str:
    """The marks of texts that fall back to the default language as a visible note and a highlighted span; when
    the marks do not nest cleanly, they are dropped (the page still lists its missing texts)."""
    depth = 0
    for char in markup:
        if char == OPEN:
            depth += 1
        elif char == CLOSE:
            depth -= 1
            if depth < 0:
                break
    if depth != 0 or markup.count(OPEN) != len(_MARK.findall(markup)):
        return strip_marks(markup)
    opened = _MARK.sub(
        lambda m: (
            f'<span class="untranslated" data-key="{m.group(1)}"><small class="untranslated-note">'
            f"[not translated: {m.group(1)}]</small> "
        ),
        markup,
    )
    return opened.replace(CLOSE, "</span>")


def strip_marks(text: str) -> str:
    """The text without the marks of missing translations (e.g. for alt text)."""
    return re.sub(f"{OPEN}[a-z0-9_.]*{MID}", "", text).replace(CLOSE, "").replace(OPEN, "").replace(MID, "")


def plain(text: str) -> str:
    """A Telegram HTML text as plain text (tags dropped, entities decoded, no marks), e.g. for alt text."""
    return strip_marks(html.unescape(re.sub(r"<[^>]*>", "", text)))

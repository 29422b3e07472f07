"""The HTML every preview page shares: the page frame with the language switch, and messages as Telegram shows
them (text, pictures, buttons, pop-up notices). Semantic HTML: the stylesheet only adds looks."""

from __future__ import annotations

import html
import posixpath
import re
from dataclasses import dataclass, field

from bot.preview.source import MID, OPEN
from bot.preview.telegram_html import label_html, plain, to_html
from flows.replies import Reply

SITE_NAME = "Decision aid preview"
STYLESHEET = "assets/preview.css"
_MARKED = re.compile(f"{OPEN}([a-z0-9_.]+){MID}")


def esc(text: str) -> str:
    """Plain text, safe in HTML text and attributes."""
    return html.escape(text, quote=True)


def rel(page: str, target: str) -> str:
    """The link from the page at site path `page` to the site path `target` (both relative to the site root)."""
    return posixpath.relpath(target, posixpath.dirname(page) or ".")


def marked_keys(text: str) -> set[str]:
    """The keys of the texts marked as missing in `text`."""
    return set(_MARKED.findall(text))


@dataclass(frozen=True)
class Link:
    """A way a button leads: to a page, with the condition under which it does (None: always / otherwise)."""

    path: str
    state: str
    condition: str | None = None  # HTML


@dataclass
class Key:
    """A button as shown: its label, the page it opens (or the ways it may lead), a note, and what the bot
    sends when it is tapped before the next step (e.g. an explanation, a pop-up)."""

    label: str  # plain text, may hold marks
    path: str | None = None
    ways: list[Link] = field(default_factory=list)
    note: str | None = None  # HTML
    after: tuple[Reply, ...] = ()


@dataclass
class Shown:
    """What the patient sees at once: replies in order (the last carries the keyboard), with a caption above."""

    replies: list[Reply]
    keys: list[list[Key]]
    caption: str | None = None


@dataclass(frozen=True)
class Language:
    """A language of the site: its code and its name in itself."""

    code: str
    name: str


class Writer:
    """Writes the HTML of one page; notes the missing texts it shows."""

    def __init__(self, path: str, language: str, figure_paths: dict[tuple[str, str], tuple[str, int, int]]) -> None:
        self.path = path
        self.language = language
        self.figures = figure_paths  # (figure, language) -> (site path, width, height)
        self.missing: set[str] = set()

    def href(self, target: str) -> str:
        """A link from this page to a site path."""
        return esc(rel(self.path, target))

    def text(self, telegram_html: str) -> str:
        """A Telegram HTML text as HTML."""
        self.missing |= marked_keys(telegram_html)
        return to_html(telegram_html)

    def label(self, label: str) -> str:
        """A button label as HTML."""
        self.missing |= marked_keys(label)
        return label_html(label)

    def shown(self, shown: list[Shown]) -> str:
        """Messages as a chat: each group of replies, its keyboard, and what follows a tap."""
        items = []
        for group in shown:
            if group.caption:
                items.append(f'<li class="step-caption"><p>{esc(group.caption)}</p></li>')
            for index, reply in enumerate(group.replies):
                last = index == len(group.replies) - 1
                items.append(f"<li>{self.reply(reply, group.keys if last else [])}</li>")
        return '<ol class="chat" aria-label="Messages">\n' + "\n".join(items) + "\n</ol>"

    def reply(self, reply: Reply, keys: list[list[Key]]) -> str:
        """One reply as Telegram shows it."""
        data = esc(" ".join(reply.keys()))
        if reply.kind == "notice":
            return (
                f'<aside class="notice" data-keys="{data}"><small class="kind">Pop-up notice:</small> '
                f"{self.text(reply.text)}</aside>"
            )
        parts = [f'<article class="message" data-keys="{data}">']
        if reply.picture is not None:
            figure = self.figures.get((reply.picture.figure, reply.picture.language))
            alt = esc(plain(reply.text))
            if figure is not None:
                src, width, height = figure
                parts.append(
                    f'<figure class="picture" data-figure="{esc(reply.picture.figure)}">'
                    f'<a href="{self.href(src)}"><img src="{self.href(src)}" alt="{alt}" width="{width}" '
                    f'height="{height}"></a><figcaption>{self.text(reply.text)}</figcaption></figure>'
                )
            else:
                parts.append(f'<div class="text">{self.text(reply.text)}</div>')
        elif reply.document is not None:
            parts.append(
                f'<p class="document">📄 <b>{esc(reply.document.filename)}</b> '
                "<small>(a PDF file: not drawn in this preview)</small></p>"
                f'<div class="text">{self.text(reply.text)}</div>'
            )
        else:
            parts.append(f'<div class="text">{self.text(reply.text)}</div>')
        if reply.contact_keyboard is not None:
            share, cancel = reply.contact_keyboard
            parts.append(
                '<p class="note"><small>Telegram\'s own keyboard, below the message box:</small></p>'
                f'<ul class="reply-keyboard"><li>{self.label(share)} <small>(shares the phone number)</small></li>'
                f"<li>{self.label(cancel)}</li></ul>"
            )
        if keys:
            parts.append(self.keyboard(keys))
        parts.append("</article>")
        return "".join(parts)

    def keyboard(self, rows: list[list[Key]]) -> str:
        """The buttons under a message, each a link to where it leads; then what tapping them sends first."""
        lines = ['<ul class="keyboard" aria-label="Buttons">']
        noted: set[str] = set()
        for row in rows:
            cells = []
            for key in row:
                cells.append(f'<div class="key">{self.key(key, key.note not in noted)}</div>')
                noted.add(key.note or "")
            lines.append(f"<li>{''.join(cells)}</li>")
        lines.append("</ul>")
        lines += self.afters([key for row in rows for key in row])
        return "\n".join(lines)

    def key(self, key: Key, with_note: bool = True) -> str:
        """One button (its note only `with_note`: once per keyboard)."""
        label = self.label(key.label)
        if key.path is not None:
            html_ = f'<a class="button" href="{self.href(key.path)}">{label}</a>'
        else:
            html_ = f'<span class="button">{label}</span>'
        if key.note and with_note:
            html_ += f'<p class="note">{key.note}</p>'
        if key.ways:
            ways = []
            for way in key.ways:
                link = f'<a href="{self.href(way.path)}" data-to="{esc(way.state)}"><code>{esc(way.state)}</code></a>'
                ways.append(f"<li>→ {link} when {way.condition}</li>" if way.condition else f"<li>→ {link}</li>")
            if any(way.condition for way in key.ways[:-1]) and key.ways[-1].condition is None:
                ways[-1] = ways[-1].replace("<li>→ ", "<li>otherwise → ", 1)
            html_ += '<ul class="branches">' + "".join(ways) + "</ul>"
        return html_

    def afters(self, keys: list[Key]) -> list[str]:
        """What tapping a button sends before the next question, once per different answer."""
        groups: dict[tuple[tuple[str, str, str], ...], list[Key]] = {}
        for key in keys:
            if key.after:
                sent = tuple((r.key, r.text, r.document.filename if r.document else "") for r in key.after)
                groups.setdefault(sent, []).append(key)
        blocks = []
        for tapped in groups.values():
            names = " or ".join(f"“{self.label(key.label)}”" for key in tapped)
            replies = "".join(self.reply(reply, []) for reply in tapped[0].after)
            blocks.append(f'<div class="after"><p>After tapping {names}, the bot sends:</p>{replies}</div>')
        return blocks


def frame(
    path: str,
    language: str,
    title: str,
    body: str,
    switch: list[tuple[Language, str]],
    trail: str,
    footer: str,
) -> str:
    """A whole page: its head, the site's header with the way back to the index and the language switch, the body."""
    languages = "".join(
        f'<li><a href="{esc(rel(path, target))}" hreflang="{esc(lang.code)}" lang="{esc(lang.code)}"'
        + (' aria-current="page"' if lang.code == language else "")
        + f">{esc(lang.name)}</a></li>"
        for lang, target in switch
    )
    nav = f'<nav class="languages" aria-label="Language"><ul>{languages}</ul></nav>' if switch else ""
    return f"""<!doctype html>
<html lang="{esc(language)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)} · {SITE_NAME}</title>
<link rel="stylesheet" href="{esc(rel(path, STYLESHEET))}">
</head>
<body>
<header class="site">
<p><a href="{esc(rel(path, "index.html"))}">{SITE_NAME}</a>{trail}</p>
{nav}
</header>
<main>
{body}
</main>
<footer class="site">
{footer}
</footer>
</body>
</html>
"""

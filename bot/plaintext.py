"""Telegram HTML to plain terminal text (for the console preview and logs-free debugging)."""

from __future__ import annotations

import html
import re

_TAG = re.compile(r"<[^>]+>")


def to_plain(text: str) -> str:
    """Drop the HTML tags and decode entities."""
    return html.unescape(_TAG.sub("", text))

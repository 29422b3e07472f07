"""Telegram HTML to plain terminal text (for the console preview)."""

from flows.limits import plain_text as to_plain

__all__ = ["to_plain"]

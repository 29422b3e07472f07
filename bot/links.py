"""Referral links and QR codes for clinics: https://t.me/<bot>?start=<clinic code>."""

from __future__ import annotations

from pathlib import Path

import segno
from telegram import Bot
from telegram.helpers import create_deep_linked_url

from bot.settings import ConfigError, Settings


def referral_link(username: str, code: str) -> str:
    """The deep link that starts the bot with a clinic's code (checked by python-telegram-bot)."""
    return create_deep_linked_url(username.lstrip("@"), code)


def write_qr(url: str, path: Path) -> None:
    """A printable QR code of `url`, as PNG or SVG by the file's suffix."""
    if path.suffix.lower() not in {".png", ".svg"}:
        raise ConfigError(f"--qr {path}: use a .png or .svg file name")
    segno.make(url, error="m").save(str(path), scale=10, border=4)


async def bot_username(settings: Settings) -> str:
    """The bot's username, asked from Telegram (getMe) with TELEGRAM_BOT_TOKEN."""
    api = settings.telegram_api_url
    bot = Bot(settings.token(), base_url=f"{api}/bot", base_file_url=f"{api}/file/bot")
    async with bot:
        me = await bot.get_me()
    if not me.username:
        raise ConfigError("the bot has no username; pass --username")
    return me.username

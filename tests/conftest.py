"""Shared fixtures: the real content, and a real Application wired to an offline Bot API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.app import build_application, start_services, stop_services
from bot.settings import Settings
from bot.storage import SqliteStore
from tests.fake_bot_api import FakeBotApi
from tests.telegram_harness import OfflineRequest, TelegramUser

ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "content"
TOKEN = "123456:TEST-token-do-not-log"


@dataclass
class BotEnv:
    """A running offline bot: its Application, the fake API, its settings and its store."""

    app: object
    api: FakeBotApi
    settings: Settings
    store: SqliteStore

    def user(self, chat_id: int = 4242, language_code: str | None = "en") -> TelegramUser:
        """A patient in a private chat with the bot."""
        return TelegramUser(self.app, self.api, chat_id, language_code)  # type: ignore[arg-type]


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    """Settings for tests: a database in tmp_path, the real content, no .env file."""
    values: dict[str, object] = {
        "telegram_bot_token": TOKEN,
        "database_path": tmp_path / "bot.sqlite3",
        "content_dir": CONTENT,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
async def bot_env(tmp_path: Path) -> AsyncIterator[BotEnv]:
    """A real Application with every handler, an offline Bot API and a fresh SQLite file."""
    api = FakeBotApi()
    settings = make_settings(tmp_path)
    app = build_application(settings, request=OfflineRequest(api), rate_limit=False)
    async with app:
        await start_services(app)
        try:
            yield BotEnv(app, api, settings, app.bot_data["store"])
        finally:
            await stop_services(app)

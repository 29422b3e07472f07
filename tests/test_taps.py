"""bot/taps.py: a tapped button's spinner stops at once, even when the turn behind it has to wait."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from telegram import Update
from telegram.ext import Application

from bot.app import build_application, services, start_services, stop_services
from bot.run import UpdateGate
from bot.storage import Store
from bot.storage.postgres import PostgresStore
from tests.conftest import make_settings
from tests.fake_bot_api import FakeBotApi
from tests.telegram_harness import OfflineRequest, TelegramUser, callback_update

CHATS = 60  # more taps at once than the PostgreSQL pool has connections (20)


class TimedRequest(OfflineRequest):
    """The offline Bot API, noting when each callback query was answered (time.monotonic())."""

    def __init__(self, api: FakeBotApi) -> None:
        super().__init__(api)
        self.answered_at: dict[str, float] = {}
        self._news = asyncio.Event()

    async def answered(self, query_id: str) -> None:
        """Returns once the query has been answered."""
        while query_id not in self.answered_at:
            self._news.clear()
            await self._news.wait()

    async def do_request(self, url: str, method: str, request_data: Any = None, **kwargs: Any) -> tuple[int, bytes]:
        status, body = await super().do_request(url, method, request_data, **kwargs)
        if url.endswith("/answerCallbackQuery") and status == 200 and request_data is not None:
            self.answered_at.setdefault(str(request_data.json_parameters["callback_query_id"]), time.monotonic())
            self._news.set()
        return status, body


Running = tuple[Application, FakeBotApi, TimedRequest]  # type: ignore[type-arg]


@pytest.fixture
async def running(tmp_path: Path, store_factory: Callable[[], Store]) -> AsyncIterator[Callable[..., Any]]:
    """Starts the real Application on each backend, with the offline Bot API (rate-limited as Telegram is, if
    asked)."""
    started: list[Application] = []  # type: ignore[type-arg]

    async def start(rate_limit: bool = False) -> Running:
        api = FakeBotApi()
        request = TimedRequest(api)
        store = store_factory()
        url = store.url if isinstance(store, PostgresStore) else None
        settings = make_settings(tmp_path, database_url=url)
        app = build_application(settings, request=request, rate_limit=rate_limit, store=store)
        await app.initialize()
        await start_services(app)
        started.append(app)
        return app, api, request

    yield start
    for app in started:
        await stop_services(app)
        await app.shutdown()


def first_button(user: TelegramUser) -> Update:
    """A tap on the first button of the chat's newest keyboard, as an update."""
    message = user.last_keyboard_message()
    data = message["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    return Update.de_json(callback_update(user.chat_id, data, message), user.app.bot)  # type: ignore[return-value]


async def test_every_tap_is_answered_within_a_second_when_many_chats_tap_at_once(running: Any) -> None:
    app, api, request = await running(rate_limit=True)
    users = [TelegramUser(app, api, chat_id) for chat_id in range(7000, 7000 + CHATS)]
    await asyncio.gather(*(user.send("/start") for user in users))
    gate = UpdateGate(app, services(app).store)
    taps = [first_button(user) for user in users]
    began = time.monotonic()
    await asyncio.gather(*(gate.handle(tap) for tap in taps))  # all at once, at Telegram's 30 messages a second
    waits = [request.answered_at[tap.callback_query.id] - began for tap in taps]  # type: ignore[union-attr]
    assert max(waits) < 1.0, f"slowest answer {max(waits):.2f} s, median {sorted(waits)[CHATS // 2]:.2f} s"
    assert len(api.sent(method="answerCallbackQuery")) == CHATS  # once each
    states = [record.session.state for record in [await services(app).store.load(u.chat_id) for u in users] if record]
    assert states == ["safety_cauda"] * CHATS  # and every turn went on to the next question


async def test_a_tap_held_up_behind_another_is_answered_at_once_and_its_notice_follows_as_a_message(
    running: Any,
) -> None:
    app, api, request = await running()
    services(app).taps.within_s = 0.05
    user = TelegramUser(app, api, 7100)
    await user.send("/start")
    tap, double_tap = first_button(user), first_button(user)
    held_up = double_tap.callback_query.id  # type: ignore[union-attr]
    request.hanging.add(user.chat_id)  # the first tap's next question is stuck on its way to Telegram
    gate = UpdateGate(app, services(app).store)
    first = asyncio.create_task(gate.handle(tap))
    second = asyncio.create_task(gate.handle(double_tap))  # waits for the first: one update of a chat at a time
    await asyncio.wait_for(request.answered(held_up), timeout=10)  # answered though its turn cannot start
    assert not second.done()
    request.release.set()
    await asyncio.gather(first, second)
    answers = {a["callback_query_id"]: a.get("text") for a in api.sent(method="answerCallbackQuery")}
    assert len(api.sent(method="answerCallbackQuery")) == 2 and answers[held_up] is None  # once each, no pop-up
    texts = [m["text"] for m in api.sent(user.chat_id)]
    assert any("out of date" in text for text in texts), texts  # the stale tap's notice, as a message
    assert (await services(app).store.load(user.chat_id)).session.state == "safety_cauda"  # type: ignore[union-attr]
    assert api.rejected == []

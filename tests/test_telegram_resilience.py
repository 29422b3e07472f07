"""Telegram errors, ordering under concurrency, long texts and logs that never show the token."""

from __future__ import annotations

import asyncio
import io
import json
import logging

import pytest
from telegram import Update

import bot.delivery
from bot.app import services
from bot.logging_setup import RedactSecrets
from bot.render import Sender
from bot.run import UpdateGate
from flows.replies import Button, Reply
from tests.conftest import TOKEN, BotEnv
from tests.db import stored
from tests.telegram_harness import callback_update, message_update
from tests.test_telegram_decision_aid import Patient, built_from, example


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the waits of the retry logic instead of sleeping."""
    waited: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waited.append(seconds)

    monkeypatch.setattr(bot.delivery, "sleep", fake_sleep)
    return waited


async def answers_of(env: BotEnv, chat_id: int) -> dict[str, object]:
    """The health answers stored in the database file for one chat."""
    rows = stored(env, "SELECT answers FROM sessions WHERE chat_id = ?", (chat_id,))
    return json.loads(rows[0][0])


async def test_flood_limit_is_waited_out_and_the_message_delivered(bot_env: BotEnv, sleeps: list[float]) -> None:
    user = bot_env.user()
    bot_env.api.inject("429", "sendMessage", retry_after=3)
    sent = await user.send("/start")
    assert sleeps == [3.0]
    assert built_from(sent[0], "welcome")


async def test_timeouts_and_server_errors_are_retried_with_backoff(bot_env: BotEnv, sleeps: list[float]) -> None:
    user = bot_env.user()
    bot_env.api.inject("timeout", "sendMessage")
    bot_env.api.inject("500", "sendMessage")
    sent = await user.send("/start")
    assert sleeps == [0.5, 1.0]
    assert len(sent) == 1


async def test_a_blocked_chat_is_marked_inactive_and_nothing_is_lost(bot_env: BotEnv, sleeps: list[float]) -> None:
    p = Patient.of(bot_env)
    await p.consent()
    bot_env.api.inject("403", "sendMessage")
    await p.tap("low_back")  # the answer is stored before the reply fails
    assert await answers_of(bot_env, 4242) == {"region": "low_back"}
    assert stored(bot_env, "SELECT active FROM sessions WHERE chat_id = 4242") == [(0,)]
    sent = await p.start()  # they unblock and come back
    assert p.says(sent[-1], "leg_symptoms.ask")
    assert stored(bot_env, "SELECT active FROM sessions WHERE chat_id = 4242") == [(1,)]


async def test_an_unexpected_error_tells_the_user_and_logs_no_token(
    bot_env: BotEnv, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    user = bot_env.user()
    engine = services(bot_env.app).engine  # type: ignore[arg-type]

    def broken_step(*args: object) -> None:
        raise RuntimeError("a bug in the flow")

    monkeypatch.setattr(engine, "step", broken_step)
    with caplog.at_level(logging.DEBUG):
        sent = await user.send("/start")
    assert built_from(sent[-1], "bot.error")
    assert "RuntimeError" in caplog.text
    assert TOKEN not in caplog.text


def test_log_filter_removes_the_token_from_messages_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecrets([TOKEN]))
    logger = logging.getLogger("test.redaction")
    logger.addHandler(handler)
    try:
        try:
            raise ValueError(f"https://api.telegram.org/bot{TOKEN}/getMe failed")
        except ValueError as error:
            logger.error("call to %s failed", f"/bot{TOKEN}/sendMessage", exc_info=error)
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert TOKEN not in output
    assert output.count("[redacted]") == 2


async def test_long_replies_are_split_on_paragraphs_with_typing_first(bot_env: BotEnv) -> None:
    paragraph = "word " * 300
    reply = Reply("long", "\n\n".join(f"<b>{i}</b> {paragraph}" for i in range(6)), ((Button("OK", "q"),),))
    await Sender(bot_env.app.bot, 4242).send([reply])  # type: ignore[attr-defined]
    methods = [c.method for c in bot_env.api.calls if c.method in ("sendChatAction", "sendMessage")]
    assert methods == ["sendChatAction", "sendMessage", "sendMessage", "sendMessage"]  # 9,000 characters
    parts = bot_env.api.sent(4242)
    assert ["reply_markup" in p for p in parts] == [False, False, True]  # the buttons come last
    assert sum(p["text"].count("word") for p in parts) == 6 * 300


async def test_double_taps_processed_concurrently_are_applied_once_per_chat(bot_env: BotEnv) -> None:
    app = bot_env.app
    chats = list(range(5000, 5020))
    for chat in chats:
        user = bot_env.user(chat)
        await user.send("/start")
    gate = UpdateGate(app, bot_env.store)  # type: ignore[arg-type]  # as polling and webhooks feed updates
    services(app).taps.within_s = 60  # type: ignore[arg-type]  # pop-ups even on a slow machine (tests/test_taps.py)
    updates = []
    for chat in chats:
        message = bot_env.user(chat).last_keyboard_message()
        data = message["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        updates += [Update.de_json(callback_update(chat, data, message), app.bot) for _ in range(2)]  # type: ignore[attr-defined]
    await asyncio.gather(*(gate.handle(update) for update in updates))  # all at once
    popups = [c.get("text") for c in bot_env.api.sent(method="answerCallbackQuery")]
    assert len(popups) == 2 * len(chats)
    assert sum(1 for p in popups if p and "out of date" in p) == len(chats)  # exactly one stale tap per chat
    steps = stored(bot_env, "SELECT DISTINCT step, state FROM sessions")
    assert steps == [(1, "safety_cauda")]  # each chat took its Continue once


async def test_private_only_reply_for_group_callbacks_and_channel_posts_ignored(bot_env: BotEnv) -> None:
    user = bot_env.user(chat_id=-100500)
    group_message = {"message_id": 1, "date": 1, "chat": {"id": -100500, "type": "supergroup"}, "text": "hi"}
    await user.feed(callback_update(-100500, "m", group_message))
    assert bot_env.api.sent(method="answerCallbackQuery")
    channel = message_update(-100900, "news", kind="channel_post", chat_type="channel")
    before = len(bot_env.api.calls)
    await user.feed(channel)
    assert len(bot_env.api.calls) == before  # deliberately ignored


async def test_a_value_that_cannot_be_weighed_in_place_comes_in_a_new_message(bot_env: BotEnv) -> None:
    p = Patient.of(bot_env)
    await p.consent()
    await p.answer_intake(example("no_scan"))
    await p.tap("ok")  # the result
    await p.tap("ok")  # the comparison
    gone = dict(p.keyboard(), message_id=1)  # the patient deleted the message: Telegram cannot edit it
    sent = await p.tap("a_lot", gone)
    assert len(sent) == 1 and p.says(sent[0], "values.proven")  # the next value, sent instead of edited
    assert (await p.row())["progress"]["draft"] == ["avoid_surgery=a_lot"]
    sent = await p.tap("a_little")  # and the new message is weighed in place from there
    assert sent == [] and p.says(p.keyboard(), "values.low_cost")

"""Language through Telegram: the user's setting picks it, /language switches it, commands exist per language."""

from __future__ import annotations

import json

from tests.conftest import BotEnv


async def test_a_spanish_telegram_user_is_greeted_in_spanish(bot_env: BotEnv) -> None:
    user = bot_env.user(language_code="es")
    sent = await user.send("/start")
    assert "células madre" in sent[0]["text"]
    sent = await user.tap("Continuar")
    assert "salud" in sent[-1]["text"]


async def test_language_command_switches_and_keeps_the_place(bot_env: BotEnv) -> None:
    user = bot_env.user(language_code="en")
    await user.send("/start")
    await user.tap("Continue")
    sent = await user.send("/language")
    assert [b["text"] for b in user.buttons()] == ["English", "Español"]
    texts = bot_env.app.bot_data["engine"].content.texts  # type: ignore[attr-defined]
    sent = await user.tap("Español")
    assert sent[-1]["text"] == texts.get("es", "consent.ask")  # the same question, now in Spanish
    rows = await bot_env.store.execute_fetchall("SELECT language, state FROM sessions")
    assert rows == [("es", "consent")]
    sent = await user.send("/help")
    assert sent[0]["text"] == texts.get("es", "info.help")


async def test_commands_are_registered_for_every_language(bot_env: BotEnv) -> None:
    calls = bot_env.api.sent(method="setMyCommands")
    by_language = {call.get("language_code"): call["commands"] for call in calls}
    assert set(by_language) == {None, "es"}
    spanish = json.loads(by_language["es"]) if isinstance(by_language["es"], str) else by_language["es"]
    english = json.loads(by_language[None]) if isinstance(by_language[None], str) else by_language[None]
    assert [c["command"] for c in spanish] == [c["command"] for c in english]
    assert spanish != english  # the descriptions are translated

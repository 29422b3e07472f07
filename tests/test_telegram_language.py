"""Language through Telegram: the user's setting picks it, /language switches it, commands exist per language."""

from __future__ import annotations

import json

from bot.run import set_commands
from tests.conftest import BotEnv
from tests.db import stored
from tests.test_telegram_decision_aid import Patient, example, text_of


async def test_a_spanish_telegram_user_is_greeted_in_spanish(bot_env: BotEnv) -> None:
    p = Patient.of(bot_env, language="es")
    sent = await p.start()
    assert p.says(sent[0], "welcome") and "células madre" in sent[0]["text"]
    sent = await p.tap("ok")
    assert p.says(sent[-1], "safety.cauda")
    labels = [text_of(key, "es") for key in ("common.yes", "common.not_sure", "common.no")]
    assert [b["text"] for b in p.user.buttons()][:3] == labels


async def test_language_command_switches_and_keeps_the_place(bot_env: BotEnv) -> None:
    p = Patient.of(bot_env, language="en")
    await p.clear_the_screen()
    sent = await p.send("/language")
    assert [b["text"] for b in p.user.buttons()] == ["English", "Español"]
    sent = await p.user.tap("Español")
    assert sent[-1]["text"] == text_of("consent.ask", "es")  # the same question, now in Spanish
    assert stored(bot_env, "SELECT language, state FROM sessions") == [("es", "consent")]
    sent = await p.send("/help")
    assert sent[0]["text"] == text_of("info.help", "es")


async def test_the_language_switches_in_the_middle_of_a_weighted_question(bot_env: BotEnv) -> None:
    p = Patient.of(bot_env, language="en")
    await p.consent()
    await p.answer_intake(example("no_scan"))
    await p.tap("ok")
    await p.tap("ok")
    await p.tap("a_lot")  # the first value weighed: the second is asked
    await p.send("/language")
    sent = await p.user.tap("Español")
    p.language = "es"
    assert p.says(sent[-1], "values.ask") and p.says(sent[-1], "values.proven")  # still the second value
    await p.tap("a_little")
    assert (await p.row())["progress"]["draft"] == ["avoid_surgery=a_lot", "proven=a_little"]


async def test_commands_are_registered_for_every_language(bot_env: BotEnv) -> None:
    await set_commands(bot_env.app)  # type: ignore[arg-type]  # as polling and webhook mode do before serving
    calls = bot_env.api.sent(method="setMyCommands")
    by_language = {call.get("language_code"): call["commands"] for call in calls}
    assert set(by_language) == {None, "es"}
    spanish = json.loads(by_language["es"]) if isinstance(by_language["es"], str) else by_language["es"]
    english = json.loads(by_language[None]) if isinstance(by_language[None], str) else by_language[None]
    assert [c["command"] for c in spanish] == [c["command"] for c in english]
    assert spanish != english  # the descriptions are translated

"""Whole conversations through the real Application and the offline Bot API stand-in."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from bot.app import build_application, start_services, stop_services
from bot.plaintext import to_plain
from tests.conftest import BotEnv, make_settings
from tests.fake_bot_api import FakeBotApi
from tests.telegram_harness import OfflineRequest, TelegramUser


async def screen_ok(user: TelegramUser) -> None:
    """From /start through consent and the three safety questions, answering 'No'."""
    await user.send("/start")
    await user.tap("Continue")
    await user.tap("Yes, I agree")
    for _ in range(3):
        await user.tap("No")


async def stored_answers(env: BotEnv, chat_id: int = 4242) -> dict[str, object]:
    rows = await env.store.execute_fetchall("SELECT answers FROM sessions WHERE chat_id = ?", (chat_id,))
    return json.loads(rows[0][0]) if rows else {}


async def test_low_back_path_reaches_result_summary_pdf_and_menu(bot_env: BotEnv) -> None:
    user = bot_env.user()
    await screen_ok(user)
    assert "Where are your symptoms" in user.last_text()
    await user.tap("Low back")
    await user.tap("Leg pain on walking")
    assert "✅ Leg pain on walking, eased by sitting" in [b["text"] for b in user.buttons()]  # ticked in place
    await user.tap("Done")
    await user.tap("More than a year")
    await user.tap("6")
    await user.tap("Yes")  # had an MRI
    await user.tap("Bulging disc")
    await user.tap("Done")
    await user.tap("Moderate")
    await user.tap("Physiotherapy")
    await user.tap("Done")
    await user.tap("Good")
    await user.tap("Avoiding surgery")
    assert "✅ Avoiding surgery" in [b["text"] for b in user.buttons()]
    await user.tap("Done")
    sent = await user.send("walk to the shops")
    result = to_plain(sent[-1]["text"])
    assert "Your answers match the profile clinics describe" in result
    assert "MRI showed: Bulging disc" in result  # the answers behind the result are named
    assert "What you said matters to you:" in result
    assert "Avoiding surgery: waiting, exercise and physio need no operation" in result
    assert "Cost:" not in result  # only what was ticked is reflected
    assert "not a diagnosis" in result
    assert [b["text"] for b in user.buttons()] == ["Continue", "⬅️ Back"]

    await user.tap("Continue")
    assert "Where are you leaning now?" in user.last_text()
    await user.tap("Exercise or physio")
    assert "(1 of 4)" in user.last_text()
    for _ in range(4):
        await user.tap("Yes")
    assert "You seem ready to talk about your choice" in user.last_text()
    sent = await user.tap("Continue")
    summary = to_plain(sent[-1]["text"])
    assert "Your summary." in summary
    assert "Where it is: Low back and legs" in summary
    assert "Matters most: Avoiding surgery" in summary
    assert "Leaning towards: Exercise or physio" in summary
    assert "Your goal: walk to the shops" in summary
    assert "Your answers match the profile clinics describe" in summary
    assert "Topics that fit you" in summary and "All options side by side" in summary  # avoiding surgery
    assert [b["text"] for b in user.buttons()] == ["📄 Get it as a PDF", "Continue", "⬅️ Back"]

    answers_before_pdf = await stored_answers(bot_env)
    sent = await user.tap("Get it as a PDF")
    assert sent == []  # a file, no new message
    documents = bot_env.api.sent(chat_id=4242, method="sendDocument")
    assert len(documents) == 1
    assert "Your summary as a PDF" in documents[0]["caption"]
    assert len(bot_env.api.documents) == 1 and bot_env.api.documents[0].startswith(b"%PDF")
    assert await stored_answers(bot_env) == answers_before_pdf
    assert "Continue" in [b["text"] for b in user.buttons()]  # still on the summary

    sent = await user.tap("Continue")
    assert "Topics" in sent[-1]["text"]
    assert "The topics that fit your answers are at the top." in to_plain(sent[-1]["text"])
    assert await stored_answers(bot_env) == {
        "region": "low_back",
        "leg_symptoms": ["walking_pain"],
        "duration": "over_1_year",
        "pain": 6,
        "mri": "had_mri",
        "mri_findings": ["bulging_disc"],
        "mri_severity": "moderate",
        "treatments": ["physio"],
        "health": "good",
        "values": ["avoid_surgery"],
        "goal": "walk to the shops",
        "leaning": "exercise",
        "sure_sure": "yes",
        "sure_understand": "yes",
        "sure_values": "yes",
        "sure_support": "yes",
    }
    stages = await bot_env.store.execute_fetchall("SELECT stage FROM events WHERE chat_id = 4242 ORDER BY id")
    assert [s for (s,) in stages] == ["started", "consented", "screened", "completed"]


async def test_neck_path_asks_neck_questions_and_flags_cord_signs(bot_env: BotEnv) -> None:
    user = bot_env.user()
    await screen_ok(user)
    sent = await user.tap("Neck, arms or hands")
    assert "Clumsy hands" in str(sent[-1]["reply_markup"])
    await user.tap("Clumsy hands")
    await user.tap("Done")
    await user.tap("3 months to a year")
    await user.tap("4")
    await user.tap("No")  # no MRI
    await user.tap("None of these")
    await user.tap("Done")
    await user.tap("Good")
    await user.tap("A treatment proven")
    await user.tap("Done")
    sent = await user.tap("Skip")
    assert "See a spine specialist first" in sent[-1]["text"]
    assert "Proof:" in to_plain(sent[-1]["text"])
    assert "leg_symptoms" not in await stored_answers(bot_env)
    await user.tap("Continue")
    await user.tap("Not sure")  # leaning
    await user.tap("No")  # not sure of the choice
    for _ in range(3):
        await user.tap("Yes")
    low = user.last_text()
    assert "talk it through with a doctor, nurse or physio" in low
    sent = await user.tap("Continue")
    assert "Sure of my choice: No" in to_plain(sent[-1]["text"])


async def test_red_flag_stops_the_intake_with_emergency_advice(bot_env: BotEnv) -> None:
    user = bot_env.user()
    await user.send("/start")
    await user.tap("Continue")
    await user.tap("Yes, I agree")
    sent = await user.tap("Yes")
    text = sent[-1]["text"]
    assert "emergency department" in text and "999" in text and "911" in text
    assert [b["text"] for b in user.buttons()] == ["Start again"]
    sent = await user.send("I still want to know about stem cells")
    assert "emergency department" in sent[-1]["text"]  # still at the stop, nothing else asked
    stages = await bot_env.store.execute_fetchall("SELECT stage FROM events ORDER BY id")
    assert ("red_flag",) in stages


async def test_declined_consent_stores_no_health_answers(bot_env: BotEnv) -> None:
    user = bot_env.user()
    await user.send("/start")
    await user.tap("Continue")
    sent = await user.tap("No, just show me information")
    assert "won't ask about your health" in sent[-1]["text"]
    sent = await user.tap("Topics menu")
    assert "Topics" in sent[-1]["text"]
    await user.tap("What is spinal stenosis")
    rows = await bot_env.store.execute_fetchall("SELECT answers, consent, consent_at FROM sessions")
    assert rows == [("{}", 0, None)]


async def test_back_changes_an_answer_and_restart_starts_over(bot_env: BotEnv) -> None:
    user = bot_env.user()
    await screen_ok(user)
    await user.tap("Low back")
    sent = await user.send("/back")
    assert "Where are your symptoms" in sent[-1]["text"]
    await user.tap("Both")
    sent = await user.tap("Numb or tingling")
    await user.tap("Done")
    assert "Clumsy hands" in str(user.buttons())  # "both" asks the neck questions next
    assert (await stored_answers(bot_env))["region"] == "both"
    sent = await user.send("/restart")
    assert "This guide helps you think" in sent[-1]["text"]
    assert await stored_answers(bot_env) == {}


async def test_stale_and_double_taps_change_nothing(bot_env: BotEnv) -> None:
    user = bot_env.user()
    await screen_ok(user)
    region_message = copy.deepcopy(user.last_keyboard_message())  # as the user still sees it
    await user.tap("Low back", region_message)
    answers = await stored_answers(bot_env)
    sent = await user.tap("Neck", region_message)  # the old keyboard, tapped again
    popups = bot_env.api.sent(method="answerCallbackQuery")
    assert popups[-1]["text"].startswith("That button is out of date")
    assert "Which of these do you have" in sent[-1]["text"]
    assert await stored_answers(bot_env) == answers
    sent = await user.tap_data("c999:neck", region_message)  # forged step
    assert await stored_answers(bot_env) == answers
    await user.tap_data("junk-data", region_message)
    await user.tap_data("s:no_such_section", region_message)
    assert await stored_answers(bot_env) == answers
    taps = 5 + 1 + 4  # screening, region, then four stale or forged taps
    assert len(bot_env.api.sent(method="answerCallbackQuery")) == taps  # every tap answered


async def test_answers_survive_an_application_restart(tmp_path: Path) -> None:
    api = FakeBotApi()
    settings = make_settings(tmp_path)
    first = build_application(settings, request=OfflineRequest(api), rate_limit=False)
    async with first:
        await start_services(first)
        user = TelegramUser(first, api)
        await screen_ok(user)
        await user.tap("Low back")
        await stop_services(first)
    second = build_application(settings, request=OfflineRequest(api), rate_limit=False)
    async with second:
        await start_services(second)
        user = TelegramUser(second, api)
        sent = await user.send("/start")
        assert "Welcome back" in sent[0]["text"]
        assert "Which of these do you have" in sent[-1]["text"]
        await user.tap("Weak legs")
        sent = await user.tap("Done")
        assert "How long" in sent[-1]["text"]
        await stop_services(second)


async def test_delete_asks_then_erases_every_row_of_the_chat(bot_env: BotEnv) -> None:
    user = bot_env.user()
    other = bot_env.user(chat_id=777)
    await screen_ok(user)
    await user.tap("Low back")
    await user.tap("Leg pain on walking")
    await user.tap("Done")
    await other.send("/start")
    await user.send("/delete")
    sent = await user.tap("No, keep")
    assert await stored_answers(bot_env) == {"region": "low_back", "leg_symptoms": ["walking_pain"]}
    await user.send("/delete")
    sent = await user.tap("Yes, erase")
    assert "erased" in sent[0]["text"]
    for table in ("sessions", "events"):
        rows = await bot_env.store.execute_fetchall(f"SELECT COUNT(*) FROM {table} WHERE chat_id = 4242")
        assert rows == [(0,)]
    assert await bot_env.store.execute_fetchall("SELECT COUNT(*) FROM sessions WHERE chat_id = 777") == [(1,)]
    database = bot_env.settings.database_path
    files = [database, Path(f"{database}-wal")]
    raw = b"".join(path.read_bytes() for path in files if path.exists())
    assert b"walking_pain" not in raw  # not even in free pages or the write-ahead log


async def test_unsupported_messages_get_a_friendly_answer_and_the_question(bot_env: BotEnv) -> None:
    from tests.telegram_harness import CONTACT, DOCUMENT, LOCATION, PHOTO, STICKER, VOICE

    user = bot_env.user()
    await user.send("/start")
    for extra in (STICKER, PHOTO, VOICE, DOCUMENT, LOCATION, CONTACT):
        sent = await user.send_other(extra)
        assert sent[0]["text"].startswith("Sorry, I can only read button taps")
        assert "This guide helps you think" in sent[-1]["text"]
    sent = await user.send_other({}, kind="edited_message")
    assert "edited messages" in sent[0]["text"]
    sent = await user.send("/nonsense")
    assert "How to use this guide" in sent[0]["text"]
    sent = await user.send("x" * 5000)
    assert "Please use the buttons" in sent[0]["text"]


async def test_group_chats_are_told_the_bot_is_private_only(bot_env: BotEnv) -> None:
    from tests.telegram_harness import message_update

    user = bot_env.user(chat_id=-100123)
    sent = await user.feed(message_update(-100123, "/start", chat_type="group"))
    assert "private chats" in sent[0]["text"]
    assert await bot_env.store.execute_fetchall("SELECT COUNT(*) FROM sessions") == [(0,)]


async def test_commands_are_registered_at_start(bot_env: BotEnv) -> None:
    calls = bot_env.api.sent(method="setMyCommands")
    commands = json.loads(calls[0]["commands"]) if isinstance(calls[0]["commands"], str) else calls[0]["commands"]
    assert [c["command"] for c in commands] == [
        "start",
        "menu",
        "back",
        "restart",
        "language",
        "privacy",
        "delete",
        "help",
    ]

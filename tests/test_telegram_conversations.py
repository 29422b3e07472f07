"""Whole conversations through the real Application and the offline Bot API stand-in."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from bot.plaintext import to_plain
from bot.run import set_commands
from tests.conftest import BotEnv, make_settings
from tests.db import stored
from tests.fake_bot_api import FakeBotApi
from tests.test_telegram_decision_aid import (
    OPTIONS,
    SUMMARY_BUTTONS,
    Patient,
    example,
    running_bot,
    text_of,
    visible,
)


def said(key: str, answer_key: str, language: str = "en") -> str:
    """An answer as the result and the summary name it: 'Question: answer'."""
    return f"{text_of(key, language)}: {text_of(answer_key, language)}"


async def test_low_back_path_reaches_result_summary_pdf_and_menu(bot_env: BotEnv) -> None:
    p = Patient.of(bot_env)
    await p.consent()
    await p.tap("low_back")
    await p.tap("toggle:walking_pain")
    ticked = f"{text_of('common.tick_on')} {text_of('leg_symptoms.walking_pain')}"
    assert ticked in [b["text"] for b in p.user.buttons()]  # ticked in place
    await p.tap("done")
    await p.tap("over_1_year")
    await p.tap("6")
    await p.tap("had_mri")
    await p.tap("toggle:bulging_disc")
    await p.tap("done")
    await p.tap("moderate")
    await p.tap("toggle:physio")
    await p.tap("done")
    await p.tap("good")
    sent = await p.send("walk to the shops")
    result = sent[-1]
    assert p.says(result, "outcome.may_be_discussed.title") and p.says(result, "reason.clinic_profile")
    assert said("mri_findings.short", "mri_findings.bulging_disc") in result["text"]  # the answers behind it
    assert p.says(result, "result.disclaimer")  # not a diagnosis
    assert p.says(result, "result.disclosure")  # who is behind the guide
    assert p.names() == ["ok", "back"]

    await p.tap("ok")  # the result
    await p.tap("ok")  # the comparison
    sent = await p.weigh({"avoid_surgery": "a_lot", "low_cost": "a_little"})
    reflection = sent[0]  # what matters a lot to them, and how the options compare on it
    assert p.says(reflection, "weighted.reflect_heading") and p.says(reflection, "values.reflect.avoid_surgery")
    assert not p.says(reflection, "values.reflect.low_cost")  # only what matters a lot is reflected
    await p.knowledge_check()
    await p.tap("exercise")
    await p.sure(("yes",) * 4)
    sent = await p.tap("ok")
    summary = sent[-1]
    assert p.says(summary, "summary.intro")
    for line in (
        said("region.short", "region.low_back"),
        said("leaning.short", "leaning.exercise"),
        f"{text_of('goal.short')}: walk to the shops",
        said("values.short", "values.avoid_surgery").replace("<b>", "").replace("</b>", ""),
        to_plain(text_of("values.reflect.avoid_surgery")),
        text_of("outcome.may_be_discussed.title"),
        text_of("summary.topics"),
        text_of("section.exercise.title"),  # the topic of their leaning fits them
    ):
        assert line in visible(summary), line
    assert p.names() == SUMMARY_BUTTONS  # on the last of the pictures that follow the summary

    answers_before_pdf = await p.answers()
    sent = await p.tap("pdf")
    assert sent == []  # a file, no new message
    documents = bot_env.api.sent(chat_id=4242, method="sendDocument")
    assert len(documents) == 1 and p.says(documents[0]["caption"], "summary.pdf_caption")
    assert len(bot_env.api.documents) == 1 and bot_env.api.documents[0].startswith(b"%PDF")
    assert await p.answers() == answers_before_pdf
    assert await p.state() == "summary" and "ok" in p.names()  # still on the summary

    sent = await p.tap("ok")
    assert p.says(sent[-1], "follow_up.offer")  # check-ins later, a separate opt-in
    sent = await p.tap("no")
    assert p.says(sent[-1], "own_doctor")
    sent = await p.tap("ok")
    assert p.says(sent[-1], "menu.intro") and p.says(sent[-1], "menu.for_you")
    assert p.names()[:2] == ["comparison", "section:exercise"]  # the comparison, then the topics that fit
    assert await p.answers() == {
        "region": "low_back",
        "leg_symptoms": ["walking_pain"],
        "duration": "over_1_year",
        "pain": 6,
        "mri": "had_mri",
        "mri_findings": ["bulging_disc"],
        "mri_severity": "moderate",
        "treatments": ["physio"],
        "health": "good",
        "goal": "walk to the shops",
        "values": {
            "avoid_surgery": "a_lot",
            "proven": "not_at_all",
            "low_cost": "a_little",
            "quick_return": "not_at_all",
            "few_visits": "not_at_all",
            "stay_near_home": "not_at_all",
        },
        "leaning": "exercise",
        "sure": 4,
    }
    stages = stored(bot_env, "SELECT stage FROM events WHERE chat_id = 4242 ORDER BY id")
    assert [s for (s,) in stages] == ["started", "consented", "completed"]  # 'screened' is counted without the chat


async def test_neck_path_asks_neck_questions_and_flags_cord_signs(bot_env: BotEnv) -> None:
    p = Patient.of(bot_env)
    await p.consent()
    sent = await p.tap("neck")
    assert p.says(sent[-1], "neck_symptoms.ask") and "toggle:hand_clumsy" in p.names()
    sent = await p.answer_intake(example("neck_clumsy_hands"))
    assert p.says(sent[-1], "outcome.see_specialist_first.title") and p.says(sent[-1], "reason.cord_signs")
    assert said("neck_symptoms.short", "neck_symptoms.hand_clumsy") in sent[-1]["text"]
    assert "leg_symptoms" not in await p.answers()
    sent = await p.to_summary(leaning="unsure", sure=("no", "yes", "yes", "yes"))
    assert p.says(p.texts()[-2], "sure.low")  # talk it through with a doctor, nurse or physio
    assert f"{text_of('sure.short')}: 3/4" in visible(sent[-1])
    assert said("leaning.short", "common.not_sure") in visible(sent[-1])


async def test_declined_consent_stores_no_health_answers_and_the_topics_stay_open(bot_env: BotEnv) -> None:
    p = Patient.of(bot_env)
    await p.clear_the_screen()
    sent = await p.tap("decline")
    assert p.says(sent[-1], "info_only")
    sent = await p.tap("ok")  # the topics
    assert p.says(sent[-1], "menu.intro") and not p.says(sent[-1], "menu.for_you")
    assert p.names()[0] == "comparison" and p.names()[-1] == "restart"  # the questions are over
    sent = await p.tap("comparison")
    assert p.says(sent[-1], "comparison.heading")
    for number, option in enumerate(OPTIONS, start=1):
        assert f"{number}. {text_of(f'option.{option}.name')}" in sent[-1]["text"]
    assert p.names() == ["menu", "restart"]
    await p.tap("menu")
    sent = await p.tap("menu:general")
    assert f"<b>{text_of('menu.group.general')}</b>" in sent[-1]["text"]
    sent = await p.tap("section:what_is_stenosis")
    assert p.says(sent[-1], "section.what_is_stenosis.body") and p.says(sent[-1], "section.sources")
    assert '<a href="https://' in sent[-1]["text"]  # sources are links
    assert stored(bot_env, "SELECT answers, consent, consent_at FROM sessions") == [("{}", 0, None)]


async def test_back_changes_an_answer_and_restart_starts_over(bot_env: BotEnv) -> None:
    p = Patient.of(bot_env)
    await p.consent()
    await p.tap("low_back")
    sent = await p.send("/back")
    assert p.says(sent[-1], "region.ask")
    await p.tap("both")
    await p.tap("toggle:numbness")
    sent = await p.tap("done")
    assert p.says(sent[-1], "neck_symptoms.ask")  # "both" asks the neck questions next
    assert (await p.answers())["region"] == "both"
    sent = await p.send("/restart")
    assert p.says(sent[-1], "welcome")
    assert await p.answers() == {}
    await p.tap("ok")
    await p.tap("flag_no")
    sent = await p.tap("back")  # within the safety questions, Back works
    assert p.says(sent[-1], "safety.cauda")
    await p.send("/restart")
    await p.clear_the_screen()
    sent = await p.send("/back")  # but leaving them is one way
    assert p.says(sent[0], "notice.no_way_back") and p.says(sent[-1], "consent.ask")


async def test_stale_and_double_taps_change_nothing(bot_env: BotEnv) -> None:
    p = Patient.of(bot_env)
    await p.consent()
    region_message = copy.deepcopy(p.keyboard())  # as the user still sees it
    await p.tap("low_back", region_message)
    answers = await p.answers()
    sent = await p.tap("neck", region_message)  # the old keyboard, tapped again
    popups = bot_env.api.sent(method="answerCallbackQuery")
    assert popups[-1]["text"] == text_of("notice.stale")
    assert p.says(sent[-1], "leg_symptoms.ask")
    assert await p.answers() == answers
    await p.user.tap_data("c999:neck", region_message)  # forged step
    assert await p.answers() == answers
    await p.user.tap_data("junk-data", region_message)
    await p.user.tap_data("s:no_such_section", region_message)
    assert await p.answers() == answers
    taps = 1 + 4 + 1 + 1 + 4  # Continue, the safety questions, consent, region, then four stale or forged taps
    assert len(bot_env.api.sent(method="answerCallbackQuery")) == taps  # every tap answered


async def test_answers_survive_an_application_restart(tmp_path: Path) -> None:
    api = FakeBotApi()  # the same chat on Telegram's side, before and after the restart
    settings = make_settings(tmp_path)
    async with running_bot(settings, api=api) as first:
        p = Patient.of(first)
        await p.consent()
        await p.tap("low_back")
    async with running_bot(settings, api=api) as second:
        p = Patient.of(second)
        sent = await p.start()
        assert p.says(sent[0], "notice.welcome_back")
        assert p.says(sent[-1], "leg_symptoms.ask")
        await p.tap("toggle:weakness")
        sent = await p.tap("done")
        assert p.says(sent[-1], "duration.ask")


async def test_delete_asks_then_erases_every_row_of_the_chat(bot_env: BotEnv) -> None:
    p = Patient.of(bot_env)
    other = Patient.of(bot_env, chat_id=777)
    await p.consent()
    await p.tap("low_back")
    await p.tap("toggle:walking_pain")
    await p.tap("done")
    await other.start()
    sent = await p.send("/delete")
    assert p.says(sent[-1], "bot.delete_confirm")
    await p.user.tap(text_of("bot.delete_no"))
    assert await p.answers() == {"region": "low_back", "leg_symptoms": ["walking_pain"]}
    await p.send("/delete")
    sent = await p.user.tap(text_of("bot.delete_yes"))
    assert p.says(sent[0], "bot.deleted")
    for table in ("sessions", "events", "handoffs", "jobs", "inbox"):
        assert stored(bot_env, f"SELECT COUNT(*) FROM {table} WHERE chat_id = 4242") == [(0,)], table
    assert stored(bot_env, "SELECT COUNT(*) FROM sessions WHERE chat_id = 777") == [(1,)]
    database = bot_env.settings.database_path
    files = [database, Path(f"{database}-wal")]
    raw = b"".join(path.read_bytes() for path in files if path.exists())
    assert b"walking_pain" not in raw  # not even in free pages or the write-ahead log


async def test_unsupported_messages_get_a_friendly_answer_and_the_question(bot_env: BotEnv) -> None:
    from tests.telegram_harness import CONTACT, DOCUMENT, LOCATION, PHOTO, STICKER, VOICE

    p = Patient.of(bot_env)
    await p.start()
    for extra in (STICKER, PHOTO, VOICE, DOCUMENT, LOCATION, CONTACT):
        sent = await p.user.send_other(extra)
        assert p.says(sent[0], "bot.unsupported")
        assert p.says(sent[-1], "welcome")
    sent = await p.user.send_other({}, kind="edited_message")
    assert p.says(sent[0], "bot.edited")
    sent = await p.send("/nonsense")
    assert p.says(sent[0], "info.help")
    sent = await p.send("x" * 5000)
    assert p.says(sent[0], "notice.use_buttons")


async def test_typing_at_the_safety_questions_keeps_nothing_and_asks_again(bot_env: BotEnv) -> None:
    p = Patient.of(bot_env)
    await p.start()
    await p.tap("ok")
    sent = await p.send("I have had numbness for years")
    assert p.says(sent[-1], "safety.cauda")  # the question again
    database = bot_env.settings.database_path
    raw = b"".join(path.read_bytes() for path in (database, Path(f"{database}-wal")) if path.exists())
    assert b"numbness for years" not in raw


async def test_group_chats_are_told_the_bot_is_private_only(bot_env: BotEnv) -> None:
    from tests.telegram_harness import message_update

    user = bot_env.user(chat_id=-100123)
    sent = await user.feed(message_update(-100123, "/start", chat_type="group"))
    assert sent[0]["text"] == text_of("bot.private_only")
    assert stored(bot_env, "SELECT COUNT(*) FROM sessions") == [(0,)]


async def test_commands_are_registered_at_start(bot_env: BotEnv) -> None:
    await set_commands(bot_env.app)  # type: ignore[arg-type]  # as polling and webhook mode do before serving
    calls = bot_env.api.sent(method="setMyCommands")
    commands = json.loads(calls[0]["commands"]) if isinstance(calls[0]["commands"], str) else calls[0]["commands"]
    assert [c["command"] for c in commands] == [
        "start",
        "menu",
        "back",
        "restart",
        "language",
        "privacy",
        "reminders",
        "delete",
        "help",
    ]

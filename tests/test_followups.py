"""Follow-up check-ins: a separate opt-in at the end of the summary, durable jobs at FOLLOW_UP_AFTER, sent once
by one worker under the chat's lock, late ones sent or dropped, a burst under Telegram's flood limit, /reminders
and /delete stop them, a blocked chat gets nothing more, the check-ins themselves (safety first, decided, SURE,
pain compared, regret, then the topics menu), a check-in that falls due mid-conversation, and the maintainers'
commands (migrate-store, purge, stats) on check-ins."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import bot.delivery
from bot.app import build_application, services, start_services, stop_services
from bot.clock import FakeClock
from bot.conversations import FOLLOW_UP
from bot.settings import ConfigError, Settings, load_settings
from bot.storage import ChatRecord, Store, utc_now
from bot.storage.postgres import PostgresStore
from flows.engine import Engine
from flows.limits import plain_text
from tests.conftest import ROOT, BotEnv, make_settings
from tests.db import rows
from tests.fake_bot_api import FakeBotApi
from tests.telegram_harness import OfflineRequest, TelegramUser

PATIENT = 7300
ANSWERS: dict[str, Any] = {
    "region": "low_back",
    "leg_symptoms": ["walking_pain"],
    "duration": "over_1_year",
    "pain": 6,
    "mri": "had_mri",
    "mri_findings": ["bulging_disc"],
    "mri_severity": "mild",
    "treatments": ["physio"],
    "health": "good",
    "leaning": "exercise",
    "sure": 3,
}


def engine_of(env: BotEnv) -> Engine:
    return services(env.app).engine  # type: ignore[arg-type]


def texts(env: BotEnv, language: str, key: str) -> str:
    return plain_text(engine_of(env).content.texts.get(language, key))


def said(messages: list[dict[str, Any]], env: BotEnv, key: str, language: str = "en") -> bool:
    first_line = texts(env, language, key).splitlines()[0]
    return any(first_line in plain_text(str(m.get("text") or m.get("caption") or "")) for m in messages)


async def at_the_offer(env: BotEnv, chat_id: int = PATIENT, language: str = "en") -> TelegramUser:
    """A consented patient who has just seen their summary: the offer of check-ins is their current question."""
    session = (
        engine_of(env)
        .new_session(language)
        .model_copy(update={"state": "follow_up_offer", "consent": True, "answers": dict(ANSWERS), "step": 70})
    )
    await env.store.save(ChatRecord(chat_id, session), now=env.clock.now())
    user = TelegramUser(env.app, env.api, chat_id, language)  # type: ignore[arg-type]
    await user.send("/start")  # "welcome back" and the offer, with its buttons
    return user


async def follow_up_jobs(store: Store, chat_id: int = PATIENT) -> list[Any]:
    return [job for job in await store.jobs(chat_id) if job.kind == FOLLOW_UP]


async def run_due(env: BotEnv) -> int:
    return await services(env.app).jobs.run_due()  # type: ignore[arg-type]


def sent_to(env: BotEnv, chat_id: int = PATIENT) -> list[dict[str, Any]]:
    return [
        c.params
        for c in env.api.calls
        if c.method in ("sendMessage", "sendPhoto") and int(c.params["chat_id"]) == chat_id
    ]


def check_ins_sent(env: BotEnv, chat_id: int = PATIENT, key: str = "checkin.first_safety") -> int:
    """How many times the chat was sent the opening question of a check-in."""
    return sum(said([message], env, key) for message in sent_to(env, chat_id))


async def opt_in(env: BotEnv, chat_id: int = PATIENT) -> TelegramUser:
    """A patient at the offer who says yes to the check-ins."""
    user = await at_the_offer(env, chat_id)
    await user.tap(texts(env, "en", "follow_up.yes"))
    return user


@asynccontextmanager
async def running(
    settings: Settings, clock: FakeClock, store: Store | None = None, api: FakeBotApi | None = None
) -> AsyncIterator[BotEnv]:
    """A started bot on `settings` (or on `store`), its own offline Bot API (or `api`) and `clock`."""
    api = api or FakeBotApi()
    app = build_application(settings, request=OfflineRequest(api), rate_limit=False, store=store, clock=clock)
    async with app:
        await start_services(app)
        try:
            yield BotEnv(app, api, settings, services(app).store, clock)
        finally:
            await stop_services(app)


def run_cli(*args: str, database: Path) -> subprocess.CompletedProcess[str]:
    """`python -m bot <args>` as a maintainer runs it, on the SQLite file `database`."""
    env = {"DATABASE_PATH": str(database), "PATH": "/usr/bin:/bin", "RETENTION_DAYS": "180"}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60, check=False
    )


# --- the setting --------------------------------------------------------------------------------------------


def test_follow_up_after_takes_delays_in_seconds_to_days(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOLLOW_UP_AFTER", "8s")
    assert load_settings().follow_up_after == (timedelta(seconds=8),)
    monkeypatch.setenv("FOLLOW_UP_AFTER", "14d, 90d")
    assert load_settings().follow_up_after == (timedelta(days=14), timedelta(days=90))
    monkeypatch.setenv("FOLLOW_UP_AFTER", "2 weeks")
    with pytest.raises(ConfigError, match="FOLLOW_UP_AFTER"):
        load_settings()


def test_the_default_is_two_weeks_and_three_months(tmp_path: Path) -> None:
    assert make_settings(tmp_path).follow_up_after == (timedelta(days=14), timedelta(days=90))


# --- the offer ----------------------------------------------------------------------------------------------


async def test_agreeing_schedules_one_check_in_per_delay(bot_env: BotEnv) -> None:
    user = await at_the_offer(bot_env)
    offer = user.last_keyboard_message()
    assert said([offer], bot_env, "follow_up.offer")
    assert [b["text"] for b in user.buttons(offer)][:2] == [
        texts(bot_env, "en", "follow_up.no"),
        texts(bot_env, "en", "follow_up.yes"),
    ]
    await user.tap(texts(bot_env, "en", "follow_up.yes"))
    jobs = await follow_up_jobs(bot_env.store)
    now = bot_env.clock.now()
    assert [(job.due_at - now, job.payload["number"]) for job in jobs] == [
        (timedelta(days=14), 0),
        (timedelta(days=90), 1),
    ]
    stages = {(row.stage, row.count) for row in await bot_env.store.funnel_rows()}
    assert ("opted_in", 1) in stages


async def test_declining_schedules_nothing_and_nothing_is_ever_sent(bot_env: BotEnv) -> None:
    user = await at_the_offer(bot_env)
    await user.tap(texts(bot_env, "en", "follow_up.no"))
    assert await follow_up_jobs(bot_env.store) == []
    before = len(sent_to(bot_env))
    bot_env.clock.advance(timedelta(days=100))
    await run_due(bot_env)
    assert len(sent_to(bot_env)) == before


async def test_a_patient_who_stopped_at_a_red_flag_is_never_offered_check_ins(bot_env: BotEnv) -> None:
    user = bot_env.user(PATIENT + 1)
    await user.send("/start")
    await user.tap("Continue")
    await user.tap("Yes")  # an emergency sign: the guide stops
    assert not said(user.messages(), bot_env, "follow_up.offer")
    assert await follow_up_jobs(bot_env.store, PATIENT + 1) == []


# --- sending ------------------------------------------------------------------------------------------------


async def test_a_due_check_in_arrives_without_the_patient_writing(bot_env: BotEnv) -> None:
    user = await at_the_offer(bot_env)
    await user.tap(texts(bot_env, "en", "follow_up.yes"))
    old_keyboard = user.last_keyboard_message()
    bot_env.clock.advance(timedelta(days=13, hours=23))
    before = len(sent_to(bot_env))
    await run_due(bot_env)
    assert sent_to(bot_env)[before:] == []  # not yet
    bot_env.clock.advance(timedelta(hours=1))
    await run_due(bot_env)
    new = sent_to(bot_env)[before:]
    assert said(new, bot_env, "checkin.first_safety") and len(new) == 1
    record = await bot_env.store.load(PATIENT)
    assert record is not None and record.session.state == "checkin_first"
    stale = await user.tap_data(user.buttons(old_keyboard)[0]["callback_data"], old_keyboard)
    assert said(stale, bot_env, "checkin.first_safety")  # an older keyboard is out of date: the check-in again
    assert [job.payload["number"] for job in await follow_up_jobs(bot_env.store)] == [1]


async def test_a_check_in_is_in_the_patients_language(bot_env: BotEnv) -> None:
    user = await at_the_offer(bot_env, language="es")
    await user.tap(texts(bot_env, "es", "follow_up.yes"))
    bot_env.clock.advance(timedelta(days=14))
    await run_due(bot_env)
    assert said(sent_to(bot_env)[-1:], bot_env, "checkin.first_safety", "es")


@pytest.mark.parametrize(("late", "sent"), [(timedelta(days=3), True), (timedelta(days=8), False)])
async def test_a_late_check_in_is_sent_within_a_week_else_dropped(
    bot_env: BotEnv, late: timedelta, sent: bool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.followups")
    user = await at_the_offer(bot_env)
    await user.tap(texts(bot_env, "en", "follow_up.yes"))
    bot_env.clock.advance(timedelta(days=14) + late)  # the bot was down when it fell due
    before = len(sent_to(bot_env))
    await run_due(bot_env)
    new = sent_to(bot_env)[before:]
    if sent:
        assert said(new, bot_env, "reminders.late") and said(new, bot_env, "checkin.first_safety")
    else:
        assert new == [] and "dropped" in caplog.text
    assert [job.payload["number"] for job in await follow_up_jobs(bot_env.store)] == [1]


async def test_a_blocked_chat_gets_nothing_more(bot_env: BotEnv) -> None:
    user = await at_the_offer(bot_env)
    await user.tap(texts(bot_env, "en", "follow_up.yes"))
    bot_env.clock.advance(timedelta(days=14))
    bot_env.api.inject("403", "sendMessage", chat_id=PATIENT)
    await run_due(bot_env)
    assert await follow_up_jobs(bot_env.store) == []
    record = await bot_env.store.load(PATIENT)
    assert record is not None and record.active is False


async def test_reminders_shows_the_dates_and_cancels_them(bot_env: BotEnv) -> None:
    user = await at_the_offer(bot_env)
    await user.tap(texts(bot_env, "en", "follow_up.yes"))
    shown = await user.send("/reminders")
    dates = [(bot_env.clock.now() + timedelta(days=d)).date().isoformat() for d in (14, 90)]
    assert all(date in shown[-1]["text"] for date in dates)
    await user.tap(texts(bot_env, "en", "reminders.cancel"))
    assert await follow_up_jobs(bot_env.store) == []
    assert said(user.messages()[-1:], bot_env, "reminders.cancelled")
    assert said(await user.send("/reminders"), bot_env, "reminders.none")
    before = len(sent_to(bot_env))
    bot_env.clock.advance(timedelta(days=100))
    await run_due(bot_env)
    assert len(sent_to(bot_env)) == before


@pytest.mark.parametrize("change", ["back to the offer and no", "start again"])
async def test_reminders_lists_only_check_ins_that_will_come(bot_env: BotEnv, change: str) -> None:
    user = await opt_in(bot_env)
    if change == "start again":
        await user.send("/restart")
    else:
        await user.tap(texts(bot_env, "en", "common.back"))  # from "talk to your own doctor" back to the offer
        await user.tap(texts(bot_env, "en", "follow_up.no"))  # they changed their mind
    listed = said(await user.send("/reminders"), bot_env, "reminders.planned")
    bot_env.clock.advance(timedelta(days=14))
    before = len(sent_to(bot_env))
    await run_due(bot_env)
    arrived = said(sent_to(bot_env)[before:], bot_env, "checkin.first_safety")
    assert listed == arrived, f"/reminders listed a check-in: {listed}; it arrived: {arrived}"


async def test_delete_cancels_the_check_ins(bot_env: BotEnv) -> None:
    user = await at_the_offer(bot_env)
    await user.tap(texts(bot_env, "en", "follow_up.yes"))
    assert len(await follow_up_jobs(bot_env.store)) == 2
    await user.send("/delete")
    await user.tap("Yes, erase everything")
    assert [job for job in await bot_env.store.jobs() if job.chat_id == PATIENT] == []  # no job of theirs is left
    assert await bot_env.store.load(PATIENT) is None  # and their session row is gone
    assert rows(bot_env.settings.database_path, "SELECT COUNT(*) FROM sessions WHERE chat_id = ?", (PATIENT,)) == [(0,)]
    before = len(sent_to(bot_env))
    bot_env.clock.advance(timedelta(days=100))
    await run_due(bot_env)
    assert len(sent_to(bot_env)) == before  # and nothing is ever sent to them


@pytest.fixture
async def second_start(tmp_path: Path, bot_env: BotEnv) -> AsyncIterator[Any]:
    """Start another bot process on the same database (a restart)."""

    async def start() -> BotEnv:
        app = build_application(
            bot_env.settings, request=OfflineRequest(bot_env.api), rate_limit=False, clock=bot_env.clock
        )
        await app.initialize()
        await start_services(app)
        started.append(app)
        return BotEnv(app, bot_env.api, bot_env.settings, services(app).store, bot_env.clock)

    started: list[Any] = []
    yield start
    for app in started:
        await stop_services(app)
        await app.shutdown()


async def test_a_restart_between_opting_in_and_the_due_time_loses_nothing(bot_env: BotEnv, second_start: Any) -> None:
    user = await at_the_offer(bot_env)
    await user.tap(texts(bot_env, "en", "follow_up.yes"))
    await stop_services(bot_env.app)  # the process stops (its store closes) ...
    restarted = await second_start()  # ... and a new one starts on the same file
    restarted.clock.advance(timedelta(days=14))
    before = len(sent_to(restarted))
    await services(restarted.app).jobs.run_due()  # type: ignore[arg-type]
    assert said(sent_to(restarted)[before:], restarted, "checkin.first_safety")


async def test_a_due_check_in_is_sent_once_by_two_workers(tmp_path: Path, postgres_url: str) -> None:
    api = FakeBotApi()
    clock = FakeClock()
    settings = make_settings(tmp_path, database_url=postgres_url)
    workers = [
        build_application(
            settings, request=OfflineRequest(api), rate_limit=False, store=PostgresStore(postgres_url), clock=clock
        )
        for _ in range(2)
    ]
    for app in workers:
        await app.initialize()
        await start_services(app)
    try:
        env = BotEnv(workers[0], api, settings, services(workers[0]).store, clock)
        user = await at_the_offer(env)
        await user.tap(texts(env, "en", "follow_up.yes"))
        clock.advance(timedelta(days=14))
        await asyncio.gather(*(services(app).jobs.run_due() for app in workers))
        assert sum(said([m], env, "checkin.first_safety") for m in sent_to(env)) == 1
        assert [job.payload["number"] for job in await follow_up_jobs(env.store)] == [1]
    finally:
        for app in workers:
            await stop_services(app)
            await app.shutdown()


async def test_a_burst_of_due_check_ins_under_the_flood_limit_reaches_everyone_once(
    bot_env: BotEnv, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    waited: list[float] = []

    async def wait(seconds: float) -> None:  # the flood wait is noted, and takes no time
        waited.append(seconds)

    monkeypatch.setattr(bot.delivery, "sleep", wait)
    patients = list(range(8000, 8030))
    for chat_id in patients:
        await opt_in(bot_env, chat_id)
    bot_env.clock.advance(timedelta(days=14))  # all 30 first check-ins fall due together
    waited_out, refused = patients[:10], patients[10:13]
    for chat_id in waited_out:  # Telegram says "retry after 3 s" once: waited out, then sent
        bot_env.api.inject("429", "sendMessage", retry_after=3, chat_id=chat_id)
    for chat_id in refused:  # ... and for these, on every try the job makes
        for _ in range(bot.delivery.MAX_ATTEMPTS):
            bot_env.api.inject("429", "sendMessage", retry_after=5, chat_id=chat_id)
    await run_due(bot_env)
    assert waited == [3.0] * 10 + [5.0] * 3 * (bot.delivery.MAX_ATTEMPTS - 1)
    assert {chat_id: check_ins_sent(bot_env, chat_id) for chat_id in patients} == {
        chat_id: 0 if chat_id in refused else 1 for chat_id in patients
    }
    for chat_id in refused:  # not lost: kept, to be tried again when Telegram said
        [first, _second] = await follow_up_jobs(bot_env.store, chat_id)
        assert first.payload["number"] == 0 and first.attempts == 1
        assert first.due_at == bot_env.clock.now() + timedelta(seconds=5)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == [], "a flood limit is no error"
    assert await run_due(bot_env) == 0  # not again at once
    bot_env.clock.advance(timedelta(seconds=5))
    assert await run_due(bot_env) == len(refused)
    assert {chat_id: check_ins_sent(bot_env, chat_id) for chat_id in patients} == dict.fromkeys(patients, 1)
    for chat_id in patients:  # the second check-in is still to come for each, and nothing else
        assert [job.payload["number"] for job in await follow_up_jobs(bot_env.store, chat_id)] == [1]
        record = await bot_env.store.load(chat_id)
        assert record is not None and record.session.state == "checkin_first"
    assert bot_env.api.faults == []


# --- the check-ins ------------------------------------------------------------------------------------------


async def check_in(env: BotEnv, number: int) -> TelegramUser:
    """A patient who agreed, at the first check-in (or at the second: the first fell due while the bot was down
    for longer than a week, so it was dropped)."""
    user = await at_the_offer(env)
    await user.tap(texts(env, "en", "follow_up.yes"))
    env.clock.advance(timedelta(days=14 if number == 0 else 90))
    await run_due(env)
    return user


async def test_the_two_week_check_in_asks_decided_which_option_and_sure(bot_env: BotEnv) -> None:
    user = await check_in(bot_env, 0)
    await user.tap("No")  # no new warning sign
    await user.tap(texts(bot_env, "en", "checkin.decided_yes"))
    await user.tap(texts(bot_env, "en", "leaning.surgery"))
    for _ in range(4):
        await user.tap("Yes")
    assert said(user.messages()[-1:], bot_env, "checkin.first_end")
    await user.tap(texts(bot_env, "en", "checkin.see_comparison"))
    assert said(user.messages(), bot_env, "comparison.intro")
    shown = await user.tap(texts(bot_env, "en", "common.menu"))  # the comparison's button: on to the topics
    assert said(shown, bot_env, "menu.intro")
    record = await bot_env.store.load(PATIENT)
    assert record is not None and record.session.state == "menu"
    answers = record.session.answers
    assert (answers["checkin_decided"], answers["checkin_decided_option"], answers["checkin_sure"]) == (
        "decided",
        "surgery",
        4,
    )
    assert answers["leaning"] == "exercise"  # the first answers stay as they were
    stages = {row.stage for row in await bot_env.store.funnel_rows()}
    assert {"first_check_in", "decided"} <= stages


async def test_the_three_month_check_in_compares_pain_and_asks_about_regret(bot_env: BotEnv) -> None:
    user = await check_in(bot_env, 1)
    assert said(user.messages()[-1:], bot_env, "checkin.second_safety")
    await user.tap("No")
    await user.tap(texts(bot_env, "en", "leaning.exercise"))
    shown = await user.tap("3")  # pain now 3 of 10; at first it was 6
    compared = plain_text(shown[-1]["text"])
    assert "6 out of 10" in compared and "3 out of 10" in compared
    await user.tap("Continue")
    await user.tap("Yes")  # the same choice again
    assert said(user.messages(), bot_env, "checkin.second_end")
    assert texts(bot_env, "en", "common.menu") in [b["text"] for b in user.buttons()]
    shown = await user.tap(texts(bot_env, "en", "common.menu"))  # after the updated summary: the topics
    assert said(shown, bot_env, "menu.intro")
    record = await bot_env.store.load(PATIENT)
    assert record is not None and record.session.state == "menu"
    assert {k: record.session.answers[k] for k in ("checkin_chosen", "checkin_pain", "checkin_regret")} == {
        "checkin_chosen": "exercise",
        "checkin_pain": 3,
        "checkin_regret": "yes",
    }
    stages = {row.stage for row in await bot_env.store.funnel_rows()}
    assert {"second_check_in", "same_choice"} <= stages


async def test_the_two_week_check_in_ends_at_the_topics_menu(bot_env: BotEnv) -> None:
    user = await check_in(bot_env, 0)
    await user.tap("No")
    await user.tap(texts(bot_env, "en", "checkin.still_thinking"))
    for _ in range(4):
        await user.tap("Yes")
    end = user.last_keyboard_message()
    assert said([end], bot_env, "checkin.first_end")
    assert texts(bot_env, "en", "common.menu") in [b["text"] for b in user.buttons(end)]
    shown = await user.tap(texts(bot_env, "en", "common.menu"), end)
    assert said(shown, bot_env, "menu.intro")
    record = await bot_env.store.load(PATIENT)
    assert record is not None and record.session.state == "menu"
    assert [job.payload["number"] for job in await follow_up_jobs(bot_env.store)] == [1]  # the second one to come


async def reading_a_topic(env: BotEnv, user: TelegramUser) -> str:
    """From "talk it through with your own doctor" to the topics, and into one: its page is on screen."""
    await user.tap(texts(env, "en", "summary.to_topics"))
    shown = await user.tap(texts(env, "en", "section.exercise.title"))
    assert said(shown, env, "section.exercise.title")
    return texts(env, "en", "common.restart")  # the page's "Start again" button (it carries the step)


async def back_at_the_offer(env: BotEnv, user: TelegramUser) -> str:
    """Back from "talk it through with your own doctor" to the offer of check-ins, already agreed to."""
    shown = await user.tap(texts(env, "en", "common.back"))
    assert said(shown, env, "follow_up.offer")
    return texts(env, "en", "follow_up.no")  # tapped on the stale offer, it must not turn the check-ins off


@pytest.mark.parametrize("get_there", [reading_a_topic, back_at_the_offer])
async def test_a_check_in_that_falls_due_mid_conversation_becomes_the_current_question(
    bot_env: BotEnv, get_there: Any
) -> None:
    user = await opt_in(bot_env)
    stale_label = await get_there(bot_env, user)
    on_screen = dict(user.last_keyboard_message())
    before = await bot_env.store.load(PATIENT)
    assert before is not None and before.session.state != "checkin_first"
    bot_env.clock.advance(timedelta(days=14))
    await run_due(bot_env)
    assert said(sent_to(bot_env)[-1:], bot_env, "checkin.first_safety")
    shown = await user.tap(stale_label, on_screen)  # a button of what was on screen before the check-in came
    assert said(shown, bot_env, "checkin.first_safety")  # the check-in question again ...
    popups = [c.params.get("text") for c in bot_env.api.calls if c.method == "answerCallbackQuery"]
    assert "out of date" in str(popups[-1])
    record = await bot_env.store.load(PATIENT)  # ... and nothing of that tap applied
    assert record is not None and record.session.state == "checkin_first"
    assert record.session.answers == before.session.answers and record.session.consent is True
    assert record.session.follow_ups is True
    assert [job.payload["number"] for job in await follow_up_jobs(bot_env.store)] == [1]
    await user.tap("No")  # the check-in, answered
    await user.tap(texts(bot_env, "en", "checkin.still_thinking"))
    for _ in range(4):
        await user.tap("Yes")
    shown = await user.tap(texts(bot_env, "en", "common.menu"))
    assert said(shown, bot_env, "menu.intro")
    record = await bot_env.store.load(PATIENT)
    assert record is not None and record.session.state == "menu"
    assert record.session.answers["checkin_decided"] == "thinking"


async def test_the_topics_menu_button_of_an_older_page_keeps_the_check_in_as_the_question(bot_env: BotEnv) -> None:
    user = await opt_in(bot_env)
    await reading_a_topic(bot_env, user)
    page = dict(user.last_keyboard_message())
    bot_env.clock.advance(timedelta(days=14))
    await run_due(bot_env)
    shown = await user.tap(texts(bot_env, "en", "common.menu"), page)  # the menu opens from anywhere ...
    assert said(shown, bot_env, "menu.intro")
    assert texts(bot_env, "en", "common.resume") in [b["text"] for b in user.buttons()]
    record = await bot_env.store.load(PATIENT)
    assert record is not None and record.session.state == "checkin_first"  # ... but the question is the check-in
    shown = await user.tap(texts(bot_env, "en", "common.resume"))
    assert said(shown, bot_env, "checkin.first_safety")


# The opening question of each check-in, with what follows it: the questions of that check-in.
OPENING = [(0, "checkin.first_safety", "checkin.decided"), (1, "checkin.second_safety", "checkin.chosen")]


@pytest.mark.parametrize(("number", "opening", "next_question"), OPENING)
async def test_not_sure_at_a_check_in_advises_a_doctor_today_then_the_check_in_goes_on(
    bot_env: BotEnv, number: int, opening: str, next_question: str
) -> None:
    user = await check_in(bot_env, number)
    assert said(user.messages()[-1:], bot_env, opening)
    shown = await user.tap(texts(bot_env, "en", "common.not_sure"))
    assert said(shown, bot_env, "checkin.urgent") and not said(shown, bot_env, "emergency.checkin")
    assert [b["text"] for b in user.buttons()] == [texts(bot_env, "en", "common.continue")]
    record = await bot_env.store.load(PATIENT)
    assert record is not None and record.session.state == f"checkin_{('first', 'second')[number]}_urgent"
    shown = await user.tap(texts(bot_env, "en", "common.continue"))  # after the advice, the check-in goes on
    assert said(shown, bot_env, next_question)
    assert await bot_env.store.handoffs(PATIENT) == []  # nothing is sent to a clinic
    assert [job.kind for job in await bot_env.store.jobs(PATIENT)] == [FOLLOW_UP] * (1 - number)
    urgent = rows(bot_env.settings.database_path, "SELECT chat_id FROM events WHERE stage = 'urgent'")
    assert urgent == [(None,)]  # counted, but never tied to the patient


@pytest.mark.parametrize(("number", "opening", "next_question"), OPENING)
async def test_yes_at_a_check_in_stops_it_at_the_emergency_advice(
    bot_env: BotEnv, number: int, opening: str, next_question: str
) -> None:
    user = await check_in(bot_env, number)
    question = dict(user.last_keyboard_message())  # as the patient still sees it in an older copy of the chat
    assert said([question], bot_env, opening)
    shown = await user.tap("Yes", question)
    assert said(shown, bot_env, "emergency.checkin")
    record = await bot_env.store.load(PATIENT)
    assert record is not None and record.session.state == "checkin_emergency"
    assert [b["text"] for b in user.buttons()] == [texts(bot_env, "en", "common.restart")]  # no way on
    assert not any(said([m], bot_env, next_question) for m in sent_to(bot_env))
    again = await user.tap("No", question)  # the check-in's keyboard no longer answers it
    assert said(again, bot_env, "emergency.checkin") and not said(again, bot_env, next_question)
    record = await bot_env.store.load(PATIENT)
    assert record is not None and record.session.state == "checkin_emergency"
    assert not any(key.startswith("checkin_") for key in record.session.answers)
    assert ("red_flag", 1) in {(row.stage, row.count) for row in await bot_env.store.funnel_rows()}
    assert await bot_env.store.jobs(PATIENT) == [] and not record.session.follow_ups  # no later check-in


async def test_answers_of_check_ins_stay_out_of_the_log_and_go_into_export(
    bot_env: BotEnv, caplog: pytest.LogCaptureFixture
) -> None:
    user = await check_in(bot_env, 0)
    await user.tap("No")
    await user.tap(texts(bot_env, "en", "checkin.still_thinking"))
    exported = await bot_env.store.export(PATIENT)
    assert exported["sessions"][0]["answers"]["checkin_decided"] == "thinking"
    assert json.dumps(exported, default=str).count(FOLLOW_UP) >= 1  # the second check-in's job is in the export
    assert "thinking" not in caplog.text


# --- the maintainers' commands ------------------------------------------------------------------------------


def job_rows(jobs: list[Any]) -> list[tuple[Any, ...]]:
    return [(job.kind, job.key, job.chat_id, job.payload, job.due_at) for job in jobs]


async def test_migrate_store_takes_the_planned_check_ins_to_postgresql(bot_env: BotEnv, postgres_url: str) -> None:
    patients = (PATIENT, PATIENT + 1)
    for chat_id in patients:
        await opt_in(bot_env, chat_id)
    planned = job_rows([job for job in await bot_env.store.jobs() if job.kind == FOLLOW_UP])
    assert len(planned) == 4
    done = run_cli("migrate-store", "--to", postgres_url, database=bot_env.settings.database_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "jobs: 5 in SQLite, 5 in PostgreSQL" in done.stdout  # the four check-ins and the retention job
    clock = bot_env.clock
    async with running(bot_env.settings, clock, store=PostgresStore(postgres_url)) as moved:
        assert job_rows([job for job in await moved.store.jobs() if job.kind == FOLLOW_UP]) == planned
        clock.advance(timedelta(days=14))
        await run_due(moved)  # the first check-ins, sent from PostgreSQL
        assert [check_ins_sent(moved, chat_id) for chat_id in patients] == [1, 1]
        record = await moved.store.load(PATIENT)
        assert record is not None and record.session.state == "checkin_first"
        user = TelegramUser(moved.app, moved.api, PATIENT)  # type: ignore[arg-type]
        shown = await user.tap("No")
        assert said(shown, moved, "checkin.decided")
        for chat_id in patients:
            assert [job.payload["number"] for job in await follow_up_jobs(moved.store, chat_id)] == [1]
    assert [check_ins_sent(bot_env, chat_id) for chat_id in patients] == [0, 0]  # not also from the old file


async def test_purge_keeps_a_chat_with_a_check_in_to_come_and_erases_one_whose_check_ins_are_over(
    tmp_path: Path,
) -> None:
    today = utc_now()  # `purge` measures idleness against the computer's clock
    clock = FakeClock(today - timedelta(days=700))
    settings = make_settings(tmp_path, follow_up_after=(timedelta(days=14), timedelta(days=400)))
    done_with, to_come = PATIENT, PATIENT + 1
    async with running(settings, clock) as env:
        await opt_in(env, done_with)  # 700 days ago
        clock.advance(timedelta(days=14))
        await run_due(env)
        clock.advance(timedelta(days=386))  # 300 days ago: its second and last check-in
        await run_due(env)
        assert check_ins_sent(env, done_with, "checkin.second_safety") == 1
        assert await follow_up_jobs(env.store, done_with) == []
        await opt_in(env, to_come)  # 300 days ago; its second check-in is 100 days from now
        clock.advance(timedelta(days=14))
        await run_due(env)
        [planned] = job_rows(await follow_up_jobs(env.store, to_come))
        database = settings.database_path

        done = run_cli("purge", database=database)
        assert done.returncode == 0 and "erased 1 chat(s)" in done.stdout, done.stdout + done.stderr
        assert rows(database, "SELECT chat_id FROM sessions") == [(to_come,)]  # both idle for over 180 days
        assert rows(database, "SELECT COUNT(*) FROM jobs WHERE chat_id = ?", (done_with,)) == [(0,)]
        assert rows(database, "SELECT COUNT(*) FROM events WHERE chat_id = ?", (done_with,)) == [(0,)]
        assert job_rows(await follow_up_jobs(env.store, to_come)) == [planned]  # kept as it was

        clock.advance(planned[-1] - clock.now())  # its time comes: the check-in is sent
        await run_due(env)
        assert check_ins_sent(env, to_come, "checkin.second_safety") == 1
        assert await follow_up_jobs(env.store, to_come) == []


def stats_cells(printed: str) -> dict[str, list[str]]:
    """The funnel table `stats` prints, as the cells of each stage that are not 0 (one per clinic and week)."""
    lines = printed.splitlines()
    header = next(line for line in lines if line.startswith("clinic"))
    columns = [(m.group(), m.start()) for m in re.finditer(r"\S+", header)]
    cells: dict[str, list[str]] = {name: [] for name, _ in columns[2:]}
    for line in lines[lines.index(header) + 1 :]:
        if not line.strip() or line.startswith("content bugs"):
            break
        for index, (name, start) in enumerate(columns[2:], 2):
            end = columns[index + 1][1] if index + 1 < len(columns) else None
            cell = line[start:end].strip()
            if cell != "0":
                cells[name].append(cell)
    return cells


async def test_stats_count_the_check_ins_masked_under_5_and_show_no_answer(bot_env: BotEnv) -> None:
    patients = list(range(910001, 910007))  # six agree to check-ins
    users = [await opt_in(bot_env, chat_id) for chat_id in patients]
    bot_env.clock.advance(timedelta(days=14))
    await run_due(bot_env)
    for index, user in enumerate(users):  # all six answer the first check-in; five had decided
        await user.tap("No")
        if index < 5:
            await user.tap(texts(bot_env, "en", "checkin.decided_yes"))
            await user.tap(texts(bot_env, "en", "leaning.surgery"))
        else:
            await user.tap(texts(bot_env, "en", "checkin.still_thinking"))
        for _ in range(4):
            await user.tap("Yes")
    bot_env.clock.advance(timedelta(days=76))
    await run_due(bot_env)
    for index, user in enumerate(users):  # all six answer the second; four would make the same choice
        await user.tap("No")
        await user.tap(texts(bot_env, "en", "leaning.exercise"))
        await user.tap("3")
        await user.tap(texts(bot_env, "en", "common.continue"))
        await user.tap("Yes" if index < 4 else "No")
    assert all(said(user.messages(), bot_env, "checkin.second_end") for user in users)

    done = run_cli("stats", database=bot_env.settings.database_path)
    assert done.returncode == 0, done.stdout + done.stderr
    printed = done.stdout
    cells = stats_cells(printed)
    assert {stage: cells[stage] for stage in ("opted_in", "first_check_in", "decided", "second_check_in")} == {
        "opted_in": ["6"],
        "first_check_in": ["6"],
        "decided": ["5"],
        "second_check_in": ["6"],
    }
    assert cells["same_choice"] == ["<5"]  # four: masked
    for value in ("surgery", "exercise", "thinking", "Surgery", "Exercise", "still", "pain"):
        assert value not in printed  # no answer leaves the database
    assert not any(str(chat_id) in printed for chat_id in patients)

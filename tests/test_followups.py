"""Follow-up check-ins: a separate opt-in at the end of the summary, durable jobs at FOLLOW_UP_AFTER, sent once
by one worker under the chat's lock, late ones sent or dropped, /reminders and /delete stop them, a blocked chat
gets nothing more, and the check-ins themselves (safety first, decided, SURE, pain compared, regret)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.app import build_application, services, start_services, stop_services
from bot.clock import FakeClock
from bot.conversations import FOLLOW_UP
from bot.settings import ConfigError, load_settings
from bot.storage import ChatRecord, Store
from bot.storage.postgres import PostgresStore
from flows.engine import Engine
from flows.limits import plain_text
from tests.conftest import BotEnv, make_settings
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


async def test_delete_cancels_the_check_ins(bot_env: BotEnv) -> None:
    user = await at_the_offer(bot_env)
    await user.tap(texts(bot_env, "en", "follow_up.yes"))
    await user.send("/delete")
    await user.tap("Yes, erase everything")
    assert await bot_env.store.jobs() == [job for job in await bot_env.store.jobs() if job.chat_id != PATIENT]
    assert await follow_up_jobs(bot_env.store) == []


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
    record = await bot_env.store.load(PATIENT)
    assert record is not None
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
    record = await bot_env.store.load(PATIENT)
    assert record is not None
    assert {k: record.session.answers[k] for k in ("checkin_chosen", "checkin_pain", "checkin_regret")} == {
        "checkin_chosen": "exercise",
        "checkin_pain": 3,
        "checkin_regret": "yes",
    }
    stages = {row.stage for row in await bot_env.store.funnel_rows()}
    assert {"second_check_in", "same_choice"} <= stages


@pytest.mark.parametrize(("answer", "key"), [("Yes", "emergency.checkin"), ("Not sure", "checkin.urgent")])
async def test_a_check_in_starts_with_the_emergency_signs(bot_env: BotEnv, answer: str, key: str) -> None:
    user = await check_in(bot_env, 0)
    await user.tap(answer)
    assert said(user.messages(), bot_env, key)


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

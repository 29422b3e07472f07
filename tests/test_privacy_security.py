"""Privacy and safety of stored data: exactly-once updates, a locked or broken database, backups,
retention, erasure, export, logs without private data, and the webhook's gate."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app import services
from bot.clock import FakeClock
from bot.logging_setup import setup_logging
from bot.run import UpdateGate
from bot.storage import CachedStore, SqliteStore, StorageError, utc_now
from bot.webhook import MAX_BODY_BYTES, create_asgi_app
from tests.conftest import ROOT, TOKEN, BotEnv, make_settings
from tests.db import stored
from tests.telegram_harness import callback_update, message_update
from tests.test_telegram_decision_aid import Patient, running_bot, text_of


async def screened(env: BotEnv, chat_id: int = 4242) -> Patient:
    """A patient who cleared the safety questions and consented: the first intake question is next."""
    p = Patient.of(env, chat_id)
    await p.consent()
    return p


async def answers(env: BotEnv, chat_id: int = 4242) -> dict[str, object]:
    """The health answers stored in the database file for one chat."""
    rows = stored(env, "SELECT answers FROM sessions WHERE chat_id = ?", (chat_id,))
    return json.loads(rows[0][0]) if rows else {}


def run_cli(*args: str, database: Path) -> subprocess.CompletedProcess[str]:
    env = {"DATABASE_PATH": str(database), "PATH": "/usr/bin:/bin", "RETENTION_DAYS": "180"}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60
    )


async def test_a_redelivered_update_is_applied_once(bot_env: BotEnv) -> None:
    user = (await screened(bot_env)).user
    message = user.last_keyboard_message()
    raw = callback_update(4242, message["reply_markup"]["inline_keyboard"][1][0]["callback_data"], message)  # neck
    await user.feed(raw)
    step_after_first = stored(bot_env, "SELECT step FROM sessions")
    sent = await user.feed(json.loads(json.dumps(raw)))  # Telegram sends the same update again after a crash
    assert await answers(bot_env) == {"region": "neck"}
    assert stored(bot_env, "SELECT step FROM sessions") == step_after_first
    assert Patient.of(bot_env).says(sent[-1], "neck_symptoms.ask")  # they see where they are, nothing stale
    popups = [c.get("text") for c in bot_env.api.sent(method="answerCallbackQuery")]
    assert "out of date" not in str(popups[-1])


@pytest.fixture
async def impatient_env(tmp_path: Path) -> AsyncIterator[BotEnv]:
    """A running bot whose SQLite store (as the bot runs it: alone on the file, with its cache) waits only 50 ms
    for a lock before each of its tries."""
    settings = make_settings(tmp_path)
    store = CachedStore(SqliteStore(settings.database_path, busy_timeout_ms=50, single_process=True))
    async with running_bot(settings, store=store) as env:
        yield env


async def test_a_locked_database_is_waited_for_then_reported_kindly(impatient_env: BotEnv) -> None:
    bot_env = impatient_env
    p = await screened(bot_env)
    other = sqlite3.connect(bot_env.settings.database_path, timeout=0, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # a second process holds the write lock
    try:
        sent = await p.tap("low_back")  # tried again a few times, then the patient is told kindly
        assert [p.says(m, "bot.busy") for m in sent] == [True]
        assert await answers(bot_env) == {}
    finally:
        other.execute("ROLLBACK")
    sent = await p.tap("low_back")  # the same, still current button works afterwards
    assert await answers(bot_env) == {"region": "low_back"}
    other.execute("BEGIN IMMEDIATE")
    asyncio.get_running_loop().call_later(0.1, other.execute, "COMMIT")  # released while the update waits
    await p.tap("toggle:weakness")
    other.close()
    ticked = f"{text_of('common.tick_on')} {text_of('leg_symptoms.weakness')}"
    assert ticked in [b["text"] for b in p.user.buttons()]  # ticked once the lock was released


async def test_a_damaged_database_file_is_named_with_what_to_do(tmp_path: Path) -> None:
    database = tmp_path / "bot.sqlite3"
    database.write_bytes(b"this is not a database" * 100)
    store = SqliteStore(database)
    with pytest.raises(StorageError) as raised:
        await store.open()
    assert str(database) in str(raised.value) and "backup" in str(raised.value)
    result = run_cli("purge", database=database)
    assert result.returncode == 2 and str(database) in result.stderr and "Traceback" not in result.stderr


async def test_backup_makes_a_consistent_copy_while_the_bot_runs(bot_env: BotEnv, tmp_path: Path) -> None:
    p = await screened(bot_env)
    await p.tap("low_back")
    copy = tmp_path / "backups" / "copy.sqlite3"
    result = run_cli("backup", str(copy), database=bot_env.settings.database_path)
    assert result.returncode == 0, result.stderr
    restored = sqlite3.connect(copy)
    assert json.loads(restored.execute("SELECT answers FROM sessions").fetchone()[0]) == {"region": "low_back"}
    restored.close()


async def test_retention_erases_chats_idle_for_longer_than_retention_days_only(bot_env: BotEnv) -> None:
    jobs, clock = services(bot_env.app).jobs, bot_env.clock  # type: ignore[arg-type]
    [retention] = await bot_env.store.jobs()
    assert retention.kind == "retention" and retention.due_at == clock.now() + timedelta(minutes=1)
    await screened(bot_env, 1)
    clock.advance(timedelta(days=100))
    await screened(bot_env, 2)
    clock.advance(timedelta(days=80))  # chat 1 idle for 180 days: not more than RETENTION_DAYS yet
    assert bot_env.settings.retention_days == 180
    assert await jobs.run_due() == 1
    assert stored(bot_env, "SELECT chat_id FROM sessions ORDER BY chat_id") == [(1,), (2,)]
    clock.advance(timedelta(days=1))  # the next daily run: chat 1 is now idle for 181 days, chat 2 for 81
    assert await jobs.run_due() == 1
    assert stored(bot_env, "SELECT chat_id FROM sessions") == [(2,)]
    assert stored(bot_env, "SELECT COUNT(*) FROM events WHERE chat_id = 1") == [(0,)]
    [retention] = await bot_env.store.jobs()
    assert retention.kind == "retention" and retention.due_at == clock.now() + timedelta(days=1)  # daily
    assert await jobs.run_due() == 0


async def test_the_purge_command_erases_idle_chats_while_the_bot_runs(tmp_path: Path) -> None:
    clock = FakeClock(utc_now() - timedelta(days=181))
    async with running_bot(make_settings(tmp_path), clock=clock) as env:
        await screened(env, 1)  # 181 days ago
        clock.advance(timedelta(days=181))
        await screened(env, 2)
        result = run_cli("purge", database=env.settings.database_path)
        assert result.returncode == 0 and "erased 1 chat" in result.stdout, result.stderr
        assert stored(env, "SELECT chat_id FROM sessions") == [(2,)]
        assert stored(env, "SELECT COUNT(*) FROM events WHERE chat_id = 1") == [(0,)]
        sent = await Patient.of(env, 1).start()  # the erased patient starts again from the beginning
        assert [Patient.of(env, 1).says(m, "welcome") for m in sent] == [True]


async def test_export_gives_a_chat_its_data(bot_env: BotEnv) -> None:
    p = await screened(bot_env)
    await p.tap("low_back")
    result = run_cli("export", "4242", database=bot_env.settings.database_path)
    data = json.loads(result.stdout)
    assert data["sessions"][0]["answers"] == {"region": "low_back"}
    assert data["sessions"][0]["consent_at"] and data["sessions"][0]["consent_version"]  # what, when, which text
    assert [e["stage"] for e in data["events"]] == ["started", "consented"]  # 'screened' has no chat id


async def test_delete_leaves_no_answer_or_typed_text_in_the_file(bot_env: BotEnv) -> None:
    p = await screened(bot_env)
    await p.tap("low_back")
    await p.tap("toggle:weakness")
    await p.tap("done")
    await p.send("/menu")
    await p.send("/delete")
    await p.user.tap(text_of("bot.delete_yes"))
    await bot_env.store.close()
    database = bot_env.settings.database_path
    raw = b"".join(p.read_bytes() for p in (database, Path(f"{database}-wal")) if p.exists())
    for secret in (b"weakness", b"low_back"):
        assert secret not in raw
    await bot_env.store.open()
    assert stored(bot_env, "SELECT COUNT(*) FROM events WHERE chat_id IS NOT NULL") == [(0,)]
    assert stored(bot_env, "SELECT COUNT(*) FROM sessions") == [(0,)]


async def test_debug_logs_hold_no_token_no_answers_and_no_typed_text(bot_env: BotEnv) -> None:
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    setup_logging("DEBUG", [TOKEN])
    keep = Keep()
    keep.addFilter(root.handlers[0].filters[0])
    root.addHandler(keep)
    try:
        p = await screened(bot_env)
        await p.answer_intake(
            {
                "region": "low_back",
                "leg_symptoms": ["weakness"],
                "duration": "over_1_year",
                "pain": 7,
                "mri": "had_mri",
                "mri_findings": ["bulging_disc"],
                "mri_severity": "severe",
                "treatments": ["physio"],
                "health": "good",
            },
            goal="dance at my granddaughter's wedding",
        )
        await p.to_summary(leaning="stem_cells", weights={"avoid_surgery": "a_lot"})
        bot_env.api.inject("500", "sendMessage")
        await p.tap("ok")
        urgent = Patient.of(bot_env, chat_id=4243)  # the safety questions' outcomes stay out of the logs too
        await urgent.start()
        for answer in ("ok", "flag_no", "flag_no", "flag_no", "flag_yes", "agree"):
            await urgent.tap(answer)
        emergency = Patient.of(bot_env, chat_id=4244)
        await emergency.start()
        await emergency.tap("ok")
        await emergency.tap("flag_yes")
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
    text = "\n".join(records)
    assert records, "nothing was logged at DEBUG"
    for private in (
        TOKEN,
        "weakness",
        "Weak legs",
        "granddaughter",
        "physio",
        "over_1_year",
        "avoid_surgery",
        "leg_symptoms",
        "mri_severity",
        "stem_cells",
        "urgent",
        "emergency",
        "red_flag",
    ):  # state names tell the path, so they stay out too
        assert private not in text, private


async def call_asgi(
    app: object, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> int:
    """Send one HTTP request straight into an ASGI app; returns the status code."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
        + [(b"content-length", str(len(body)).encode())],
    }
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    status: list[int] = []

    async def receive() -> dict[str, object]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, object]) -> None:
        if message["type"] == "http.response.start":
            status.append(int(message["status"]))  # type: ignore[call-overload]

    await app(scope, receive, send)  # type: ignore[operator]
    return status[0]


async def test_the_webhook_gate_rejects_and_processes_nothing(bot_env: BotEnv) -> None:
    app = bot_env.app
    asgi = create_asgi_app(app, "s3cret", "/hook", UpdateGate(app, bot_env.store))  # type: ignore[arg-type]
    update = json.dumps(message_update(4242, "/start")).encode()
    right = {"X-Telegram-Bot-Api-Secret-Token": "s3cret"}
    assert await call_asgi(asgi, "GET", "/healthz") == 200
    assert await call_asgi(asgi, "POST", "/hook", update) == 403
    assert await call_asgi(asgi, "POST", "/hook", update, {"X-Telegram-Bot-Api-Secret-Token": "nope"}) == 403
    assert await call_asgi(asgi, "POST", "/hook", b"{not json", right) == 400
    assert await call_asgi(asgi, "POST", "/hook", b"[1, 2]", right) == 400
    huge = b'{"update_id": 1, "x": "' + b"a" * MAX_BODY_BYTES + b'"}'
    assert await call_asgi(asgi, "POST", "/hook", huge, right) == 413
    assert bot_env.api.sent(4242) == [] and await bot_env.store.load(4242) is None  # nothing was processed
    p = Patient.of(bot_env)
    assert await call_asgi(asgi, "POST", "/hook", update, right) == 200  # answered once it was handled
    assert [p.says(m, "welcome") for m in bot_env.api.sent(4242)] == [True]
    first = await bot_env.store.load(4242)
    assert await call_asgi(asgi, "POST", "/hook", update, right) == 200  # Telegram redelivered it
    again = await bot_env.store.load(4242)
    assert first is not None and again is not None
    assert again.session == first.session and again.recent_updates == first.recent_updates  # not applied again
    assert [p.says(m, "welcome") for m in bot_env.api.sent(4242)] == [True, True]  # the current question again


async def test_update_ids_that_restart_lower_are_still_applied(bot_env: BotEnv) -> None:
    user = (await screened(bot_env)).user
    message = user.last_keyboard_message()
    raw = callback_update(4242, message["reply_markup"]["inline_keyboard"][0][0]["callback_data"], message)
    raw["update_id"] = 1  # Telegram picks new ids at random after a week without updates
    await user.feed(raw)
    assert await answers(bot_env) == {"region": "low_back"}

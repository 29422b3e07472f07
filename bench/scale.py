"""Start-up and memory with many stored sessions: our SQLite table against PicklePersistence.

Each function runs in its own child process (see bench.child). The database is filled once with a real
session row (a patient walked by the real bot to the 'leaning' question) and its stage events (those kept
without the chat id too), cloned with sqlite3 executemany, and grown from one size to the next; the pickle
file is rebuilt for each size, with the same answers as the database's rows (checked on a sample).
"""

from __future__ import annotations

import json
import pickle
import random
import sqlite3
import time
from pathlib import Path
from typing import Any

from bench import baselines
from bench.cases import bot_settings
from bench.driver import BenchError, ErrorCounter, Walker, drive
from bench.fake_api import FastBotApi, Keyboard
from bench.stats import peak_rss_mb, rss_mb, summarize
from bench.walk import GOAL, LEANING, LEANING_OPTION, TO_LEANING
from bot.storage.base import compact_json

FIRST_STORED = 100_000_001  # chat ids of the pre-filled sessions: FIRST_STORED + 0 .. n - 1
TEMPLATE_CHAT = 1
CHUNK = 50_000
ANSWER_SAMPLE = 200  # rows whose answers are compared between the database and the pickle


def stored_ids(indexes: list[int]) -> list[int]:
    return [FIRST_STORED + i for i in indexes]


def _vary(answers: dict[str, Any], i: int) -> dict[str, Any]:
    """The template's answers with a different pain score and goal per patient."""
    varied = dict(answers)
    if "pain" in varied:
        varied["pain"] = i % 11
    if "goal" in varied:
        varied["goal"] = f"{GOAL} {i % 1000}"
    return varied


async def _make_template(database: Path) -> None:
    """Create the database with the bot's own migrations and walk one patient to the leaning question."""
    from bot.app import build_application, start_services, stop_services

    api = FastBotApi()
    app = build_application(bot_settings(database), request=api, rate_limit=False)
    errors = ErrorCounter()
    app.add_error_handler(errors)
    async with app:
        await start_services(app)
        try:
            await drive(app, api, [Walker(TEMPLATE_CHAT, TO_LEANING)])
        finally:
            await stop_services(app)
    errors.check()


def _file_bytes(db: sqlite3.Connection, database: Path) -> int:
    """The database file's size once the write-ahead log is written back and truncated (the -wal file empty)."""
    busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    wal = Path(f"{database}-wal")
    if busy or (wal.exists() and wal.stat().st_size):
        raise BenchError(f"the WAL of {database} was not truncated (busy={busy})")
    return database.stat().st_size


def _bytes_by_table(db: sqlite3.Connection) -> dict[str, int]:
    """Bytes per table and index (SQLite's dbstat), {} when this SQLite lacks it."""
    try:
        rows = db.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC").fetchall()
    except sqlite3.OperationalError:
        return {}
    return {name: int(size) for name, size in rows}


async def prefill_sqlite(params: dict[str, Any]) -> dict[str, Any]:
    """Grow the database from `start` to `stop` stored sessions (created, with the template, at start 0).

    The template's events are the first `template_events` rows of the events table (all of them right after
    the template was walked): those with its chat id are cloned with each row's chat id, those kept without
    a chat id (stages that reveal the safety screen's outcome) are cloned without one, as the bot stores them.
    """
    database = Path(params["database"])
    start, stop = params["start"], params["stop"]
    began = time.perf_counter()
    if start == 0:
        await _make_template(database)
    with sqlite3.connect(database) as db:
        db.execute("PRAGMA synchronous=OFF")
        cursor = db.execute("SELECT * FROM sessions WHERE chat_id = ?", (TEMPLATE_CHAT,))
        columns = [d[0] for d in cursor.description]
        template = dict(zip(columns, cursor.fetchone(), strict=True))
        template_events = params.get("template_events")
        if template_events is None:  # only the template's walk is in the table
            template_events = db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        cursor = db.execute("SELECT * FROM events ORDER BY id LIMIT ?", (template_events,))
        event_columns = [d[0] for d in cursor.description if d[0] != "id"]
        events = [dict(zip([d[0] for d in cursor.description], row, strict=True)) for row in cursor.fetchall()]
        if any(e["chat_id"] not in (TEMPLATE_CHAT, None) for e in events):
            raise BenchError("the template's events are not the first rows of the events table")
        answers = json.loads(template["answers"])
        if not answers:
            raise BenchError("the template session has no answers")

        def session_rows(first: int, last: int) -> Any:
            for i in range(first, last):
                row = dict(template, chat_id=FIRST_STORED + i)
                row["answers"] = compact_json(_vary(answers, i))  # as the bot writes it
                yield tuple(row[c] for c in columns)

        def event_rows(first: int, last: int) -> Any:
            for i in range(first, last):
                for event in events:
                    yield tuple(
                        FIRST_STORED + i if c == "chat_id" and event[c] is not None else event[c] for c in event_columns
                    )

        insert = f"INSERT INTO sessions ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        insert_event = f"INSERT INTO events ({', '.join(event_columns)}) VALUES ({', '.join('?' * len(event_columns))})"
        for first in range(start, stop, CHUNK):
            last = min(stop, first + CHUNK)
            db.executemany(insert, session_rows(first, last))
            db.executemany(insert_event, event_rows(first, last))
            db.commit()
        file_bytes = _file_bytes(db, database)
        count = db.execute("SELECT COUNT(*) FROM sessions WHERE chat_id >= ?", (FIRST_STORED,)).fetchone()[0]
        rows = db.execute("SELECT COUNT(*) FROM sessions").fetchone()[0]
        event_count = db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        by_table = _bytes_by_table(db) if params.get("by_table", True) else {}
    if count != stop:
        raise BenchError(f"expected {stop} stored sessions, found {count}")
    return {
        "sessions": count,
        "state": template["state"],
        "step": template["step"],
        "answers": answers,
        "template_events": template_events,
        "events_per_session": len(events),
        "events": event_count,
        "prefill_s": time.perf_counter() - began,
        "database_mb": file_bytes / 2**20,
        "file_bytes": file_bytes,
        "bytes_per_session": file_bytes / rows,
        "bytes_by_table": by_table,
    }


def _fresh(value: Any) -> Any:
    """An equal value that is a new object (as answers parsed from updates would be), so pickle cannot share it
    between conversations (it writes an object seen before as a reference to it)."""
    if isinstance(value, str):
        return value.encode().decode()
    if isinstance(value, list):
        return [_fresh(v) for v in value]
    if isinstance(value, dict):  # e.g. the 'values' answers: one dict per patient, keys from callback data
        return {_fresh(k): _fresh(v) for k, v in value.items()}
    return value


def _same_answers(database: Path, user_data: dict[int, dict[str, Any]], sessions: int, tapped: set[int]) -> int:
    """Compare the pickle's answers with the database rows' on a sample (first, last, random); the number
    compared. A row the bench tapped since has an answer more (the leaning): the others must be the same.
    BenchError on any difference."""
    sample = random.Random(f"answers {sessions}").sample(range(sessions), min(ANSWER_SAMPLE, sessions))
    indexes = sorted({0, sessions - 1, *sample})
    chats = stored_ids(indexes)
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        marks = ",".join("?" * len(chats))
        rows = dict(db.execute(f"SELECT chat_id, answers FROM sessions WHERE chat_id IN ({marks})", chats).fetchall())
    for index, chat in zip(indexes, chats, strict=True):
        expected = user_data[chat]
        found = json.loads(rows[chat]) if chat in rows else None
        if found is not None and index in tapped:
            found = {key: found.get(key) for key in expected}
        if found != expected:
            raise BenchError(f"chat {chat}: the pickle's answers differ from the database's: {expected} != {found}")
    return len(chats)


def prefill_pickle(params: dict[str, Any]) -> dict[str, Any]:
    """A PicklePersistence file with n conversations (state A) and the same answers in user_data."""
    path = Path(params["path"])
    answers: dict[str, Any] = params["answers"]
    began = time.perf_counter()
    conversations: dict[tuple[int, int], int] = {}
    user_data: dict[int, dict[str, Any]] = {}
    for i in range(params["sessions"]):
        chat = FIRST_STORED + i
        conversations[(chat, chat)] = baselines.ASK_A
        user_data[chat] = {key: _fresh(value) for key, value in _vary(answers, i).items()}
    data = {
        "conversations": {baselines.CONVERSATION: conversations},
        "user_data": user_data,
        "chat_data": {},
        "bot_data": {},
        "callback_data": None,
    }
    compared = 0
    if "database" in params:
        tapped = set(params.get("tapped", []))
        compared = _same_answers(Path(params["database"]), user_data, params["sessions"], tapped)
    with path.open("wb") as file:
        pickle.dump(data, file, protocol=pickle.HIGHEST_PROTOCOL)
    size = path.stat().st_size
    return {
        "prefill_s": time.perf_counter() - began,
        "file_mb": size / 2**20,
        "file_bytes": size,
        "bytes_per_session": size / params["sessions"],
        "answers_compared": compared,
    }


def _keyboard(data: str) -> Keyboard:
    markup = json.dumps({"inline_keyboard": [[{"text": "Option", "callback_data": data}]]})
    return Keyboard(1, json.dumps("The question"), markup)


async def scale_ours(params: dict[str, Any]) -> dict[str, Any]:
    """From process start to ready (imports, build_application, initialize, start_services), RSS, then taps."""
    t0: float = params["t0"]
    from bot.app import build_application, start_services, stop_services

    imported = time.time() - t0
    database = Path(params["database"])
    api = FastBotApi()
    app = build_application(bot_settings(database), request=api, rate_limit=False)
    built = time.time() - t0
    await app.initialize()
    loaded = time.perf_counter()
    await start_services(app)
    load_s = time.perf_counter() - loaded
    ready = time.time() - t0
    rss = rss_mb()
    started: dict[str, Any] = {
        "startup_s": ready,
        "import_s": imported,
        "build_s": built - imported,
        "load_s": load_s,
        "rss_mb": rss,
        "peak_rss_mb": peak_rss_mb(),
    }
    chats = stored_ids(params["indexes"])
    if not chats:  # a start-up measurement only
        await stop_services(app)
        await app.shutdown()
        return started
    errors = ErrorCounter()
    app.add_error_handler(errors)
    step: int = params["step"]
    for chat in chats:
        api.keyboards[chat] = _keyboard(f"c{step}:{LEANING_OPTION}")
    try:
        run = await drive(app, api, [Walker(chat, [LEANING]) for chat in chats])
    finally:
        await stop_services(app)
        await app.shutdown()
    errors.check()
    with sqlite3.connect(database) as db:
        marks = ",".join("?" * len(chats))
        moved = db.execute(f"SELECT COUNT(*) FROM sessions WHERE step = ? AND chat_id IN ({marks})", (step + 1, *chats))
        count = moved.fetchone()[0]
    if count != len(chats):
        raise BenchError(f"only {count} of {len(chats)} stored sessions moved on after a tap")
    return {**started, **{k: v for k, v in summarize(run).items() if k in ("updates", "p50_ms", "p99_ms")}}


async def scale_pickle(params: dict[str, Any]) -> dict[str, Any]:
    """The same for a persistent ConversationHandler on PicklePersistence: initialize loads the whole file."""
    t0: float = params["t0"]
    from telegram.ext import PicklePersistence

    imported = time.time() - t0
    api = FastBotApi()
    persistence: PicklePersistence[Any, Any, Any] = PicklePersistence(params["path"], on_flush=True)
    app, handler = baselines.conversation_app(api, persistence)
    built = time.time() - t0
    loaded = time.perf_counter()
    await app.initialize()
    load_s = time.perf_counter() - loaded
    ready = time.time() - t0
    rss = rss_mb()
    result: dict[str, Any] = {
        "startup_s": ready,
        "import_s": imported,
        "build_s": built - imported,
        "load_s": load_s,
        "rss_mb": rss,
        "peak_rss_mb": peak_rss_mb(),
    }
    chats = stored_ids(params["indexes"])
    if not chats:  # a start-up measurement only
        return result
    errors = ErrorCounter()
    app.add_error_handler(errors)
    for chat in chats:
        api.keyboards[chat] = _keyboard("a:1")
    run = await drive(app, api, [Walker(chat, baselines.conversation_script(2)[1:]) for chat in chats])
    errors.check()
    states = handler._conversations
    wrong = [c for c in chats if states.get((c, c)) != baselines.ASK_B]
    if wrong:
        raise BenchError(f"{len(wrong)} stored conversations did not move on, e.g. {wrong[:3]}")
    result.update({k: v for k, v in summarize(run).items() if k in ("updates", "p50_ms", "p99_ms")})
    if params.get("flush", True):
        # What PTB does every 60 s (persistence update_interval) once anything changed: rewrite the whole file.
        started = time.perf_counter()
        await app.update_persistence()
        await persistence.flush()
        result["flush_s"] = time.perf_counter() - started
    return result  # no app.shutdown(): it would write the whole file once more

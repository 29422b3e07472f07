"""The throughput cases and the content load, each run inside its own child process (see bench.child)."""

from __future__ import annotations

import cProfile
import inspect
import statistics
import time
from pathlib import Path
from typing import Any

from bench import baselines
from bench.driver import BenchError, ErrorCounter, Run, Walker, drive
from bench.fake_api import FastBotApi
from bench.stats import summarize
from bench.walk import PATIENT, TO_MENU

ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "content"
FIRST_CHAT = 10_000_001
WARMUP_CHAT = 9_999_999
BASELINE_STEPS = 39  # updates per chat in the baselines: as many as a patient's walk through our bot (bench/walk.py)


def chat_ids(count: int) -> list[int]:
    return list(range(FIRST_CHAT, FIRST_CHAT + count))


def _check_api(api: FastBotApi) -> None:
    if api.errors:
        raise BenchError(f"unexpected Bot API methods: {dict(api.errors)}")


async def _measure(
    app: Any, api: FastBotApi, walkers: list[Walker], warmup: Walker, profile: str | None = None, gate: Any = None
) -> Run:
    """One unmeasured walk first (imports, caches), then the measured round-robin."""
    handle = gate.handle if gate is not None else None
    await drive(app, api, [warmup], handle)
    if profile is None:
        return await drive(app, api, walkers, handle)
    profiler = cProfile.Profile()
    profiler.enable()
    run = await drive(app, api, walkers, handle)
    profiler.disable()
    profiler.dump_stats(profile)
    return run


async def baseline_a(params: dict[str, Any]) -> dict[str, Any]:
    """A bare echo bot: the framework's floor."""
    api = FastBotApi()
    app = baselines.echo_app(api)
    errors = ErrorCounter()
    app.add_error_handler(errors)
    script = baselines.echo_script(BASELINE_STEPS)
    async with app:
        run = await _measure(
            app,
            api,
            [Walker(c, script) for c in chat_ids(params["patients"])],
            Walker(WARMUP_CHAT, script),
            params.get("profile"),
        )
    errors.check()
    _check_api(api)
    expected = (params["patients"] + 1) * BASELINE_STEPS
    if api.calls["sendMessage"] != expected:
        raise BenchError(f"echo bot sent {api.calls['sendMessage']} messages for {expected} updates")
    return {**summarize(run), "sessions": params["patients"]}


async def baseline_b(params: dict[str, Any]) -> dict[str, Any]:
    """A hand-written ConversationHandler, three states with inline buttons, state in memory."""
    api = FastBotApi()
    app, handler = baselines.conversation_app(api)
    errors = ErrorCounter()
    app.add_error_handler(errors)
    script = baselines.conversation_script(BASELINE_STEPS)
    chats = chat_ids(params["patients"])
    async with app:
        run = await _measure(
            app, api, [Walker(c, script) for c in chats], Walker(WARMUP_CHAT, script), params.get("profile")
        )
    errors.check()
    _check_api(api)
    want = baselines.expected_state(BASELINE_STEPS)
    states = handler._conversations  # the handler's in-memory state, keyed (chat id, user id)
    wrong = [c for c in chats if states.get((c, c)) != want]
    if wrong:
        raise BenchError(f"{len(wrong)} chats are not in state {want}, e.g. {wrong[:3]}")
    return {**summarize(run), "sessions": len(chats), "final_state": want}


def bot_settings(database: Path) -> Any:
    from bot.settings import Settings

    return Settings(
        _env_file=None,
        telegram_bot_token=baselines.TOKEN,
        database_path=database,
        content_dir=CONTENT,
    )


async def bot(params: dict[str, Any]) -> dict[str, Any]:
    """Our bot: N patients, interleaved, each a complete conversation, on a real SQLite file."""
    return await _bot_case(params, None)


async def bot_postgres(params: dict[str, Any]) -> dict[str, Any]:
    """Our bot, the same walk, on PostgreSQL (params["postgres"]: a database URL, emptied first)."""
    from bot.storage.postgres import PostgresStore

    return await _bot_case(params, PostgresStore(params["postgres"]))


async def _bot_case(params: dict[str, Any], store: Any) -> dict[str, Any]:
    """Each update goes through the runners' gate (the chat's lock, taken from the store), as in production."""
    from bot.app import build_application, services, start_services, stop_services
    from bot.run import UpdateGate

    database = Path(params["workdir"]) / "bot.sqlite3"
    api = FastBotApi()
    app = build_application(bot_settings(database), request=api, rate_limit=False, store=store)
    errors = ErrorCounter()
    app.add_error_handler(errors)
    chats = chat_ids(params["patients"])
    walkers = [Walker(c, PATIENT, TO_MENU) for c in chats]
    async with app:
        await start_services(app)
        try:
            found = services(app).store
            if store is not None:
                await _empty(found, [*chats, WARMUP_CHAT])
            gate = UpdateGate(app, found)
            run = await _measure(app, api, walkers, Walker(WARMUP_CHAT, PATIENT, TO_MENU), params.get("profile"), gate)
            states: dict[str, int] = {}
            for chat in chats:
                record = await found.load(chat)
                state = record.session.state if record else "(none)"
                states[state] = states.get(state, 0) + 1
        finally:
            await stop_services(app)
    errors.check()
    _check_api(api)
    if states != {"menu": len(chats)}:
        raise BenchError(f"sessions should all end in 'menu', found {states}")
    return {
        **summarize(run),
        "sessions": len(chats),
        "sessions_in_menu": states["menu"],
        "updates_per_session": run.updates / len(chats),
        "api_calls": dict(api.calls),
    }


async def _empty(store: Any, chats: list[int]) -> None:
    """A database used before: the chats of this walk start afresh."""
    for chat in chats:
        await store.erase(chat)


def content(params: dict[str, Any]) -> dict[str, Any]:
    """Loading and validating content/ as the bot does at start (flows.loader.load_content), then the engine.

    Also the full `validate` check (with the reading-grade check) when the loader offers it.
    """
    from flows.engine import Engine
    from flows.loader import load_content

    runs = params.get("runs", 5)
    loads: list[float] = []
    engines: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        result = load_content(CONTENT)
        loads.append(time.perf_counter() - started)
        if result.content is None:
            raise BenchError(f"content/ has problems: {[str(p) for p in result.problems[:3]]}")
        started = time.perf_counter()
        Engine(result.content)
        engines.append(time.perf_counter() - started)
    timings: dict[str, Any] = {
        "runs": runs,
        "first_load_s": loads[0],
        "load_s": statistics.median(loads[1:] or loads),
        "engine_s": statistics.median(engines),
    }
    if "readability" in inspect.signature(load_content).parameters:
        started = time.perf_counter()
        result = load_content(CONTENT, readability=True)
        timings["validate_first_s"] = time.perf_counter() - started
        if result.content is None:
            raise BenchError(f"content/ fails validation: {[str(p) for p in result.problems[:3]]}")
    return timings

"""Visible latency with a network model: how long a patient waits after a tap until the next question is there.

Each Bot API call is answered `rtt_ms` after it is made (bench/fake_api.py), and the patients run at the same
time, one asyncio task each, so the bot's calls for different chats overlap as on a real network. For each tap
(a callback query) the bench takes two moments:

- arrival: just before the update's JSON is parsed and handed to the application (the same point where the
  throughput cases start their clock);
- visible: when the stand-in answered the call that showed the chat's next keyboard, i.e. the one the
  patient taps next (sendMessage, editMessageText, editMessageReplyMarkup, sendPhoto... with that markup).

visible - arrival is the visible latency. A patient sends its next update once that keyboard is there and the
update before is handled (the handler returned: a person reads the question before tapping, so calls the bot
makes after showing it delay no one). A tap whose reply has no keyboard (the next step is typed) has no visible
moment and is only counted. Each patient's calls are logged (through a context variable, so every call is
attributed to the patient whose update made it), which shows which calls were waited for before the question.

Baseline B gets its updates through PTB's concurrent update processing (`concurrent_updates(True)`: at most
256 at a time); our bot through the runners' gate (bot/run.py UpdateGate: the chat's lock, at most 64 at a
time), as in production. The same walks as the throughput cases (bench/walk.py, baselines.conversation_script).
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telegram import Update

from bench import baselines
from bench.cases import BASELINE_STEPS, WARMUP_CHAT, bot_settings, chat_ids
from bench.driver import BenchError, ErrorCounter, Tap, Walker, drive
from bench.fake_api import CALLS, Call, FastBotApi
from bench.stats import percentile
from bench.walk import PATIENT, TO_MENU

PTB_CONCURRENT_UPDATES = 256  # what ApplicationBuilder().concurrent_updates(True) allows at once
KEYBOARD_TIMEOUT_S = 10.0  # a patient who needs a keyboard and sees none for this long stops the run
TOP_SEQUENCES = 5
STORE_METHODS = ("load", "save")  # our bot's store calls, timed like Bot API calls in the latency run


@dataclass
class Sent:
    """One update a patient sent: when it arrived, when it was handled, when its next keyboard was answered."""

    tap: bool
    arrival: float
    handled: float
    visible: float | None
    calls: list[Call] = field(default_factory=list)


def _needs_keyboard(walker: Walker) -> bool:
    """Whether the walker's next action taps a button (the finishing taps read the keyboard too)."""
    if walker.position < len(walker.script):
        return isinstance(walker.script[walker.position], Tap)
    return walker.finish is not None


async def _patient(
    walker: Walker,
    api: FastBotApi,
    handle: Callable[[Update], Awaitable[None]],
    bot: Any,
    delay_s: float,
    think_s: float,
    sent: list[Sent],
) -> None:
    await asyncio.sleep(delay_s)
    loads, de_json, clock = json.loads, Update.de_json, time.perf_counter
    rng = random.Random(walker.chat_id)
    while True:
        raw = walker.next_update(api)
        if raw is None:
            return
        calls: list[Call] = []
        CALLS.set(calls)  # this task's calls (and those of tasks it starts) from now on
        arrival = clock()
        await handle(de_json(loads(raw), bot))
        handled = clock()
        keyboard = api.keyboards.get(walker.chat_id)
        if keyboard is None or keyboard.answered_at < arrival:
            keyboard = None
            if _needs_keyboard(walker):
                keyboard = await api.new_keyboard(walker.chat_id, arrival, KEYBOARD_TIMEOUT_S)
                if keyboard is None:
                    raise BenchError(
                        f"chat {walker.chat_id}: no new keyboard {KEYBOARD_TIMEOUT_S:.0f} s after an update"
                    )
        tap = raw.startswith(b'{"update_id":') and b'"callback_query":' in raw[:48]
        sent.append(Sent(tap, arrival, handled, keyboard.answered_at if keyboard else None, calls))
        if think_s:
            await asyncio.sleep(think_s * rng.uniform(0.5, 1.5))


async def _walk_all(
    api: FastBotApi,
    handle: Callable[[Update], Awaitable[None]],
    bot: Any,
    walkers: list[Walker],
    rtt_s: float,
    think_s: float,
) -> tuple[list[Sent], float, float]:
    """Every walker as its own task, their starts spread evenly over three round trips (or the think time);
    returns (updates, wall time, CPU time)."""
    sent: list[Sent] = []
    spread = max(3 * rtt_s, think_s, 0.001)
    started, cpu = time.perf_counter(), time.process_time()
    tasks = [
        asyncio.create_task(_patient(w, api, handle, bot, spread * i / len(walkers), think_s, sent))
        for i, w in enumerate(walkers)
    ]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
    return sent, time.perf_counter() - started, time.process_time() - cpu


def _time_store(store: Any) -> None:
    """Log the store's load and save in the calling task's CALLS too (as `store.load`, `store.save`)."""
    for name in STORE_METHODS:
        method = getattr(store, name, None)
        if method is None:
            continue

        async def timed(*args: Any, _method: Any = method, _name: str = f"store.{name}", **kwargs: Any) -> Any:
            log = CALLS.get()
            made = time.perf_counter()
            try:
                return await _method(*args, **kwargs)
            finally:
                if log is not None:
                    log.append(Call(_name, made, time.perf_counter()))

        setattr(store, name, timed)


def _is_api(call: Call) -> bool:
    return not call.method.startswith("store.")


def _waited(calls: list[Call], until: float, which: Callable[[Call], bool] = lambda c: True) -> tuple[float, int]:
    """Time spent waiting on the `which` calls answered by `until` (overlapping calls count once) and how many
    separate waits that was."""
    spans = sorted((c.made_at, c.answered_at) for c in calls if c.answered_at <= until and which(c))
    total, waits, end = 0.0, 0, float("-inf")
    for made, answered in spans:
        if made >= end:
            waits += 1
            total += answered - made
            end = answered
        elif answered > end:
            total += answered - end
            end = answered
    return total, waits


def _sequence(calls: list[Call], visible: float) -> str:
    """The calls of one tap in the order they were made; '|' marks the keyboard being shown."""
    ordered = sorted(calls, key=lambda c: c.made_at)
    before = " > ".join(c.method for c in ordered if c.answered_at <= visible)
    after = " > ".join(c.method for c in ordered if c.answered_at > visible)
    return f"{before} | {after}" if after else f"{before} |"


@dataclass
class Breakdown:
    """Where one tap's visible latency went (seconds)."""

    visible: float
    first_call: float  # arrival until the first call was made: parsing, the gate, dispatch, waiting for the CPU
    api: float  # waiting on Bot API calls answered before the question was visible
    api_waits: int  # how many separate (sequential) Bot API waits that was
    store: float  # waiting on the store (our bot only)
    rest: float  # everything else: work between calls and waiting for the event loop

    @classmethod
    def of(cls, s: Sent) -> Breakdown:
        assert s.visible is not None
        visible = s.visible - s.arrival
        first = min((c.made_at for c in s.calls), default=s.visible) - s.arrival
        api, api_waits = _waited(s.calls, s.visible, _is_api)
        store, _ = _waited(s.calls, s.visible, lambda c: not _is_api(c))
        waited, _ = _waited(s.calls, s.visible)
        return cls(visible, first, api, api_waits, store, visible - first - waited)


def summarize_latency(sent: list[Sent], wall_s: float, cpu_s: float) -> dict[str, Any]:
    """Percentiles (ms) of visible and handled latency over the taps, and where the time went."""
    taps = [s for s in sent if s.tap]
    shown = [s for s in taps if s.visible is not None]
    if not shown:
        raise BenchError("no tap showed a keyboard")
    parts = [Breakdown.of(s) for s in shown]
    ms = 1000.0

    def pct(values: list[float], q: float) -> float:
        return percentile(sorted(values), q) * ms

    visible = [b.visible for b in parts]
    handled = [s.handled - s.arrival for s in taps]
    result: dict[str, Any] = {
        "updates": len(sent),
        "taps": len(taps),
        "taps_without_keyboard": len(taps) - len(shown),
        "visible_p50_ms": pct(visible, 50),
        "visible_p95_ms": pct(visible, 95),
        "visible_p99_ms": pct(visible, 99),
        "visible_max_ms": max(visible) * ms,
        "handled_p50_ms": pct(handled, 50),
        "handled_p95_ms": pct(handled, 95),
    }
    for name in ("first_call", "api", "store", "rest"):
        values = [getattr(b, name) for b in parts]
        result[f"{name}_p50_ms"] = pct(values, 50)
        result[f"{name}_p95_ms"] = pct(values, 95)
    durations: dict[str, list[float]] = {}
    for s in shown:
        for c in s.calls:
            durations.setdefault(c.method, []).append(c.answered_at - c.made_at)
    sequences = Counter(_sequence(s.calls, s.visible) for s in shown if s.visible is not None)
    result.update(
        {
            "api_waits_before_visible_mean": sum(b.api_waits for b in parts) / len(parts),
            "api_calls_per_tap": sum(1 for s in taps for c in s.calls if _is_api(c)) / len(taps),
            "call_p50_ms": {name: pct(d, 50) for name, d in sorted(durations.items())},
            "call_sequences": [{"calls": seq, "taps": n} for seq, n in sequences.most_common(TOP_SEQUENCES)],
            "wall_s": wall_s,
            "cpu_busy": cpu_s / wall_s,
            "in_flight_mean": math.fsum(s.handled - s.arrival for s in sent) / wall_s,
        }
    )
    return result


async def latency_baseline_b(params: dict[str, Any]) -> dict[str, Any]:
    """Baseline B under the network model, its updates handled concurrently as PTB does them."""
    rtt_s = params["rtt_ms"] / 1000
    api = FastBotApi()
    app, handler = baselines.conversation_app(api)
    errors = ErrorCounter()
    app.add_error_handler(errors)
    script = baselines.conversation_script(BASELINE_STEPS)
    chats = chat_ids(params["patients"])
    slots = asyncio.Semaphore(PTB_CONCURRENT_UPDATES)

    async def handle(update: Update) -> None:
        async with slots:
            await app.process_update(update)

    async with app:
        await drive(app, api, [Walker(WARMUP_CHAT, script)])  # imports and caches, no network delay
        api.rtt_s = rtt_s
        sent, wall, cpu = await _walk_all(
            api, handle, app.bot, [Walker(c, script) for c in chats], rtt_s, params.get("think_ms", 0) / 1000
        )
        api.rtt_s = 0.0
    errors.check()
    if api.errors:
        raise BenchError(f"unexpected Bot API methods: {dict(api.errors)}")
    want = baselines.expected_state(BASELINE_STEPS)
    wrong = [c for c in chats if handler._conversations.get((c, c)) != want]
    if wrong:
        raise BenchError(f"{len(wrong)} chats are not in state {want}, e.g. {wrong[:3]}")
    return {
        **summarize_latency(sent, wall, cpu),
        "patients": len(chats),
        "rtt_ms": params["rtt_ms"],
        "think_ms": params.get("think_ms", 0),
    }


async def latency_bot(params: dict[str, Any]) -> dict[str, Any]:
    """Our bot under the network model, on SQLite, its updates through the runners' gate."""
    from bot.app import build_application, services, start_services, stop_services
    from bot.run import UpdateGate

    rtt_s = params["rtt_ms"] / 1000
    api = FastBotApi()
    app = build_application(bot_settings(Path(params["workdir"]) / "bot.sqlite3"), request=api, rate_limit=False)
    errors = ErrorCounter()
    app.add_error_handler(errors)
    chats = chat_ids(params["patients"])
    async with app:
        await start_services(app)
        try:
            store = services(app).store
            _time_store(store)
            gate = UpdateGate(app, store)
            await drive(app, api, [Walker(WARMUP_CHAT, PATIENT, TO_MENU)], gate.handle)
            api.rtt_s = rtt_s
            walkers = [Walker(c, PATIENT, TO_MENU) for c in chats]
            sent, wall, cpu = await _walk_all(
                api, gate.handle, app.bot, walkers, rtt_s, params.get("think_ms", 0) / 1000
            )
            api.rtt_s = 0.0
            states: Counter[str] = Counter()
            for chat in chats:
                record = await store.load(chat)
                states[record.session.state if record else "(none)"] += 1
        finally:
            await stop_services(app)
    errors.check()
    if api.errors:
        raise BenchError(f"unexpected Bot API methods: {dict(api.errors)}")
    if states != {"menu": len(chats)}:
        raise BenchError(f"sessions should all end in 'menu', found {dict(states)}")
    return {
        **summarize_latency(sent, wall, cpu),
        "patients": len(chats),
        "rtt_ms": params["rtt_ms"],
        "think_ms": params.get("think_ms", 0),
    }

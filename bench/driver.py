"""Simulated chats: raw update bytes, scripts of taps and typed text, and the timed round-robin loop."""

from __future__ import annotations

import itertools
import json
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.ext import Application, ContextTypes

from bench.fake_api import FastBotApi

# Telegram's update ids only grow, and the bot ignores an update id it has already applied to a chat (a
# redelivery): start from the clock in microseconds so that every process continues above the one before.
_update_ids = itertools.count(int(time.time() * 1_000_000))
_message_ids = itertools.count(1)


class BenchError(Exception):
    """The bench could not do what it meant to (a missing button, an error in a handler...)."""


def _user(chat_id: int) -> str:
    return f'{{"id":{chat_id},"is_bot":false,"first_name":"Pat","language_code":"en"}}'


def text_update(chat_id: int, text: str) -> bytes:
    """A private-chat message update (a command gets its bot_command entity)."""
    update_id = next(_update_ids)
    message_id = next(_message_ids)
    entities = ""
    if text.startswith("/"):
        entities = f',"entities":[{{"type":"bot_command","offset":0,"length":{len(text.split()[0])}}}]'
    return (
        f'{{"update_id":{update_id},"message":{{"message_id":{message_id},"date":1700000000,'
        f'"chat":{{"id":{chat_id},"type":"private","first_name":"Pat"}},"from":{_user(chat_id)},'
        f'"text":{json.dumps(text)}{entities}}}}}'
    ).encode()


def callback_update(chat_id: int, data: str, message_json: str) -> bytes:
    """A tap on a button with `data` of the message `message_json` (as Telegram includes it)."""
    update_id = next(_update_ids)
    return (
        f'{{"update_id":{update_id},"callback_query":{{"id":"{next(_message_ids)}","from":{_user(chat_id)},'
        f'"chat_instance":"ci{chat_id}","data":{json.dumps(data)},"message":{message_json}}}}}'
    ).encode()


@dataclass(frozen=True)
class Say:
    """Type a message (or a command)."""

    text: str


@dataclass(frozen=True)
class Tap:
    """Tap the first button of the chat's newest keyboard whose callback data fully matches `pattern`."""

    pattern: str

    def choose(self, chat_id: int, api: FastBotApi, where: str) -> bytes:
        keyboard = api.keyboards.get(chat_id)
        if keyboard is None:
            raise BenchError(f"chat {chat_id}, {where}: wants a button {self.pattern!r} but shows no buttons")
        regex = re.compile(self.pattern)
        available = keyboard.callback_data()
        for data in available:
            if regex.fullmatch(data):
                return callback_update(chat_id, data, keyboard.message_json(chat_id))
        raise BenchError(f"chat {chat_id}, {where}: no button {self.pattern!r} among {available}")


Action = Say | Tap


@dataclass
class Finish:
    """After the script: tap the first preferred button until `done` says the chat is where it should be."""

    done: Callable[[list[str]], bool]
    preferences: Sequence[str]
    max_taps: int = 4


@dataclass
class Walker:
    """One simulated chat working through a script; `next_update` returns None when it is finished."""

    chat_id: int
    script: Sequence[Action]
    finish: Finish | None = None
    position: int = 0
    extra_taps: int = 0

    def next_update(self, api: FastBotApi) -> bytes | None:
        if self.position < len(self.script):
            action = self.script[self.position]
            self.position += 1
            if isinstance(action, Say):
                return text_update(self.chat_id, action.text)
            return action.choose(self.chat_id, api, f"step {self.position}")
        if self.finish is None:
            return None
        keyboard = api.keyboards.get(self.chat_id)
        available = keyboard.callback_data() if keyboard is not None else []
        if self.finish.done(available):
            return None
        if self.extra_taps >= self.finish.max_taps:
            raise BenchError(f"chat {self.chat_id}: not finished after {self.extra_taps} extra taps: {available}")
        self.extra_taps += 1
        for pattern in self.finish.preferences:
            if any(re.fullmatch(pattern, data) for data in available):
                return Tap(pattern).choose(self.chat_id, api, f"finishing tap {self.extra_taps}")
        raise BenchError(f"chat {self.chat_id}: after the script, no known button to go on with: {available}")


@dataclass
class Run:
    """Per-update latencies (seconds) of a measured loop and its wall time."""

    latencies: list[float] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def updates(self) -> int:
        return len(self.latencies)


class ErrorCounter:
    """An extra error handler: every exception a handler raised is counted (and the first few kept)."""

    def __init__(self) -> None:
        self.count = 0
        self.first: list[str] = []

    async def __call__(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        self.count += 1
        if len(self.first) < 3:
            self.first.append(repr(context.error))

    def check(self) -> None:
        if self.count:
            raise BenchError(f"{self.count} updates raised in a handler, e.g. {self.first}")


async def drive(
    app: Application[Any, Any, Any, Any, Any, Any],
    api: FastBotApi,
    walkers: list[Walker],
    handle: Callable[[Update], Awaitable[None]] | None = None,
) -> Run:
    """Round-robin over the walkers, one update each per round, until all are finished.

    Timed per update: parsing the raw JSON bytes, `Update.de_json` and `handle` (default
    `Application.process_update`; the bot's cases pass the runners' gate, which takes the chat's lock), which
    includes the stand-in's answers to every Bot API call the handlers make.
    """
    bot = app.bot
    process = handle or app.process_update
    loads = json.loads
    de_json = Update.de_json
    clock = time.perf_counter
    run = Run()
    latencies = run.latencies
    active = list(walkers)
    started = clock()
    while active:
        still: list[Walker] = []
        for walker in active:
            raw = walker.next_update(api)
            if raw is None:
                continue
            still.append(walker)
            t = clock()
            await process(de_json(loads(raw), bot))
            latencies.append(clock() - t)
        active = still
    run.wall_s = clock() - started
    return run

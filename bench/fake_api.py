"""A minimal, fast offline Bot API: canned JSON for the methods the bots call, and each chat's last keyboard.

Deliberately cheap (no HTML checks, no call log, JSON built by string splicing) so the framework and the
bot dominate the measurement, not the stand-in. The simulated patients read `keyboards` to know which
callback data they can send next, like a Telegram client showing the newest inline keyboard.

Network model (`rtt_s`, 0 by default): each call is answered `rtt_s` after it is made (an `asyncio.sleep`
before answering, so concurrent calls overlap as on a real network). A keyboard becomes the chat's newest
when its call is answered, and remembers that moment (`Keyboard.answered_at`, `time.perf_counter`).
A task that sets `CALLS` to a list gets every call it (or a task it started) makes appended to it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from telegram.request import BaseRequest, RequestData

BOT_USER = '{"id":1,"is_bot":true,"first_name":"Bench bot","username":"bench_bot"}'
GET_ME = (
    b'{"ok":true,"result":{"id":1,"is_bot":true,"first_name":"Bench bot","username":"bench_bot",'
    b'"can_join_groups":true,"can_read_all_group_messages":false,"supports_inline_queries":false}}'
)
TRUE = b'{"ok":true,"result":true}'
NOT_FOUND = b'{"ok":false,"error_code":404,"description":"Not Found"}'
DATE = 1_700_000_000


@dataclass(frozen=True)
class Call:
    """One Bot API call: its method, when it was made and when it was answered (time.perf_counter)."""

    method: str
    made_at: float
    answered_at: float


CALLS: ContextVar[list[Call] | None] = ContextVar("bench_calls", default=None)


@dataclass
class Keyboard:
    """The newest message with inline buttons in a chat: its id, its text (as JSON) and its markup (JSON), and
    when the call that showed it was answered (0 for a keyboard the bench put there itself)."""

    message_id: int
    text_json: str
    markup_json: str
    answered_at: float = 0.0

    def message_json(self, chat_id: int) -> str:
        """The message as Telegram would include it in a callback query."""
        return _message(self.message_id, chat_id, self.text_json, self.markup_json)

    def callback_data(self) -> list[str]:
        """Every button's callback data, row by row."""
        markup: dict[str, Any] = json.loads(self.markup_json)
        return [b["callback_data"] for row in markup["inline_keyboard"] for b in row if "callback_data" in b]


def _message(message_id: int, chat_id: int | str, text_json: str | None, markup_json: str | None) -> str:
    body = f'{{"message_id":{message_id},"date":{DATE},"chat":{{"id":{chat_id},"type":"private"}},"from":{BOT_USER}'
    if text_json is not None:
        body += f',"text":{text_json}'
    if markup_json:
        body += f',"reply_markup":{markup_json}'
    return body + "}"


def _result(message: str) -> bytes:
    return f'{{"ok":true,"result":{message}}}'.encode()


class FastBotApi(BaseRequest):
    """A python-telegram-bot request object answering like the Bot API, without a network: instantly, or
    `rtt_s` seconds after each call is made."""

    def __init__(self, rtt_s: float = 0.0) -> None:
        self.rtt_s = rtt_s
        self.calls: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.keyboards: dict[int, Keyboard] = {}
        self._next_id = 1000
        self._watchers: dict[int, asyncio.Future[None]] = {}
        self._answered = 0.0

    async def new_keyboard(self, chat_id: int, since: float, timeout_s: float) -> Keyboard | None:
        """The chat's newest keyboard once one answered at or after `since` is there (None after `timeout_s`)."""
        deadline = time.perf_counter() + timeout_s
        while True:
            keyboard = self.keyboards.get(chat_id)
            if keyboard is not None and keyboard.answered_at >= since:
                return keyboard
            left = deadline - time.perf_counter()
            if left <= 0:
                return None
            watcher = self._watchers.get(chat_id)
            if watcher is None or watcher.done():
                watcher = self._watchers[chat_id] = asyncio.get_running_loop().create_future()
            try:
                await asyncio.wait_for(asyncio.shield(watcher), left)
            except TimeoutError:
                return None

    def _shown(self, chat_id: int, keyboard: Keyboard) -> None:
        self.keyboards[chat_id] = keyboard
        watcher = self._watchers.pop(chat_id, None)
        if watcher is not None and not watcher.done():
            watcher.set_result(None)

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    @property
    def read_timeout(self) -> float:
        return 1.0

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        name = url[url.rfind("/") + 1 :]
        self.calls[name] += 1
        log = CALLS.get()
        if self.rtt_s or log is not None:
            made = time.perf_counter()
            if self.rtt_s:
                await asyncio.sleep(self.rtt_s)
            answered = time.perf_counter()
            if log is not None:
                log.append(Call(name, made, answered))
            return self._answer(name, request_data, answered)
        return self._answer(name, request_data, time.perf_counter())

    def _answer(self, name: str, request_data: RequestData | None, answered: float) -> tuple[int, bytes]:
        """The reply; a keyboard it shows counts as shown at `answered`."""
        self._answered = answered
        params = request_data.json_parameters if request_data is not None else {}
        if name == "sendMessage":
            return 200, self._send(params, "text")
        if name in ("answerCallbackQuery", "setMyCommands", "sendChatAction", "deleteWebhook", "setWebhook"):
            return 200, TRUE
        if name == "editMessageText":
            return 200, self._edit(params, with_text=True)
        if name == "editMessageReplyMarkup":
            return 200, self._edit(params, with_text=False)
        if name in ("sendDocument", "sendPhoto"):
            return 200, self._send(params, "caption")
        if name == "getMe":
            return 200, GET_ME
        self.errors[name] += 1
        return 404, NOT_FOUND

    def _send(self, params: dict[str, str], text_field: str) -> bytes:
        self._next_id += 1
        message_id = self._next_id
        chat_id = int(params["chat_id"])
        text_json = json.dumps(params.get(text_field, ""))
        markup = params.get("reply_markup")
        if markup and '"inline_keyboard"' in markup:
            self._shown(chat_id, Keyboard(message_id, text_json, markup, self._answered))
        return _result(_message(message_id, chat_id, text_json, markup))

    def _edit(self, params: dict[str, str], with_text: bool) -> bytes:
        chat_id = int(params["chat_id"])
        message_id = int(params["message_id"])
        markup = params.get("reply_markup")
        current = self.keyboards.get(chat_id)
        if with_text:
            text_json: str | None = json.dumps(params.get("text", ""))
        else:
            text_json = current.text_json if current is not None and current.message_id == message_id else None
        if markup and '"inline_keyboard"' in markup and text_json is not None:
            self._shown(chat_id, Keyboard(message_id, text_json, markup, self._answered))
        elif current is not None and current.message_id == message_id:
            del self.keyboards[chat_id]  # the buttons of this message were removed
        return _result(_message(message_id, chat_id, text_json, markup))

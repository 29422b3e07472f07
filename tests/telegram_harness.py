"""Drive the real python-telegram-bot Application offline: a BaseRequest stand-in, update builders, a user."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from typing import Any

from telegram import Update
from telegram.error import TimedOut
from telegram.ext import Application
from telegram.request import BaseRequest, RequestData

from bot.app import services
from bot.plaintext import to_plain
from tests.fake_bot_api import FakeBotApi


class OfflineRequest(BaseRequest):
    """Answers every Bot API call from a FakeBotApi, with no network; calls for the chats in `hanging` wait
    until `release` is set (a slow or stuck Bot API for those chats)."""

    def __init__(self, api: FakeBotApi) -> None:
        self.api = api
        self.hanging: set[int] = set()
        self.release = asyncio.Event()
        self.stuck = asyncio.Event()  # set once a call for a hanging chat is waiting

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
        api_method = url.rsplit("/", 1)[-1]
        params: dict[str, Any] = dict(request_data.json_parameters) if request_data else {}
        if int(params.get("chat_id", 0) or 0) in self.hanging:
            self.stuck.set()
            await self.release.wait()
        files = request_data.multipart_data if request_data else None
        if files:
            params["_files"] = {value[0]: value[1] for value in files.values()}
        status, body, fault = self.api.respond(api_method, params)
        if fault is not None:
            raise TimedOut("injected timeout")
        return status, body


_update_ids = itertools.count(1)


def user_dict(user_id: int, language_code: str | None = "en", username: str | None = "patient") -> dict[str, Any]:
    """A Telegram user object."""
    user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": "Pat"}
    if language_code:
        user["language_code"] = language_code
    if username:
        user["username"] = username
    return user


def message_update(
    chat_id: int,
    text: str | None = None,
    *,
    kind: str = "message",
    chat_type: str = "private",
    language_code: str | None = "en",
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An update carrying a message (text, or `extra` fields such as a sticker) from a user in `chat_id`."""
    message: dict[str, Any] = {
        "message_id": next(_update_ids),
        "date": 1_700_000_000,
        "chat": {"id": chat_id, "type": chat_type},
        "from": user_dict(chat_id if chat_type == "private" else 555, language_code),
    }
    if text is not None:
        message["text"] = text
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    message.update(extra or {})
    if kind == "edited_message":
        message["edit_date"] = 1_700_000_100
    return {"update_id": next(_update_ids), kind: message}


def callback_update(
    chat_id: int, data: str, message: dict[str, Any] | None, language_code: str | None = "en"
) -> dict[str, Any]:
    """An update for a tap on an inline button of `message`."""
    query: dict[str, Any] = {
        "id": str(next(_update_ids)),
        "from": user_dict(chat_id, language_code),
        "chat_instance": "ci",
        "data": data,
    }
    if message is not None:
        query["message"] = message
    return {"update_id": next(_update_ids), "callback_query": query}


STICKER = {
    "sticker": {
        "file_id": "s1",
        "file_unique_id": "u1",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    }
}
PHOTO = {"photo": [{"file_id": "p1", "file_unique_id": "u2", "width": 90, "height": 90}]}
VOICE = {"voice": {"file_id": "v1", "file_unique_id": "u3", "duration": 2}}
DOCUMENT = {"document": {"file_id": "d1", "file_unique_id": "u4", "file_name": "mri.pdf"}}
LOCATION = {"location": {"latitude": 51.5, "longitude": -0.1}}
CONTACT = {"contact": {"phone_number": "+100000", "first_name": "Pat"}}


@dataclass
class TelegramUser:
    """A patient in a private chat, sending updates through the real Application."""

    app: Application  # type: ignore[type-arg]
    api: FakeBotApi
    chat_id: int = 4242
    language_code: str | None = "en"
    settle_jobs: bool = True  # wait for the jobs an update starts (a hand-off's delivery) before returning

    async def feed(self, raw: dict[str, Any]) -> list[dict[str, Any]]:
        """Process one raw update; returns the messages the bot sent to this chat while handling it."""
        before = len(self.api.calls)
        await self.app.process_update(Update.de_json(raw, self.app.bot))
        if self.settle_jobs:
            await services(self.app).jobs.settle()
        return [
            c.params
            for c in self.api.calls[before:]
            if c.method == "sendMessage" and int(c.params["chat_id"]) == self.chat_id
        ]

    async def send(self, text: str) -> list[dict[str, Any]]:
        """Type a message (commands included)."""
        return await self.feed(message_update(self.chat_id, text, language_code=self.language_code))

    async def send_other(self, extra: dict[str, Any], kind: str = "message") -> list[dict[str, Any]]:
        """Send a sticker, photo, voice... (`extra` holds its fields) or an edited message."""
        return await self.feed(
            message_update(
                self.chat_id,
                None if extra else "edited",
                kind=kind,
                language_code=self.language_code,
                extra=extra,
            )
        )

    def messages(self) -> list[dict[str, Any]]:
        """The chat's messages as they look now (after edits), oldest first."""
        return [self.api.messages[self.chat_id][k] for k in sorted(self.api.messages[self.chat_id])]

    def last_keyboard_message(self) -> dict[str, Any]:
        """The newest message that still shows buttons."""
        for message in reversed(self.messages()):
            if message.get("reply_markup", {}).get("inline_keyboard"):
                return message
        raise AssertionError("no message with buttons in this chat")

    def buttons(self, message: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """The buttons of `message` (default: the newest message with buttons)."""
        message = message or self.last_keyboard_message()
        return [b for row in message["reply_markup"]["inline_keyboard"] for b in row]

    async def tap(self, label: str, message: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Tap the button labelled `label` (else one containing it) on `message` (default: newest keyboard)."""
        message = message or self.last_keyboard_message()
        buttons = self.buttons(message)
        wanted = label.lower()
        matches = [b for b in buttons if b["text"].lower() == wanted] or [
            b for b in buttons if wanted in b["text"].lower()
        ]
        assert matches, f"no button {label!r} in {[b['text'] for b in self.buttons(message)]}"
        return await self.tap_data(matches[0]["callback_data"], message)

    async def tap_data(self, data: str, message: dict[str, Any] | None) -> list[dict[str, Any]]:
        """Send a callback query with `data` as if from a button of `message`."""
        return await self.feed(
            callback_update(self.chat_id, data, dict(message) if message else None, self.language_code)
        )

    def last_text(self) -> str:
        """The plain text of the newest message in the chat."""
        return to_plain(self.messages()[-1]["text"])

"""An offline stand-in for the Telegram Bot API that records calls and rejects what Telegram rejects.

Used in-process through `OfflineRequest` (a python-telegram-bot BaseRequest) and over HTTP by
`tests/fake_bot_server.py` for black-box tests of the real process.
"""

from __future__ import annotations

import html
import itertools
import json
import re
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from telegram.constants import MessageLimit

TELEGRAM_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "blockquote",
    "tg-spoiler",
    "span",
    "tg-emoji",
}
BOT_USER = {"id": 1, "is_bot": True, "first_name": "Stenosis guide", "username": "stenosis_guide_bot"}
METHODS = {
    "getMe",
    "setMyCommands",
    "sendMessage",
    "editMessageText",
    "editMessageReplyMarkup",
    "answerCallbackQuery",
    "sendChatAction",
    "getUpdates",
    "setWebhook",
    "deleteWebhook",
    "close",
    "logOut",
    "sendDocument",
    "sendPhoto",
}


class _TelegramHtml(HTMLParser):
    """Parses like Telegram's HTML mode: known tags only, properly nested; counts the visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.visible: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in TELEGRAM_TAGS:
            self.errors.append(f'Unsupported start tag "{tag}"')
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f'Unexpected end tag "{tag}"')
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if "<" in data or re.search(r"&(?!(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);)", data):
            self.errors.append("Unsupported character")
        self.visible.append(data)

    def handle_entityref(self, name: str) -> None:
        if name not in {"lt", "gt", "amp", "quot"}:
            self.errors.append(f"Unsupported entity &{name};")
        self.visible.append(html.unescape(f"&{name};"))

    def handle_charref(self, name: str) -> None:
        self.visible.append(html.unescape(f"&#{name};"))


def parse_telegram_html(text: str) -> tuple[str, list[str]]:
    """The visible text and the parse errors Telegram would report."""
    parser = _TelegramHtml()
    parser.feed(text)
    parser.close()
    if parser.rawdata:  # an unterminated '<...' left in the buffer
        parser.errors.append("Can't find end of the entity")
    errors = parser.errors + [f'Can\'t find end tag corresponding to start tag "{t}"' for t in parser.stack]
    return "".join(parser.visible), errors


class ApiError(Exception):
    """An error answer of the Bot API."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


@dataclass
class Call:
    """One recorded Bot API call."""

    method: str
    params: dict[str, Any]


@dataclass
class Rejection:
    """A call refused as Telegram would refuse it (not an injected fault): what was asked, and why not."""

    method: str
    params: dict[str, Any]
    description: str


@dataclass
class Fault:
    """An injected failure for the next call of `method` (or any method when None)."""

    kind: str  # "400", "429", "403", "500", "timeout"
    method: str | None = None
    retry_after: int = 1
    chat_id: int | None = None  # only calls to this chat


@dataclass
class FakeBotApi:
    """The fake server's state: chats' messages, recorded calls, queued updates and injected faults."""

    calls: list[Call] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)  # calls refused as Telegram would (not injected faults)
    messages: dict[int, dict[int, dict[str, Any]]] = field(default_factory=lambda: defaultdict(dict))
    faults: list[Fault] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    documents: list[bytes] = field(default_factory=list)
    photos: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))

    # --- for tests ----------------------------------------------------------------------------------

    def sent(self, chat_id: int | None = None, method: str = "sendMessage") -> list[dict[str, Any]]:
        """Parameters of every successful call of `method` (to `chat_id`, if given), in order."""
        return [
            c.params
            for c in self.calls
            if c.method == method and (chat_id is None or int(c.params.get("chat_id", 0)) == chat_id)
        ]

    def inject(self, kind: str, method: str | None = None, retry_after: int = 1, chat_id: int | None = None) -> None:
        """Make the next matching call (to `chat_id`, if given) fail with `kind` ("400", "429", "403", "500",
        "timeout"); a 400 is Telegram's refusal of a photo it cannot process."""
        with self.lock:
            self.faults.append(Fault(kind, method, retry_after, chat_id))

    def take_fault(self, method: str, params: dict[str, Any] | None = None) -> Fault | None:
        """The first injected fault for `method` (and the call's chat), removed from the queue."""
        chat = (params or {}).get("chat_id")
        with self.lock:
            for fault in self.faults:
                if fault.chat_id is not None and (chat is None or int(chat) != fault.chat_id):
                    continue
                if fault.method in (None, method):
                    self.faults.remove(fault)
                    return fault
        return None

    # --- the API ------------------------------------------------------------------------------------

    def handle(self, method: str, params: dict[str, Any]) -> Any:
        """Answer one call like the Bot API, or raise ApiError."""
        fault = self.take_fault(method, params)
        if fault is not None and fault.kind != "timeout":
            code = int(fault.kind)
            descriptions = {
                400: "Bad Request: IMAGE_PROCESS_FAILED",
                429: f"Too Many Requests: retry after {fault.retry_after}",
                403: "Forbidden: bot was blocked by the user",
                500: "Internal Server Error",
            }
            raise ApiError(code, descriptions[code], fault.retry_after if code == 429 else None)
        try:
            if method not in METHODS:
                raise ApiError(404, "Not Found")
            handler = getattr(self, f"_{method}", None)
            result = handler(params) if handler else True
        except ApiError as error:
            with self.lock:
                self.rejected.append(Rejection(method, params, error.description))
            raise
        with self.lock:
            self.calls.append(Call(method, params))
        return result

    def _getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return dict(BOT_USER, can_join_groups=True, can_read_all_group_messages=False, supports_inline_queries=False)

    def _getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        with self.lock:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
            return list(self.updates[:100])

    def _check_text(self, params: dict[str, Any]) -> str:
        text = str(params.get("text", ""))
        if params.get("parse_mode") == "HTML":
            visible, errors = parse_telegram_html(text)
            if errors:
                raise ApiError(400, f"Bad Request: can't parse entities: {errors[0]}")
        else:
            visible = text
        if not visible.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(visible) > MessageLimit.MAX_TEXT_LENGTH:
            raise ApiError(400, "Bad Request: message is too long")
        return text

    def _check_markup(self, params: dict[str, Any]) -> Any:
        markup = params.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        for row in (markup or {}).get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= 64:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                if not button.get("text"):
                    raise ApiError(400, "Bad Request: text buttons are unallowed in the inline keyboard")
        return markup

    def _message(self, chat_id: int, text: str, markup: Any) -> dict[str, Any]:
        message_id = next(self._ids)
        message = {
            "message_id": message_id,
            "date": 1_700_000_000,
            "chat": {"id": chat_id, "type": "private"},
            "from": BOT_USER,
            "text": text,
        }
        if markup and "inline_keyboard" in markup:  # a Message only ever carries an inline keyboard
            message["reply_markup"] = markup
        with self.lock:
            self.messages[chat_id][message_id] = message
        return message

    def _sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        text = self._check_text(params)
        markup = self._check_markup(params)
        return self._message(int(params["chat_id"]), text, markup)

    def _find(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self.messages.get(int(params["chat_id"]), {}).get(int(params["message_id"]))
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        return message

    def _editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._find(params)
        text = self._check_text(params)
        markup = self._check_markup(params)
        if text == message["text"] and markup == message.get("reply_markup"):
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message",
            )
        message["text"] = text
        message.pop("reply_markup", None)
        if markup:
            message["reply_markup"] = markup
        return message

    def _editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._find(params)
        markup = self._check_markup(params)
        if markup == message.get("reply_markup") or (not markup and "reply_markup" not in message):
            raise ApiError(400, "Bad Request: message is not modified")
        message.pop("reply_markup", None)
        if markup:
            message["reply_markup"] = markup
        return message

    def _check_caption(self, params: dict[str, Any]) -> str:
        """A caption as Telegram takes it: valid HTML when parsed, at most 1,024 visible characters."""
        caption = str(params.get("caption") or "")
        visible, errors = parse_telegram_html(caption) if params.get("parse_mode") == "HTML" else (caption, [])
        if errors:
            raise ApiError(400, f"Bad Request: can't parse entities: {errors[0]}")
        if len(visible) > MessageLimit.CAPTION_LENGTH:
            raise ApiError(400, "Bad Request: message caption is too long")
        return caption

    def _sendDocument(self, params: dict[str, Any]) -> dict[str, Any]:
        caption = self._check_caption(params)
        files = params.get("_files") or {}
        if not files:
            raise ApiError(400, "Bad Request: there is no document in the request")
        message = self._message(int(params["chat_id"]), caption, self._check_markup(params))
        name, data = next(iter(files.items()))
        message["document"] = {
            "file_id": f"doc{message['message_id']}",
            "file_unique_id": f"u{message['message_id']}",
            "file_name": name,
            "file_size": len(data),
        }
        self.documents.append(data)
        return message

    def _sendPhoto(self, params: dict[str, Any]) -> dict[str, Any]:
        """Like Telegram: a caption of at most 1,024 visible characters; a photo at most 10 MB, whose width and
        height add up to at most 10,000 and whose sides are at most 20 times each other (read from the PNG)."""
        caption = self._check_caption(params)
        files = params.get("_files") or {}
        if not files:
            raise ApiError(400, "Bad Request: there is no photo in the request")
        _name, data = next(iter(files.items()))
        if len(data) > 10 * 2**20 or data[:8] != b"\x89PNG\r\n\x1a\n":
            raise ApiError(400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        if width + height > 10_000 or max(width, height) > 20 * min(width, height):
            raise ApiError(400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
        message = self._message(int(params["chat_id"]), caption, self._check_markup(params))
        message["photo"] = [
            {
                "file_id": f"photo{message['message_id']}",
                "file_unique_id": f"p{message['message_id']}",
                "width": width,
                "height": height,
                "file_size": len(data),
            }
        ]
        self.photos.append(data)
        return message

    def _answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        if len(str(params.get("text") or "")) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        return True

    def _setMyCommands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if isinstance(commands, str):
            commands = json.loads(commands)
        for command in commands or []:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", command["command"]) or not 1 <= len(command["description"]) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        return True

    def respond(self, method: str, params: dict[str, Any]) -> tuple[int, bytes, Fault | None]:
        """The HTTP status and JSON body for a call (a timeout fault is returned for the transport to act on)."""
        fault = None
        with self.lock:
            for candidate in self.faults:
                if candidate.kind == "timeout" and candidate.method in (None, method):
                    fault = candidate
                    self.faults.remove(candidate)
                    break
        if fault is not None:
            return 0, b"", fault
        try:
            result = self.handle(method, params)
            return 200, json.dumps({"ok": True, "result": result}).encode(), None
        except ApiError as error:
            body: dict[str, Any] = {"ok": False, "error_code": error.code, "description": error.description}
            if error.retry_after is not None:
                body["parameters"] = {"retry_after": error.retry_after}
            return error.code, json.dumps(body).encode(), None

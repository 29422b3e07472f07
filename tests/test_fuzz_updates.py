"""Property test: random Telegram updates of every kind, through the real Application, never break the bot.

Each hypothesis example builds a fresh Application (real handlers, a fresh SQLite file, an offline Bot API that
rejects what Telegram rejects) and feeds it 1-25 random updates (a third of the private ones delivered twice,
same update_id) from several chats: texts of any length and script, commands with junk arguments, media,
contacts, locations, edited messages, callback queries with real, double-tapped, random, foreign or stale data,
group and supergroup messages, channel posts, chat-member and reaction updates, from users with or without a
username or a language. A chat may first walk deep into the flow with sensible taps. After every update:

(a) `process_update` did not raise and nothing was logged at ERROR (the error handler was never reached);
(b) a private chat got at least one visible answer; a group or supergroup got exactly the private-only reply
    (a button there too: a forwarded bot message keeps its buttons); a channel post got nothing at all;
(c) the fake Bot API rejected no call;
(d) a callback whose data is random, foreign or stale left the chat's stored answers (and state) unchanged;
(e) every callback query was answered exactly once;
and an update delivered a second time (same update_id, as Telegram does after a crash) changes nothing.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from telegram import Update

from bot.app import build_application, load_engine, services, start_services, stop_services
from flows.engine import Engine
from flows.events import Back, Choose, Done, Restart, Toggle, decode
from flows.states.base import StateBase
from tests.conftest import make_settings
from tests.db import rows as file_rows
from tests.fake_bot_api import BOT_USER, FakeBotApi
from tests.telegram_harness import OfflineRequest

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))
STEPPED = (Choose, Toggle, Done, Back, Restart)
VISIBLE = ("sendMessage", "editMessageText", "sendDocument")

# --- who sends updates ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """A Telegram user; in a private chat the chat id is the user id."""

    user_id: int
    username: str | None
    language_code: str | None
    first_name: str = "Pat"
    last_name: str | None = None

    def as_dict(self) -> dict[str, Any]:
        user: dict[str, Any] = {"id": self.user_id, "is_bot": False, "first_name": self.first_name}
        if self.last_name is not None:
            user["last_name"] = self.last_name
        if self.username is not None:
            user["username"] = self.username
        if self.language_code is not None:
            user["language_code"] = self.language_code
        return user


GROUP = {"id": -4_000_001, "type": "group", "title": "Family <b>&amp; friends"}
SUPERGROUP = {"id": -1_001_000_000_001, "type": "supergroup", "title": "Spine support", "username": "spinechat"}
CHANNEL = {"id": -1_002_000_000_001, "type": "channel", "title": "Clinic news", "username": "clinicnews"}
GROUP_CHATS = (GROUP, SUPERGROUP, CHANNEL)  # a channel only for buttons (a bot message forwarded there)
ANONYMOUS_ADMIN = {"id": 1_087_968_824, "is_bot": True, "first_name": "Group", "username": "GroupAnonymousBot"}
LANGUAGE_CODES = [None, "en", "es", "es-MX", "EN", "pt-br", "zh-hans", "ar", "he", "x-klingon", "zz", "", "e" * 35]
USERNAMES = [None, "patient", "p_" + "x" * 30, "José", "مريض"]

# --- what they send -----------------------------------------------------------------------------------

PIECES = [
    "مرحبا، هل الخلايا الجذعية آمنة؟",  # Arabic
    "שלום, כמה זה עולה?",  # Hebrew
    "\u200b",
    "\u200c",
    "\u200d",
    "\u2060",
    "\ufeff",
    "\u200f",
    "\u202e",
    "\u00ad",
    "🙂",
    "👍🏽",
    "👨‍👩‍👧",
    "🏳️‍🌈",
    "<b>",
    "</i>",
    "&amp;",
    "&",
    "<",
    ">",
    "&lt;",
    "&#x1F600;",
    "&nbsp;",
    "<script>alert(1)</script>",
    '<a href="javascript:x">x</a>',
    '"',
    "'",
    "\n",
    "\t",
    "   ",
    "漢字",
    "e\u0301",
    "Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇",
    "/start",
    "@someone",
    "stem cells",
    "células madre",
    "surgery risks",
    "how much does it cost",
    "walk to the shops",
]
SAFE_CHARACTERS = st.characters(exclude_categories=("Cs",))  # Telegram sends UTF-8: no lone surrogates
TEXTS = st.one_of(
    st.text(SAFE_CHARACTERS, max_size=120),
    st.lists(st.one_of(st.sampled_from(PIECES), st.text(SAFE_CHARACTERS, max_size=8)), max_size=30).map("".join),
    st.builds(lambda piece, n: (piece * n)[:n], st.sampled_from([*PIECES, "a", "word "]), st.integers(0, 5000)),
)
COMMANDS = [
    "/start",
    "/start ../../etc",
    "/start " + "A" * 100,
    "/start demo-clinic",
    "/start demo-clinic extra words",
    "/start " + "ü" * 64,
    "/start <b>&amp;",
    "/start@stenosis_guide_bot",
    "/start@otherbot",
    "/menu",
    "/menu@otherbot x",
    "/menu@stenosis_guide_bot",
    "/MENU",
    "/help",
    "/help@stenosis_guide_bot extra args",
    "/privacy",
    "/back",
    "/back",
    "/back 3",
    "/restart",
    "/restart",
    "/restart now",
    "/language",
    "/language fr",
    "/delete",
    "/stats",
    "/unknown",
    "/x" + "y" * 40,
    "/",
    "/ start",
]
PHOTO_SIZES = [{"file_id": "p1", "file_unique_id": "u2", "width": 90, "height": 90}]
MEDIA: dict[str, dict[str, Any]] = {
    "sticker": {
        "sticker": {
            "file_id": "s1",
            "file_unique_id": "u1",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "🙂",
        }
    },
    "photo": {"photo": PHOTO_SIZES},
    "voice": {"voice": {"file_id": "v1", "file_unique_id": "u3", "duration": 2, "mime_type": "audio/ogg"}},
    "audio": {"audio": {"file_id": "a1", "file_unique_id": "u5", "duration": 200, "title": "Song"}},
    "document": {"document": {"file_id": "d1", "file_unique_id": "u4", "file_name": "mri.pdf"}},
    "video": {"video": {"file_id": "vi", "file_unique_id": "u6", "width": 640, "height": 480, "duration": 3}},
    "video_note": {"video_note": {"file_id": "vn", "file_unique_id": "u7", "length": 240, "duration": 3}},
    "animation": {
        "animation": {"file_id": "an", "file_unique_id": "u8", "width": 1, "height": 1, "duration": 1},
        "document": {"file_id": "an", "file_unique_id": "u8", "file_name": "a.gif.mp4"},
    },
    "location": {"location": {"latitude": 51.5, "longitude": -0.1}},
    "live_location": {"location": {"latitude": -33.9, "longitude": 18.4, "live_period": 900, "heading": 90}},
    "venue": {
        "venue": {"location": {"latitude": 40.4, "longitude": -3.7}, "title": "Clínica <i>", "address": "Calle 1"},
        "location": {"latitude": 40.4, "longitude": -3.7},
    },
    "dice": {"dice": {"emoji": "🎲", "value": 6}},
    "poll": {
        "poll": {
            "id": "pl1",
            "question": "Surgery?",
            "options": [
                {"text": "yes", "voter_count": 0, "persistent_id": "o1"},
                {"text": "no", "voter_count": 0, "persistent_id": "o2"},
            ],
            "total_voter_count": 0,
            "is_closed": False,
            "is_anonymous": True,
            "type": "regular",
            "allows_multiple_answers": False,
            "allows_revoting": False,
            "members_only": False,
        }
    },
    "contact_other": {"contact": {"phone_number": "+100000", "first_name": "Someone"}},
    "contact_own": {"contact": {"phone_number": "+34 600 000 000", "first_name": "Pat"}},  # user_id added later
    "forwarded_text": {
        "text": "forwarded",
        "forward_origin": {"type": "hidden_user", "sender_user_name": "X", "date": 1},
    },
}
GROUP_SERVICE: dict[str, dict[str, Any]] = {
    "bot_added": {"new_chat_members": [BOT_USER]},
    "group_created": {"group_chat_created": True},
    "title_changed": {"new_chat_title": "Renamed </i>"},
}
FOREIGN_DATA = [
    "like_42",
    "vote:up",
    "page=2&sort=desc",
    '{"action":"buy","id":1}',
    "https://example.com/cb",
    "menu",
    "cb_start",
    "0",
    " ",
    "c",
    "t",
    "d",
    "s:",
    "x:maybe",
    "x:YES",
    "l:xx",
    "l:",
    "l:EN",
    "c1:",
    "c:agree",
    "c-1:agree",
    "C3:AGREE",
    "c3:agree ",
    "s:MENU",
    "s:not_a_section",
    "s:a" + "b" * 61,
    "t1:" + "o" * 62,
    "c9999999999:ok",
    "m:",
    "m:OPTIONS",
    "o:",
    "oo",
]
STALE_KINDS = [
    "c{}:agree",
    "c{}:ok",
    "c{}:flag_no",
    "c{}:flag_yes",
    "c{}:sudden",
    "t{}:walking_pain",
    "t{}:none",
    "d{}",
    "b{}",
    "r{}",
    "c{}:5",
    "c{}:a_lot",
    "c{}:true",
    "c{}:yes",
    "c{}:stem_cells",
    "c{}:pdf",
    "c{}:k0",
]
CONFIRM_DATA = ["l:en", "l:es", "x:no", "x:yes"]  # the buttons of /language and /delete
# the menu, its groups (one unknown), the comparison, the question again, a section (unknown)
SPECIAL_DATA = [
    "m",
    "m:options",
    "m:general",
    "m:no_such_group",
    "o",
    "q",
    *CONFIRM_DATA,
    "c3:agree",
    "s:not_a_section",
]


def fit_callback(text: str) -> str:
    """Cut to at most 64 UTF-8 bytes (Telegram's limit) without splitting a character; never empty."""
    out = ""
    for char in text:
        if len((out + char).encode()) > 64:
            break
        out += char
    return out or "?"


CALLBACK_DATA = st.one_of(
    st.tuples(st.just("random"), st.text(SAFE_CHARACTERS, min_size=1, max_size=64).map(fit_callback)),
    st.tuples(st.just("random"), st.binary(min_size=1, max_size=64).map(lambda b: fit_callback(b.decode("latin-1")))),
    st.tuples(st.just("foreign"), st.sampled_from(FOREIGN_DATA)),
    st.tuples(st.just("special"), st.sampled_from(SPECIAL_DATA)),
    st.tuples(st.just("stale"), st.tuples(st.sampled_from(STALE_KINDS), st.integers(1, 3))),
    st.tuples(st.just("stale"), st.tuples(st.sampled_from(STALE_KINDS), st.just(999_999_999))),
    st.tuples(st.just("game"), st.just(None)),
)
WHERE = st.sampled_from(["newest", "oldest", "inaccessible"])  # which bot message the tapped button was on

PRIVATE = st.integers(0, 2)  # index of one of the example's patients
Op = tuple[Any, ...]
OPS: st.SearchStrategy[Op] = st.one_of(
    st.tuples(st.just("tap"), PRIVATE, st.integers(0, 40)),
    st.tuples(st.just("tap"), PRIVATE, st.integers(0, 40)),
    st.tuples(st.just("double_tap"), PRIVATE),
    st.tuples(st.just("text"), PRIVATE, TEXTS, st.sampled_from(["none", "mention", "url"])),
    st.tuples(st.just("command"), PRIVATE, st.one_of(st.sampled_from(COMMANDS), st.builds("/start {}".format, TEXTS))),
    st.tuples(st.just("command"), PRIVATE, st.sampled_from(COMMANDS)),
    st.tuples(st.just("media"), PRIVATE, st.sampled_from(sorted(MEDIA)), TEXTS),
    st.tuples(st.just("edited"), PRIVATE, TEXTS),
    st.tuples(st.just("callback"), PRIVATE, CALLBACK_DATA, WHERE),
    st.tuples(st.just("group_text"), st.integers(0, 1), PRIVATE, TEXTS, st.booleans()),
    st.tuples(st.just("group_command"), st.integers(0, 1), PRIVATE, st.sampled_from(COMMANDS)),
    st.tuples(st.just("group_media"), st.integers(0, 1), PRIVATE, st.sampled_from(sorted(MEDIA))),
    st.tuples(st.just("group_service"), st.integers(0, 1), PRIVATE, st.sampled_from(sorted(GROUP_SERVICE))),
    st.tuples(st.just("group_edited"), st.integers(0, 1), PRIVATE, TEXTS),
    st.tuples(st.just("group_callback"), st.integers(0, 2), PRIVATE, CALLBACK_DATA),
    st.tuples(st.just("channel_post"), TEXTS, st.booleans()),
    st.tuples(st.just("member"), PRIVATE, st.sampled_from(["kicked", "member"])),
    st.tuples(st.just("reaction"), PRIVATE),
)
PRIVATE_KINDS = {"tap", "double_tap", "text", "command", "media", "edited", "callback"}
# a third of the private updates are delivered a second time, same update_id (Telegram, after a crash)
OPS_MAYBE_TWICE = st.tuples(OPS, st.sampled_from([False, False, True])).map(
    lambda drawn: [drawn[0], ("redeliver", drawn[0][1])] if drawn[1] and drawn[0][0] in PRIVATE_KINDS else [drawn[0]]
)
PEOPLE = st.lists(
    st.tuples(
        st.sampled_from(USERNAMES), st.sampled_from(LANGUAGE_CODES), st.sampled_from([None, "Ñoño", "\u202eevil"])
    ),
    min_size=3,
    max_size=3,
).map(lambda drawn: [Person(7_000_001 + i, u, code, last_name=last) for i, (u, code, last) in enumerate(drawn)])


# --- the bot under test ---------------------------------------------------------------------------------


class ErrorRecords(logging.Handler):
    """Every log record at ERROR or above, from any logger."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@cache
def engine() -> Engine:
    with tempfile.TemporaryDirectory() as folder:
        return load_engine(make_settings(Path(folder)))


_ids = itertools.count(10_000)


class Run:
    """One example: the Application, the fake API and what each update must have caused."""

    def __init__(self, app: Any, api: FakeBotApi, people: list[Person]) -> None:
        self.app = app
        self.api = api
        self.people = people
        self.database = services(app).settings.database_path  # what is stored is read from the file itself
        self.content = engine().content
        self.private_only = {self.content.texts.get(lang, "bot.private_only") for lang in self.content.texts.languages}
        self.handled_errors: list[BaseException | None] = []
        self.last_tap: dict[int, tuple[str, dict[str, Any]]] = {}
        self.last_update: dict[int, tuple[dict[str, Any], str | None]] = {}

    # --- building raw updates --------------------------------------------------------------------

    def message(self, chat: dict[str, Any], sender: dict[str, Any] | None, extra: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {"message_id": next(_ids), "date": 1_700_000_000, "chat": dict(chat)}
        if sender is not None:
            message["from"] = sender
        message.update(extra)
        return message

    @staticmethod
    def text_fields(text: str, entity: str = "none") -> dict[str, Any]:
        fields: dict[str, Any] = {"text": text}
        entities = []
        if text.startswith("/") and len(text) > 1 and not text[1].isspace():
            entities.append({"type": "bot_command", "offset": 0, "length": utf16_len(text.split()[0])})
        if entity == "mention":
            fields["text"] = text + " @someone"
            entities.append({"type": "mention", "offset": utf16_len(text) + 1, "length": 8})
        elif entity == "url":
            fields["text"] = "https://example.com/?q=<b> " + text
            entities.append({"type": "url", "offset": 0, "length": 26})
        if entities:
            fields["entities"] = entities
        return fields

    def private_chat(self, person: Person) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": person.user_id, "type": "private", "first_name": person.first_name}
        if person.username:
            chat["username"] = person.username
        return chat

    def bot_messages(self, chat_id: int) -> list[dict[str, Any]]:
        with self.api.lock:
            stored = self.api.messages.get(chat_id, {})
            return [json.loads(json.dumps(stored[k])) for k in sorted(stored)]

    def newest_keyboard(self, chat_id: int) -> dict[str, Any] | None:
        for message in reversed(self.bot_messages(chat_id)):
            if message.get("reply_markup", {}).get("inline_keyboard"):
                return message
        return None

    def tapped_message(self, chat_id: int, where: str) -> dict[str, Any] | None:
        """The bot's message a button was tapped on: the newest with buttons, the oldest, or an inaccessible one."""
        messages = self.bot_messages(chat_id)
        if not messages:
            return None
        if where == "oldest":
            return messages[0]
        newest = self.newest_keyboard(chat_id) or messages[-1]
        if where == "inaccessible":  # a message the bot can no longer see: Telegram sends only chat, id, date 0
            return {"chat": newest["chat"], "message_id": newest["message_id"], "date": 0}
        return newest

    def callback(self, person: Person, data: str | None, message: dict[str, Any]) -> dict[str, Any]:
        query: dict[str, Any] = {
            "id": str(next(_ids)),
            "from": person.as_dict(),
            "chat_instance": f"ci{person.user_id}",
            "message": message,
        }
        if data is None:
            query["game_short_name"] = "game"
        else:
            query["data"] = data
        return {"update_id": next(_ids), "callback_query": query}

    # --- the stored session ----------------------------------------------------------------------

    async def stored(self, chat_id: int) -> tuple[dict[str, Any], str | None, int | None]:
        rows = file_rows(self.database, "SELECT answers, state, step FROM sessions WHERE chat_id = ?", (chat_id,))
        if not rows:
            return {}, None, None
        answers, state, step = rows[0]
        return json.loads(answers), state, step

    def stale_data(self, pattern: str, back: int, step: int | None) -> str:
        """A valid-looking button for a step the chat is no longer at."""
        current = step or 0
        stale = back if back == 999_999_999 else current - back
        if stale < 0 or stale == current:
            stale = current + 7
        return pattern.format(stale)

    def is_current_tap(self, data: str | None, step: int | None) -> bool:
        """True for data a real, current button of this chat could carry (it may change the answers)."""
        if data == "x:yes":  # the delete confirmation: erasing the answers is its job
            return True
        event = decode(data)
        return isinstance(event, STEPPED) and step is not None and event.step == step

    # --- feeding and checking --------------------------------------------------------------------

    async def feed(self, raw: dict[str, Any], expect: str, chat_id: int, query_id: str | None = None) -> None:
        """Process one update and check (a), (b), (c) and (e) for it."""
        calls_before = len(self.api.calls)
        errors_before = len(self.handled_errors)
        if expect == "private":
            self.last_update[chat_id] = (raw, query_id)
        await self.app.process_update(Update.de_json(raw, self.app.bot))  # (a): must not raise
        calls = self.api.calls[calls_before:]
        context = f"update {json.dumps(raw, ensure_ascii=False)[:1500]}\ncalls: {[(c.method, c.params) for c in calls]}"
        assert self.handled_errors[errors_before:] == [], f"(a) the error handler was reached\n{context}"
        assert not self.api.rejected, f"(c) the Bot API rejected {self.api.rejected}\n{context}"
        to_chat = [c for c in calls if str(c.params.get("chat_id")) == str(chat_id)]
        answered = [c for c in calls if c.method == "answerCallbackQuery"]
        if query_id is not None:  # (e)
            assert [c.params.get("callback_query_id") for c in answered] == [query_id], (
                f"(e) the callback query was not answered exactly once\n{context}"
            )
        else:
            assert not answered, f"answerCallbackQuery without a callback query\n{context}"
        if expect == "private":  # (b)
            assert any(c.method in VISIBLE for c in to_chat), f"(b) no visible answer to the private chat\n{context}"
        elif expect in ("group", "channel_button"):
            texts = [c.params.get("text") for c in to_chat if c.method in VISIBLE]
            allowed = ([],) if expect == "channel_button" else ()
            assert (len(texts) == 1 and texts[0] in self.private_only) or texts in allowed, (
                f"(b) a group must get the private-only reply and nothing else, got {texts}\n{context}"
            )
            assert not any("reply_markup" in c.params for c in to_chat), f"(b) buttons sent to a group\n{context}"
            assert not file_rows(self.database, "SELECT 1 FROM sessions WHERE chat_id = ?", (chat_id,)), (
                f"(b) a session was stored for a group chat\n{context}"
            )
        elif expect == "nothing":
            assert not calls, f"(b) a channel post must get no call at all\n{context}"
        else:
            assert expect == "any", expect

    async def run_callback(self, person: Person, kind: str, value: Any, where: str) -> None:
        chat_id = person.user_id
        message = self.tapped_message(chat_id, where)
        if message is None:  # no message of the bot to tap on yet: the patient starts first
            await self.send_text(person, "/start")
            message = self.tapped_message(chat_id, where)
            assert message is not None
        if kind == "special" and value in CONFIRM_DATA:  # those buttons come with /language and /delete
            await self.send_text(person, "/delete" if value.startswith("x:") else "/language")
            message, where = self.newest_keyboard(chat_id), "newest"
            assert message is not None
        answers, state, step = await self.stored(chat_id)
        data = self.stale_data(value[0], value[1], step) if kind == "stale" else value
        current = self.is_current_tap(data, step)
        if current and where != "newest":  # a live button is only ever on the newest keyboard
            message = self.tapped_message(chat_id, "newest") or message
        if any(b.get("callback_data") == data for row in keyboard_of(message) for b in row):
            self.last_tap[chat_id] = (data, message)
        raw = self.callback(person, data, message)
        await self.feed(raw, "private", chat_id, raw["callback_query"]["id"])
        after = await self.stored(chat_id)
        if not current:  # (d)
            assert after[0] == answers and (after[1] == state or state is None), (
                f"(d) callback data {data!r} ({kind}) changed the stored session of chat {chat_id}: "
                f"{answers, state, step} -> {after}"
            )

    async def tap(self, person: Person, index: int) -> None:
        chat_id = person.user_id
        message = self.newest_keyboard(chat_id)
        if message is None:
            await self.send_text(person, "/start")
            message = self.newest_keyboard(chat_id)
            if message is None:
                return
        buttons = [b for row in message["reply_markup"]["inline_keyboard"] for b in row]
        data = buttons[index % len(buttons)]["callback_data"]
        self.last_tap[chat_id] = (data, message)
        raw = self.callback(person, data, message)
        await self.feed(raw, "private", chat_id, raw["callback_query"]["id"])

    async def double_tap(self, person: Person) -> None:
        """The same button again (a double tap, or a redelivered update): it must not apply twice."""
        chat_id = person.user_id
        if chat_id not in self.last_tap:
            await self.tap(person, 0)
            if chat_id not in self.last_tap:
                return
        data, message = self.last_tap[chat_id]
        answers, state, step = await self.stored(chat_id)
        raw = self.callback(person, data, message)
        await self.feed(raw, "private", chat_id, raw["callback_query"]["id"])
        if not self.is_current_tap(data, step):  # (d): the repeated tap is stale now
            after = await self.stored(chat_id)
            assert after[0] == answers and (after[1] == state or state is None), (
                f"(d) a repeated tap {data!r} changed chat {chat_id}: {answers, state, step} -> {after}"
            )

    async def redeliver(self, person: Person) -> None:
        """The chat's last update again, same update_id (Telegram redelivers what a crash left unconfirmed)."""
        chat_id = person.user_id
        if chat_id not in self.last_update:
            await self.send_text(person, "/start")
        raw, query_id = self.last_update[chat_id]
        before = await self.stored(chat_id)
        await self.feed(raw, "private", chat_id, query_id)
        after = await self.stored(chat_id)
        assert after == before, f"a redelivered update was applied again in chat {chat_id}: {before} -> {after}"

    async def send_text(self, person: Person, text: str, entity: str = "none") -> None:
        raw = {
            "update_id": next(_ids),
            "message": self.message(self.private_chat(person), person.as_dict(), self.text_fields(text, entity)),
        }
        await self.feed(raw, "private", person.user_id)

    async def walk(self, person: Person, depth: int, choice: int) -> None:
        """Sensible taps (consent, no red flags, some ticks) to reach deep states before the random part."""
        await self.send_text(person, "/start")
        for _ in range(depth):
            _, state_id, step = await self.stored(person.user_id)
            message = self.newest_keyboard(person.user_id)
            if state_id is None or message is None or step is None:
                return
            state = self.content.states.get(state_id)
            rows = file_rows(self.database, "SELECT progress FROM sessions WHERE chat_id = ?", (person.user_id,))
            draft = json.loads(rows[0][0]).get("draft", [])
            data = sensible_data(state, step, draft, choice)
            if data is None:
                return
            if data.startswith("\x00"):
                await self.send_text(person, data[1:])
                continue
            raw = self.callback(person, data, message)
            await self.feed(raw, "private", person.user_id, raw["callback_query"]["id"])

    async def run(self, op: Op) -> None:
        """Build and feed the update(s) of one drawn operation."""
        kind = op[0]
        if kind.startswith("group_"):
            await self.run_group(op)
        elif kind == "channel_post":
            post = self.message(CHANNEL, None, {**self.text_fields(op[1] or "news"), "sender_chat": CHANNEL})
            if op[2]:
                post["edit_date"] = 1_700_000_100
            raw = {"update_id": next(_ids), "edited_channel_post" if op[2] else "channel_post": post}
            await self.feed(raw, "nothing", CHANNEL["id"])
        else:
            await self.run_private(op)

    async def run_private(self, op: Op) -> None:
        kind, person = op[0], self.people[op[1]]
        chat = self.private_chat(person)
        if kind == "tap":
            await self.tap(person, op[2])
        elif kind == "double_tap":
            await self.double_tap(person)
        elif kind == "redeliver":
            await self.redeliver(person)
        elif kind == "text":
            await self.send_text(person, op[2], op[3])
        elif kind == "command":
            await self.send_text(person, op[2])
        elif kind == "media":
            extra = json.loads(json.dumps(MEDIA[op[2]]))
            if op[2] == "contact_own":
                extra["contact"]["user_id"] = person.user_id
            if op[2] in ("photo", "document", "video", "voice") and op[3]:
                extra["caption"] = op[3][:1024]
            raw = {"update_id": next(_ids), "message": self.message(chat, person.as_dict(), extra)}
            await self.feed(raw, "private", person.user_id)
        elif kind == "edited":
            fields = {**self.text_fields(op[2] or "edited"), "edit_date": 1_700_000_100}
            raw = {"update_id": next(_ids), "edited_message": self.message(chat, person.as_dict(), fields)}
            await self.feed(raw, "private", person.user_id)
        elif kind == "callback":
            data_kind, value = op[2]
            await self.run_callback(person, data_kind, value, op[3])
        elif kind == "member":
            bot_member = {"user": BOT_USER, "status": "member"}
            banned = {"user": BOT_USER, "status": "kicked", "until_date": 0}
            old, new = (bot_member, banned) if op[2] == "kicked" else (banned, bot_member)
            update = {"chat": chat, "from": person.as_dict(), "date": 1_700_000_000, "old_chat_member": old}
            update["new_chat_member"] = new
            await self.feed({"update_id": next(_ids), "my_chat_member": update}, "any", person.user_id)
        elif kind == "reaction":
            messages = self.bot_messages(person.user_id)
            reaction = {
                "chat": chat,
                "message_id": messages[-1]["message_id"] if messages else 1,
                "user": person.as_dict(),
                "date": 1_700_000_000,
                "old_reaction": [],
                "new_reaction": [{"type": "emoji", "emoji": "👍"}],
            }
            await self.feed({"update_id": next(_ids), "message_reaction": reaction}, "any", person.user_id)
        else:
            raise AssertionError(kind)

    async def run_group(self, op: Op) -> None:
        kind, group, person = op[0], GROUP_CHATS[op[1]], self.people[op[2]]
        sender: dict[str, Any] | None = person.as_dict()
        extra: dict[str, Any]
        if kind == "group_text":
            extra = self.text_fields(op[3] or "hi")
            if op[4] and group is SUPERGROUP:  # an anonymous admin writes as the group itself
                sender, extra["sender_chat"] = ANONYMOUS_ADMIN, SUPERGROUP
        elif kind == "group_command":
            extra = self.text_fields(op[3])
        elif kind == "group_media":
            extra = json.loads(json.dumps(MEDIA[op[3]]))
        elif kind == "group_service":
            extra = json.loads(json.dumps(GROUP_SERVICE[op[3]]))
        elif kind == "group_edited":
            extra = {**self.text_fields(op[3] or "edited"), "edit_date": 1_700_000_100}
            raw = {"update_id": next(_ids), "edited_message": self.message(group, sender, extra)}
            await self.feed(raw, "group", group["id"])
            return
        else:  # a button of the bot's message shown in a group (e.g. forwarded there with its keyboard)
            assert kind == "group_callback"
            data_kind, value = op[3]
            data = value[0].format(value[1]) if data_kind == "stale" else value
            message = self.message(group, BOT_USER, {"text": "forwarded question"})
            raw = self.callback(person, data, message)
            expect = "channel_button" if group is CHANNEL else "group"
            await self.feed(raw, expect, group["id"], raw["callback_query"]["id"])
            return
        raw = {"update_id": next(_ids), "message": self.message(group, sender, extra)}
        await self.feed(raw, "group", group["id"])


def keyboard_of(message: dict[str, Any]) -> list[list[dict[str, Any]]]:
    return list(message.get("reply_markup", {}).get("inline_keyboard", []))


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


SENSIBLE_ANSWERS = {  # one of these, by `choice`, for the state types that answer in turn (values, knowledge, SURE)
    "weighted": ("a_lot", "a_little", "not_at_all"),
    "knowledge": ("true", "false", "not_sure"),
    "sure": ("yes", "no"),
}


def leads_on(option: Any) -> bool:
    """An option that neither declines consent nor stops the guide (an emergency)."""
    target = engine().content.states.get(option.next) if isinstance(option.next, str) else None
    return option.action != "decline_consent" and getattr(target, "type", None) != "stop"


def sensible_data(state: StateBase | None, step: int, draft: list[str], choice: int) -> str | None:
    """What a patient who wants to get through would tap (or type, prefixed with NUL) in this state: consent,
    no emergency sign (an urgent one may lead on), some ticks, a weight for each value."""
    kind = getattr(state, "type", None)
    if state is None or kind in ("stop", "menu"):
        return None
    if kind in ("safety", "single"):
        fine = [o for o in state.options if leads_on(o)]  # type: ignore[attr-defined]
        return f"c{step}:{fine[choice % len(fine)].id}" if fine else None
    if kind == "multi":
        if draft:
            return f"d{step}"
        return f"t{step}:{state.options[choice % len(state.options)].id}"  # type: ignore[attr-defined]
    if kind == "scale":
        low, high = state.low, state.high  # type: ignore[attr-defined]
        return f"c{step}:{low + choice % (high - low + 1)}"
    if kind == "text":
        return "\x00to walk <b>&amp; to the shops 🙂"
    if kind in SENSIBLE_ANSWERS:
        answers = SENSIBLE_ANSWERS[kind]
        return f"c{step}:{answers[(choice + len(draft)) % len(answers)]}"
    if kind == "clinic_choice":
        return f"c{step}:none"
    if kind == "handoff_consent":
        return f"c{step}:cancel"
    return f"c{step}:ok"  # message, result, comparison, nudge, summary and any newer read-then-continue state


async def run_example(people: list[Person], depth: int, choice: int, ops: list[Op]) -> None:
    errors = ErrorRecords()
    root = logging.getLogger()
    root.addHandler(errors)
    try:
        with tempfile.TemporaryDirectory(prefix="fuzz-updates-") as folder:
            api = FakeBotApi()
            settings_ = make_settings(Path(folder))
            app = build_application(settings_, engine=engine(), request=OfflineRequest(api), rate_limit=False)
            run = Run(app, api, people)

            async def record_error(update: object, context: Any) -> None:
                run.handled_errors.append(context.error)

            app.add_error_handler(record_error)
            async with app:
                await start_services(app)
                try:
                    if depth:
                        await run.walk(people[0], depth, choice)
                    for op in ops:
                        await run.run(op)
                finally:
                    await stop_services(app)
        assert not errors.records, "(a) logged at ERROR: " + "; ".join(
            f"{r.name}: {r.getMessage()} {r.exc_info[1]!r}" if r.exc_info else f"{r.name}: {r.getMessage()}"
            for r in errors.records
        )
    finally:
        root.removeHandler(errors)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    people=PEOPLE,
    depth=st.sampled_from([0, 0, 3, 8, 14, 20, 28, 40, 60]),
    choice=st.integers(0, 5),
    ops=st.lists(OPS_MAYBE_TWICE, min_size=1, max_size=25).map(lambda drawn: [op for ops in drawn for op in ops]),
)
def test_random_updates_of_every_kind_never_break_the_bot(
    people: list[Person], depth: int, choice: int, ops: list[Op]
) -> None:
    asyncio.run(run_example(people, depth, choice, ops))


# --- the bugs the property found, as plain reproductions ----------------------------------------------

PATIENTS = [Person(7_000_001 + i, "patient", "en") for i in range(3)]


def test_a_button_tapped_in_a_group_gets_only_the_private_only_reply() -> None:
    """A bot message forwarded to a group keeps its buttons; a tap there must not start a conversation."""
    asyncio.run(run_example(PATIENTS, 0, 0, [("group_callback", 0, 0, ("foreign", "like_42"))]))


def test_cancelling_a_delete_answers_the_callback_query_once() -> None:
    asyncio.run(run_example(PATIENTS, 0, 0, [("callback", 0, ("special", "x:no"), "newest")]))


def test_a_double_tap_on_a_language_button_makes_no_call_telegram_rejects() -> None:
    asyncio.run(run_example(PATIENTS, 0, 0, [("callback", 0, ("special", "l:es"), "newest"), ("double_tap", 0)]))


def test_a_redelivered_back_command_is_not_applied_twice() -> None:
    """/back carries no step: only the update id tells a redelivery (after a crash) from a second /back."""
    asyncio.run(run_example(PATIENTS, 8, 0, [("command", 0, "/back"), ("redeliver", 0)]))

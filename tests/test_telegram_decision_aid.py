"""The decision aid's second version through Telegram, from /start to the end, in English and Spanish.

The top of this module is a small patient driver that the other Telegram test modules share: it taps buttons
by what they do (an option id, `toggle:<id>`, `done`, `back`, as tests/conversation_script.py names them)
and checks messages by the text keys they were built from, so wording edits don't break the walks.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from bot.app import build_application, services, start_services, stop_services
from bot.clock import FakeClock
from bot.plaintext import to_plain
from bot.settings import Settings
from bot.storage import Store
from bot.storage.base import decode_progress
from flows.content import Content
from flows.loader import load_content
from tests.conftest import CONTENT, BotEnv, make_settings
from tests.conversation_script import button_name
from tests.db import stored
from tests.fake_bot_api import FakeBotApi, parse_telegram_html
from tests.telegram_harness import OfflineRequest, TelegramUser
from tests.test_engine import SUMMARY_BUTTONS, SUMMARY_FIGURES

# --- the patient driver (shared by the Telegram test modules) ------------------------------------------

OPTIONS = ("wait", "exercise", "medicines", "epidural", "surgery", "stem_cells")  # the comparison's order
VALUES = ("avoid_surgery", "proven", "low_cost", "quick_return", "few_visits", "stay_near_home")
SAFETY_QUESTIONS = ("safety.cauda", "safety.legs", "safety.neck", "safety.other")
CLINIC_CHAT = -100777
CLINIC_STAFF = 9001
CLINIC_ADMIN = 7001


@cache
def content() -> Content:
    """The real content (texts, flow and example patients), loaded once."""
    loaded = load_content(CONTENT).content
    assert loaded is not None, "content/ does not load: run python -m bot validate"
    return loaded


def text_of(key: str, language: str = "en") -> str:
    """The text for `key` as the bot sends it (Telegram HTML)."""
    return content().texts.get(language, key)


def built_from(message: Mapping[str, Any] | str, key: str, language: str = "en") -> bool:
    """True when the message holds the text of `key` (a text with `{placeholders}`: every fixed part)."""
    assert content().texts.has(language, key), f"no text {key!r} in content/texts"
    text = message if isinstance(message, str) else str(message.get("text", ""))
    parts = [part.strip() for part in re.split(r"\{\w+\}", text_of(key, language))]
    return all(part in text for part in parts if part)


def visible(message: Mapping[str, Any]) -> str:
    """The text the patient sees (Telegram HTML parsed the way Telegram parses it)."""
    shown, errors = parse_telegram_html(str(message["text"]))
    assert not errors, errors
    return shown


def example(example_id: str) -> dict[str, Any]:
    """The answers of one of content/candidacy.yaml's example patients."""
    found = [e for e in content().candidacy.examples if e.id == example_id]
    assert found, f"no example patient {example_id!r} in content/candidacy.yaml"
    return dict(found[0].answers)


def buttons_of(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The inline buttons of a message, whether as sent (markup as JSON) or as stored by the fake API."""
    markup = message.get("reply_markup") or {}
    if isinstance(markup, str):
        markup = json.loads(markup)
    return [button for row in markup.get("inline_keyboard", []) for button in row]


@dataclass
class Patient:
    """A patient in a private chat with the bot: taps buttons by name, reads messages by text key."""

    env: BotEnv
    user: TelegramUser
    language: str = "en"

    @classmethod
    def of(cls, env: BotEnv, chat_id: int = 4242, language: str = "en") -> Patient:
        return cls(env, env.user(chat_id, language_code=language), language)

    @property
    def chat_id(self) -> int:
        return self.user.chat_id

    # --- reading ---------------------------------------------------------------------------------------

    def says(self, message: Mapping[str, Any] | str, key: str) -> bool:
        """True when `message` was built from the text `key`, in this patient's language."""
        return built_from(message, key, self.language)

    def last(self) -> dict[str, Any]:
        """The newest message of the chat, as it looks now."""
        return self.user.messages()[-1]

    def keyboard(self) -> dict[str, Any]:
        """The newest message with buttons (a photo, when the buttons moved onto the pictures after a message)."""
        return self.user.last_keyboard_message()

    def texts(self) -> list[dict[str, Any]]:
        """The chat's text messages as they look now, oldest first (without the photos)."""
        return [m for m in self.user.messages() if "photo" not in m]

    def photos(self) -> list[dict[str, Any]]:
        """Every photo sent to this chat so far, oldest first, as sent: `caption`, `reply_markup` and the PNG in
        `_files`."""
        return self.env.api.sent(self.chat_id, method="sendPhoto")

    def names(self, message: Mapping[str, Any] | None = None) -> list[str]:
        """The buttons of `message` (a sent message or a stored one; default: the newest keyboard) by what they
        do, in order."""
        return [button_name(b["callback_data"]) for b in buttons_of(message or self.keyboard())]

    async def row(self) -> dict[str, Any]:
        """The chat's stored session row: state, answers, progress, consent."""
        rows = stored(
            self.env, "SELECT state, answers, progress, consent FROM sessions WHERE chat_id = ?", (self.chat_id,)
        )
        assert rows, f"no session stored for chat {self.chat_id}"
        state, answers, progress, consent = rows[0]
        return {
            "state": state,
            "answers": json.loads(answers),
            "progress": decode_progress(progress),
            "consent": consent,
        }

    async def state(self) -> str:
        return str((await self.row())["state"])

    async def answers(self) -> dict[str, Any]:
        return dict((await self.row())["answers"])

    async def events(self) -> list[tuple[int | None, str]]:
        """Every stage event of the database as (chat id, stage), oldest first."""
        rows = stored(self.env, "SELECT chat_id, stage FROM events ORDER BY id")
        return [(chat, stage) for chat, stage in rows]

    # --- doing ---------------------------------------------------------------------------------------

    async def send(self, text: str) -> list[dict[str, Any]]:
        """Type a message or a command; returns the messages the bot sent."""
        return await self.user.send(text)

    async def tap(self, name: str, message: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Tap the button named `name` on `message` (default: the newest keyboard); returns the new messages."""
        message = dict(message) if message is not None else self.keyboard()
        buttons = [b for b in buttons_of(message) if button_name(b["callback_data"]) == name]
        assert len(buttons) == 1, f"no single button {name!r}; shown: {self.names(message)}"
        return await self.user.tap_data(buttons[0]["callback_data"], message)

    async def start(self, payload: str | None = None) -> list[dict[str, Any]]:
        return await self.send("/start" if payload is None else f"/start {payload}")

    async def clear_the_screen(self, payload: str | None = None) -> None:
        """/start, Continue, then "No" to the four safety questions: the consent question is next."""
        await self.start(payload)
        await self.tap("ok")
        for key in SAFETY_QUESTIONS:
            assert self.says(self.keyboard(), key), f"expected {key}"
            await self.tap("flag_no")
        assert self.says(self.keyboard(), "consent.ask")

    async def consent(self, payload: str | None = None) -> None:
        """Clear the safety screen and agree to consent: the first intake question is next."""
        await self.clear_the_screen(payload)
        await self.tap("agree")
        assert self.says(self.keyboard(), "region.ask")

    async def answer_intake(self, answers: Mapping[str, Any], goal: str | None = None) -> list[dict[str, Any]]:
        """Answer the intake questions as `answers` say (ticks for multi-choice, numbers for scales; the goal
        typed, or skipped) until the result; returns the messages sent after the last answer."""
        sent: list[dict[str, Any]] = []
        for _ in range(len(content().states)):
            state_id = await self.state()
            if state_id == "result":
                return sent
            state = content().states[state_id]
            assert self.says(self.keyboard(), state.text), f"{state_id}: the question is not shown"
            if state.type == "multi":
                for option in answers[state_id]:
                    await self.tap(f"toggle:{option}")
                sent = await self.tap("done")
            elif state.type == "text":
                sent = await self.send(goal) if goal else await self.tap("skip")
            else:
                sent = await self.tap(str(answers[state_id]))
        raise AssertionError("the intake never reached the result")

    async def weigh(self, weights: Mapping[str, str]) -> list[dict[str, Any]]:
        """Weigh each value in turn ('a_lot', 'a_little', 'not_at_all'); returns what the last tap sent."""
        values = self.keyboard()
        sent: list[dict[str, Any]] = []
        for value in VALUES:
            sent = await self.tap(weights.get(value, "not_at_all"), values)
            values = self.user.api.messages[self.chat_id][values["message_id"]]
        return sent

    async def knowledge_check(self) -> list[dict[str, Any]]:
        """Answer the three statements 'not sure'; returns what the last answer sent."""
        sent: list[dict[str, Any]] = []
        for _ in range(3):
            sent = await self.tap("not_sure")
        return sent

    async def sure(self, answers: Sequence[str]) -> list[dict[str, Any]]:
        """Answer the four SURE questions ('yes' or 'no'), one at a time."""
        sure = self.keyboard()
        sent: list[dict[str, Any]] = []
        for answer in answers:
            sent = await self.tap(answer, sure)
            sure = self.user.api.messages[self.chat_id][sure["message_id"]]
        return sent

    async def to_summary(
        self, leaning: str = "exercise", weights: Mapping[str, str] | None = None, sure: Sequence[str] = ("yes",) * 4
    ) -> list[dict[str, Any]]:
        """From the result to the summary: the comparison, values, knowledge check, leaning, nudge (if shown),
        SURE and its message; returns the summary message."""
        await self.tap("ok")  # the result
        await self.tap("ok")  # the comparison
        await self.weigh(weights or {})
        await self.knowledge_check()
        await self.tap(leaning)
        if await self.state() == "nudge":
            await self.tap("ok")
        await self.sure(sure)
        return await self.tap("ok")

    async def walk(
        self,
        answers: Mapping[str, Any],
        goal: str | None = None,
        payload: str | None = None,
        leaning: str = "exercise",
    ) -> list[dict[str, Any]]:
        """A patient who clears the screen and consents, from /start to the summary."""
        await self.consent(payload)
        await self.answer_intake(answers, goal)
        return await self.to_summary(leaning)


@asynccontextmanager
async def running_bot(
    settings: Settings,
    store: Store | None = None,
    clock: FakeClock | None = None,
    api: FakeBotApi | None = None,
    request: OfflineRequest | None = None,
) -> AsyncIterator[BotEnv]:
    """A started Application on `settings` with the offline Bot API (a new one, or `api`, through `request` if
    given), a clock the test moves (or `clock`), and the store the settings name (or `store`)."""
    api = api or (request.api if request else FakeBotApi())
    clock = clock or FakeClock()
    request = request or OfflineRequest(api)
    app = build_application(settings, request=request, rate_limit=False, store=store, clock=clock)
    async with app:
        await start_services(app)
        try:
            yield BotEnv(app, api, settings, services(app).store, clock)
        finally:
            await stop_services(app)


@asynccontextmanager
async def clinic_application(tmp_path: Path) -> AsyncIterator[BotEnv]:
    """The real content, with the demo clinic able to receive hand-offs and one staff member."""
    folder = tmp_path / "content"
    shutil.copytree(CONTENT, folder)
    clinics = folder / "clinics.yaml"
    text = clinics.read_text(encoding="utf-8")
    assert "    handoff_chat_id:\n" in text and "    staff_ids: []" in text, "clinics.yaml changed: update the test"
    text = text.replace("    handoff_chat_id:\n", f"    handoff_chat_id: {CLINIC_CHAT}\n")
    text = text.replace("    staff_ids: []", f"    staff_ids: [{CLINIC_STAFF}]")
    clinics.write_text(text, encoding="utf-8")
    async with running_bot(make_settings(tmp_path, content_dir=folder, admin_ids=str(CLINIC_ADMIN))) as env:
        yield env


@pytest.fixture
async def clinic_env(tmp_path: Path) -> AsyncIterator[BotEnv]:
    async with clinic_application(tmp_path) as env:
        yield env


def ticks_sorted(answers: Mapping[str, Any]) -> dict[str, Any]:
    """Answers with the ticks of multi-choice questions sorted (they are kept in the options' order)."""
    return {key: sorted(value) if isinstance(value, list) else value for key, value in answers.items()}


def filled(key: str, language: str = "en", **values: object) -> str:
    """A text with its `{placeholders}` filled in."""
    text = text_of(key, language)
    for name, value in values.items():
        text = text.replace("{" + name + "}", str(value))
    return text


# --- the whole path, for a low-back, a neck and a "both" patient, in English and Spanish ------------------


@dataclass(frozen=True)
class Walk:
    """One patient's way through: an example patient's intake, then their values, leaning and SURE answers."""

    language: str
    example: str
    outcome: str
    reasons: tuple[str, ...]
    weights: dict[str, str]
    leaning: str
    nudges: tuple[str, ...]  # the conflicts the nudge names (none: no nudge)
    sure: tuple[str, ...]
    goal: str | None

    @property
    def region(self) -> str:
        return str(example(self.example)["region"])


WALKS = [
    Walk(
        "en",
        "low_back_profile",
        "may_be_discussed",
        ("clinic_profile", "mri_caveat"),
        {"proven": "a_lot", "low_cost": "a_little"},
        "stem_cells",
        ("nudge.stem_cells.proven",),
        ("yes", "yes", "yes", "yes"),
        "walk to the shops",
    ),
    Walk(
        "en",
        "neck_pain_only",
        "unclear",
        ("neck_evidence", "mri_caveat"),
        {"proven": "a_lot", "few_visits": "a_little"},
        "exercise",
        (),
        ("no", "yes", "yes", "yes"),
        None,
    ),
    Walk(
        "en",
        "both_regions",
        "unclear",
        ("neck_evidence", "mri_caveat"),
        {"avoid_surgery": "a_lot", "quick_return": "a_lot", "proven": "a_little"},
        "surgery",
        ("nudge.surgery.avoid_surgery", "nudge.surgery.quick_return"),
        ("yes", "yes", "yes", "yes"),
        "play with my grandchildren",
    ),
    Walk(
        "es",
        "low_back_profile",
        "may_be_discussed",
        ("clinic_profile", "mri_caveat"),
        {},
        "wait",
        (),
        ("yes", "yes", "no", "no"),
        "caminar hasta la tienda",
    ),
    Walk(
        "es",
        "neck_pain_only",
        "unclear",
        ("neck_evidence", "mri_caveat"),
        {"low_cost": "a_lot", "stay_near_home": "a_lot"},
        "stem_cells",
        ("nudge.stem_cells.low_cost", "nudge.stem_cells.stay_near_home"),
        ("yes", "yes", "yes", "yes"),
        None,
    ),
    Walk(
        "es",
        "both_regions",
        "unclear",
        ("neck_evidence", "mri_caveat"),
        {"proven": "a_lot", "avoid_surgery": "a_little"},
        "epidural",
        ("nudge.epidural.proven",),
        ("no", "no", "no", "no"),
        "dormir sin dolor",
    ),
]


async def walk_the_safety_screen(p: Patient) -> None:
    """The welcome, then the four safety questions, answered "No": nothing is kept, and consent comes next."""
    sent = await p.start()
    assert [p.says(m, "welcome") for m in sent] == [True]
    assert p.names() == ["ok"]
    sent = await p.tap("ok")
    assert p.says(sent[-1], "safety.cauda")
    assert p.names() == ["flag_yes", "flag_unsure", "flag_no", "back"]
    for key, buttons in (
        ("safety.legs", ["sudden", "gradual", "flag_unsure", "flag_no", "back"]),
        ("safety.neck", ["sudden", "gradual", "flag_unsure", "flag_no", "back"]),
        ("safety.other", ["flag_yes", "flag_unsure", "flag_no", "back"]),
    ):
        sent = await p.tap("flag_no")
        assert p.says(sent[-1], key) and p.names() == buttons, key
        assert (await p.row())["answers"] == {}
    sent = await p.tap("flag_no")
    assert p.says(sent[-1], "consent.ask")
    assert p.names() == ["agree", "decline"]  # leaving the safety screen is one way
    row = await p.row()
    assert row["answers"] == {} and row["consent"] is None and row["progress"]["history"] == []


def check_result(p: Patient, walk: Walk, message: dict[str, Any]) -> None:
    """The result names the outcome and every reason behind it, with the answers that led to it."""
    outcome = f"outcome.{walk.outcome}"
    assert p.says(message, "result.intro")
    assert p.says(message, f"{outcome}.title") and p.says(message, f"{outcome}.body")
    for other in content().candidacy.outcomes:
        if other.id != walk.outcome:
            assert not p.says(message, other.title), other.id
    for reason in walk.reasons:
        assert p.says(message, f"reason.{reason}"), reason
    assert p.says(message, "result.based_on")
    region = f"{text_of('region.short', walk.language)}: {text_of(f'region.{walk.region}', walk.language)}"
    assert region in message["text"]  # the answers behind a reason are named
    assert p.says(message, "result.disclaimer")
    assert p.names(message) == ["ok", "back"]


def check_comparison(p: Patient, walk: Walk, sent: list[dict[str, Any]], photos: list[dict[str, Any]]) -> None:
    """All six options side by side in one message under Telegram's limit, in the decision's order; the note
    that the numbers are from the low back only for a neck patient; then the same as a table, in a photo that
    carries the buttons."""
    assert len(sent) == 1, "the comparison is one message"
    message = sent[0]
    assert p.says(message, "comparison.intro")
    assert len(visible(message)) < 4096
    positions = []
    for number, option in enumerate(OPTIONS, start=1):
        name = f"{number}. {text_of(f'option.{option}.name', walk.language)}"
        assert name in message["text"], name
        positions.append(message["text"].index(name))
    assert positions == sorted(positions)
    for option in OPTIONS:
        for part in ("may", "risks", "time_cost"):
            assert p.says(message, f"option.{option}.{part}"), (option, part)
    assert p.says(message, "comparison.neck_note") == (walk.region in ("neck", "both"))
    assert p.names(message) == [], "the buttons are under the table, at the bottom of the chat"
    assert [p.says(photo["caption"], "figure.options_table.caption") for photo in photos] == [True]
    assert p.names(photos[0]) == ["ok", "back"]


async def check_values(p: Patient, walk: Walk) -> list[dict[str, Any]]:
    """Each value in turn, weighted 'a lot / a little / not at all', in one message edited in place."""
    message = p.keyboard()
    assert p.says(message, "values.ask")
    sent: list[dict[str, Any]] = []
    for index, value in enumerate(VALUES):
        message = p.user.api.messages[p.chat_id][message["message_id"]]
        assert p.says(message, f"values.{value}")
        assert filled("series.progress", walk.language, n=index + 1, total=len(VALUES)) in message["text"]
        assert p.names(message) == ["a_lot", "a_little", "not_at_all", "back"]
        sent = await p.tap(walk.weights.get(value, "not_at_all"), message)
        if index < len(VALUES) - 1:
            assert sent == [], "a value is weighed in place, not in a new message"
    assert "reply_markup" not in p.user.api.messages[p.chat_id][message["message_id"]]  # its buttons are gone
    a_lot = [value for value in VALUES if walk.weights.get(value) == "a_lot"]
    if a_lot:  # what matters a lot is reflected back: how the options compare on it
        assert len(sent) == 2 and p.says(sent[0], "weighted.reflect_heading")
        assert [value for value in VALUES if p.says(sent[0], f"values.reflect.{value}")] == a_lot
    else:
        assert len(sent) == 1, "nothing matters a lot: nothing to reflect"
    weights = {value: walk.weights.get(value, "not_at_all") for value in VALUES}
    assert (await p.answers())["values"] == weights
    return sent


async def check_knowledge(p: Patient, walk: Walk, first: dict[str, Any]) -> list[dict[str, Any]]:
    """Three true-or-false statements; each answer is followed by the right answer and why. Nothing is kept."""
    kept = await p.answers()
    message = first
    sent: list[dict[str, Any]] = []
    for index, (statement, true) in enumerate((("waiting", True), ("cells_proven", False), ("surgery_sure", False))):
        assert p.says(message, "knowledge.intro") and p.says(message, f"knowledge.{statement}"), statement
        assert filled("series.progress", walk.language, n=index + 1, total=3) in message["text"]
        assert p.names(message) == ["true", "false", "not_sure", "back"]
        sent = await p.tap(("true", "false", "not_sure")[index])
        verdict, message = sent[0], sent[-1]
        assert len(sent) == 2
        assert p.says(verdict, "knowledge.answer_true" if true else "knowledge.answer_false")
        assert p.says(verdict, f"knowledge.{statement}_why")
    assert await p.answers() == kept
    return sent


async def check_leaning_to_sure(p: Patient, walk: Walk, message: dict[str, Any]) -> None:
    """Where the patient leans (the six options in the comparison's order, and 'not sure'), then the nudge
    when the leaning conflicts with a value that matters a lot, then the SURE questions one at a time."""
    assert p.says(message, "leaning.ask")
    assert p.names(message) == [*OPTIONS, "unsure", "back"]
    sent = await p.tap(walk.leaning)
    conflicts = [f"nudge.{c.leaning}.{c.value}" for c in content().states["nudge"].conflicts]  # type: ignore[union-attr]
    if walk.nudges:
        assert p.says(sent[-1], "nudge.intro")
        assert [key for key in conflicts if p.says(sent[-1], key)] == list(walk.nudges)
        assert p.names() == ["ok", "back"]
        sent = await p.tap("ok")
    else:
        assert not any(p.says(m, "nudge.intro") for m in sent), "a nudge with nothing to say"
    assert p.says(sent[-1], "sure.intro")
    sure = p.keyboard()
    for index, (item, answer) in enumerate(zip(("sure", "understand", "values", "support"), walk.sure, strict=True)):
        sure = p.user.api.messages[p.chat_id][sure["message_id"]]
        assert p.says(sure, f"sure.{item}") and p.names(sure) == ["yes", "no", "back"], item
        sent = await p.tap(answer, sure)
        if index < 3:
            assert sent == [], "a SURE question is answered in place"
    score = walk.sure.count("yes")
    assert p.says(sent[-1], "sure.high" if score == 4 else "sure.low")
    assert not p.says(sent[-1], "sure.low" if score == 4 else "sure.high")
    assert (await p.answers())["sure"] == score


@pytest.mark.parametrize("walk", WALKS, ids=lambda w: f"{w.language}-{w.example}")
async def test_the_whole_path_from_start_to_your_own_doctor(bot_env: BotEnv, walk: Walk) -> None:
    p = Patient.of(bot_env, language=walk.language)
    await walk_the_safety_screen(p)
    sent = await p.tap("agree")
    assert p.says(sent[-1], "region.ask")
    answers = example(walk.example)
    sent = await p.answer_intake(answers, walk.goal)
    assert len(sent) == 1
    check_result(p, walk, sent[0])

    before = len(p.photos())
    check_comparison(p, walk, await p.tap("ok"), p.photos()[before:])
    await p.tap("ok")
    sent = await check_values(p, walk)
    sent = await check_knowledge(p, walk, sent[-1])
    await check_leaning_to_sure(p, walk, sent[-1])

    before = len(p.photos())
    sent = await p.tap("ok")
    summary = sent[-1]
    assert p.says(summary, "summary.intro") and p.says(summary, f"outcome.{walk.outcome}.title")
    pictures = p.photos()[before:]  # the figures of the leaning and of its comparator
    figures = SUMMARY_FIGURES[walk.leaning]
    assert len(pictures) == len(figures)
    for photo, figure in zip(pictures, figures, strict=True):
        assert p.says(photo["caption"], f"figure.{figure}.caption"), figure
    assert [p.names(photo) for photo in pictures[:-1]] == [[]] * (len(pictures) - 1)
    assert p.names(pictures[-1]) == SUMMARY_BUTTONS  # under the last picture, at the bottom of the chat
    leaning = f"{text_of('leaning.short', walk.language)}: {text_of(f'leaning.{walk.leaning}', walk.language)}"
    assert leaning in summary["text"]
    for value in VALUES:  # what matters a lot, and only that, is reflected in the summary too
        reflected = to_plain(text_of(f"values.reflect.{value}", walk.language))
        assert (reflected in visible(summary)) == (walk.weights.get(value) == "a_lot"), value
    assert p.names(summary) == []

    sent = await p.tap("ok")  # check-ins are offered at the end of the summary
    assert [p.says(m, "follow_up.offer") for m in sent] == [True]
    assert p.names() == ["no", "yes", "back"]
    sent = await p.tap("no")  # no clinic of the real content can receive a hand-off
    assert [p.says(m, "own_doctor") for m in sent] == [True]
    assert not any(p.says(m, "handoff.choose") for m in p.user.messages())
    sent = await p.tap("ok")
    assert p.says(sent[-1], "menu.intro")
    assert await p.state() == "menu"

    expected = {
        **answers,
        "values": {value: walk.weights.get(value, "not_at_all") for value in VALUES},
        "leaning": walk.leaning,
        "sure": walk.sure.count("yes"),
    }
    if walk.goal:
        expected["goal"] = walk.goal
    assert ticks_sorted(await p.answers()) == ticks_sorted(expected)
    assert await p.events() == [(4242, "started"), (None, "screened"), (4242, "consented"), (4242, "completed")]


# --- the two urgency tiers ---------------------------------------------------------------------------------

EMERGENCY_NUMBERS = {
    "en": ("999", "911", "112"),
    "es": ("112", "911", "123", "131", "106", "107"),  # Spain, Mexico/US, Colombia, Chile, Peru, Argentina
}


async def answer_safety(p: Patient, answers: Sequence[str], payload: str | None = None) -> list[dict[str, Any]]:
    """/start, Continue, then these answers to the safety questions; returns what the last answer sent."""
    await p.start(payload)
    sent = await p.tap("ok")
    for answer in answers:
        sent = await p.tap(answer)
    return sent


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize(
    ("answers", "advice"),
    [
        (["flag_yes"], "emergency.cauda"),
        (["flag_no", "sudden"], "emergency.legs"),
        (["flag_no", "flag_no", "sudden"], "emergency.neck"),
    ],
    ids=["cauda", "legs", "neck"],
)
async def test_an_emergency_answer_stops_the_guide_at_the_emergency_advice(
    bot_env: BotEnv, language: str, answers: list[str], advice: str
) -> None:
    p = Patient.of(bot_env, language=language)
    sent = await answer_safety(p, answers)
    assert p.says(sent[-1], advice)
    for number in EMERGENCY_NUMBERS[language]:
        assert number in visible(sent[-1]), number
    assert p.names() == ["restart"]  # no way back into the questions, and no way on
    for typed in ("I still want to know about stem cells", "/back", "/start"):
        sent = await p.send(typed)
        assert p.says(sent[-1], advice), typed  # the advice again, nothing else asked
    assert await p.state() == advice.replace(".", "_")
    row = await p.row()
    assert row["answers"] == {} and row["consent"] is None and row["progress"]["history"] == []
    assert await p.events() == [(4242, "started"), (None, "red_flag")]  # counted, never tied to the chat
    sent = await p.tap("restart")
    assert p.says(sent[-1], "welcome")


@pytest.mark.parametrize(
    "answers",
    [
        ["flag_unsure"],
        ["flag_no", "gradual"],
        ["flag_no", "flag_unsure"],
        ["flag_no", "flag_no", "gradual"],
        ["flag_no", "flag_no", "flag_no", "flag_yes"],
        ["flag_no", "flag_no", "flag_no", "flag_unsure"],
    ],
    ids=["cauda-unsure", "legs-gradual", "legs-unsure", "neck-gradual", "other-yes", "other-unsure"],
)
async def test_an_urgent_answer_shows_the_urgent_advice_with_the_consent_question(
    bot_env: BotEnv, answers: list[str]
) -> None:
    p = Patient.of(bot_env)
    sent = await answer_safety(p, answers)
    assert len(sent) == 1 and p.says(sent[0], "urgent.advice") and p.says(sent[0], "consent.ask")
    assert "111" in visible(sent[0]) and "a doctor today" in visible(sent[0])  # the wording is the point here
    assert p.names() == ["agree", "decline"]
    assert await p.events() == [(4242, "started"), (None, "urgent")]
    assert (await p.row())["progress"]["history"] == []


async def test_the_urgent_advice_in_spanish(bot_env: BotEnv) -> None:
    p = Patient.of(bot_env, language="es")
    sent = await answer_safety(p, ["flag_unsure"])
    assert p.says(sent[-1], "urgent.advice") and p.says(sent[-1], "consent.ask")
    assert "hoy" in visible(sent[-1]) and "061" in visible(sent[-1])
    assert p.names() == ["agree", "decline"]


async def test_an_urgent_patient_may_read_on_but_is_sent_to_a_doctor_first_and_offered_no_clinic(
    clinic_env: BotEnv,
) -> None:
    control = Patient.of(clinic_env, chat_id=4243)  # the same link, no warning sign: the clinic is offered
    await control.walk(example("low_back_profile"), payload="demo-clinic")
    sent = await control.tap("ok")
    assert control.says(sent[-1], "follow_up.offer")
    sent = await control.tap("no")
    assert control.says(sent[-1], "handoff.choose") and "k0" in control.names()

    p = Patient.of(clinic_env)
    sent = await answer_safety(p, ["flag_no", "flag_no", "flag_no", "flag_yes"], payload="demo-clinic")
    assert p.says(sent[-1], "urgent.advice")
    sent = await p.tap("agree")
    assert p.says(sent[-1], "region.ask")
    assert await p.answers() == {"safety": "urgent"}  # the advice is kept with the consent, and only then
    sent = await p.answer_intake(example("urgent_fever"), "walk further")
    assert p.says(sent[-1], "outcome.see_doctor_first.title") and p.says(sent[-1], "reason.urgent_screen")
    assert not p.says(sent[-1], "outcome.may_be_discussed.title")
    summary = await p.to_summary(leaning="stem_cells", weights={"proven": "a_lot"})
    assert p.says(summary[-1], "summary.intro") and p.says(summary[-1], "outcome.see_doctor_first.title")
    sent = await p.tap("ok")  # check-ins are offered to urgent-tier patients too
    assert [p.says(m, "follow_up.offer") for m in sent] == [True]
    sent = await p.tap("no")
    assert [p.says(m, "own_doctor") for m in sent] == [True]
    assert not any(p.says(m, "handoff.choose") for m in p.user.messages())
    assert clinic_env.api.sent(CLINIC_CHAT) == []
    assert await clinic_env.store.handoffs() == []
    mine = [stage for chat, stage in await p.events() if chat == 4242]
    assert mine == ["started", "consented", "completed"]
    assert (None, "urgent") in await p.events()


# --- declining consent after the safety screen --------------------------------------------------------------


async def stored_rows(env: BotEnv, chat_id: int) -> dict[str, Any]:
    """What the database holds about one chat: its session row (without the update ids) and its events."""
    rows = stored(
        env, "SELECT state, step, answers, progress, consent, consent_at FROM sessions WHERE chat_id = ?", (chat_id,)
    )
    state, step, answers, progress, consent, consent_at = rows[0]
    progress = {k: v for k, v in decode_progress(progress).items() if k != "recent_updates"}
    events = stored(env, "SELECT stage FROM events WHERE chat_id = ? ORDER BY id", (chat_id,))
    return {
        "state": state,
        "step": step,
        "answers": json.loads(answers),
        "progress": progress,
        "consent": consent,
        "consent_at": consent_at,
        "events": [stage for (stage,) in events],
    }


@pytest.mark.parametrize(
    "answers", [["flag_no"] * 4, ["flag_no", "flag_no", "flag_no", "flag_yes"]], ids=["clear", "urgent"]
)
async def test_declining_consent_after_the_safety_screen_keeps_nothing_of_it(
    bot_env: BotEnv, answers: list[str]
) -> None:
    p = Patient.of(bot_env)
    await answer_safety(p, answers)
    sent = await p.tap("decline")
    assert p.says(sent[-1], "info_only")
    row = await p.row()
    assert row["state"] == "info_only" and row["answers"] == {} and row["consent"] == 0
    assert row["progress"]["history"] == [] and row["progress"]["draft"] == []
    sent = await p.send("/back")
    assert p.says(sent[0], "notice.no_way_back") and p.says(sent[-1], "info_only")
    assert (await p.row())["state"] == "info_only"
    assert not [stage for chat, stage in await p.events() if chat is not None and stage in ("red_flag", "urgent")]


async def test_a_decliners_stored_data_is_the_same_whether_the_screen_was_clear_or_urgent(bot_env: BotEnv) -> None:
    clear, urgent = Patient.of(bot_env, chat_id=4242), Patient.of(bot_env, chat_id=4243)
    await answer_safety(clear, ["flag_no", "flag_no", "flag_no", "flag_no"])
    await answer_safety(urgent, ["flag_no", "flag_no", "flag_no", "flag_yes"])
    for p in (clear, urgent):
        await p.tap("decline")
    assert await stored_rows(bot_env, 4243) == await stored_rows(bot_env, 4242), (
        "for patients who did not consent, nothing stored with their chat id may tell how the safety screen went"
    )


# --- Back in the questions asked one item at a time -------------------------------------------------------


async def test_back_steps_through_the_values_in_place_and_returns_to_them(bot_env: BotEnv) -> None:
    p = Patient.of(bot_env)
    await p.consent()
    await p.answer_intake(example("no_scan"))
    await p.tap("ok")  # the result
    await p.tap("ok")  # the comparison
    values = p.keyboard()

    def now() -> dict[str, Any]:
        return p.user.api.messages[p.chat_id][values["message_id"]]

    await p.tap("a_lot", values)
    await p.tap("a_little", now())
    assert p.says(now(), "values.low_cost")
    sent = await p.tap("back", now())
    assert sent == [] and p.says(now(), "values.proven")  # the previous value again, in the same message
    assert (await p.row())["progress"]["draft"] == ["avoid_surgery=a_lot"]
    await p.tap("back", now())
    assert p.says(now(), "values.avoid_surgery") and (await p.row())["progress"]["draft"] == []
    sent = await p.tap("back", now())  # from the first value: the comparison again
    assert p.says(sent[-1], "comparison.intro")
    await p.tap("ok")
    await p.weigh({"stay_near_home": "a_lot"})
    sent = await p.send("/back")  # from the knowledge check: the last value, the others kept
    assert p.says(sent[-1], "values.stay_near_home")
    assert len((await p.row())["progress"]["draft"]) == len(VALUES) - 1
    await p.tap("a_little")
    assert (await p.answers())["values"]["stay_near_home"] == "a_little"

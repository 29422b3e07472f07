"""The simulated patients: each walks a whole conversation, choosing answers at random, and predicts every reply
with the engine (flows/). One in five (--handoff-every) comes through a clinic's referral link, answers the intake like
one of the content's example patients whose result allows a hand-off, and sends their summary to the clinic.

A patient sends one update at a time and sends the next only once they saw the reply to the previous one (the
messages and the buttons the engine predicts). They never send an update again: nothing sent may be lost. When
the bot answers with the current question instead (it handled the update again after a kill had cut its replies
short; docs/deploy.md), the patient goes on from there, and the run counts the replies lost.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any

from flows.candidacy import evaluate
from flows.content import Content
from flows.engine import Engine, Step
from flows.events import Back, Choose, Done, Event, Resume, SharedContact, ShowInfo, ShowMenu, Start, Toggle, Typed
from flows.events import encode as encode_event
from flows.replies import Reply
from flows.session import Session
from flows.states.clinic_choice import ClinicChoiceState
from flows.states.handoff_consent import PHONE, USERNAME, HandoffConsentState
from flows.states.knowledge import ANSWERS as TRUE_OR_FALSE
from flows.states.knowledge import KnowledgeState
from flows.states.menu import MenuState
from flows.states.message import ContinueState
from flows.states.multi import MultiState
from flows.states.safety import SafetyState
from flows.states.scale import ScaleState
from flows.states.single import SingleState
from flows.states.stop import StopState
from flows.states.sure import ANSWERS as YES_OR_NO
from flows.states.sure import SureState
from flows.states.text import TextState
from flows.states.weighted import LEVELS, WeightedState
from tests.telegram_harness import STICKER

Keyboard = tuple[tuple[tuple[str, str | None], ...], ...]  # rows of (label, callback data or None)
CHAT_IDS_FROM = 880_000_000
LANGUAGE_CODES = ["en", "en", "en", "es", "es-MX", None, "de"]
GOALS = [
    "walk to the shops",
    "caminar 30 minutos sin dolor",
    "play with my grandchildren <b>again</b> & sleep",
    "مشي إلى السوق",
    "ללכת לים 🏖️",
    "garden\u200bwork &amp; golf 🏌️",
    "x" * 200,
]
HANDOFF_EVERY = 5  # one patient in five comes through a clinic link and sends a hand-off
PHONE_SHARE = 3  # of those, one in three shares a phone number instead of their username
MAX_EXTRAS = 3
MAX_BACKS = 2
TEXT_PREFIX = 40  # characters of a message compared to see that it was sent


def keyboard_of_markup(markup: Any) -> Keyboard | None:
    """The buttons of a sent message's markup: an inline keyboard, or a reply keyboard (contact sharing)."""
    if isinstance(markup, str):
        markup = json.loads(markup)
    markup = markup or {}
    rows = markup.get("inline_keyboard") or markup.get("keyboard")
    if not rows:
        return None
    return tuple(tuple((b.get("text", ""), b.get("callback_data")) for b in row) for row in rows)


def expected_texts(step: Step, kind: str) -> tuple[str, ...]:
    """The beginnings of the messages a step sends (as texts or captions); a callback's first notice is a
    pop-up, not a message."""
    replies = list(step.replies)
    notice = next((r for r in replies if r.kind == "notice"), None) if kind == "callback" else None
    return tuple(r.text[:TEXT_PREFIX] for r in replies if r is not notice and r.text.strip())


def keyboard_of_reply(reply: Reply) -> Keyboard | None:
    """The buttons a reply shows: inline ones, or the contact-sharing keyboard."""
    if reply.buttons:
        return tuple(tuple((b.label, b.data) for b in row) for row in reply.buttons)
    if reply.contact_keyboard is not None:
        share, cancel = reply.contact_keyboard
        return (((share, None),), ((cancel, None),))
    return None


def keyboard_of_step(step: Step) -> Keyboard | None:
    """The buttons of the last reply that has any: what the patient waits to see."""
    for reply in reversed(step.replies):
        keyboard = keyboard_of_reply(reply)
        if keyboard is not None:
            return keyboard
    return None


def handoff_scripts(content: Content) -> list[dict[str, Any]]:
    """The intake answers of the example patients whose result allows a hand-off (and who needed no urgent
    advice): a patient who answers like them may be offered the clinic that referred them."""
    outcomes = {o.id: o for o in content.candidacy.outcomes}
    scripts = [
        dict(e.answers)
        for e in content.candidacy.examples
        if "safety" not in e.answers
        and outcomes[e.outcome].handoff
        and evaluate(content.candidacy, dict(e.answers)).outcome.handoff
    ]
    if not scripts:
        raise SystemExit("no example patient in content/candidacy.yaml has a result that allows a hand-off")
    return scripts


@dataclass
class Pending:
    """The update a patient sent and has not seen answered yet."""

    event: Event
    kind: str  # "callback", "text", "sticker" or "contact"
    payload: str | None  # callback data, text or phone number
    message: dict[str, Any] | None  # the message whose button was tapped
    expected: Session
    keyboard: Keyboard | None
    mark: int  # index in the fake's calls when sent: only later calls can answer it
    texts: tuple[str, ...] = ()  # the beginnings of the messages the patient waits to see (besides the buttons)
    current: Keyboard | None = None  # the buttons of the current question after it (what a redelivery shows)
    update_id: int = 0
    sent_at: float = 0.0
    seen: set[int] = field(default_factory=set)  # which of `texts` were shown
    keyboard_seen: bool = False
    current_seen: bool = False

    def answered(self) -> bool:
        return self.keyboard_seen and len(self.seen) == len(self.texts)


class Patient:
    """One simulated patient: chooses answers at random, predicts replies with the engine, remembers all."""

    def __init__(self, index: int, rng: random.Random, referral: str | None, script: dict[str, Any] | None) -> None:
        self.index = index
        self.chat_id = CHAT_IDS_FROM + index
        self.rng = rng
        self.referral = referral  # a clinic's code: the patient came through its link
        self.script = script  # intake answers to give (a hand-off patient), or None: answers at random
        self.handoff = script is not None
        self.language_code = rng.choice(LANGUAGE_CODES)
        self.username = f"patient{index}" if self.handoff or rng.random() < 0.8 else None
        self.shares_phone = self.handoff and rng.randrange(PHONE_SHARE) == 0
        self.model: Session | None = None  # the session as of the last acknowledged update
        self.keyboard_message: dict[str, Any] | None = None
        self.pending: Pending | None = None
        self.finished = False
        self.sent: list[int] = []  # update ids, in the order sent
        self.acknowledged: set[int] = set()
        self.lost_replies: set[int] = set()  # handled, but answered with the current question (replies lost)
        self.visited: set[str] = set()  # states the patient saw acknowledged
        self.backs = 0
        self.extras = 0
        self.toggles_here = 0
        self.latencies: list[float] = []

    def user(self) -> dict[str, Any]:
        user: dict[str, Any] = {"id": self.chat_id, "is_bot": False, "first_name": f"Pat{self.index}"}
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    def session_for_step(self, engine: Engine) -> Session:
        """What the bot loads before it steps: the stored session, or a new one; the username flag set."""
        session = self.model or engine.new_session(self.language_code)
        return session.model_copy(update={"has_username": bool(self.username)})

    def sent_handoff(self, content: Content) -> bool:
        """True once the patient saw their hand-off requested (the state after the hand-off consent)."""
        return bool(self.visited & handoff_sent_states(content))

    def next_action(self, engine: Engine) -> tuple[Event, str, str | None] | None:
        """The next thing to send (event, kind, payload), or None when the conversation is over."""
        content = engine.content
        rng = self.rng
        if self.model is None:
            payload = self.referral
            return Start(payload), "text", f"/start {payload}" if payload else "/start"
        session = self.model
        state = content.states[session.state]
        if isinstance(state, MenuState | StopState):
            return None
        step = session.step
        if self.extras < MAX_EXTRAS and rng.random() < 0.04:  # something off the path that must change nothing
            self.extras += 1
            extra = rng.choice(["help", "menu", "start", "sticker", "junk"])
            if extra == "sticker":
                return Resume(), "sticker", None
            if extra == "junk" and not isinstance(state, TextState):
                return Typed("what does it cost?"), "text", "what does it cost?"
            if extra in ("help", "menu", "start"):
                event: Event = {"help": ShowInfo("help"), "menu": ShowMenu(), "start": Start()}[extra]
                return event, "text", f"/{extra}"
        if isinstance(state, HandoffConsentState) and session.awaiting_contact:
            phone = f"+1555{self.chat_id % 10_000_000:07d}"
            return SharedContact(phone), "contact", phone
        if self.backs < MAX_BACKS and session.history and rng.random() < 0.05:
            self.backs += 1
            return self.tap(Back(step))
        if isinstance(state, ContinueState):  # a message, the result, the comparison, a nudge, the summary
            return self.tap(Choose(step, "ok"))
        if isinstance(state, SafetyState):  # "No" to each safety question: on to the next, then consent
            return self.tap(Choose(step, next(o.id for o in state.options if o.label == "common.no")))
        if isinstance(state, WeightedState):
            return self.tap(Choose(step, rng.choice(LEVELS)))
        if isinstance(state, KnowledgeState):
            return self.tap(Choose(step, rng.choice(TRUE_OR_FALSE)[0]))
        if isinstance(state, SureState):
            return self.tap(Choose(step, rng.choice(YES_OR_NO)[0]))
        if isinstance(state, ClinicChoiceState):  # the first clinic offered, or "no, thank you"
            return self.tap(Choose(step, "k0" if self.handoff else "none"))
        if isinstance(state, HandoffConsentState):
            return self.tap(Choose(step, PHONE if self.shares_phone or not self.username else USERNAME))
        scripted = self.script.get(state.id) if self.script else None
        if isinstance(state, SingleState):
            if scripted is not None:
                return self.tap(Choose(step, str(scripted)))
            fine = [
                o
                for o in state.options
                if o.action != "decline_consent"
                and not (isinstance(o.next, str) and isinstance(content.states.get(o.next), StopState))
            ]
            return self.tap(Choose(step, rng.choice(fine).id))
        if isinstance(state, MultiState):
            if scripted is not None:
                wanted, ticked = set(scripted), set(session.draft)
                if wanted == ticked:
                    return self.tap(Done(step))
                return self.tap(Toggle(step, sorted(wanted ^ ticked)[0]))
            if session.draft and (self.toggles_here >= 5 or rng.random() < 0.45):
                self.toggles_here = 0
                return self.tap(Done(step))
            if not session.draft and self.toggles_here >= 5 and rng.random() < 0.5:
                self.toggles_here = 0
                return self.tap(Done(step))  # Done with nothing ticked: "pick one", the question stays
            self.toggles_here += 1
            return self.tap(Toggle(step, rng.choice(state.options).id))
        if isinstance(state, ScaleState):
            value = scripted if scripted is not None else rng.randint(state.low, state.high)
            return self.tap(Choose(step, str(value)))
        if isinstance(state, TextState):
            roll = rng.random()
            if roll < 0.2:
                return self.tap(Choose(step, "skip"))
            text = "   " if roll < 0.25 else "y" * (state.max_length + 1) if roll < 0.3 else rng.choice(GOALS)
            return Typed(text), "text", text
        raise SystemExit(f"the patients do not know how to answer a {type(state).__name__} ({state.id}): teach them")

    def tap(self, event: Event) -> tuple[Event, str, str | None]:
        return event, "callback", encode_event(event)

    def raw_update(self, update_id: int, message_id: int, pending: Pending, now: float) -> dict[str, Any]:
        """The Telegram update for `pending`."""
        if pending.kind == "callback":
            query = {
                "id": f"q{update_id}",
                "from": self.user(),
                "chat_instance": f"ci{self.chat_id}",
                "data": pending.payload,
                "message": pending.message,
            }
            return {"update_id": update_id, "callback_query": query}
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(now),
            "chat": {"id": self.chat_id, "type": "private", "first_name": f"Pat{self.index}"},
            "from": self.user(),
        }
        if pending.kind == "sticker":
            message.update(STICKER)
        elif pending.kind == "contact":
            message["contact"] = {"phone_number": pending.payload, "first_name": f"Pat{self.index}"}
            message["contact"]["user_id"] = self.chat_id  # their own number, shared with Telegram's button
        else:
            text = pending.payload or ""
            message["text"] = text
            if text.startswith("/"):
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return {"update_id": update_id, "message": message}


def handoff_sent_states(content: Content) -> set[str]:
    """The states a hand-off consent leads to once the summary is sent."""
    return {s.sent for s in content.flow.states if isinstance(s, HandoffConsentState)}


@dataclass
class Crowd:
    """All the patients, by index and by chat."""

    patients: list[Patient] = field(default_factory=list)

    @classmethod
    def of(cls, count: int, rng: random.Random, content: Content, clinic: str, every: int = HANDOFF_EVERY) -> Crowd:
        """`count` patients; every `every`-th (none for 0) comes through `clinic`'s link and sends a hand-off."""
        scripts = handoff_scripts(content)
        patients = []
        for index in range(count):
            own = random.Random(rng.random())
            script = own.choice(scripts) if every and index % every == every - 1 else None
            patients.append(Patient(index, own, clinic if script is not None else None, script))
        return cls(patients)

    def by_chat(self) -> dict[int, Patient]:
        return {p.chat_id: p for p in self.patients}

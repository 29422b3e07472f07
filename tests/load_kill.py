"""Load and crash test of the real bot process: many patients at once while the bot is SIGKILLed and restarted.

    python tests/load_kill.py --patients 500 --kills 5 --seconds 240

Starts `python -m bot run` (environment as in tests/test_process.py) against the fake Bot API served on
127.0.0.1 (tests/fake_bot_server.py), with a snapshot of bot/, flows/ and content/ taken at start so that the
code and content under test cannot change during the run. N simulated patients walk whole conversations at
once: /start, Continue, "No" to the four safety questions, consent, region, ticks and Done, ... result, the
options compared, values weighed one at a time, the knowledge check, leaning (and the nudge when it conflicts
with a value), SURE, summary, "take it to your own doctor", the menu, with answers drawn at random per
patient, an occasional Back button, /help, /menu, /start, sticker or text that is too long. Each patient
predicts every reply with the engine (flows/) and sends its next update only once it has seen the reply to
the previous one (the message with the expected buttons). The bot is killed with SIGKILL at random moments
at least --kills times, and restarted on the same database each time.

The fake server forgets updates like Telegram does: only once the bot asks getUpdates for a later offset, and
only if that request really arrived (a request cut by the kill confirms nothing), after a small network delay
(--confirm-delay) - so updates fetched but not yet confirmed are delivered again after a restart. An update
the bot had fetched and confirmed but not answered when it was killed is sent again by the patient (a person
taps again when nothing happens).

At the end the bot is stopped and the SQLite file is checked against what each patient answered and saw
acknowledged. The counts are printed as a table; the exit code is 1 if any count that must be zero is not.
Bounded: at most --patients patients, --seconds seconds, 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from heapq import heappop, heappush
from http.server import ThreadingHTTPServer
from itertools import pairwise
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `tests`, `flows` and `bot` importable
    sys.path.insert(0, str(ROOT))

from flows.content import Content  # noqa: E402
from flows.engine import Engine, Step  # noqa: E402
from flows.events import Back, Choose, Done, Event, Resume, ShowInfo, ShowMenu, Start, Toggle, Typed, encode  # noqa: E402
from flows.loader import load_content  # noqa: E402
from flows.machine import FlowMachine  # noqa: E402
from flows.session import Session  # noqa: E402
from flows.states import kind_of  # noqa: E402
from flows.states.base import Kind  # noqa: E402
from flows.states.knowledge import ANSWERS as TRUE_OR_FALSE  # noqa: E402
from flows.states.knowledge import KnowledgeState  # noqa: E402
from flows.states.menu import MenuState  # noqa: E402
from flows.states.message import ContinueState  # noqa: E402
from flows.states.multi import MultiState  # noqa: E402
from flows.states.safety import SafetyState  # noqa: E402
from flows.states.scale import ScaleState  # noqa: E402
from flows.states.single import SingleState  # noqa: E402
from flows.states.stop import StopState  # noqa: E402
from flows.states.sure import ANSWERS as YES_OR_NO  # noqa: E402
from flows.states.sure import SureState  # noqa: E402
from flows.states.text import TextState  # noqa: E402
from flows.states.weighted import LEVELS, WeightedState  # noqa: E402
from tests.fake_bot_api import FakeBotApi  # noqa: E402
from tests.fake_bot_server import FakeBotServer, _Handler  # noqa: E402
from tests.telegram_harness import STICKER  # noqa: E402
from tests.test_process import TOKEN, BotProcess, base_env  # noqa: E402

Keyboard = tuple[tuple[tuple[str, str | None], ...], ...]
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
START_TIMEOUT_S = 30.0
RESEND_AFTER_S = 90.0  # a patient who saw nothing for this long (and whose update is gone) taps again
MAX_RESENDS = 6
THINK_S = (0.0, 0.4)
RESERVE_S = 12.0  # of --seconds, kept to stop the bot and check the database
STOP_TIMEOUT_S = 8.0  # SIGTERM, then SIGKILL if the bot is still busy
MUST_BE_ZERO = (
    "patients not finished",
    "lost answers",
    "lost sessions",
    "wrong answers",
    "extra answers",
    "duplicated answers",
    "events applied twice",
    "sessions not as acknowledged",
    "sessions in an impossible state",
    "sessions of unknown chats",
    "Bot API calls rejected",
    "errors logged by the bot",
    "bot exits not caused by a kill",
    "kills short of --kills",
)


# --- the fake Telegram ----------------------------------------------------------------------------------

_request = threading.local()  # the connection of the request being served by this thread


def client_gone(connection: Any) -> bool:
    """True if the client closed the connection (e.g. the bot process was killed)."""
    import select
    import socket

    try:
        readable, _, _ = select.select([connection], [], [], 0)
        return bool(readable) and connection.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A killed bot resets its connections: expected here, not worth a traceback."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _TrackedHandler(_Handler):
    def do_POST(self) -> None:
        _request.connection = self.connection
        self._serve()


@dataclass
class TelegramApi(FakeBotApi):
    """The fake API; getUpdates hands out what is not confirmed yet and counts how often each update went out."""

    delivered: Counter[int] = field(default_factory=Counter)

    def _getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        connection = getattr(_request, "connection", None)
        if connection is not None and client_gone(connection):
            return []  # nobody will read this answer
        with self.lock:
            batch = list(self.updates[: int(params.get("limit") or 100)])
            for update in batch:
                self.delivered[update["update_id"]] += 1
        return batch


class TelegramServer(FakeBotServer):
    """Confirms updates only when a getUpdates with a later offset really arrives (after `confirm_delay_s`)."""

    def __init__(self, token: str, api: TelegramApi, confirm_delay_s: float) -> None:
        super().__init__(token, api)
        self.confirm_delay_s = confirm_delay_s

    def start(self) -> TelegramServer:
        handler = type("BoundHandler", (_TrackedHandler,), {"fake": self})
        self._httpd = _QuietServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def long_poll(self, params: dict[str, Any]) -> None:
        try:
            offset = int(params.get("offset") or 0)
        except ValueError:
            offset = 0
        if self.confirm_delay_s:
            time.sleep(self.confirm_delay_s)  # the request is still on its way to Telegram
        connection = getattr(_request, "connection", None)
        if connection is not None and client_gone(connection):
            return  # it never arrived: nothing is confirmed
        if offset:
            with self.api.lock:
                self.api.updates = [u for u in self.api.updates if u["update_id"] >= offset]
        super().long_poll(params)

    def queued_ids(self) -> set[int]:
        with self.api.lock:
            return {u["update_id"] for u in self.api.updates}


# --- the patients ---------------------------------------------------------------------------------------


def keyboard_of_markup(markup: Any) -> Keyboard | None:
    if isinstance(markup, str):
        markup = json.loads(markup)
    rows = (markup or {}).get("inline_keyboard")
    if not rows:
        return None
    return tuple(tuple((b.get("text", ""), b.get("callback_data")) for b in row) for row in rows)


def keyboard_of_step(step: Step) -> Keyboard | None:
    """The buttons of the last reply that has buttons: what the patient waits to see."""
    for reply in reversed(step.replies):
        if reply.buttons:
            return tuple(tuple((b.label, b.data) for b in row) for row in reply.buttons)
    return None


@dataclass
class Pending:
    """An update a patient sent and has not seen answered yet."""

    event: Event
    kind: str  # "callback", "text" or "sticker"
    payload: str | None  # callback data or text
    message: dict[str, Any] | None  # the message whose button was tapped
    expected: Session
    keyboard: Keyboard | None
    mark: int  # index in the fake's calls when first sent: only later calls can answer it
    update_ids: list[int] = field(default_factory=list)
    first_sent: float = 0.0
    last_sent: float = 0.0
    resends: int = 0


class Patient:
    """One simulated patient: chooses answers at random, predicts replies with the engine, remembers all."""

    def __init__(self, index: int, rng: random.Random) -> None:
        self.index = index
        self.chat_id = 880_000_000 + index
        self.rng = rng
        self.language_code = rng.choice(LANGUAGE_CODES)
        self.username = f"patient{index}" if rng.random() < 0.8 else None
        self.model: Session | None = None  # the session as of the last acknowledged update
        self.keyboard_message: dict[str, Any] | None = None
        self.pending: Pending | None = None
        self.finished = False
        self.acknowledged = 0
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
        if "has_username" in Session.model_fields:
            session = session.model_copy(update={"has_username": bool(self.username)})
        return session

    def next_action(self, engine: Engine) -> tuple[Event, str, str | None] | None:
        """The next thing to send (event, kind, payload), or None when the conversation is over."""
        content = engine.content
        rng = self.rng
        if self.model is None:
            return Start(), "text", "/start"
        session = self.model
        state = content.states[session.state]
        if isinstance(state, MenuState | StopState):
            return None
        step = session.step
        if self.extras < 3 and rng.random() < 0.04:  # something off the path that must change nothing
            self.extras += 1
            extra = rng.choice(["help", "menu", "start", "sticker", "junk"])
            if extra == "sticker":
                return Resume(), "sticker", None
            if extra == "junk" and not isinstance(state, TextState):
                return Typed("what does it cost?"), "text", "what does it cost?"
            if extra in ("help", "menu", "start"):
                event: Event = {"help": ShowInfo("help"), "menu": ShowMenu(), "start": Start()}[extra]
                return event, "text", f"/{extra}"
        if self.backs < 2 and session.history and rng.random() < 0.05:
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
        if isinstance(state, SingleState):
            fine = [
                o
                for o in state.options
                if o.action != "decline_consent"
                and not (isinstance(o.next, str) and isinstance(content.states.get(o.next), StopState))
            ]
            return self.tap(Choose(step, rng.choice(fine).id))
        if isinstance(state, MultiState):
            if session.draft and (self.toggles_here >= 5 or rng.random() < 0.45):
                self.toggles_here = 0
                return self.tap(Done(step))
            if not session.draft and self.toggles_here >= 5 and rng.random() < 0.5:
                self.toggles_here = 0
                return self.tap(Done(step))  # Done with nothing ticked: "pick one", the question stays
            self.toggles_here += 1
            return self.tap(Toggle(step, rng.choice(state.options).id))
        if isinstance(state, ScaleState):
            return self.tap(Choose(step, str(rng.randint(state.low, state.high))))
        if isinstance(state, TextState):
            roll = rng.random()
            if roll < 0.2:
                return self.tap(Choose(step, "skip"))
            text = "   " if roll < 0.25 else "y" * (state.max_length + 1) if roll < 0.3 else rng.choice(GOALS)
            return Typed(text), "text", text
        # a kind of state this script does not know (e.g. a hand-off offer): the way on without sending anything
        keyboard = self.keyboard_message and keyboard_of_markup(self.keyboard_message.get("reply_markup"))
        datas = [d for row in keyboard or () for _, d in row if d]
        for option in ("none", "cancel", "ok", "skip"):
            if f"c{step}:{option}" in datas:
                return self.tap(Choose(step, option))
        return self.tap(Choose(step, "ok"))

    def tap(self, event: Event) -> tuple[Event, str, str | None]:
        return event, "callback", encode(event)


# --- the run --------------------------------------------------------------------------------------------


@dataclass
class Tally:
    pushed: int = 0
    resent_after_kill: int = 0
    resent_late: int = 0
    lost_in_crash: int = 0  # fetched and confirmed, killed before it was stored
    reply_lost_in_crash: int = 0  # stored, killed before the answer went out
    unknown_in_crash: int = 0
    kills: int = 0
    unexpected_exits: int = 0
    unexpected_keyboards: int = 0
    kill_times: list[float] = field(default_factory=list)
    details: list[str] = field(default_factory=list)


class LoadKill:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rng = random.Random(args.seed)
        self.workdir = Path(tempfile.mkdtemp(prefix="load-kill-")) if args.workdir is None else Path(args.workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        snapshot = self.workdir / "snapshot"
        for name in ("bot", "flows", "content"):
            shutil.copytree(
                ROOT / name, snapshot / name, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True
            )
        loaded = load_content(snapshot / "content")
        if loaded.content is None:
            raise SystemExit("the content has problems: run python -m bot validate")
        self.content: Content = loaded.content
        self.engine = Engine(self.content)
        self.machine = FlowMachine(self.content.flow)
        self.database = self.workdir / "bot.sqlite3"
        self.api = TelegramApi()
        self.server = TelegramServer(TOKEN, self.api, args.confirm_delay)
        self.patients = [Patient(i, random.Random(self.rng.random())) for i in range(args.patients)]
        self.by_chat = {p.chat_id: p for p in self.patients}
        self.order = [s.id for s in self.content.flow.states]
        # Leaving the safety questions forgets the way there: a path may start at the first state after them.
        screen = [s for s in self.content.flow.states if kind_of(s).screen]
        exits = {self.machine.advance(s.id, {}, o.id) for s in screen for o in s.options}
        self.after_screen = {t for t in exits if t is not None and not kind_of(self.content.states[t]).screen}
        self.tally = Tally()
        self.scanned = 0
        self.next_update_id = 1
        self.next_message_id = 1
        self.bot: BotProcess | None = None
        self.started_at = 0.0
        self.ready = False
        self.polls = 0
        self.polls_at_start = 0
        self.ready_at = 0.0
        self.due: list[tuple[float, int]] = []
        self.scheduled: set[int] = set()
        self.snapshot = snapshot

    # --- the bot process ---------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        env = base_env()
        env["PYTHONPATH"] = str(self.snapshot)
        env.update(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_URL=self.server.url,
            DATABASE_PATH=str(self.database),
            CONTENT_DIR=str(self.snapshot / "content"),
            LOG_LEVEL="INFO",
        )
        return env

    def start_bot(self) -> None:
        if self.bot is None:
            self.bot = BotProcess(self.workdir, self.env())
        self.scan()
        self.polls_at_start = self.polls
        self.bot.start()
        self.started_at = time.monotonic()
        self.ready = False

    def kill_bot(self) -> None:
        assert self.bot is not None
        self.bot.kill()
        self.tally.kills += 1
        self.tally.kill_times.append(time.monotonic())
        time.sleep(0.3)  # let the server finish recording what arrived before the process died
        self.scan()
        queued = self.server.queued_ids()
        rows = self.read_rows()
        for patient in self.patients:
            pending = patient.pending
            if pending is None or any(u in queued for u in pending.update_ids):
                continue  # nothing sent, or Telegram will deliver it again
            row = rows.get(patient.chat_id)
            before = patient.model
            if row is not None and (row["state"], row["step"]) == (pending.expected.state, pending.expected.step):
                if before is not None and (before.state, before.step) == (row["state"], row["step"]):
                    self.tally.unknown_in_crash += 1
                else:
                    self.tally.reply_lost_in_crash += 1
            else:
                self.tally.lost_in_crash += 1
            self.tally.resent_after_kill += 1
            self.send(patient, resend=True)

    # --- sending and seeing --------------------------------------------------------------------------

    def raw_update(self, patient: Patient, pending: Pending) -> dict[str, Any]:
        update_id = self.next_update_id
        self.next_update_id += 1
        if pending.kind == "callback":
            query = {
                "id": f"q{update_id}",
                "from": patient.user(),
                "chat_instance": f"ci{patient.chat_id}",
                "data": pending.payload,
                "message": pending.message,
            }
            return {"update_id": update_id, "callback_query": query}
        message: dict[str, Any] = {
            "message_id": self.next_message_id,
            "date": int(time.time()),
            "chat": {"id": patient.chat_id, "type": "private", "first_name": f"Pat{patient.index}"},
            "from": patient.user(),
        }
        self.next_message_id += 1
        if pending.kind == "sticker":
            message.update(STICKER)
        else:
            text = pending.payload or ""
            message["text"] = text
            if text.startswith("/"):
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return {"update_id": update_id, "message": message}

    def act(self, patient: Patient) -> None:
        """Choose the patient's next update, predict the bot's answer, send it."""
        action = patient.next_action(self.engine)
        if action is None:
            patient.finished = True
            return
        event, kind, payload = action
        message = patient.keyboard_message if kind == "callback" else None
        if kind == "callback" and message is None:  # no message with the buttons in sight: /start shows it again
            self.detail(f"patient {patient.index}: no message with the current buttons; sent /start")
            event, kind, payload = Start(), "text", "/start"
        step = self.engine.step(patient.session_for_step(self.engine), event)
        with self.api.lock:
            mark = len(self.api.calls)
        patient.pending = Pending(event, kind, payload, message, step.session, keyboard_of_step(step), mark)
        self.send(patient)

    def send(self, patient: Patient, resend: bool = False) -> None:
        pending = patient.pending
        assert pending is not None
        raw = self.raw_update(patient, pending)
        now = time.monotonic()
        pending.update_ids.append(raw["update_id"])
        pending.last_sent = now
        if not resend:
            pending.first_sent = now
        else:
            pending.resends += 1
        self.tally.pushed += 1
        self.server.push_update(raw)

    def scan(self) -> None:
        """Look at the calls the bot made since last time: which patients got the answer they wait for."""
        with self.api.lock:
            new = self.api.calls[self.scanned :]
            start = self.scanned
            self.scanned = len(self.api.calls)
        for offset, call in enumerate(new):
            index = start + offset
            if call.method == "deleteWebhook":  # a freshly started bot, about to poll (a dead one's poll may land late)
                self.polls += 1
                if not self.ready and self.polls > self.polls_at_start:
                    self.ready, self.ready_at = True, time.monotonic()
                continue
            if call.method not in ("sendMessage", "editMessageText"):
                continue
            patient = self.by_chat.get(int(call.params.get("chat_id") or 0))
            if patient is None or patient.pending is None or index < patient.pending.mark:
                continue
            pending = patient.pending
            shown = keyboard_of_markup(call.params.get("reply_markup"))
            if pending.keyboard is None or shown == pending.keyboard:
                self.acknowledge(patient, call.params)
            elif shown is not None:
                self.tally.unexpected_keyboards += 1

    def acknowledge(self, patient: Patient, params: dict[str, Any]) -> None:
        pending = patient.pending
        assert pending is not None
        patient.latencies.append(time.monotonic() - pending.last_sent)
        if pending.expected.state != (patient.model.state if patient.model else None):
            patient.toggles_here = 0
        patient.model = pending.expected
        patient.pending = None
        patient.acknowledged += 1
        current = self.engine.views.current(patient.model)
        wanted = tuple(tuple((b.label, b.data) for b in row) for row in current.buttons)
        with self.api.lock:
            messages = self.api.messages.get(patient.chat_id, {})
            found = next(
                (
                    messages[k]
                    for k in sorted(messages, reverse=True)
                    if keyboard_of_markup(messages[k].get("reply_markup")) == wanted
                ),
                None,
            )
            patient.keyboard_message = json.loads(json.dumps(found)) if found is not None else None
        if isinstance(self.content.states[patient.model.state], MenuState | StopState):
            patient.finished = True
        else:
            self.schedule(patient, time.monotonic() + self.rng.uniform(*THINK_S))

    def schedule(self, patient: Patient, at: float) -> None:
        if patient.index not in self.scheduled:
            self.scheduled.add(patient.index)
            heappush(self.due, (at, patient.index))

    # --- the database --------------------------------------------------------------------------------

    def read_rows(self) -> dict[int, dict[str, Any]]:
        if not self.database.exists():
            return {}
        connection = sqlite3.connect(self.database, timeout=10)
        try:
            rows = connection.execute(
                "SELECT chat_id, state, step, answers, progress, consent FROM sessions"
            ).fetchall()
        finally:
            connection.close()
        result = {}
        for chat_id, state, step, answers, progress, consent in rows:
            extra = json.loads(progress or "{}")
            result[chat_id] = {
                "state": state,
                "step": step,
                "answers": json.loads(answers or "{}"),
                "draft": extra.get("draft", []),
                "history": extra.get("history", []),
                "consent": consent,
            }
        return result

    # --- the main loop -------------------------------------------------------------------------------

    def progress(self) -> float:
        menu = len(self.order)
        done = 0.0
        for patient in self.patients:
            if patient.finished:
                done += 1
            elif patient.model is not None:
                done += self.order.index(patient.model.state) / menu
        return done / max(1, len(self.patients))

    def run(self) -> int:
        args = self.args
        began = time.monotonic()
        deadline = began + max(10.0, args.seconds - RESERVE_S)
        thresholds = sorted(self.rng.uniform(0.04, 0.8) for _ in range(args.kills))
        kill_at: float | None = None
        self.server.start()
        try:
            self.start_bot()
            for patient in self.patients:
                self.schedule(patient, began + self.rng.uniform(0, min(5.0, 0.02 * len(self.patients))))
            last_check = began
            while True:
                now = time.monotonic()
                self.scan()
                if all(p.finished for p in self.patients) or now >= deadline:
                    break
                assert self.bot is not None
                if self.bot.proc is not None and self.bot.proc.poll() is not None:
                    self.tally.unexpected_exits += 1
                    self.detail(f"the bot exited by itself (code {self.bot.proc.returncode})\n{self.bot.tail(2000)}")
                    self.bot.proc = None
                    self.start_bot()
                if not self.ready and now - self.started_at > START_TIMEOUT_S:
                    raise SystemExit(f"the bot did not start polling within {START_TIMEOUT_S:.0f} s\n{self.bot.tail()}")
                while self.due and self.due[0][0] <= now:
                    _, index = heappop(self.due)
                    self.scheduled.discard(index)
                    patient = self.patients[index]
                    if not patient.finished and patient.pending is None:
                        self.act(patient)
                if now - last_check >= 0.1:
                    last_check = now
                    kill_at = self.maybe_kill(now, began, deadline, thresholds, kill_at)
                    self.resend_late(now)
                time.sleep(0.005)
            elapsed_run = time.monotonic() - began
            exit_code = self.bot.stop(timeout=STOP_TIMEOUT_S) if self.bot is not None else None
            time.sleep(0.2)
            self.scan()
            return self.report(elapsed_run, exit_code)
        finally:
            if self.bot is not None:
                self.bot.kill()
            self.server.stop()

    def maybe_kill(
        self, now: float, began: float, deadline: float, thresholds: list[float], kill_at: float | None
    ) -> float | None:
        """Kill number k once progress or time passes its random threshold, after a random delay."""
        k = self.tally.kills
        if k >= self.args.kills or not self.ready or now - self.ready_at < 1.0:
            return kill_at
        if kill_at is None:
            elapsed = (now - began) / max(1.0, deadline - began)
            if self.progress() >= thresholds[k] or elapsed >= thresholds[k]:
                return now + self.rng.uniform(0.0, 1.5)
            return None
        if now < kill_at:
            return kill_at
        self.kill_bot()
        self.start_bot()
        return None

    def resend_late(self, now: float) -> None:
        """A patient who has waited very long, whose update Telegram no longer holds, taps again."""
        if not self.ready or now - self.ready_at < RESEND_AFTER_S:
            return
        queued = self.server.queued_ids()
        for patient in self.patients:
            pending = patient.pending
            if (
                pending is not None
                and now - pending.last_sent > RESEND_AFTER_S
                and pending.resends < MAX_RESENDS
                and not any(u in queued for u in pending.update_ids)
            ):
                self.tally.resent_late += 1
                self.send(patient, resend=True)

    # --- checking and reporting ----------------------------------------------------------------------

    def report(self, elapsed: float, exit_code: int | None) -> int:
        counts: Counter[str] = Counter()
        rows = self.read_rows()
        for patient in self.patients:
            counts.update(self.check_patient(patient, rows.get(patient.chat_id)))
        for chat_id, row in rows.items():
            problems = self.impossible(row)
            if problems:
                counts["sessions in an impossible state"] += 1
                self.detail(f"chat {chat_id}: impossible: {'; '.join(problems)}")
            if chat_id not in self.by_chat:
                counts["sessions of unknown chats"] += 1
        with self.server._requests_lock:
            requests = list(self.server.requests)
        rejected = [r for r in requests if r.status >= 400]
        cut = [r for r in rejected if any(0 <= r.at - k <= 1.0 for k in self.tally.kill_times)]
        counts["Bot API calls rejected"] = len(rejected) - len(cut)
        for request in rejected[:5]:
            self.detail(f"rejected: {request.method} status {request.status}")
        assert self.bot is not None
        log = self.bot.log_text()
        counts["errors logged by the bot"] = log.count("error while handling an update") + log.count(
            "Traceback (most recent call last)"
        )
        counts["bot exits not caused by a kill"] = self.tally.unexpected_exits
        counts["kills short of --kills"] = max(0, self.args.kills - self.tally.kills)
        latencies = [x for p in self.patients for x in p.latencies]
        finished = sum(p.finished for p in self.patients)
        redelivered = sum(1 for n in self.api.delivered.values() if n > 1)
        info = [
            ("patients", len(self.patients)),
            ("patients finished", finished),
            ("updates sent (with re-sends)", self.tally.pushed),
            ("updates acknowledged", sum(p.acknowledged for p in self.patients)),
            ("kills (SIGKILL)", self.tally.kills),
            ("updates delivered again after a kill", redelivered),
            ("updates lost by a kill, sent again", self.tally.lost_in_crash),
            ("answers lost by a kill (stored), sent again", self.tally.reply_lost_in_crash),
            ("no-change updates unanswered at a kill", self.tally.unknown_in_crash),
            ("late re-sends (nothing seen for 90 s)", self.tally.resent_late),
            ("other keyboards seen while waiting", self.tally.unexpected_keyboards),
            ("Bot API calls cut by a kill", len(cut)),
            ("answer latency p50 / p95 / max (s)", _percentiles(latencies)),
            ("messages sent + edited per second", _rate(self.api, elapsed)),
            (f"bot exit code at the end (SIGTERM; None: busy {STOP_TIMEOUT_S:.0f} s)", exit_code),
            ("run time (s)", f"{elapsed:.1f}"),
        ]
        width = max(len(name) for name in [*MUST_BE_ZERO, *(name for name, _ in info)]) + 2
        print(f"load-kill: {self.args.patients} patients, {self.args.kills} kills, seed {self.args.seed}")
        print(f"work folder: {self.workdir}")
        if finished < len(self.patients):
            print(
                f"stopped by the time bound ({self.args.seconds:.0f} s) with {len(self.patients) - finished} patients"
            )
            print("still walking; the bot answered at the rate shown below")
        print(f"{'count':<{width}}{'value':>14}  must be 0")
        for name, value in info:
            print(f"{name:<{width}}{value!s:>14}")
        failed = []
        for name in MUST_BE_ZERO:
            value = counts[name] if name != "patients not finished" else len(self.patients) - finished
            print(f"{name:<{width}}{value!s:>14}  {'ok' if value == 0 else 'FAIL'}")
            if value:
                failed.append(name)
        for line in self.tally.details[:20]:
            print(f"  {line}")
        print(f"result: {'FAIL (' + ', '.join(failed) + ')' if failed else 'OK'}")
        return 1 if failed else 0

    def detail(self, text: str) -> None:
        self.tally.details.append(text)

    def check_patient(self, patient: Patient, row: dict[str, Any] | None) -> Counter[str]:
        """Compare the stored session with what the patient saw acknowledged (or the one update in flight)."""
        counts: Counter[str] = Counter()
        candidates = [s for s in (patient.model, patient.pending.expected if patient.pending else None) if s]
        if row is None:
            if patient.model is not None:
                counts["lost sessions"] += 1
                counts["lost answers"] += len(patient.model.answers)
                self.detail(f"patient {patient.index}: no stored session, acknowledged {patient.model.answers}")
            return counts
        if not candidates:
            return counts  # only /start in flight, and it was stored: fine
        if any(_stored_view(s) == _row_view(row) for s in candidates):
            return counts
        model = candidates[0]
        answers, stored = _stored_view(model)[2], row["answers"]
        for key, value in answers.items():
            if key not in stored:
                counts["lost answers"] += 1
            elif stored[key] != value:
                counts["wrong answers"] += 1
        allowed = set(answers) | set(candidates[-1].answers)
        counts["extra answers"] += sum(1 for key in stored if key not in allowed)
        lists = [v for v in stored.values() if isinstance(v, list)] + [row["draft"]]
        counts["duplicated answers"] += sum(1 for v in lists if len(v) != len(set(map(str, v))))
        if row["step"] > max(s.step for s in candidates):
            counts["events applied twice"] += 1
        counts["sessions not as acknowledged"] += 1
        self.detail(
            f"patient {patient.index} (chat {patient.chat_id}): stored {row['state']} step {row['step']} "
            f"{stored} draft {row['draft']}; acknowledged {model.state} step {model.step} {answers} "
            f"draft {model.draft}"
            + (
                f"; in flight {patient.pending.event} -> step {patient.pending.expected.step}"
                if patient.pending
                else ""
            )
        )
        return counts

    def impossible(self, row: dict[str, Any]) -> list[str]:
        """What no path through the flow could have produced: unknown states, answers off the path, bad values."""
        states = self.content.states
        problems = []
        path = [*row["history"], row["state"]]
        if row["state"] not in states:
            return [f"state {row['state']!r} is not in the flow"]
        if path[0] != self.content.flow.start and path[0] not in self.after_screen:
            problems.append(f"the path starts at {path[0]!r}")
        answers = row["answers"]
        for here, there in pairwise(path):
            if here not in states or there not in self.successors(here, answers):
                problems.append(f"{here!r} cannot lead to {there!r}")
        for question, value in answers.items():
            state = states.get(question)
            if state is None or getattr(state, "short", None) is None:
                problems.append(f"an answer for {question!r}, which keeps no answer")
                continue
            if question not in path:  # its own question may keep its answer after Back, until answered again
                problems.append(f"an answer for {question!r}, which is not on the path")
            options = {o.id for o in getattr(state, "options", [])}
            if isinstance(state, SingleState) and value not in options:
                problems.append(f"{question}: {value!r} is not an option")
            elif isinstance(state, MultiState) and (
                not isinstance(value, list) or not value or not set(value) <= options or len(value) != len(set(value))
            ):
                problems.append(f"{question}: {value!r} is not a set of its options")
            elif isinstance(state, ScaleState) and not (isinstance(value, int) and state.low <= value <= state.high):
                problems.append(f"{question}: {value!r} is off the scale")
            elif isinstance(state, TextState) and not (
                isinstance(value, str) and 0 < len(value) <= state.max_length and value == value.strip()
            ):
                problems.append(f"{question}: {value!r} is not a text it accepts")
            elif isinstance(state, WeightedState) and not (
                isinstance(value, dict)
                and set(value) == {i.id for i in state.items}
                and set(value.values()) <= set(LEVELS)
            ):
                problems.append(f"{question}: {value!r} does not weigh each value once")
            elif isinstance(state, SureState) and not (isinstance(value, int) and 0 <= value <= len(state.items)):
                problems.append(f"{question}: {value!r} is not a score")
        if row["draft"] and not isinstance(
            states[row["state"]], MultiState | WeightedState | KnowledgeState | SureState
        ):
            problems.append(f"draft {row['draft']!r} outside a multi-choice question or a series")
        return problems

    def successors(self, state_id: str, answers: dict[str, Any], depth: int = 0) -> set[str]:
        state = self.content.states[state_id]
        options = [o.id for o in getattr(state, "options", [])] + [None, "chosen", "sent", "instead"]
        found: set[str] = set()
        for option in options:
            target = self.machine.advance(state_id, answers, option)
            if target is None:
                continue
            found.add(target)
            if depth < 3 and type(kind_of(self.content.states[target])).skip is not Kind.skip:
                found |= self.successors(target, answers, depth + 1)  # a state the engine may skip
        return found


def _stored_view(session: Session) -> tuple[Any, ...]:
    """A session as storage writes it (answers and ticks only with consent)."""
    answers = json.loads(json.dumps(session.answers if session.consent else {}))
    return session.state, session.step, answers, list(session.draft if session.consent else []), list(session.history)


def _row_view(row: dict[str, Any]) -> tuple[Any, ...]:
    return row["state"], row["step"], row["answers"], list(row["draft"]), list(row["history"])


def _percentiles(values: list[float]) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"{statistics.median(ordered):.1f} / {p95:.1f} / {ordered[-1]:.1f}"


def _rate(api: FakeBotApi, elapsed: float) -> str:
    with api.lock:
        sent = sum(1 for c in api.calls if c.method in ("sendMessage", "editMessageText", "editMessageReplyMarkup"))
    return f"{sent / max(elapsed, 0.001):.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=40, help="simulated patients at once (1-5000)")
    parser.add_argument("--kills", type=int, default=5, help="at least this many SIGKILLs (0-100)")
    parser.add_argument("--seconds", type=float, default=120.0, help="time bound of the whole run (20-3600)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: drawn, and printed)")
    parser.add_argument("--confirm-delay", type=float, default=0.25, help="network delay of a getUpdates (s)")
    parser.add_argument("--workdir", help="folder for the database, logs and snapshot (default: a new temp folder)")
    args = parser.parse_args(argv)
    if not (1 <= args.patients <= 5000 and 0 <= args.kills <= 100 and 20 <= args.seconds <= 3600):
        parser.error("out of bounds: --patients 1-5000, --kills 0-100, --seconds 20-3600")
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1_000_000)
    return LoadKill(args).run()


if __name__ == "__main__":
    sys.exit(main())

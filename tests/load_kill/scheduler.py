"""The run: the fake Telegram, the database and the bot's processes are started; the patients walk while
processes are SIGKILLed at random moments (each started again at once); then the run waits for what is still
on its way (hand-offs, replies to delivered updates), stops the bot and hands everything to the verdict."""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from heapq import heappop, heappush
from pathlib import Path

from bot.handoffs import PDF_PART, TEXT_PART
from flows.engine import Engine
from flows.events import Start
from flows.loader import load_content
from flows.states.menu import MenuState
from flows.states.stop import StopState
from tests.load_kill.bots import CLINIC, STOP_TIMEOUT_S, Fleet, snapshot
from tests.load_kill.database import Database, PostgresDatabase, SqliteDatabase
from tests.load_kill.patients import (
    Crowd,
    Patient,
    Pending,
    expected_texts,
    keyboard_of_markup,
    keyboard_of_reply,
    keyboard_of_step,
)
from tests.load_kill.telegram import Deliveries, TelegramApi, TelegramServer, WebhookPusher
from tests.load_kill.verdict import Evidence, Verdict, clinic_parts, held_by_a_killed_worker
from tests.test_process import TOKEN

START_TIMEOUT_S = 30.0  # a process that does not serve within this long stops the run
RESERVE_S = 15.0  # of --seconds, kept to stop the bot and check the database
THINK_S = (0.0, 0.4)  # a patient reads the reply for this long before the next tap
KILL_DELAY_S = (0.0, 1.5)  # once a kill is due, it comes after a random delay
LOST_AFTER_S = 1.0  # an update the bot handled this long ago without the replies the patient waits for: lost
STALLED_S = 15.0  # a hand-off claimed before a kill that has not moved for this long waits for the lease to end
# The calls that can show a patient the buttons they wait for (a figure goes as a photo with its caption).
ANSWERING = ("sendMessage", "editMessageText", "sendPhoto", "editMessageCaption", "sendDocument")


@dataclass
class Tally:
    sent: int = 0
    unexpected_keyboards: int = 0
    lost_replies: int = 0
    settle_s: float = 0.0
    details: list[str] = field(default_factory=list)


class Run:
    """One load-and-kill run, as the command line asked."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rng = random.Random(args.seed)
        self.workdir = Path(tempfile.mkdtemp(prefix="load-kill-")) if args.workdir is None else Path(args.workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        code = snapshot(self.workdir)
        loaded = load_content(code / "content")
        if loaded.content is None:
            raise SystemExit("the content has problems: run python -m bot validate")
        self.content = loaded.content
        self.engine = Engine(self.content)
        self.deliveries = Deliveries()
        self.api = TelegramApi()
        polling = args.mode == "polling"
        self.server = TelegramServer(TOKEN, self.api, self.deliveries, args.confirm_delay if polling else 0.0)
        self.database: Database = (
            SqliteDatabase(self.workdir / "bot.sqlite3")
            if args.database == "sqlite"
            else PostgresDatabase(args.postgres_url)
        )
        self.crowd = Crowd.of(args.patients, self.rng, self.content, CLINIC, args.handoff_every)
        self.patients = self.crowd.patients
        self.by_chat = self.crowd.by_chat()
        self.code = code
        self.fleet: Fleet | None = None
        self.pusher: WebhookPusher | None = None
        self.tally = Tally()
        self.scanned = 0
        self.next_update_id = 1
        self.next_message_id = 1
        self.due: list[tuple[float, int]] = []
        self.scheduled: set[int] = set()
        self.unchanged: dict[int, tuple[tuple[str, str, str], float]] = {}  # hand-off id -> (what it was, since)
        self.order = [s.id for s in self.content.flow.states]

    # --- the main loop -------------------------------------------------------------------------------

    def run(self) -> int:
        args = self.args
        began = time.monotonic()
        deadline = began + max(10.0, args.seconds - RESERVE_S)
        thresholds = sorted(self.rng.uniform(0.04, 0.8) for _ in range(args.kills))
        kill_at: float | None = None
        self.server.start()
        try:
            self.database.start()
            fleet = Fleet.create(args.mode, args.workers, self.workdir, self.code, self.server, self.database.env())
            self.fleet = fleet
            if args.mode == "webhook":
                rng = random.Random(self.rng.random())
                self.pusher = WebhookPusher(self.api, self.deliveries, fleet.ports, rng, args.connections)
                self.pusher.start()
            fleet.start()
            for patient in self.patients:
                self.schedule(patient, began + self.rng.uniform(0, min(5.0, 0.02 * len(self.patients))))
            last_kill_check = last_lost_check = began
            while True:
                now = time.monotonic()
                self.scan()
                fleet.watch(now)
                late = fleet.late(now, START_TIMEOUT_S)
                if late is not None:
                    raise SystemExit(
                        f"{late.name} did not start serving within {START_TIMEOUT_S:.0f} s\n{fleet.tail(late)}"
                    )
                if all(p.finished for p in self.patients) or now >= deadline:
                    break
                while self.due and self.due[0][0] <= now:
                    _, index = heappop(self.due)
                    self.scheduled.discard(index)
                    patient = self.patients[index]
                    if not patient.finished and patient.pending is None:
                        self.act(patient)
                if now - last_kill_check >= 0.1:
                    last_kill_check = now
                    kill_at = self.maybe_kill(now, began, deadline, thresholds, kill_at)
                if now - last_lost_check >= 1.0:
                    last_lost_check = now
                    self.find_lost_replies()
                time.sleep(0.005)
            self.settle(deadline)
            ended_at = time.monotonic()
            elapsed = ended_at - began
            exit_codes = fleet.stop(timeout=STOP_TIMEOUT_S)
            if self.pusher is not None:
                self.pusher.stop()
            time.sleep(0.2)
            self.scan()
            evidence = Evidence(
                args=args,
                content=self.content,
                patients=self.patients,
                stored=self.database.read(),
                api=self.api,
                server=self.server,
                deliveries=self.deliveries,
                fleet=fleet,
                pusher=self.pusher,
                database=self.database.describe(),
                workdir=self.workdir,
                sent=self.tally.sent,
                unexpected_keyboards=self.tally.unexpected_keyboards,
                lost_replies=self.tally.lost_replies,
                settle_s=self.tally.settle_s,
                details=self.tally.details,
                elapsed=elapsed,
                ended_at=ended_at,
                exit_codes=exit_codes,
            )
            return Verdict(evidence).report()
        finally:
            if self.fleet is not None:
                self.fleet.kill_all()
            if self.pusher is not None:
                self.pusher.stop()
            self.server.stop()
            self.database.stop()

    def maybe_kill(
        self, now: float, began: float, deadline: float, thresholds: list[float], kill_at: float | None
    ) -> float | None:
        """Kill number k once progress or time passes its random threshold, after a random delay: a random
        process among those serving (for at least a second), which is started again at once."""
        assert self.fleet is not None
        k = len(self.fleet.kill_times)
        if k >= self.args.kills:
            return None
        if kill_at is None:
            elapsed = (now - began) / max(1.0, deadline - began)
            if self.progress() >= thresholds[k] or elapsed >= thresholds[k]:
                return now + self.rng.uniform(*KILL_DELAY_S)
            return None
        ready = self.fleet.ready(now)
        if now < kill_at or not ready:
            return kill_at
        self.fleet.kill(self.rng.choice(ready))
        return None

    def settle(self, deadline: float) -> None:
        """After the last patient finished: wait (within the time bound) until every delivered update is answered
        and every hand-off a patient sent has reached the clinic in full. The processes keep serving."""
        assert self.fleet is not None
        began = time.monotonic()
        checked = 0.0
        while time.monotonic() < deadline:
            now = time.monotonic()
            self.scan()
            self.fleet.watch(now)
            if now - checked >= 0.5:
                checked = now
                self.find_lost_replies()
                if self.settled():
                    break
            time.sleep(0.05)
        self.tally.settle_s = time.monotonic() - began

    def settled(self) -> bool:
        """Nothing left to wait for: every delivered update answered, and every hand-off a patient sent stored and
        received in full, or held by the lease of a killed worker (the verdict says so)."""
        assert self.fleet is not None
        waiting = [p for p in self.patients if p.pending is not None and self.deliveries.delivered(p.pending.update_id)]
        if waiting:
            return False
        senders = {p.chat_id for p in self.patients if p.handoff and p.sent_handoff(self.content)}
        if not senders:
            return True
        stored = self.database.read()
        handoffs = [h for h in stored.handoffs if h["chat_id"] in senders]
        if {h["chat_id"] for h in handoffs} != senders:
            return False
        parts = clinic_parts(self.api, self.content)
        leases = {job["key"]: job["lease_until"] for job in stored.jobs if job["lease_until"] is not None}
        now = time.monotonic()
        for handoff in handoffs:
            got = parts.get(handoff["id"], Counter())
            if handoff["status"] != "pending" and got[TEXT_PART] and got[PDF_PART]:
                continue
            lease_until = leases.get(f"handoff:{handoff['id']}")
            if held_by_a_killed_worker(handoff, lease_until, self.fleet.kill_wall_times):
                # still as it was a while ago: its worker died (a live one is only slowed by the clinic's limit)
                seen = (handoff["status"], str(handoff["sent_parts"]), str(dict(got)))
                first = self.unchanged.setdefault(handoff["id"], (seen, now))
                if first[0] != seen:
                    self.unchanged[handoff["id"]] = (seen, now)
                elif now - first[1] >= STALLED_S:
                    continue
            return False
        return True

    def progress(self) -> float:
        menu = len(self.order)
        done = 0.0
        for patient in self.patients:
            if patient.finished:
                done += 1
            elif patient.model is not None:
                done += self.order.index(patient.model.state) / menu
        return done / max(1, len(self.patients))

    # --- sending and seeing --------------------------------------------------------------------------

    def act(self, patient: Patient) -> None:
        """Choose the patient's next update, predict the bot's answer, send it."""
        action = patient.next_action(self.engine)
        if action is None:
            patient.finished = True
            return
        event, kind, payload = action
        message = patient.keyboard_message if kind == "callback" else None
        if kind == "callback" and message is None:  # no message with the buttons in sight: /start shows it again
            self.tally.details.append(f"patient {patient.index}: no message with the current buttons; sent /start")
            event, kind, payload = Start(), "text", "/start"
        step = self.engine.step(patient.session_for_step(self.engine), event)
        with self.api.lock:
            mark = len(self.api.calls)
        current = keyboard_of_reply(self.engine.views.current(step.session))
        texts = expected_texts(step, kind)
        pending = Pending(event, kind, payload, message, step.session, keyboard_of_step(step), mark, texts, current)
        now = time.monotonic()
        pending.update_id, pending.sent_at = self.next_update_id, now
        raw = patient.raw_update(self.next_update_id, self.next_message_id, pending, time.time())
        self.next_update_id += 1
        self.next_message_id += 1
        patient.pending = pending
        patient.sent.append(pending.update_id)
        self.tally.sent += 1
        if self.pusher is not None:
            self.pusher.push(raw)
        else:
            self.server.push_update(raw)

    def scan(self) -> None:
        """Look at the calls the bot made since last time: which patients got the answer they wait for (its
        messages, and the buttons)."""
        with self.api.lock:
            new = self.api.calls[self.scanned :]
            start = self.scanned
            self.scanned = len(self.api.calls)
        for offset, call in enumerate(new):
            if call.method not in ANSWERING:
                continue
            chat_id = int(call.params.get("chat_id") or 0)
            patient = self.by_chat.get(chat_id)
            if patient is None or patient.pending is None or start + offset < patient.pending.mark:
                continue
            pending = patient.pending
            text = str(call.params.get("text") or call.params.get("caption") or "")
            pending.seen |= {i for i, prefix in enumerate(pending.texts) if text.startswith(prefix)}
            shown = keyboard_of_markup(call.params.get("reply_markup"))
            if pending.keyboard is None or shown == pending.keyboard:
                pending.keyboard_seen = True
            elif shown is not None:
                self.tally.unexpected_keyboards += 1
            if shown is not None and shown == pending.current:
                pending.current_seen = True
            if pending.answered():
                self.acknowledge(patient)

    def find_lost_replies(self) -> None:
        """Updates the bot handled (applied, and no longer kept in the inbox; or answered 200) without sending what
        the patient waits for, while it showed the current question: a kill came between storing the update and
        sending its replies, and the update came again. The bot then shows the current question (docs/deploy.md):
        the patient goes on from it, and the replies the kill lost are counted."""
        now = time.monotonic()
        waiting = [p for p in self.patients if p.pending is not None and now - p.pending.sent_at >= LOST_AFTER_S]
        if not waiting:
            return
        if self.pusher is None:
            recent, kept = self.database.handled()
            handled = {
                p.index
                for p in waiting
                if p.pending is not None
                and p.pending.update_id in recent.get(p.chat_id, set())
                and p.pending.update_id not in kept
            }
        else:
            handled = {p.index for p in waiting if p.pending and self.deliveries.delivered(p.pending.update_id)}
        self.scan()  # what the bot sent before it let go of those updates
        for patient in waiting:
            pending = patient.pending
            if pending is None or patient.index not in handled or not (pending.keyboard_seen or pending.current_seen):
                continue
            missing = [pending.texts[i] for i in range(len(pending.texts)) if i not in pending.seen]
            what = "the buttons" if not pending.keyboard_seen else f"{len(missing)} message(s)"
            self.tally.lost_replies += 1
            self.tally.details.append(
                f"patient {patient.index}: update {pending.update_id} ({pending.event}) handled, but {what} never "
                f"sent, the current question instead; missing {missing}"
            )
            self.acknowledge(patient, lost=True)

    def acknowledge(self, patient: Patient, lost: bool = False) -> None:
        pending = patient.pending
        assert pending is not None
        patient.latencies.append(time.monotonic() - pending.sent_at)
        if pending.expected.state != (patient.model.state if patient.model else None):
            patient.toggles_here = 0
        patient.model = pending.expected
        patient.visited.add(pending.expected.state)
        patient.pending = None
        patient.acknowledged.add(pending.update_id)
        if lost:
            patient.lost_replies.add(pending.update_id)
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

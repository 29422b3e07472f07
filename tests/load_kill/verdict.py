"""The verdict of a run: the database, the fake Telegram's record and what each patient saw, compared. Counts
that must be zero are named in MUST_BE_ZERO; the table shows them after the counts that describe the run."""

from __future__ import annotations

import argparse
import json
import re
import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

from bot.conversations import RECENT_UPDATES
from bot.handoffs import PDF_PART, TEXT_PART
from bot.jobs import LEASE
from flows.content import Content
from flows.machine import FlowMachine
from flows.session import Session
from flows.stages import Stage
from flows.states import kind_of
from flows.states.base import Kind
from flows.states.knowledge import KnowledgeState
from flows.states.multi import MultiState
from flows.states.scale import ScaleState
from flows.states.single import SingleState
from flows.states.sure import SureState
from flows.states.text import TextState
from flows.states.weighted import LEVELS, WeightedState
from tests.fake_bot_server import FakeBotServer
from tests.load_kill.bots import CLINIC, CLINIC_CHAT, STOP_TIMEOUT_S, Fleet
from tests.load_kill.database import Stored
from tests.load_kill.patients import Patient, handoff_sent_states, keyboard_of_markup
from tests.load_kill.telegram import Deliveries, TelegramApi, WebhookPusher

MUST_BE_ZERO = (
    "patients not finished",
    "replies later than --patience",
    "delivered updates never applied",
    "delivered updates never answered",
    "lost answers",
    "lost sessions",
    "wrong answers",
    "extra answers",
    "duplicated answers",
    "events applied twice",
    "sessions not as acknowledged",
    "sessions in an impossible state",
    "sessions of unknown chats",
    "lost hand-offs",
    "hand-offs stored twice or unasked",
    "hand-offs counted twice",
    "hand-offs sent but not counted",
    "Bot API calls rejected",
    "webhook posts rejected (4xx)",
    "errors logged by the bot",
    "bot exits not caused by a kill",
    "kills short of --kills",
)
PARTS = (TEXT_PART, PDF_PART)
MESSAGE_METHODS = ("sendMessage", "sendPhoto", "sendDocument", "editMessageText", "editMessageReplyMarkup")
DETAILS_SHOWN = 20
NOTES_SHOWN = 10


def clinic_parts(api: TelegramApi, content: Content) -> dict[int, Counter[str]]:
    """Per hand-off id, how often the clinic's chat received each part: the text message and the PDF (both start
    with the clinic's 'new hand-off #id' text; a text too long for one message goes on without it)."""
    clinic = content.clinic_by_code[CLINIC]
    header = content.texts.get(clinic.languages[0], "clinic_message.new").split("{id}")[0]
    pattern = re.compile(re.escape(header) + r"(\d+)")
    methods = {"sendMessage": TEXT_PART, "sendDocument": PDF_PART}
    found: dict[int, Counter[str]] = {}
    with api.lock:
        calls = list(api.calls)
    for call in calls:
        if call.method not in methods or int(call.params.get("chat_id") or 0) != CLINIC_CHAT:
            continue
        text = str(call.params.get("text") or call.params.get("caption") or "")
        match = pattern.match(text)
        if match:
            found.setdefault(int(match.group(1)), Counter())[methods[call.method]] += 1
    return found


def held_by_a_killed_worker(handoff: dict[str, Any], lease_until: datetime | None, kills: list[float]) -> bool:
    """A pending hand-off whose delivery job was claimed before a kill and is still leased: the worker
    delivering it may have died with it, and then it runs again only when the lease ends (bot/jobs.py LEASE)."""
    if handoff["status"] != "pending" or lease_until is None or lease_until <= datetime.now(UTC):
        return False
    claimed = (lease_until - LEASE).timestamp()
    return any(kill >= claimed - 1.0 for kill in kills)


@dataclass
class Evidence:
    """Everything a run leaves for the verdict."""

    args: argparse.Namespace
    content: Content
    patients: list[Patient]
    stored: Stored
    api: TelegramApi
    server: FakeBotServer
    deliveries: Deliveries
    fleet: Fleet
    pusher: WebhookPusher | None
    database: str
    workdir: Path
    sent: int
    unexpected_keyboards: int
    lost_replies: int
    settle_s: float
    details: list[str]
    elapsed: float
    ended_at: float  # time.monotonic() when the patients stopped and the bot was asked to stop
    exit_codes: list[int | None]


class Verdict:
    def __init__(self, evidence: Evidence) -> None:
        self.e = evidence
        self.content = evidence.content
        self.machine = FlowMachine(self.content.flow)
        self.by_chat = {p.chat_id: p for p in evidence.patients}
        self.details: list[str] = []  # what went wrong
        self.late: list[str] = []  # replies later than --patience (apart: they can be many, and hide the rest)
        self.notes = list(evidence.details)  # what the run noticed that is not a failure
        # Leaving the safety questions forgets the way there: a path may start at the first state after them.
        screen = [s for s in self.content.flow.states if kind_of(s).screen]
        exits = {self.machine.advance(s.id, {}, o.id) for s in screen for o in s.options}
        self.after_screen = {t for t in exits if t is not None and not kind_of(self.content.states[t]).screen}
        # A hand-off, once sent, is one way: the path starts again after it, and earlier answers are off it.
        self.one_way = handoff_sent_states(self.content)
        self.info: list[tuple[str, object]] = []

    def detail(self, text: str) -> None:
        self.details.append(text)

    # --- the counts ----------------------------------------------------------------------------------

    def counts(self) -> Counter[str]:
        e = self.e
        counts: Counter[str] = Counter()
        rows = e.stored.sessions
        counts["patients not finished"] = sum(not p.finished for p in e.patients)
        for patient in e.patients:
            counts.update(self.check_patient(patient, rows.get(patient.chat_id)))
            counts.update(self.check_updates(patient, rows.get(patient.chat_id)))
        for chat_id, row in rows.items():
            problems = self.impossible(row)
            if problems:
                counts["sessions in an impossible state"] += 1
                self.detail(f"chat {chat_id}: impossible: {'; '.join(problems)}")
            if chat_id not in self.by_chat:
                counts["sessions of unknown chats"] += 1
        counts.update(self.check_handoffs())
        counts.update(self.check_process())
        return counts

    def check_updates(self, patient: Patient, row: dict[str, Any] | None) -> Counter[str]:
        """Every update Telegram considers delivered was applied (it is among the chat's recent update ids while
        it is one of the patient's last RECENT_UPDATES; before that, the patient saw its answer and went on) and
        answered; and no reply took longer than --patience."""
        counts: Counter[str] = Counter()
        recent = set(row["recent_updates"]) if row is not None else set()
        last = set(patient.sent[-RECENT_UPDATES:])
        for update_id in patient.sent:
            if not self.e.deliveries.delivered(update_id):
                continue
            if row is None or (update_id in last and update_id not in recent):
                counts["delivered updates never applied"] += 1
                self.detail(f"patient {patient.index}: update {update_id} delivered, never applied")
            if update_id not in patient.acknowledged:
                counts["delivered updates never answered"] += 1
                self.detail(
                    f"patient {patient.index}: update {update_id} delivered, never answered; {self.last_seen(patient)}"
                )
        patience = self.e.args.patience
        slow = [x for x in patient.latencies if x > patience]
        if patient.pending is not None and self.e.ended_at - patient.pending.sent_at > patience:
            slow.append(self.e.ended_at - patient.pending.sent_at)  # still waiting at the end
        if slow:
            counts["replies later than --patience"] += len(slow)
            self.late.append(f"patient {patient.index}: waited {', '.join(f'{x:.0f}' for x in slow)} s for a reply")
        return counts

    def last_seen(self, patient: Patient) -> str:
        """What the patient waits for, and the last calls to the chat (with their place among all calls)."""
        pending = patient.pending
        waits = (
            f"waits for {pending.expected.state} step {pending.expected.step} from call {pending.mark} on"
            if pending
            else "waits for nothing"
        )
        with self.e.api.lock:
            calls = list(enumerate(self.e.api.calls))
        mine = [(i, c) for i, c in calls if int(c.params.get("chat_id") or 0) == patient.chat_id][-3:]
        shown = []
        for index, call in mine:
            buttons = [data for row in keyboard_of_markup(call.params.get("reply_markup")) or () for _, data in row]
            text = str(call.params.get("text") or call.params.get("caption") or "")[:30]
            shown.append(f"#{index} {call.method} {text!r} {buttons}")
        return f"{waits}; the chat's last calls: {'; '.join(shown) or 'none'}"

    def requests(self) -> list[Any]:
        with self.e.server._requests_lock:
            return list(self.e.server.requests)

    def check_patient(self, patient: Patient, row: dict[str, Any] | None) -> Counter[str]:
        """Compare the stored session with what the patient saw acknowledged (or the one update in flight)."""
        counts: Counter[str] = Counter()
        pending = patient.pending
        candidates = [s for s in (patient.model, pending.expected if pending else None) if s]
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
            f"draft {model.draft}" + (f"; in flight {pending.event} -> step {pending.expected.step}" if pending else "")
        )
        return counts

    def check_handoffs(self) -> Counter[str]:
        """Per hand-off a patient sent: one stored, each part received by the clinic (a part received twice is a
        repeated part: only a worker dying while sending it can cause one), 'handed_off' counted once."""
        e = self.e
        counts: Counter[str] = Counter()
        parts = clinic_parts(e.api, self.content)
        sent_states = handoff_sent_states(self.content)
        stored: dict[int, list[dict[str, Any]]] = {}
        for handoff in e.stored.handoffs:
            stored.setdefault(handoff["chat_id"], []).append(handoff)
        leased = {job["key"]: job["lease_until"] for job in e.stored.jobs if job["lease_until"] is not None}
        consented = by_phone = complete = repeated = delayed = 0
        for patient in e.patients:
            rows = stored.get(patient.chat_id, [])
            in_flight = patient.pending is not None and patient.pending.expected.state in sent_states
            if not patient.sent_handoff(self.content) and not (in_flight and rows):
                if rows:
                    counts["hand-offs stored twice or unasked"] += len(rows)  # nobody asked for these
                    self.detail(f"patient {patient.index}: hand-offs {[h['id'] for h in rows]} never consented to")
                continue
            consented += 1
            by_phone += patient.shares_phone
            if not rows:
                counts["lost hand-offs"] += 1
                self.detail(f"patient {patient.index}: saw the hand-off sent, none is stored")
                continue
            if len(rows) > 1:
                counts["hand-offs stored twice or unasked"] += len(rows) - 1
                self.detail(f"patient {patient.index}: hand-offs {[h['id'] for h in rows]} for one consent")
            for handoff in rows:
                got = parts.get(handoff["id"], Counter())
                repeated += sum(n - 1 for n in got.values() if n > 1)
                missing = [part for part in PARTS if not got[part]]
                if not missing and handoff["status"] == "sent":
                    complete += 1
                    continue
                lease_until = leased.get(f"handoff:{handoff['id']}")
                if held_by_a_killed_worker(handoff, lease_until, e.fleet.kill_wall_times):
                    delayed += 1  # it runs again when the lease ends
                    self.notes.append(
                        f"hand-off {handoff['id']} (patient {patient.index}): clinic has {dict(got)}; waits for the "
                        f"lease of a killed worker (until {lease_until:%H:%M:%S} UTC)"
                    )
                    continue
                counts["lost hand-offs"] += 1
                self.detail(
                    f"hand-off {handoff['id']} (patient {patient.index}): {handoff['status']}, clinic has {dict(got)}"
                    f", stored parts {handoff['sent_parts']}"
                )
        counted = Counter(chat for chat, stage in e.stored.events if stage == str(Stage.HANDED_OFF))
        sent = Counter(h["chat_id"] for h in e.stored.handoffs if h["status"] == "sent")
        counts["hand-offs counted twice"] = sum(max(0, n - sent[chat]) for chat, n in counted.items())
        counts["hand-offs sent but not counted"] = sum(max(0, n - counted[chat]) for chat, n in sent.items())
        self.info += [
            ("hand-offs consented (through a clinic link)", consented),
            ("  of which with a phone number shared", by_phone),
            ("hand-offs received in full by the clinic", complete),
            ("repeated hand-off parts (a worker died sending)", repeated),
            ("hand-offs waiting for a killed worker's lease", delayed),
        ]
        return counts

    def check_process(self) -> Counter[str]:
        e = self.e
        counts: Counter[str] = Counter()
        requests = self.requests()
        rejected = [r for r in requests if r.status >= 400]
        counts["Bot API calls rejected"] = len(rejected)
        for request in rejected[:5]:
            self.detail(f"rejected: {request.method} status {request.status}: {request.description}")
        # A kill between a request's headers and its body: the fake sees a short body, which is no call at all.
        self.info.append(("Bot API calls cut by a kill", sum(1 for r in requests if r.cut)))
        if e.pusher is not None:
            counts["webhook posts rejected (4xx)"] = len(e.pusher.tally.rejected)
            self.details += [f"webhook post rejected: {r}" for r in e.pusher.tally.rejected[:5]]
        log = e.fleet.log_text()
        counts["errors logged by the bot"] = log.count("error while handling an update") + log.count(
            "Traceback (most recent call last)"
        )
        counts["bot exits not caused by a kill"] = len(e.fleet.unexpected_exits)
        self.details += e.fleet.unexpected_exits
        counts["kills short of --kills"] = max(0, e.args.kills - len(e.fleet.kill_times))
        return counts

    # --- what no path through the flow could produce ------------------------------------------------

    def impossible(self, row: dict[str, Any]) -> list[str]:
        """Unknown states, answers off the path, bad values."""
        states = self.content.states
        problems = []
        path = [*row["history"], row["state"]]
        if row["state"] not in states:
            return [f"state {row['state']!r} is not in the flow"]
        if path[0] != self.content.flow.start and path[0] not in self.after_screen | self.one_way:
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
            # Its own question may keep its answer after Back, until answered again; after a one-way step the
            # answers that led there are behind it.
            if question not in path and path[0] not in self.one_way:
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

    # --- the table -----------------------------------------------------------------------------------

    def report(self) -> int:
        e = self.e
        args = e.args
        counts = self.counts()
        patients = e.patients
        finished = sum(p.finished for p in patients)
        latencies = [x for p in patients for x in p.latencies]
        info: list[tuple[str, object]] = [
            ("patients", len(patients)),
            ("patients finished", finished),
            ("updates sent (each once)", e.sent),
            ("updates answered as predicted", sum(len(p.acknowledged - p.lost_replies) for p in patients)),
            ("updates delivered (Telegram will not send them again)", e.deliveries.count()),
            ("replies lost by a kill (the current question instead)", e.lost_replies),
        ]
        if e.pusher is None:
            again = sum(1 for n in e.api.handed_out.values() if n > 1)
            info.append(("updates handed out again by getUpdates", again))
        else:
            tally = e.pusher.tally
            info += [
                ("webhook posts (at most --connections at once)", tally.posts),
                ("updates posted more than once", sum(1 for n in e.pusher.attempts.values() if n > 1)),
                ("posts refused (worker down)", tally.refused),
                ("posts cut (worker killed while handling)", tally.cut),
                ("posts timed out", tally.timed_out),
                ("posts answered 5xx", sum(n for s, n in tally.statuses.items() if s >= 500)),
            ]
        kills = Counter(e.fleet.kill_names)
        info += [
            ("kills (SIGKILL)", len(e.fleet.kill_times)),
            ("kills per process", ", ".join(f"{name}: {n}" for name, n in sorted(kills.items())) or "-"),
            *self.info,
            ("other keyboards seen while waiting", e.unexpected_keyboards),
            ("answer latency p50 / p95 / max (s)", _percentiles(latencies)),
            ("patience (s)", f"{args.patience:.0f}"),
            ("messages sent + edited per second (all chats)", _rate(e.api, e.elapsed)),
            ("waiting for hand-offs and last replies (s)", f"{e.settle_s:.1f}"),
            (f"exit codes at the end (SIGTERM; None: busy {STOP_TIMEOUT_S:.0f} s)", ", ".join(map(str, e.exit_codes))),
            ("run time (s)", f"{e.elapsed:.1f}"),
        ]
        width = max(len(name) for name in [*MUST_BE_ZERO, *(name for name, _ in info)]) + 2
        handoffs = sum(p.handoff for p in patients)
        workers = f", {args.workers} workers" if args.mode == "webhook" else ""
        print(
            f"load-kill: mode {args.mode}, database {args.database}{workers}, {len(patients)} patients "
            f"({handoffs} through a clinic link), {args.kills} kills, seed {args.seed}"
        )
        print(f"database: {e.database}")
        print(f"work folder: {e.workdir}")
        if finished < len(patients):
            print(f"stopped by the time bound ({args.seconds:.0f} s) with {len(patients) - finished} patients")
            print("still walking; the bot answered at the rate shown below")
        print(f"{'count':<{width}}{'value':>16}  must be 0")
        for name, value in info:
            print(f"{name:<{width}}{value!s:>16}")
        failed = []
        for name in MUST_BE_ZERO:
            value = counts[name]
            print(f"{name:<{width}}{value!s:>16}  {'ok' if value == 0 else 'FAIL'}")
            if value:
                failed.append(name)
        shows = ((self.details, "", DETAILS_SHOWN), (self.late, "", NOTES_SHOWN), (self.notes, "note: ", NOTES_SHOWN))
        for lines, label, shown in shows:
            for line in lines[:shown]:
                print(f"  {label}{line}")
            if len(lines) > shown:
                print(f"  ... and {len(lines) - shown} more")
        print(f"result: {'FAIL (' + ', '.join(failed) + ')' if failed else 'OK'}")
        return 1 if failed else 0


def _stored_view(session: Session) -> tuple[Any, ...]:
    """A session as storage writes it (answers and ticks only with consent)."""
    answers = json.loads(json.dumps(session.answers if session.consent else {}))
    return (
        session.state,
        session.step,
        answers,
        list(session.draft if session.consent else []),
        list(session.history),
        session.handoff_clinic,
        session.awaiting_contact,
    )


def _row_view(row: dict[str, Any]) -> tuple[Any, ...]:
    return (
        row["state"],
        row["step"],
        row["answers"],
        list(row["draft"]),
        list(row["history"]),
        row["handoff_clinic"],
        row["awaiting_contact"],
    )


def _percentiles(values: list[float]) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"{statistics.median(ordered):.1f} / {p95:.1f} / {ordered[-1]:.1f}"


def _rate(api: TelegramApi, elapsed: float) -> str:
    with api.lock:
        sent = sum(1 for c in api.calls if c.method in MESSAGE_METHODS)
    return f"{sent / max(elapsed, 0.001):.1f}"

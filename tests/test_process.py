"""Black-box tests: the real `python -m bot` process against a fake Bot API served over HTTP on 127.0.0.1."""

from __future__ import annotations

import copy
import functools
import http.client
import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.settings import Settings
from flows.loader import load_content
from flows.texts import Texts
from tests.fake_bot_api import Call
from tests.fake_bot_server import FakeBotServer
from tests.telegram_harness import callback_update, message_update

ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "content"
TOKEN = "987654:PROCESS-secret-Zq8x-never-in-logs"
TOKEN_SECRET = TOKEN.split(":", 1)[1]
SETTING_NAMES = {name.upper() for name in Settings.model_fields}  # every variable the bot reads
START_TIMEOUT_S = 20.0
STEP_TIMEOUT_S = 10.0
MESSAGE_METHODS = ("sendMessage", "editMessageText", "sendPhoto")

SAFETY_KEYS = ("safety.cauda", "safety.legs", "safety.neck", "safety.other")  # the four, asked before consent
VALUE_KEYS = tuple(
    f"values.{v}" for v in ("avoid_surgery", "proven", "low_cost", "quick_return", "few_visits", "stay_near_home")
)
STATEMENT_KEYS = ("knowledge.waiting", "knowledge.cells_proven", "knowledge.surgery_sure")
SURE_KEYS = ("sure.sure", "sure.understand", "sure.values", "sure.support")


@functools.cache
def _texts() -> Texts:
    loaded = load_content(CONTENT)
    assert loaded.content is not None, loaded.problems
    return loaded.content.texts


def en(key: str) -> str:
    """The first line of the English text for `key`, as the bot sends it: a black-box test sees no text keys,
    so it looks for their texts (wording changes in content/ do not break it)."""
    return next(line.strip() for line in _texts().get("en", key).splitlines() if line.strip())


# --- the bot process ----------------------------------------------------------------------------------


def base_env() -> dict[str, str]:
    """The test runner's environment without any of the bot's settings, and with the repository importable."""
    env = {k: v for k, v in os.environ.items() if k.upper() not in SETTING_NAMES}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    env["PYTHONUNBUFFERED"] = "1"
    return env


class BotProcess:
    """`python -m bot <command>` as a subprocess, its stderr captured to a file per start."""

    def __init__(self, workdir: Path, env: dict[str, str], command: str = "run") -> None:
        self.workdir = workdir
        self.env = env
        self.command = command
        self.logs: list[Path] = []
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> BotProcess:
        assert self.proc is None, "already running"
        log = self.workdir / f"bot-stderr-{len(self.logs) + 1}.log"
        self.logs.append(log)
        with log.open("wb") as stderr:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot", self.command],
                env=self.env,
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
            )
        return self

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM and wait for a clean exit; SIGKILL if it takes longer. Returns the exit code."""
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        proc.terminate()
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
            return None

    def check_alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            code = self.proc.returncode
            raise AssertionError(f"the bot exited with code {code}\n{self.tail()}")

    def log_text(self) -> str:
        return "".join(log.read_text("utf-8", errors="replace") for log in self.logs if log.exists())

    def tail(self, chars: int = 4000) -> str:
        return f"--- bot stderr (last {chars} characters) ---\n{self.log_text()[-chars:]}"


@pytest.fixture
def server() -> Iterator[FakeBotServer]:
    with FakeBotServer(TOKEN) as fake:
        yield fake


@pytest.fixture
def bots() -> Iterator[list[BotProcess]]:
    """Every bot started by a test; all are killed at the end, whatever happened."""
    started: list[BotProcess] = []
    try:
        yield started
    finally:
        for bot in started:
            bot.kill()


def bot_env(tmp_path: Path, server: FakeBotServer, **extra: str) -> dict[str, str]:
    env = base_env()
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=server.url,
        DATABASE_PATH=str(tmp_path / "bot.sqlite3"),
        CONTENT_DIR=str(CONTENT),
        LOG_LEVEL="DEBUG",
    )
    env.update(extra)
    return env


def wait(bot: BotProcess, condition: Callable[[], Any], what: str, timeout: float = STEP_TIMEOUT_S) -> Any:
    """Poll `condition` until it is truthy; fail naming `what`, with the bot's stderr, on timeout or exit."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        bot.check_alive()
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{bot.tail()}")
        time.sleep(0.02)


def start_polling_bot(tmp_path: Path, server: FakeBotServer, bots: list[BotProcess], **extra: str) -> BotProcess:
    """Start `python -m bot run` (with `extra` settings) and wait until it long-polls."""
    bot = BotProcess(tmp_path, bot_env(tmp_path, server, **extra)).start()
    bots.append(bot)
    polls = len(server.calls("getUpdates"))
    wait(bot, lambda: len(server.calls("getUpdates")) > polls, "the first getUpdates", START_TIMEOUT_S)
    return bot


def db_rows(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
    """Read the bot's SQLite file directly."""
    connection = sqlite3.connect(path, timeout=5)
    try:
        return connection.execute(sql, params).fetchall()
    finally:
        connection.close()


def stored_answers(path: Path, chat_id: int) -> dict[str, Any]:
    rows = db_rows(path, "SELECT answers FROM sessions WHERE chat_id = ?", (chat_id,))
    assert rows, f"no session row for chat {chat_id}"
    return dict(json.loads(rows[0][0]))


def markup_of(params: dict[str, Any]) -> dict[str, Any]:
    markup = params.get("reply_markup")
    return json.loads(markup) if isinstance(markup, str) else (markup or {})


def shown(params: dict[str, Any]) -> str:
    """A message's text (a photo's caption) plus its button labels."""
    labels = [b.get("text", "") for row in markup_of(params).get("inline_keyboard", []) for b in row]
    return "\n".join([str(params.get("text", params.get("caption", ""))), *labels])


# --- a patient --------------------------------------------------------------------------------------


class Patient:
    """A user in a private chat, talking to the bot process through the fake server."""

    def __init__(self, server: FakeBotServer, bot: BotProcess, chat_id: int) -> None:
        self.server = server
        self.bot = bot
        self.chat_id = chat_id
        self.last_update_id = 0

    def to_me(self, calls: list[Call], methods: tuple[str, ...] = MESSAGE_METHODS) -> list[Call]:
        return [c for c in calls if c.method in methods and int(c.params.get("chat_id", 0)) == self.chat_id]

    def sent(self, method: str = "sendMessage") -> list[dict[str, Any]]:
        return [c.params for c in self.to_me(self.server.calls(), (method,))]

    def act(self, raw: dict[str, Any], expect: str, timeout: float = STEP_TIMEOUT_S) -> list[dict[str, Any]]:
        """Push one update; wait for a sent or edited message showing `expect`; return the messages since."""
        mark = len(self.server.calls())
        self.last_update_id = raw["update_id"]
        self.server.push_update(raw)

        def arrived() -> list[dict[str, Any]] | None:
            new = [c.params for c in self.to_me(self.server.calls()[mark:])]
            return new if any(expect in shown(p) for p in new) else None

        return list(wait(self.bot, arrived, f"chat {self.chat_id}: a message showing {expect!r}", timeout))

    def send(self, text: str, expect: str, timeout: float = STEP_TIMEOUT_S) -> list[dict[str, Any]]:
        return self.act(message_update(self.chat_id, text), expect, timeout)

    def keyboard_message(self) -> dict[str, Any]:
        """The newest message of the chat that shows buttons, as the fake API holds it now."""
        with self.server.api.lock:
            messages = copy.deepcopy(self.server.api.messages.get(self.chat_id, {}))
        for message_id in sorted(messages, reverse=True):
            if messages[message_id].get("reply_markup", {}).get("inline_keyboard"):
                return messages[message_id]
        raise AssertionError(f"chat {self.chat_id} has no message with buttons\n{self.bot.tail()}")

    def tap(self, label: str, expect: str, timeout: float = STEP_TIMEOUT_S) -> list[dict[str, Any]]:
        """Tap the button labelled `label` (or containing it) on the newest keyboard."""
        message = self.keyboard_message()
        buttons = [b for row in message["reply_markup"]["inline_keyboard"] for b in row]
        wanted = label.lower()
        matches = [b for b in buttons if b["text"].lower() == wanted] or [
            b for b in buttons if wanted in b["text"].lower()
        ]
        assert matches, f"no button {label!r} in {[b['text'] for b in buttons]}\n{self.bot.tail()}"
        raw = callback_update(self.chat_id, matches[0]["callback_data"], message)
        return self.act(raw, expect, timeout)

    def through_safety_questions(self) -> None:
        """'No' to each of the four safety questions, from the first: the consent question shows."""
        for following in [*SAFETY_KEYS[1:], "consent.ask"]:
            self.tap(en("common.no"), en(following))

    def to_the_first_question(self) -> None:
        """/start, Continue, the safety questions, consent: the region question shows."""
        self.send("/start", en("welcome"))
        self.tap(en("common.continue"), en(SAFETY_KEYS[0]))
        self.through_safety_questions()
        self.tap(en("consent.agree"), en("region.ask"))

    def to_the_follow_up_offer(self) -> None:
        """From /start, a whole low-back walk with no clinic link: the check-in offer after the summary shows."""
        self.to_the_first_question()
        self.tap(en("region.low_back"), en("leg_symptoms.ask"))
        self.tap(en("leg_symptoms.walking_pain"), f"{en('common.tick_on')} {en('leg_symptoms.walking_pain')}")
        self.tap(en("common.done"), en("duration.ask"))
        self.tap(en("duration.over_1_year"), en("pain.ask"))
        self.tap("6", en("mri.ask"))
        self.tap(en("common.no"), en("treatments.ask"))
        self.tap(en("treatments.physio"), f"{en('common.tick_on')} {en('treatments.physio')}")
        self.tap(en("common.done"), en("health.ask"))
        self.tap(en("health.good"), en("goal.ask"))
        self.tap(en("common.skip"), en("result.intro"))
        self.tap(en("common.continue"), en("figure.options_table.caption"))
        self.tap(en("common.continue"), en(VALUE_KEYS[0]))
        levels = ["a_lot", "a_little", "a_lot", "not_at_all", "a_little", "not_at_all"]
        self.answer_series([en(f"weighted.{level}") for level in levels], VALUE_KEYS, after=en(STATEMENT_KEYS[0]))
        truths = [en("common.true"), en("common.false"), en("common.not_sure")]
        self.answer_series(truths, STATEMENT_KEYS, after=en("leaning.ask"))
        self.tap(en("leaning.exercise"), en(SURE_KEYS[0]))
        self.answer_series([en("common.yes")] * 4, SURE_KEYS, after=en("sure.high"))
        self.tap(en("common.continue"), en("figure.cells_vs_dummy_6_months.caption"))
        self.tap(en("common.continue"), en("follow_up.offer"))

    def answer_series(
        self, labels: list[str], keys: tuple[str, ...], first: int = 0, after: str | None = None
    ) -> list[dict[str, Any]]:
        """Answer a series asked one item at a time (its items show the texts of `keys`), from item `first`: tap
        `labels[i]` for each; `after` shows once the last item is answered. Returns the messages since the first tap."""
        seen: list[dict[str, Any]] = []
        for index, label in enumerate(labels, start=first):
            following = en(keys[index + 1]) if index + 1 < len(keys) else after
            assert following is not None, "what shows after the last item?"
            seen += self.tap(label, following)
        return seen


def confirmed_up_to(server: FakeBotServer, update_id: int) -> bool:
    """True once the bot asked getUpdates for offsets past `update_id` (it will never get it again)."""
    return any(int(c.params.get("offset") or 0) > update_id for c in server.calls("getUpdates"))


# --- the fake server itself -------------------------------------------------------------------------


def test_fake_server_answers_form_and_json_calls_and_rejects_a_wrong_token(server: FakeBotServer) -> None:
    def post(path: str, body: bytes, content_type: str) -> tuple[int, dict[str, Any]]:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        try:
            connection.request("POST", path, body, {"Content-Type": content_type})
            response = connection.getresponse()
            return response.status, json.loads(response.read())
        finally:
            connection.close()

    form = "application/x-www-form-urlencoded"
    markup = json.dumps({"inline_keyboard": [[{"text": "OK", "callback_data": "c1:ok"}]]})
    body = f"chat_id=5&text=hi&reply_markup={markup}".encode()
    status, answer = post(f"/bot{TOKEN}/sendMessage", body, form)
    assert status == 200 and answer["result"]["reply_markup"]["inline_keyboard"][0][0]["text"] == "OK"
    status, answer = post(
        f"/bot{TOKEN}/sendMessage", json.dumps({"chat_id": 5, "text": "hey"}).encode(), "application/json"
    )
    assert status == 200 and answer["result"]["text"] == "hey"
    assert post("/bot1:wrong/getMe", b"", form) == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )
    assert post("/getMe", b"", form)[0] == 404
    assert [c.params["text"] for c in server.calls("sendMessage")] == ["hi", "hey"]


# --- the real process -------------------------------------------------------------------------------


def kill_and_restart(tmp_path: Path, server: FakeBotServer, bots: list[BotProcess], patient: Patient) -> BotProcess:
    """SIGKILL the bot once its last update is confirmed (no shutdown, no flush), and start it again."""
    wait(patient.bot, lambda: confirmed_up_to(server, patient.last_update_id), "getUpdates to confirm the last update")
    patient.bot.kill()
    patient.bot = BotProcess(tmp_path, patient.bot.env).start()  # the same settings
    bots.append(patient.bot)
    polls = len(server.calls("getUpdates"))
    wait(patient.bot, lambda: len(server.calls("getUpdates")) > polls, "the first getUpdates", START_TIMEOUT_S)
    return patient.bot


def assert_same_question_again(sent: list[dict[str, Any]], question: dict[str, Any]) -> None:
    """After /start: welcome back, then the question the patient was on, with the same buttons; no welcome."""
    assert en("notice.welcome_back") in sent[0]["text"], sent
    assert sent[-1]["text"] == question["text"]  # the same question...
    assert markup_of(sent[-1]) == markup_of(question)  # ...with the same buttons
    assert not any(en("welcome") in p["text"] for p in sent)


@pytest.mark.slow
def test_a_restart_mid_conversation_keeps_the_answers_and_the_current_question(
    tmp_path: Path, server: FakeBotServer, bots: list[BotProcess]
) -> None:
    database = tmp_path / "bot.sqlite3"
    bot = start_polling_bot(tmp_path, server, bots)
    patient = Patient(server, bot, chat_id=31001)
    patient.to_the_first_question()
    patient.tap(en("region.low_back"), en("leg_symptoms.ask"))
    ticked = f"{en('common.tick_on')} {en('leg_symptoms.walking_pain')}"
    patient.tap(en("leg_symptoms.walking_pain"), ticked)  # ticked in place
    before = patient.tap(en("common.done"), en("duration.ask"))
    question = next(p for p in before if en("duration.ask") in shown(p))
    assert stored_answers(database, 31001) == {"region": "low_back", "leg_symptoms": ["walking_pain"]}

    kill_and_restart(tmp_path, server, bots, patient)
    assert_same_question_again(patient.send("/start", en("duration.ask")), question)

    patient.tap(en("duration.over_1_year"), en("pain.ask"))
    patient.tap("6", en("mri.ask"))
    answers = stored_answers(database, 31001)
    assert answers == {"region": "low_back", "leg_symptoms": ["walking_pain"], "duration": "over_1_year", "pain": 6}
    assert db_rows(database, "SELECT state, active FROM sessions WHERE chat_id = 31001") == [("mri", 1)]

    # On to the values, weighed one at a time in place: a kill halfway through loses none of those weighed.
    patient.tap(en("common.no"), en("treatments.ask"))
    patient.tap(en("treatments.physio"), f"{en('common.tick_on')} {en('treatments.physio')}")
    patient.tap(en("common.done"), en("health.ask"))
    patient.tap(en("health.good"), en("goal.ask"))
    patient.tap(en("common.skip"), en("result.intro"))
    patient.tap(en("common.continue"), en("figure.options_table.caption"))  # the comparison, then its table
    patient.tap(en("common.continue"), en(VALUE_KEYS[0]))
    weighed = patient.answer_series([en("weighted.a_lot"), en("weighted.a_little"), en("weighted.a_lot")], VALUE_KEYS)
    question = next(p for p in reversed(weighed) if en(VALUE_KEYS[3]) in shown(p))
    assert "values" not in stored_answers(database, 31001)  # kept once all six are weighed

    kill_and_restart(tmp_path, server, bots, patient)
    assert_same_question_again(patient.send("/start", en(VALUE_KEYS[3])), question)

    levels = [en("weighted.not_at_all"), en("weighted.a_little"), en("weighted.not_at_all")]
    patient.answer_series(levels, VALUE_KEYS, first=3, after=en(STATEMENT_KEYS[0]))
    truths = [en("common.true"), en("common.false"), en("common.not_sure")]
    explained = patient.answer_series(truths, STATEMENT_KEYS, after=en("leaning.ask"))
    for why in ("knowledge.waiting_why", "knowledge.cells_proven_why", "knowledge.surgery_sure_why"):
        assert sum(en(why) in p["text"] for p in explained) == 1, why  # each answer is explained, once
    patient.tap(en("leaning.exercise"), en(SURE_KEYS[0]))  # no value it conflicts with matters a lot: no nudge
    patient.answer_series([en("common.yes")] * 4, SURE_KEYS, after=en("sure.high"))
    # the summary, then the figures of exercise (where the patient leans) and of stem cells; the buttons are on
    # the last one
    summary = patient.tap(en("common.continue"), en("figure.cells_vs_dummy_6_months.caption"))
    assert en("summary.intro") in shown(summary[0])
    patient.tap(en("common.continue"), en("follow_up.offer"))
    patient.tap(en("follow_up.no"), en("own_doctor"))  # no clinic is offered to this patient
    patient.tap(en("summary.to_topics"), en("menu.intro"))

    assert stored_answers(database, 31001) == {
        "region": "low_back",
        "leg_symptoms": ["walking_pain"],
        "duration": "over_1_year",
        "pain": 6,
        "mri": "no_mri",
        "treatments": ["physio"],
        "health": "good",
        "values": {
            "avoid_surgery": "a_lot",
            "proven": "a_little",
            "low_cost": "a_lot",
            "quick_return": "not_at_all",
            "few_visits": "a_little",
            "stay_near_home": "not_at_all",
        },
        "leaning": "exercise",
        "sure": 4,
    }
    assert db_rows(database, "SELECT state, active FROM sessions WHERE chat_id = 31001") == [("menu", 1)]


CHECK_IN_AFTER_S = 10  # FOLLOW_UP_AFTER of the check-in test: one check-in, the two-week kind


def check_ins(patient: Patient) -> list[dict[str, Any]]:
    """The check-in questions the chat has been sent."""
    return [p for p in patient.sent() if en("checkin.first_safety") in shown(p)]


@pytest.mark.slow
def test_a_check_in_survives_a_restart_and_comes_only_to_who_asked_for_it(
    tmp_path: Path, server: FakeBotServer, bots: list[BotProcess]
) -> None:
    database = tmp_path / "bot.sqlite3"
    bot = start_polling_bot(tmp_path, server, bots, FOLLOW_UP_AFTER=f"{CHECK_IN_AFTER_S}s")
    erased, asked, declined = (Patient(server, bot, chat_id) for chat_id in (32001, 32002, 32003))

    erased.to_the_follow_up_offer()
    erased.tap(en("follow_up.yes"), en("own_doctor"))
    assert [kind for (kind,) in db_rows(database, "SELECT kind FROM jobs WHERE chat_id = 32001")] == ["follow_up"]
    erased.send("/delete", en("bot.delete_confirm"))
    erased.tap(en("bot.delete_yes"), en("bot.deleted"))
    assert db_rows(database, "SELECT count(*) FROM jobs WHERE chat_id = 32001") == [(0,)], "/delete cancels it"

    asked.to_the_follow_up_offer()
    opted_in = time.monotonic()  # the tap is sent now: the check-in is due no sooner than CHECK_IN_AFTER_S after
    asked.tap(en("follow_up.yes"), en("own_doctor"))
    assert db_rows(database, "SELECT chat_id FROM jobs WHERE kind = 'follow_up'") == [(32002,)]

    # SIGKILL at once, well before it is due: the check-in is a row in the database, and the new process sends it.
    kill_and_restart(tmp_path, server, bots, asked)
    assert check_ins(asked) == [], "killed before the check-in was due"
    wait(asked.bot, lambda: check_ins(asked), "the check-in", timeout=CHECK_IN_AFTER_S + 20)
    arrived = time.monotonic() - opted_in
    assert CHECK_IN_AFTER_S <= arrived <= CHECK_IN_AFTER_S + 12, f"sent {arrived:.1f} s after the opt-in"
    assert len(check_ins(asked)) == 1
    # The erased chat's check-in fell due before this one and would have been sent first: it is gone.
    assert check_ins(erased) == []
    assert db_rows(database, "SELECT count(*) FROM sessions WHERE chat_id = 32001") == [(0,)]

    asked.tap(en("common.no"), en("checkin.decided"))  # the check-in is the chat's current question
    assert db_rows(database, "SELECT state FROM sessions WHERE chat_id = 32002") == [("checkin_decided",)]
    assert db_rows(database, "SELECT count(*) FROM jobs WHERE chat_id = 32002") == [(0,)], "sent once, and done"

    declined.bot = asked.bot
    declined.to_the_follow_up_offer()
    declined.tap(en("follow_up.no"), en("own_doctor"))
    declined.tap(en("summary.to_topics"), en("menu.intro"))
    assert db_rows(database, "SELECT count(*) FROM jobs WHERE chat_id = 32003") == [(0,)], "nothing planned"
    assert check_ins(declined) == []


@pytest.mark.slow
def test_injected_faults_are_survived_and_no_answer_is_lost(
    tmp_path: Path, server: FakeBotServer, bots: list[BotProcess]
) -> None:
    database = tmp_path / "bot.sqlite3"
    bot = start_polling_bot(tmp_path, server, bots)
    first = Patient(server, bot, chat_id=32001)
    first.send("/start", en("welcome"))

    # 429: the bot waits as long as it was told, then the message is delivered, once.
    server.api.inject("429", "sendMessage", retry_after=1)
    first.tap(en("common.continue"), en(SAFETY_KEYS[0]))
    attempts = server.statuses("sendMessage")
    flood = [at for at, status in attempts if status == 429]
    assert len(flood) == 1, attempts
    delivered = [at for at, status in attempts if status == 200 and at > flood[0]]
    assert delivered, attempts
    assert delivered[0] - flood[0] >= 0.95, f"retried {delivered[0] - flood[0]:.2f} s after a 429 asking for 1 s"
    assert sum(en(SAFETY_KEYS[0]) in p["text"] for p in first.sent()) == 1

    # 403 for a second chat: it is marked inactive; the first chat is still served.
    second = Patient(server, bot, chat_id=32002)
    server.api.inject("403", "sendMessage")
    server.push_update(message_update(second.chat_id, "/start"))
    wait(
        bot,
        lambda: db_rows(database, "SELECT active FROM sessions WHERE chat_id = ?", (second.chat_id,)) == [(0,)],
        "chat 32002 to be marked inactive after a 403",
    )
    assert second.sent() == []
    first.through_safety_questions()
    first.tap(en("consent.agree"), en("region.ask"))

    # A timeout: the answer is stored at once, and the question arrives after the retry.
    server.api.inject("timeout", "sendMessage")
    first.tap(en("region.low_back"), en("leg_symptoms.ask"), timeout=20)
    timed_out = [at for at, status in server.statuses("sendMessage") if status == 0]
    assert len(timed_out) == 1
    assert sum(en("leg_symptoms.ask") in p["text"] for p in first.sent()) == 1
    assert stored_answers(database, first.chat_id) == {"region": "low_back"}
    first.tap(en("leg_symptoms.walking_pain"), f"{en('common.tick_on')} {en('leg_symptoms.walking_pain')}")
    first.tap(en("common.done"), en("duration.ask"))
    first.tap(en("duration.over_1_year"), en("pain.ask"))

    assert stored_answers(database, first.chat_id) == {
        "region": "low_back",
        "leg_symptoms": ["walking_pain"],
        "duration": "over_1_year",
    }
    assert db_rows(database, "SELECT active FROM sessions ORDER BY chat_id") == [(1,), (0,)]
    bot.check_alive()


@pytest.mark.slow
def test_the_token_never_appears_in_logs_or_messages_even_on_errors(
    tmp_path: Path, server: FakeBotServer, bots: list[BotProcess]
) -> None:
    server.timeout_mode = "drop"  # the connection is cut: a different network error than a read timeout
    server.api.inject("500", "getUpdates")
    bot = start_polling_bot(tmp_path, server, bots)
    wait(bot, lambda: any(s == 500 for _, s in server.statuses("getUpdates")), "the 500 on getUpdates")
    patient = Patient(server, bot, chat_id=33001)
    patient.send("/start", en("welcome"), timeout=20)  # polling resumes after the 500

    server.api.inject("429", "sendMessage", retry_after=1)
    patient.tap(en("common.continue"), en(SAFETY_KEYS[0]))
    server.api.inject("timeout", "sendMessage")
    patient.tap(en("common.no"), en(SAFETY_KEYS[1]))
    for _ in range(4):  # more than the bot retries: the error handler runs and tells the user
        server.api.inject("500", "sendMessage")
    patient.tap(en("common.no"), en("bot.error"), timeout=20)
    blocked = Patient(server, bot, chat_id=33002)
    server.api.inject("403", "sendMessage")
    server.push_update(message_update(blocked.chat_id, "/start"))
    database = tmp_path / "bot.sqlite3"
    query = "SELECT active FROM sessions WHERE chat_id = ?"
    wait(bot, lambda: db_rows(database, query, (blocked.chat_id,)) == [(0,)], "chat 33002 to be marked inactive")
    patient.send("/help", en(SAFETY_KEYS[2]))  # still served, on the question after the one answered
    exit_code = bot.stop()  # a clean shutdown logs too

    log = "\n".join(started.log_text() for started in bots)
    assert "DEBUG" in log and "sendMessage" in log, "the log should be at DEBUG level"
    assert "Error" in log or "error" in log, "the faults should have been logged"
    assert TOKEN not in log and TOKEN_SECRET not in log, [line for line in log.splitlines() if TOKEN_SECRET in line]
    outgoing = json.dumps([[c.method, c.params] for c in server.calls()])
    assert TOKEN_SECRET not in outgoing
    assert exit_code == 0, f"exit code {exit_code}\n{bot.tail()}"


@pytest.mark.slow
def test_without_a_token_the_bot_exits_at_once_naming_the_variable(tmp_path: Path, server: FakeBotServer) -> None:
    env = base_env()
    env.update(TELEGRAM_API_URL=server.url, DATABASE_PATH=str(tmp_path / "bot.sqlite3"), CONTENT_DIR=str(CONTENT))
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot"],
        env=env,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    elapsed = time.monotonic() - started
    assert proc.returncode not in (0, None), (proc.returncode, out, err)
    assert b"TELEGRAM_BOT_TOKEN" in err, err.decode(errors="replace")
    assert elapsed < 15, f"took {elapsed:.1f} s"
    assert server.requests == []  # it did not even try to reach Telegram
    assert not (tmp_path / "bot.sqlite3").exists()


@pytest.mark.parametrize("problem", ["unreachable", "wrong token"])
def test_an_unusable_telegram_at_start_is_named_without_a_traceback(
    tmp_path: Path, server: FakeBotServer, problem: str
) -> None:
    api_url = f"http://127.0.0.1:{free_port()}" if problem == "unreachable" else server.url
    token = "123456:wrong-token-for-this-test" if problem == "wrong token" else TOKEN
    env = bot_env(tmp_path, server, TELEGRAM_API_URL=api_url, TELEGRAM_BOT_TOKEN=token)
    proc = subprocess.run(
        [sys.executable, "-m", "bot"], env=env, cwd=tmp_path, stdin=subprocess.DEVNULL, capture_output=True, timeout=60
    )
    err = proc.stderr.decode(errors="replace")
    assert proc.returncode == 1, (proc.returncode, err)
    assert "Traceback" not in err and token not in err
    named = f"{api_url} (TELEGRAM_API_URL)" if problem == "unreachable" else "refused the token (TELEGRAM_BOT_TOKEN)"
    assert named in err, err


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def http_call(
    port: int, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request(method, path, body, headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.mark.slow
def test_webhook_mode_checks_the_secret_and_processes_each_update_once(
    tmp_path: Path, server: FakeBotServer, bots: list[BotProcess]
) -> None:
    port = free_port()
    database = tmp_path / "bot.sqlite3"
    env = bot_env(tmp_path, server, PORT=str(port), WEBHOOK_URL="https://example.invalid/hook", WEBHOOK_SECRET="s3cret")
    bot = BotProcess(tmp_path, env, command="webhook").start()
    bots.append(bot)

    def healthy() -> bool:
        try:
            return http_call(port, "GET", "/healthz")[0] == 200
        except OSError:
            return False

    wait(bot, healthy, "GET /healthz to answer 200", START_TIMEOUT_S)
    hooks = wait(bot, lambda: server.calls("setWebhook"), "setWebhook on the fake API")
    assert hooks[0].params["url"] == "https://example.invalid/hook"
    assert hooks[0].params["secret_token"] == "s3cret"

    json_type = {"Content-Type": "application/json"}
    right = {**json_type, "X-Telegram-Bot-Api-Secret-Token": "s3cret"}
    rejected = message_update(34009, "/start")
    assert http_call(port, "POST", "/hook", json.dumps(rejected).encode(), json_type)[0] == 403
    wrong = {**json_type, "X-Telegram-Bot-Api-Secret-Token": "s3cret-not"}
    assert http_call(port, "POST", "/hook", json.dumps(rejected).encode(), wrong)[0] == 403
    assert http_call(port, "POST", "/hook", b'{"update_id": 1, "message": ', right)[0] == 400

    patient = Patient(server, bot, chat_id=34001)
    start = json.dumps(message_update(patient.chat_id, "/start")).encode()
    assert http_call(port, "POST", "/hook", start, right)[0] == 200  # answered once the reply is out
    assert [en("welcome") in m["text"] for m in patient.sent()] == [True]
    stored = db_rows(database, "SELECT state, step, answers FROM sessions WHERE chat_id = ?", (patient.chat_id,))
    assert http_call(port, "POST", "/hook", start, right)[0] == 200  # Telegram redelivers: same update_id
    # not applied again (nothing stored changes); the patient is shown the current question once more
    assert (
        db_rows(database, "SELECT state, step, answers FROM sessions WHERE chat_id = ?", (patient.chat_id,)) == stored
    )
    assert [en("welcome") in m["text"] for m in patient.sent()] == [True, True]
    help_update = json.dumps(message_update(patient.chat_id, "/help")).encode()
    assert http_call(port, "POST", "/hook", help_update, right)[0] == 200
    texts = [p["text"] for p in patient.sent()]
    assert len(texts) == 4, texts  # help text, then the question again
    assert en("info.help") in texts[2] and en("welcome") in texts[3], texts

    assert not [c for c in server.calls() if int(c.params.get("chat_id", 0) or 0) == 34009]
    assert db_rows(database, "SELECT chat_id FROM sessions ORDER BY chat_id") == [(34001,)]

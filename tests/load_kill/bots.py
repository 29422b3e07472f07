"""The bot under test: a snapshot of its code and content, and its processes. Long polling runs one
`python -m bot run`; webhooks run `python -m bot webhook` workers, each on a port of its own, all on the same
database. Each process is started, SIGKILLed and started again here; its stderr goes to a file per start."""

from __future__ import annotations

import http.client
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.fake_bot_server import FakeBotServer
from tests.test_process import TOKEN, BotProcess, base_env, free_port

ROOT = Path(__file__).resolve().parent.parent.parent
CLINIC = "demo-clinic"
CLINIC_CHAT = -100777  # the chat that receives the demo clinic's hand-offs (as in tests/test_clinics.py)
WEBHOOK_URL = "https://bot.load-kill.invalid/telegram"  # what the bot registers; the fake posts to its path
READY_AFTER_S = 1.0  # a process is killed only once it has served for this long
STOP_TIMEOUT_S = 8.0  # at the end: SIGTERM, then SIGKILL if a process is still busy after this long


def snapshot(workdir: Path) -> Path:
    """Copy bot/, flows/ and content/ (so nothing under test changes during the run), with the demo clinic able to
    receive hand-offs in CLINIC_CHAT."""
    folder = workdir / "snapshot"
    for name in ("bot", "flows", "content"):
        shutil.copytree(ROOT / name, folder / name, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
    clinics = folder / "content" / "clinics.yaml"
    text = clinics.read_text(encoding="utf-8")
    if f"  - code: {CLINIC}\n" not in text or "    handoff_chat_id:\n" not in text:
        raise SystemExit(f"content/clinics.yaml changed: the run needs {CLINIC} with an empty handoff_chat_id")
    clinics.write_text(text.replace("    handoff_chat_id:\n", f"    handoff_chat_id: {CLINIC_CHAT}\n", 1), "utf-8")
    return folder


@dataclass
class Worker:
    """One bot process (a webhook worker has a port)."""

    name: str
    process: BotProcess
    port: int | None = None
    started_at: float = 0.0
    ready_at: float | None = None
    starts: int = 0

    def start(self) -> None:
        self.process.start()
        self.started_at = time.monotonic()
        self.ready_at = None
        self.starts += 1

    def ready(self, now: float) -> bool:
        return self.ready_at is not None and now - self.ready_at >= READY_AFTER_S


@dataclass
class Fleet:
    """The bot's processes, in one mode, on one database."""

    mode: str  # "polling" or "webhook"
    server: FakeBotServer
    workers: list[Worker] = field(default_factory=list)
    kill_times: list[float] = field(default_factory=list)
    kill_wall_times: list[float] = field(default_factory=list)  # time.time(), to compare with stored times
    kill_names: list[str] = field(default_factory=list)
    unexpected_exits: list[str] = field(default_factory=list)

    @classmethod
    def create(
        cls, mode: str, count: int, workdir: Path, code: Path, server: FakeBotServer, database_env: dict[str, str]
    ) -> Fleet:
        env = base_env()
        env["PYTHONPATH"] = str(code)
        env.update(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_URL=server.url,
            CONTENT_DIR=str(code / "content"),
            LOG_LEVEL="INFO",
            **database_env,
        )
        fleet = cls(mode, server)
        if mode == "polling":
            folder = workdir / "bot"
            folder.mkdir(parents=True, exist_ok=True)
            fleet.workers.append(Worker("bot", BotProcess(folder, env, command="run")))
            return fleet
        secret = secrets.token_urlsafe(24)
        for index in range(1, count + 1):
            port = free_port()
            folder = workdir / f"worker-{index}"
            folder.mkdir(parents=True, exist_ok=True)
            own = dict(env, PORT=str(port), WEBHOOK_URL=WEBHOOK_URL, WEBHOOK_SECRET=secret, BOT_PROCESSES=str(count))
            fleet.workers.append(Worker(f"worker {index}", BotProcess(folder, own, command="webhook"), port))
        return fleet

    @property
    def ports(self) -> list[int]:
        return [w.port for w in self.workers if w.port is not None]

    def start(self) -> None:
        for worker in self.workers:
            worker.start()

    def watch(self, now: float) -> None:
        """Note which processes are serving; start again any that exited by itself (and note that)."""
        for worker in self.workers:
            proc = worker.process.proc
            if proc is not None and proc.poll() is not None:
                self.unexpected_exits.append(
                    f"{worker.name} exited by itself (code {proc.returncode})\n{worker.process.tail(2000)}"
                )
                worker.process.proc = None
                worker.start()
                continue
            if worker.ready_at is None and self._serving(worker):
                worker.ready_at = now

    def late(self, now: float, timeout: float) -> Worker | None:
        """A process that has not started serving within `timeout` seconds."""
        return next((w for w in self.workers if w.ready_at is None and now - w.started_at > timeout), None)

    def ready(self, now: float) -> list[Worker]:
        return [w for w in self.workers if w.ready(now)]

    def kill(self, worker: Worker) -> None:
        """SIGKILL one process and start it again at once."""
        self.kill_times.append(time.monotonic())  # before the signal: the server may see the process die first
        self.kill_wall_times.append(time.time())
        worker.process.kill()
        self.kill_names.append(worker.name)
        worker.start()

    def stop(self, timeout: float) -> list[int | None]:
        """SIGTERM every process; the exit codes (None: still busy after `timeout` s, then killed)."""
        return [w.process.stop(timeout=timeout) for w in self.workers]

    def kill_all(self) -> None:
        for worker in self.workers:
            worker.process.kill()

    def log_text(self) -> str:
        return "".join(w.process.log_text() for w in self.workers)

    def tail(self, worker: Worker) -> str:
        return worker.process.tail()

    def _serving(self, worker: Worker) -> bool:
        if worker.port is None:  # long polling: it serves once it dropped any webhook, just before polling
            with self.server._requests_lock:
                for request in reversed(self.server.requests):
                    if request.at < worker.started_at:
                        return False
                    if request.method == "deleteWebhook" and request.status == 200:
                        return True
            return False
        connection = http.client.HTTPConnection("127.0.0.1", worker.port, timeout=0.5)
        try:
            connection.request("GET", "/healthz")
            return connection.getresponse().status == 200
        except (OSError, http.client.HTTPException):
            return False
        finally:
            connection.close()

"""The fake Bot API (tests/fake_bot_api.py) served over real HTTP, for black-box tests of the bot process.

`FakeBotServer` listens on 127.0.0.1 (an ephemeral port) in a background thread and answers
`POST /bot<token>/<method>` like Telegram: JSON, form-encoded (what python-telegram-bot sends; nested values
such as `reply_markup` are JSON strings) or multipart parameters (files go to `params["_files"]` by file name,
as in tests/telegram_harness.py); `getUpdates` long-polls; a "timeout" fault
holds the request until the client gives up (or drops the connection, with `timeout_mode="drop"`).
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

from tests.fake_bot_api import Call, FakeBotApi

MAX_LONG_POLL_S = 1.0
MAX_HOLD_S = 20.0


def _unauthorized() -> bytes:
    return json.dumps({"ok": False, "error_code": 401, "description": "Unauthorized"}).encode()


def _not_found() -> bytes:
    return json.dumps({"ok": False, "error_code": 404, "description": "Not Found"}).encode()


def parse_params(content_type: str, body: bytes, query: str = "") -> dict[str, Any]:
    """The call's parameters from a query string and a JSON, form-encoded or multipart body."""
    params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    kind = content_type.split(";", 1)[0].strip().lower()
    if not body:
        return params
    if kind == "application/json":
        decoded = json.loads(body)
        if not isinstance(decoded, dict):
            raise ValueError("the JSON body is not an object")
        params.update(decoded)
    elif kind == "application/x-www-form-urlencoded":
        params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False))
    elif kind == "multipart/form-data":
        header = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
        message = BytesParser(policy=HTTP).parsebytes(header + body)
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not name:
                continue
            payload = part.get_payload(decode=True) or b""
            filename = part.get_filename()
            if filename:  # an uploaded file: kept like tests/telegram_harness.py does, by file name
                params.setdefault("_files", {})[filename] = payload
            else:
                params[str(name)] = payload.decode("utf-8")
    else:
        raise ValueError(f"unsupported content type {content_type!r}")
    return params


@dataclass(frozen=True)
class Request:
    """One HTTP request the server received: when, which method (or the raw path if rejected), its status, and
    for a rejected one, Telegram's description of why. A request whose body was cut short (its client was killed
    while sending it) is noted but never answered or handed to the API, as Telegram never sees it."""

    at: float  # time.monotonic()
    method: str
    status: int  # 0: an injected timeout, or a request cut short, never answered
    description: str = ""
    cut: bool = False  # the body ended before its Content-Length: the client died sending it (not a call)


class FakeBotServer:
    """A FakeBotApi behind `http://127.0.0.1:<port>/bot<token>/<method>`; use as a context manager."""

    def __init__(
        self,
        token: str,
        api: FakeBotApi | None = None,
        *,
        max_long_poll_s: float = MAX_LONG_POLL_S,
        timeout_mode: Literal["hold", "drop"] = "hold",
        max_hold_s: float = MAX_HOLD_S,
    ) -> None:
        self.token = token
        self.api = api or FakeBotApi()
        self.max_long_poll_s = max_long_poll_s
        self.timeout_mode = timeout_mode
        self.max_hold_s = max_hold_s
        self.requests: list[Request] = []  # every request, rejected and faulted ones included
        self._requests_lock = threading.Lock()
        self._stopping = threading.Event()
        self._updates_changed = threading.Condition()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> FakeBotServer:
        """Listen on an ephemeral port of 127.0.0.1 and serve in a daemon thread."""
        handler = type("BoundHandler", (_Handler,), {"fake": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="fake-bot-api", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; held and long-polling requests are released at once."""
        self._stopping.set()
        with self._updates_changed:
            self._updates_changed.notify_all()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> FakeBotServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "the server is not started"
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """The value for TELEGRAM_API_URL."""
        return f"http://127.0.0.1:{self.port}"

    # --- for tests ----------------------------------------------------------------------------------

    def push_update(self, raw: dict[str, Any]) -> None:
        """Queue a raw update for `getUpdates` and wake a waiting long poll."""
        with self.api.lock:
            self.api.updates.append(raw)
        with self._updates_changed:
            self._updates_changed.notify_all()

    def record(self, method: str, status: int, description: str = "", cut: bool = False) -> None:
        """Note one request (used by the handler)."""
        with self._requests_lock:
            self.requests.append(Request(time.monotonic(), method, status, description, cut))

    def statuses(self, method: str) -> list[tuple[float, int]]:
        """(time, status) of every request of `method`, in order."""
        with self._requests_lock:
            return [(r.at, r.status) for r in self.requests if r.method == method]

    def calls(self, method: str | None = None) -> list[Call]:
        """A snapshot of the recorded (successful) calls, optionally of one method."""
        with self.api.lock:
            snapshot = list(self.api.calls)
        return [c for c in snapshot if method is None or c.method == method]

    def wait_for(
        self,
        predicate: Callable[[list[Call]], Any],
        timeout: float = 10.0,
        message: str | Callable[[], str] = "condition not met",
        interval: float = 0.02,
    ) -> Any:
        """Poll the recorded calls until `predicate(calls)` is truthy; return that value (AssertionError on timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate(self.calls())
            if value:
                return value
            if time.monotonic() >= deadline:
                text = message() if callable(message) else message
                raise AssertionError(f"timed out after {timeout:.1f} s: {text}")
            time.sleep(interval)

    # --- used by the handler ------------------------------------------------------------------------

    def _fault_pending(self, method: str) -> bool:
        with self.api.lock:
            return any(f.method in (None, method) for f in self.api.faults)

    def _has_updates(self, offset: int) -> bool:
        with self.api.lock:
            return any(u["update_id"] >= offset for u in self.api.updates)

    def long_poll(self, params: dict[str, Any]) -> None:
        """Wait (at most `timeout`, capped) until an update at or after `offset` is queued."""
        try:
            wait = min(float(params.get("timeout") or 0), self.max_long_poll_s)
            offset = int(params.get("offset") or 0)
        except ValueError:
            return
        if wait <= 0 or self._fault_pending("getUpdates"):
            return
        with self._updates_changed:
            self._updates_changed.wait_for(lambda: self._stopping.is_set() or self._has_updates(offset), timeout=wait)

    def hold(self, connection: socket.socket) -> None:
        """Keep a request unanswered until the client closes the connection (its read timeout) or we stop."""
        deadline = time.monotonic() + self.max_hold_s
        while not self._stopping.is_set() and time.monotonic() < deadline:
            readable, _, _ = select.select([connection], [], [], 0.05)
            if readable:
                try:
                    if connection.recv(1, socket.MSG_PEEK) == b"":
                        return  # the client gave up
                except OSError:
                    return
                time.sleep(0.05)  # pipelined bytes: keep holding


class _Handler(BaseHTTPRequestHandler):
    """One HTTP request to the fake Bot API."""

    fake: FakeBotServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # or every answer waits ~40 ms for a delayed ACK

    def do_POST(self) -> None:
        self._serve()

    def do_GET(self) -> None:
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        segments = parts.path.strip("/").split("/")
        if len(body) < length:  # the client died half-way through its request: Telegram never sees such a call
            self.fake.record(segments[-1], 0, "the request was cut short", cut=True)
            self.close_connection = True
            return
        if len(segments) != 2 or not segments[0].startswith("bot") or not segments[1]:
            self._reply(404, _not_found(), "(bad path)")
            return
        if segments[0] != f"bot{self.fake.token}":
            self._reply(401, _unauthorized(), "(wrong token)")
            return
        method = segments[1]
        try:
            params = parse_params(self.headers.get("Content-Type", ""), body, parts.query)
        except (ValueError, UnicodeDecodeError) as error:
            payload = {"ok": False, "error_code": 400, "description": f"Bad Request: {error}"}
            self._reply(400, json.dumps(payload).encode(), method)
            return
        if method == "getUpdates":
            self.fake.long_poll(params)
        status, answer, fault = self.fake.api.respond(method, params)
        if fault is not None:  # an injected timeout: no answer at all
            self.fake.record(method, 0)
            if self.fake.timeout_mode == "hold":
                self.fake.hold(self.connection)
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._reply(status, answer, method)

    def _reply(self, status: int, body: bytes, method: str) -> None:
        description = ""
        if status >= 400:
            with contextlib.suppress(ValueError, AttributeError):
                description = str(json.loads(body).get("description", ""))
        self.fake.record(method, status, description)
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client went away (e.g. the bot process was killed)
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read the recorded calls instead."""

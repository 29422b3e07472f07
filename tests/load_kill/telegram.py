"""The fake Telegram of a load-and-kill run, in both of Telegram's ways of handing out updates:

- long polling: the fake Bot API over HTTP (tests/fake_bot_server.py) hands out what is not confirmed yet, and
  forgets an update only once a getUpdates asking for a later offset really arrives (a request cut by a kill
  confirms nothing), after a small network delay;
- webhooks: `WebhookPusher` POSTs each update to the URL the bot registered with setWebhook (its path, with the
  secret header), on one of the workers' ports picked at random like a load balancer, and posts it again after
  a short delay until one answers 200 (a refused or cut connection, or a 5xx, is not an answer).

Either way `Deliveries` notes when Telegram considers each update delivered: confirmed by a later offset, or
answered 200. From then on Telegram never sends it again: if the bot did not apply it, it is lost.
"""

from __future__ import annotations

import contextlib
import heapq
import http.client
import json
import random
import select
import socket
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from tests.fake_bot_api import FakeBotApi
from tests.fake_bot_server import FakeBotServer, _Handler

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_CONNECTIONS = 40  # Telegram's default max_connections for a webhook
RETRY_S = (0.5, 1.5)  # a post that got no 200 is sent again after this long (at random in the range)
POST_TIMEOUT_S = 60.0  # Telegram gives up on a webhook request after about this long, and tries again

_request = threading.local()  # the connection of the request this server thread is answering


def client_gone(connection: Any) -> bool:
    """True if the client closed the connection (e.g. the bot process was killed)."""
    try:
        readable, _, _ = select.select([connection], [], [], 0)
        return bool(readable) and connection.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


class Deliveries:
    """When Telegram considered each update delivered (thread-safe): it never sends those again."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._at: dict[int, float] = {}

    def mark(self, update_ids: list[int]) -> None:
        now = time.monotonic()
        with self._lock:
            for update_id in update_ids:
                self._at.setdefault(update_id, now)

    def delivered(self, update_id: int) -> bool:
        with self._lock:
            return update_id in self._at

    def count(self) -> int:
        with self._lock:
            return len(self._at)

    def ids(self) -> set[int]:
        with self._lock:
            return set(self._at)


class _QuietServer(ThreadingHTTPServer):
    request_queue_size = 256  # a restarted bot sends what it kept all at once: Telegram does not refuse those

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

    handed_out: Counter[int] = field(default_factory=Counter)

    def _getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        connection = getattr(_request, "connection", None)
        if connection is not None and client_gone(connection):
            return []  # nobody will read this answer
        with self.lock:
            batch = list(self.updates[: int(params.get("limit") or 100)])
            for update in batch:
                self.handed_out[update["update_id"]] += 1
        return batch


class TelegramServer(FakeBotServer):
    """The Bot API on 127.0.0.1. For long polling it confirms updates only when a getUpdates with a later offset
    really arrives (after `confirm_delay_s`, the request's way to Telegram); confirmed updates are delivered."""

    def __init__(self, token: str, api: TelegramApi, deliveries: Deliveries, confirm_delay_s: float) -> None:
        super().__init__(token, api)
        self.api: TelegramApi = api
        self.deliveries = deliveries
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
                confirmed = [u["update_id"] for u in self.api.updates if u["update_id"] < offset]
                self.api.updates = [u for u in self.api.updates if u["update_id"] >= offset]
            self.deliveries.mark(confirmed)
        super().long_poll(params)


@dataclass
class PostTally:
    """What became of the webhook posts."""

    posts: int = 0
    refused: int = 0  # nobody listening on the port (a worker killed, not restarted yet)
    cut: int = 0  # the connection dropped before an answer (a worker killed while handling it)
    timed_out: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    rejected: list[str] = field(default_factory=list)  # 4xx answers: Telegram would keep failing


class WebhookPusher:
    """Telegram's side of a webhook, behind a load balancer: every update queued with `push` is POSTed to the path
    of the URL registered with setWebhook, with the registered secret, on a worker port picked at random, by at
    most `connections` requests at once; until it is answered 200 it is posted again after a short delay."""

    def __init__(
        self,
        api: FakeBotApi,
        deliveries: Deliveries,
        ports: list[int],
        rng: random.Random,
        connections: int = WEBHOOK_CONNECTIONS,
    ) -> None:
        self.api = api
        self.deliveries = deliveries
        self.ports = ports
        self.rng = rng
        self.connections = connections
        self.tally = PostTally()
        self.attempts: Counter[int] = Counter()
        self._queue: list[tuple[float, int, dict[str, Any]]] = []
        self._changed = threading.Condition()
        self._stopping = False
        self._threads: list[threading.Thread] = []
        self._registered: tuple[str, str] | None = None
        self._looked_at = 0  # the calls before this index were looked at for setWebhook

    def start(self) -> WebhookPusher:
        for index in range(self.connections):
            thread = threading.Thread(target=self._work, name=f"webhook-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        for thread in self._threads:
            thread.join(timeout=POST_TIMEOUT_S + 5)

    def push(self, raw: dict[str, Any]) -> None:
        """A new update: post it now."""
        self._queue_at(time.monotonic(), raw)

    def waiting(self) -> int:
        """Updates not answered 200 yet."""
        with self._changed:
            return len(self._queue)

    def registered(self) -> tuple[str, str] | None:
        """The path and secret of the newest setWebhook call, or None before the first."""
        with self.api.lock:
            calls = self.api.calls[self._looked_at :]
            self._looked_at += len(calls)
            found = next((c for c in reversed(calls) if c.method == "setWebhook"), None)
            if found is not None:
                path = urlsplit(str(found.params.get("url") or "")).path or "/"
                self._registered = (path, str(found.params.get("secret_token") or ""))
            return self._registered

    def _queue_at(self, due: float, raw: dict[str, Any]) -> None:
        with self._changed:
            heapq.heappush(self._queue, (due, raw["update_id"], raw))
            self._changed.notify()

    def _take(self) -> dict[str, Any] | None:
        with self._changed:
            while not self._stopping:
                now = time.monotonic()
                if self._queue and self._queue[0][0] <= now:
                    return heapq.heappop(self._queue)[2]
                wait = self._queue[0][0] - now if self._queue else 1.0
                self._changed.wait(timeout=min(wait, 1.0))
            return None

    def _work(self) -> None:
        while (raw := self._take()) is not None:
            target = self.registered()
            if target is None:  # no webhook yet: Telegram keeps the update
                self._queue_at(time.monotonic() + 0.2, raw)
                continue
            if self._post(raw, *target):
                self.deliveries.mark([raw["update_id"]])
            else:
                self._queue_at(time.monotonic() + self.rng.uniform(*RETRY_S), raw)

    def _post(self, raw: dict[str, Any], path: str, secret: str) -> bool:
        """One attempt; True when the worker answered 200."""
        port = self.rng.choice(self.ports)
        body = json.dumps(raw).encode()
        headers = {"Content-Type": "application/json", SECRET_HEADER: secret}
        with self._changed:
            self.tally.posts += 1
            self.attempts[raw["update_id"]] += 1
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=POST_TIMEOUT_S)
        try:
            connection.request("POST", path, body, headers)
            response = connection.getresponse()
            response.read()
            status = response.status
        except ConnectionRefusedError:
            with self._changed:
                self.tally.refused += 1
            return False
        except TimeoutError:
            with self._changed:
                self.tally.timed_out += 1
            return False
        except (OSError, http.client.HTTPException):
            with self._changed:
                self.tally.cut += 1
            return False
        finally:
            with contextlib.suppress(OSError):
                connection.close()
        with self._changed:
            self.tally.statuses[status] += 1
            if 400 <= status < 500:
                self.tally.rejected.append(f"update {raw['update_id']}: {status}")
        return status == 200

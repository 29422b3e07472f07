"""bot/run.py and bot/webhook.py: an update is confirmed to Telegram only once losing the process can no longer
lose it; each chat's updates apply one at a time, in order; a slow chat holds up no other chat."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from telegram import Update
from telegram.request import RequestData

from bot.app import build_application, services, start_services, stop_services
from bot.clock import FakeClock
from bot.run import Poller, UpdateGate
from bot.storage import SqliteStore, Store
from bot.storage.postgres import PostgresStore
from bot.webhook import SECRET_HEADER, create_asgi_app
from tests.conftest import make_settings
from tests.fake_bot_api import FakeBotApi
from tests.telegram_harness import OfflineRequest, message_update

SECRET = "webhook-secret_1"
LONG_POLL_S = 0.01


class SlowRequest(OfflineRequest):
    """The offline Bot API, holding a long poll the way Telegram does."""

    async def do_request(
        self, url: str, method: str, request_data: RequestData | None = None, **kwargs: Any
    ) -> tuple[int, bytes]:
        params = dict(request_data.json_parameters) if request_data else {}
        if url.endswith("/getUpdates") and int(params.get("timeout", 0) or 0) > 0:
            await asyncio.sleep(LONG_POLL_S)  # Telegram holds a long poll: no busy loop of empty answers
        return await super().do_request(url, method, request_data, **kwargs)


@pytest.fixture
async def running(tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> AsyncIterator[dict[str, Any]]:
    """A started Application on each backend, with a slow-able offline Bot API, and what the runners need."""
    api = FakeBotApi()
    slow = SlowRequest(api)
    url = request.getfixturevalue("postgres_url") if backend == "postgres" else None
    store: Store = PostgresStore(url) if url else SqliteStore(tmp_path / "bot.sqlite3")
    app = build_application(make_settings(tmp_path), request=slow, rate_limit=False, store=store, clock=FakeClock())
    async with app:
        await start_services(app)
        try:
            yield {"app": app, "api": api, "slow": slow, "store": store}
        finally:
            slow.release.set()
            await stop_services(app)


def replies_to(api: FakeBotApi, chat_id: int) -> list[str]:
    with api.lock:
        return [
            str(c.params["text"])
            for c in api.calls
            if c.method == "sendMessage" and int(c.params["chat_id"]) == chat_id
        ]


async def wait_until(condition: Any, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def test_a_polled_update_is_kept_before_it_is_confirmed_and_survives_a_crash(running: dict[str, Any]) -> None:
    app, api, slow, store = running["app"], running["api"], running["slow"], running["store"]
    slow.hanging.add(501)  # the reply hangs: the process will "die" before it is sent
    api.updates.append(message_update(501, "/start"))
    stop = asyncio.Event()
    poller = asyncio.create_task(Poller(app, store, UpdateGate(app, store)).run(stop))
    await wait_until(lambda: not api.updates)  # Telegram considers it delivered: the next getUpdates confirmed it
    assert [kept.update_id for kept in await store.inbox_pending()], "confirmed only once it is in the inbox"
    poller.cancel()  # the process dies mid-reply
    with pytest.raises(asyncio.CancelledError):
        await poller
    assert replies_to(api, 501) == []
    slow.hanging.clear()
    stop = asyncio.Event()
    restarted = asyncio.create_task(Poller(app, store, UpdateGate(app, store)).run(stop))
    await wait_until(lambda: replies_to(api, 501))  # after the restart the kept update is handled first
    await wait_until(lambda: True)
    stop.set()
    await restarted
    assert len(replies_to(api, 501)) == 1 and "Hello" in replies_to(api, 501)[0]
    assert await store.inbox_pending() == []


async def test_a_chat_whose_api_calls_hang_holds_up_no_other_chat(running: dict[str, Any]) -> None:
    app, api, slow, store = running["app"], running["api"], running["slow"], running["store"]
    slow.hanging.add(600)
    api.updates.append(message_update(600, "/start"))
    stop = asyncio.Event()
    poller = asyncio.create_task(Poller(app, store, UpdateGate(app, store)).run(stop))
    await asyncio.sleep(0.2)  # chat 600 is now stuck in its first reply
    loop = asyncio.get_running_loop()
    others = range(601, 606)
    sent_at = loop.time()
    for chat_id in others:
        api.updates.append(message_update(chat_id, "/start"))
    await wait_until(lambda: all(replies_to(api, chat_id) for chat_id in others), timeout=5)
    assert loop.time() - sent_at < 1.0, "the other chats were answered within a second"
    assert replies_to(api, 600) == []
    slow.release.set()
    await wait_until(lambda: replies_to(api, 600))
    stop.set()
    await poller


async def test_one_chats_updates_apply_one_at_a_time_in_order(running: dict[str, Any]) -> None:
    app, api, store = running["app"], running["api"], running["store"]
    for text in ("/start", "/help", "/privacy", "/menu", "/start"):
        api.updates.append(message_update(700, text))
    stop = asyncio.Event()
    poller = asyncio.create_task(Poller(app, store, UpdateGate(app, store)).run(stop))
    await wait_until(lambda: len(replies_to(api, 700)) >= 7)
    stop.set()
    await poller
    heads = [reply.split("\n")[0] for reply in replies_to(api, 700)]
    assert [heads[i] for i in (1, 3, 5)] == [
        "<b>How to use this guide</b>",
        "<b>Your privacy</b>",
        "<b>Topics.</b> Your options first; tap one to read it. More topics are in the groups at the bottom.",
    ]
    record = await services(app).store.load(700)
    assert record is not None and len(record.recent_updates) == 5


@pytest.fixture
def webhook(running: dict[str, Any]) -> httpx.AsyncClient:
    app, store = running["app"], running["store"]
    asgi = create_asgi_app(app, SECRET, "/telegram", UpdateGate(app, store))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://bot")


async def test_a_webhook_update_is_answered_200_only_once_it_is_handled(
    running: dict[str, Any], webhook: httpx.AsyncClient
) -> None:
    api, slow = running["api"], running["slow"]
    slow.hanging.add(800)
    post = asyncio.create_task(
        webhook.post("/telegram", json=message_update(800, "/start"), headers={SECRET_HEADER: SECRET})
    )
    await asyncio.sleep(0.3)
    assert not post.done(), "no answer to Telegram while the reply is not out"
    slow.release.set()
    response = await post
    assert response.status_code == 200
    assert replies_to(api, 800), "the reply was sent before the 200"


async def test_a_webhook_request_without_the_secret_changes_nothing(
    running: dict[str, Any], webhook: httpx.AsyncClient
) -> None:
    api, store = running["api"], running["store"]
    for headers in ({}, {SECRET_HEADER: "wrong"}):
        response = await webhook.post("/telegram", json=message_update(801, "/start"), headers=headers)
        assert response.status_code == 403
    assert replies_to(api, 801) == [] and await store.load(801) is None


async def test_a_webhook_update_sent_again_is_not_applied_twice(
    running: dict[str, Any], webhook: httpx.AsyncClient
) -> None:
    api, store = running["api"], running["store"]
    start = message_update(802, "/start")
    await webhook.post("/telegram", json=start, headers={SECRET_HEADER: SECRET})
    first = await store.load(802)
    again = await webhook.post("/telegram", json=start, headers={SECRET_HEADER: SECRET})  # Telegram re-sends it
    assert again.status_code == 200
    second = await store.load(802)
    assert first is not None and second is not None and second.session == first.session
    assert len(replies_to(api, 802)) == 2  # the patient sees the current question again


async def test_bad_webhook_bodies_are_refused(webhook: httpx.AsyncClient) -> None:
    for body in (b"not json", b"[1, 2]", json.dumps({"no": "update"}).encode()):
        response = await webhook.post("/telegram", content=body, headers={SECRET_HEADER: SECRET})
        assert response.status_code == 400
    large = await webhook.post(
        "/telegram", content=b"x" * 1_000_001, headers={SECRET_HEADER: SECRET, "content-length": "1000001"}
    )
    assert large.status_code == 413
    assert (await webhook.get("/healthz")).text == "ok"


def test_updates_carry_their_chat_for_the_lock() -> None:
    from bot.run import chat_key

    update = Update.de_json(message_update(42, "/start"), None)
    assert update is not None and chat_key(update) == 42


def test_processes_sending_for_one_bot_share_telegrams_rate_limits(tmp_path: Path) -> None:
    """BOT_PROCESSES=3 (what `webhook --workers 3` gives its workers): each keeps to a third of Telegram's limits,
    so together they stay under them."""
    alone = build_application(make_settings(tmp_path), request=OfflineRequest(FakeBotApi()))
    shared = build_application(make_settings(tmp_path, bot_processes=3), request=OfflineRequest(FakeBotApi()))
    rates = [
        (app.bot.rate_limiter._base_limiter.max_rate, app.bot.rate_limiter._group_max_rate)  # type: ignore[attr-defined]
        for app in (alone, shared)
    ]
    assert rates == [(30, 20), (10, 20 / 3)]

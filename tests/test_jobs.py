"""bot/jobs.py and the hand-off job: scheduled work runs once however many workers look for it, a job whose
worker died runs again after its lease, and a hand-off reaches the clinic once, each part exactly once unless
the process died while sending it."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from telegram import Bot

from bot.clock import FakeClock
from bot.handoffs import HandoffDelivery, document_to_json, handoff_job_key
from bot.jobs import LEASE, Done, JobRunner, RetryAt
from bot.storage import ChatRecord, NewHandoff, Store
from flows.content import Content
from flows.loader import load_content
from flows.replies import Document
from flows.session import Session
from flows.stages import Stage
from tests.conftest import CONTENT
from tests.fake_bot_api import FakeBotApi
from tests.telegram_harness import OfflineRequest

CLINIC_CHAT = -100555
PATIENT = 4242


@pytest.fixture(scope="module")
def content(tmp_path_factory: pytest.TempPathFactory) -> Content:
    """The real content, with the demo clinic able to receive hand-offs."""
    folder = tmp_path_factory.mktemp("content") / "content"
    shutil.copytree(CONTENT, folder)
    clinics = folder / "clinics.yaml"
    clinics.write_text(
        clinics.read_text(encoding="utf-8").replace("    handoff_chat_id:\n", f"    handoff_chat_id: {CLINIC_CHAT}\n"),
        encoding="utf-8",
    )
    loaded = load_content(folder)
    assert loaded.content is not None, loaded.problems
    return loaded.content


@pytest.fixture
async def bot() -> AsyncIterator[tuple[Bot, FakeBotApi]]:
    api = FakeBotApi()
    telegram = Bot("123:jobs", request=OfflineRequest(api), get_updates_request=OfflineRequest(api))
    async with telegram:
        yield telegram, api


async def pending_handoff(store: Store, clock: FakeClock) -> int:
    summary = Document("summary.pdf", "My summary", (("Your answers", ("Where it is: Low back",)),))
    session = Session(state="handoff_sent", language="en", consent=True, content_version="v")
    handoff = NewHandoff("demo-clinic", {"username": "pat"}, document_to_json(summary))
    saved = await store.save(ChatRecord(PATIENT, session), [Stage.STARTED], handoff, clock.now())
    assert saved.handoff_id is not None
    return saved.handoff_id


def to_clinic(api: FakeBotApi) -> list[str]:
    return [
        c.method
        for c in api.calls
        if c.method in ("sendMessage", "sendDocument") and int(c.params["chat_id"]) == CLINIC_CHAT
    ]


def runner(store: Store, content: Content, clock: FakeClock, telegram: Bot) -> JobRunner:
    handoffs = HandoffDelivery(content, store, clock)

    async def deliver(job: Any) -> Any:
        return await handoffs.run(telegram, job)

    return JobRunner(store, clock, {"handoff": deliver})


async def test_two_workers_deliver_one_handoff_once(
    store_factory: Any, backend: str, content: Content, clock: FakeClock, bot: tuple[Bot, FakeBotApi]
) -> None:
    telegram, api = bot
    first: Store = store_factory()
    await first.open()
    second: Store = store_factory() if backend == "postgres" else first  # SQLite: one process, two runners
    if second is not first:
        await second.open()
    try:
        handoff_id = await pending_handoff(first, clock)
        ran = await asyncio.gather(
            runner(first, content, clock, telegram).run_due(),
            runner(second, content, clock, telegram).run_due(),
            runner(second, content, clock, telegram).run_now(handoff_job_key(handoff_id)),
        )
        assert sum(ran) == 1  # one worker claimed it; the others found it taken
        assert to_clinic(api) == ["sendMessage", "sendDocument"]
        [sent] = await first.handoffs(status="sent")
        assert set(sent.sent_parts) == {"text", "pdf"}
        handed = [row.count for row in await first.funnel_rows() if row.stage == "handed_off"]
        assert handed == [1]
        assert await first.jobs() == []
    finally:
        await first.close()
        if second is not first:
            await second.close()


async def test_a_retry_after_a_crash_sends_only_the_part_that_was_in_flight(
    store: Store, content: Content, clock: FakeClock, bot: tuple[Bot, FakeBotApi]
) -> None:
    telegram, api = bot
    handoff_id = await pending_handoff(store, clock)
    await store.update_handoff(handoff_id, "pending", sent_part=("text", 7001))  # then the process died
    assert await runner(store, content, clock, telegram).run_due() == 1
    assert to_clinic(api) == ["sendDocument"]
    [sent] = await store.handoffs(status="sent")
    assert sent.sent_parts["text"] == 7001


async def test_a_job_whose_worker_died_runs_again_after_its_lease(
    store: Store, content: Content, clock: FakeClock, bot: tuple[Bot, FakeBotApi]
) -> None:
    telegram, api = bot
    handoff_id = await pending_handoff(store, clock)
    claimed = await store.claim(clock.now(), LEASE, key=handoff_job_key(handoff_id))  # a worker took it, then died
    assert claimed is not None
    jobs = runner(store, content, clock, telegram)
    assert await jobs.run_due() == 0
    clock.advance(LEASE + timedelta(seconds=1))
    assert await jobs.run_due() == 1
    assert to_clinic(api) == ["sendMessage", "sendDocument"]


async def test_an_unreachable_clinic_is_retried_then_given_up_after_a_day(
    store: Store, content: Content, clock: FakeClock, bot: tuple[Bot, FakeBotApi]
) -> None:
    telegram, api = bot
    handoff_id = await pending_handoff(store, clock)
    api.inject("403", "sendMessage", chat_id=CLINIC_CHAT)
    jobs = runner(store, content, clock, telegram)
    assert await jobs.run_due() == 1
    [job] = await store.jobs()
    assert job.due_at == clock.now() + timedelta(minutes=10)
    told = [c for c in api.calls if c.method == "sendMessage" and int(c.params["chat_id"]) == PATIENT]
    assert len(told) == 1 and "could not reach" in told[0].params["text"]
    clock.advance(timedelta(hours=25))
    api.inject("403", "sendMessage", chat_id=CLINIC_CHAT)
    assert await jobs.run_due() == 1
    [failed] = await store.handoffs(status="failed")
    assert failed.id == handoff_id and await store.jobs() == []
    told = [c for c in api.calls if c.method == "sendMessage" and int(c.params["chat_id"]) == PATIENT]
    assert "could not deliver" in told[-1].params["text"]


async def test_a_failing_job_is_logged_and_tried_again_after_its_lease(
    store: Store, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[int] = []

    async def flaky(job: Any) -> Done | RetryAt:
        calls.append(job.attempts)
        if len(calls) == 1:
            raise RuntimeError("boom")
        return Done()

    await store.schedule("flaky", "flaky:1", clock.now())
    jobs = JobRunner(store, clock, {"flaky": flaky})
    assert await jobs.run_due() == 1
    assert "job" in caplog.text and "RuntimeError" in caplog.text
    assert await jobs.run_due() == 0
    clock.advance(LEASE + timedelta(seconds=1))
    assert await jobs.run_due() == 1
    assert calls == [1, 2] and await store.jobs() == []


async def test_a_job_still_running_at_shutdown_is_cut_off_and_runs_again_after_its_lease(
    store: Store, clock: FakeClock
) -> None:
    started, finished = asyncio.Event(), []
    stuck = asyncio.Event()  # never set: the job hangs (a Bot API call that does not return)

    async def slow(job: Any) -> Done:
        started.set()
        await stuck.wait()
        finished.append(job.id)
        return Done()

    async def quick(job: Any) -> Done:
        finished.append(job.id)
        return Done()

    await store.schedule("delivery", "delivery:1", clock.now())
    jobs = JobRunner(store, clock, {"delivery": slow})
    jobs.run_soon("delivery:1")
    await started.wait()
    await asyncio.wait_for(jobs.settle(timeout_s=0.05), timeout=5)  # shutdown: what still runs is cut off
    stuck.set()
    for _ in range(5):
        await asyncio.sleep(0)  # a job left running would finish now
    assert finished == [] and [job.key for job in await store.jobs()] == ["delivery:1"]
    restarted = JobRunner(store, clock, {"delivery": quick})
    assert await restarted.run_due() == 0  # still leased to the process that went down
    clock.advance(LEASE + timedelta(seconds=1))
    assert await restarted.run_due() == 1 and len(finished) == 1 and await store.jobs() == []

"""The storage contract: every test runs against SQLite and against a real PostgreSQL server."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from bot.storage import ChatRecord, NewHandoff, SqliteStore, StorageError, Store, VersionConflict, make_store
from bot.storage.base import InboxUpdate, NewJob, decode_progress, encode_progress, progress_defaults
from bot.storage.postgres import PostgresStore
from flows.session import Session
from flows.stages import Stage
from tests.conftest import make_settings

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def record(chat_id: int = 7, consent: bool | None = True, **session: Any) -> ChatRecord:
    values: dict[str, Any] = {
        "state": "region",
        "step": 3,
        "consent": consent,
        "language": "en",
        "content_version": "v1",
    }
    values.update(session)
    return ChatRecord(chat_id, Session(**values))


async def test_a_saved_chat_loads_back_the_same(store: Store) -> None:
    consented = replace(
        record(answers={"region": "low_back", "values": {"proven": "a_lot"}, "pain": 6}, draft=["x=a_lot"]),
        consent_at=NOW,
        consent_version="v1",
        recent_updates=(11, 12),
    )
    saved = await store.save(consented, [Stage.STARTED], now=NOW)
    assert saved.record.row_version == 1
    loaded = await store.load(7)
    assert loaded == saved.record
    assert loaded is not None and loaded.consent_at == NOW and loaded.consent_at.tzinfo is not None
    assert await store.load(8) is None


async def test_without_consent_no_health_answer_or_draft_is_stored(store: Store) -> None:
    await store.save(record(consent=None, answers={"region": "neck"}, draft=["a"], history=["welcome"]), now=NOW)
    loaded = await store.load(7)
    assert loaded is not None
    assert loaded.session.answers == {} and loaded.session.draft == []
    exported = await store.export(7)
    assert exported["sessions"][0]["answers"] == {}


async def test_a_stale_row_version_is_refused(store: Store) -> None:
    first = (await store.save(record(), now=NOW)).record
    await store.save(replace(first, session=first.session.model_copy(update={"step": 4})), now=NOW)
    with pytest.raises(VersionConflict):
        await store.save(replace(first, session=first.session.model_copy(update={"step": 5})), now=NOW)
    with pytest.raises(VersionConflict):  # a second "new" row for the same chat
        await store.save(record(), now=NOW)
    loaded = await store.load(7)
    assert loaded is not None and loaded.session.step == 4


async def test_stages_that_reveal_the_screen_are_stored_without_the_chat_id(store: Store) -> None:
    await store.save(record(consent=None), [Stage.STARTED, Stage.RED_FLAG, Stage.URGENT], now=NOW)
    events = (await store.export(7))["events"]
    assert [e["stage"] for e in events] == ["started"]
    rows = await store.funnel_rows()
    assert {(r.stage, r.count) for r in rows} == {("started", 1), ("red_flag", 1), ("urgent", 1)}
    assert {r.week for r in rows} == {"2026-W49"}


async def test_the_funnel_counts_distinct_chats_per_clinic_and_week(store: Store) -> None:
    for chat_id in (1, 2, 3):
        await store.save(record(chat_id, clinic="demo-clinic"), [Stage.STARTED], now=NOW)
    await store.save(record(4), [Stage.STARTED], now=NOW + timedelta(days=7))
    rows = await store.funnel_rows()
    assert {(r.clinic, r.week, r.stage, r.count) for r in rows} == {
        ("demo-clinic", "2026-W49", "started", 3),
        ("", "2026-W50", "started", 1),
    }
    assert [r.count for r in await store.funnel_rows(clinic="demo-clinic")] == [3]
    assert [r.week for r in await store.funnel_rows(since=NOW + timedelta(days=3))] == ["2026-W50"]


async def test_stage_events_keep_the_day_only(store: Store) -> None:
    await store.save(record(), [Stage.STARTED, Stage.CONSENTED], now=NOW)
    events = (await store.export(7))["events"]
    assert [(event["stage"], str(event["at"])[:10]) for event in events] == [
        ("started", "2026-12-01"),
        ("consented", "2026-12-01"),
    ]
    assert all("09:30" not in str(event["at"]) for event in events)  # not the time of day a patient took a step


def test_progress_is_stored_short_and_reads_back_whole_in_either_form() -> None:
    ids = [412_630_100 + 17 * i for i in range(16)]
    progress = progress_defaults() | {"history": ["consent", "region"], "draft": ["x=a_lot"], "recent_updates": ids}
    long_form = json.dumps(progress)  # how the bot stored it before
    short_form = encode_progress(progress)
    assert decode_progress(short_form) == decode_progress(long_form) == progress
    assert len(short_form) < len(long_form) / 2
    assert decode_progress(encode_progress(progress_defaults())) == progress_defaults()


async def test_erase_removes_everything_tied_to_the_chat(store: Store) -> None:
    handoff = NewHandoff("demo-clinic", {"username": "pat"}, '{"blocks": []}')
    saved = await store.save(record(clinic="demo-clinic"), [Stage.STARTED, Stage.CONSENTED], handoff, now=NOW)
    await store.schedule("follow_up", "follow_up:7:1", NOW, chat_id=7)
    await store.inbox_add([InboxUpdate(99, 7, '{"update_id": 99}')])
    assert saved.handoff_id is not None
    assert await store.erase(7) is True
    assert await store.load(7) is None
    assert await store.handoffs(chat_id=7) == [] and await store.jobs(chat_id=7) == []
    assert await store.inbox_pending() == []
    exported = await store.export(7)
    assert all(exported[table] == [] for table in ("sessions", "events", "handoffs", "jobs", "inbox"))
    stages = sorted((r.stage, r.count) for r in await store.funnel_rows())
    assert stages == [("consented", 1), ("deleted", 1), ("started", 1)]  # still counted, no longer tied to anyone
    assert await store.erase(7) is False


async def test_a_handoff_is_stored_with_its_delivery_job(store: Store) -> None:
    handoff = NewHandoff("demo-clinic", {"phone": "+1555"}, '{"blocks": []}')
    saved = await store.save(record(), handoff=handoff, now=NOW)
    [stored] = await store.handoffs(chat_id=7, status="pending")
    assert stored.id == saved.handoff_id and stored.contact == {"phone": "+1555"} and stored.created_at == NOW
    [job] = await store.jobs(chat_id=7)
    assert job.kind == "handoff" and job.key == f"handoff:{saved.handoff_id}" and job.payload == {"handoff": stored.id}


async def test_a_sent_handoff_drops_its_copy_and_counts_once(store: Store) -> None:
    handoff = NewHandoff("demo-clinic", {"phone": "+1555"}, '{"blocks": []}')
    saved = await store.save(record(), handoff=handoff, now=NOW)
    assert saved.handoff_id is not None
    await store.update_handoff(saved.handoff_id, "pending", sent_part=("text", 501))
    await store.update_handoff(saved.handoff_id, "pending", sent_part=("pdf", 502))
    await store.update_handoff(saved.handoff_id, "sent")
    await store.update_handoff(saved.handoff_id, "sent")  # a retry that finds it already sent
    [sent] = await store.handoffs(status="sent")
    assert sent.sent_parts == {"text": 501, "pdf": 502}
    assert sent.summary is None and sent.contact == {}
    assert [(r.stage, r.count) for r in await store.funnel_rows() if r.stage == "handed_off"] == [("handed_off", 1)]


async def test_a_job_is_held_by_one_worker_until_its_lease_ends(store_factory: Any) -> None:
    one: Store = store_factory()
    two: Store = store_factory()
    await one.open()
    await two.open()
    try:
        await one.schedule("retention", "retention", NOW)
        lease = timedelta(minutes=5)
        claimed = await one.claim(NOW, lease)
        assert claimed is not None and claimed.attempts == 1
        assert await two.claim(NOW + timedelta(minutes=4), lease) is None  # still leased to the first worker
        again = await two.claim(NOW + timedelta(minutes=6), lease)  # the first worker died: the lease ran out
        assert again is not None and again.id == claimed.id and again.attempts == 2
        await two.retry(again.id, NOW + timedelta(days=1))
        assert await one.claim(NOW + timedelta(hours=1), lease) is None
        assert await one.claim(NOW + timedelta(days=1), lease) is not None
    finally:
        await one.close()
        await two.close()


async def test_concurrent_claims_take_each_job_once(store_factory: Any) -> None:
    workers: list[Store] = [store_factory() for _ in range(3)]
    for worker in workers:
        await worker.open()
    try:
        for n in range(20):
            await workers[0].schedule("handoff", f"handoff:{n}", NOW - timedelta(seconds=n))
        lease = timedelta(minutes=5)

        async def drain(worker: Store) -> list[int]:
            taken = []
            while (job := await worker.claim(NOW, lease)) is not None:
                taken.append(job.id)
            return taken

        results = await asyncio.gather(*(drain(worker) for worker in workers))
        taken = [job for result in results for job in result]
        assert len(taken) == 20 and len(set(taken)) == 20
    finally:
        for worker in workers:
            await worker.close()


async def test_scheduling_moves_a_job_unless_asked_to_keep_it(store: Store) -> None:
    await store.schedule("retention", "retention", NOW)
    await store.schedule("retention", "retention", NOW + timedelta(days=3), keep=True)
    assert [job.due_at for job in await store.jobs()] == [NOW]
    await store.schedule("retention", "retention", NOW + timedelta(days=3))
    assert [job.due_at for job in await store.jobs()] == [NOW + timedelta(days=3)]
    claimed = await store.claim(NOW + timedelta(days=3), timedelta(minutes=1), key="retention")
    assert claimed is not None
    await store.finish(claimed.id)
    assert await store.jobs() == []


async def test_idle_chats_are_those_written_before_the_cutoff(store: Store) -> None:
    await store.save(record(1), now=NOW - timedelta(days=200))
    await store.save(record(2), now=NOW)
    assert await store.idle_chats(NOW - timedelta(days=180)) == [1]


async def test_a_chat_with_a_check_in_to_come_is_not_idle_until_the_last_one(store: Store) -> None:
    check_in = NewJob("follow_up", "first", NOW + timedelta(days=90))
    await store.save(record(1), now=NOW - timedelta(days=200), jobs=[check_in])
    assert await store.idle_chats(NOW - timedelta(days=180)) == [], "retention waits for the last check-in"
    job = await store.claim(NOW + timedelta(days=90), timedelta(minutes=1))
    assert job is not None
    await store.finish(job.id)
    assert await store.idle_chats(NOW - timedelta(days=180)) == [1]


async def test_the_inbox_keeps_updates_until_they_are_handled(store: Store) -> None:
    updates = [InboxUpdate(5, 7, '{"update_id": 5}'), InboxUpdate(3, None, '{"update_id": 3}')]
    await store.inbox_add(updates)
    await store.inbox_add(updates[:1])  # fetched again after a restart: kept once
    assert [u.update_id for u in await store.inbox_pending()] == [3, 5]
    await store.inbox_done([3])
    assert await store.inbox_pending() == [updates[0]]


async def test_marking_a_chat_inactive_is_undone_by_its_next_save(store: Store) -> None:
    saved = (await store.save(record(), now=NOW)).record
    await store.mark_inactive(7)
    loaded = await store.load(7)
    assert loaded is not None and loaded.active is False
    await store.save(replace(saved, active=False), now=NOW)
    again = await store.load(7)
    assert again is not None and again.active is True


async def test_the_chat_lock_holds_a_chat_across_workers_but_not_other_chats(store_factory: Any, backend: str) -> None:
    one: Store = store_factory()
    await one.open()
    two: Store = store_factory() if backend == "postgres" else one  # SQLite: one process, so one store
    if two is not one:
        await two.open()
    order: list[str] = []
    try:

        async def hold(worker: Store, chat_id: int, name: str, pause: float) -> None:
            async with worker.chat_lock(chat_id):
                order.append(f"{name} in")
                await asyncio.sleep(pause)
                order.append(f"{name} out")

        first = asyncio.create_task(hold(one, 7, "a", 0.3))
        await asyncio.sleep(0.05)
        same_chat = asyncio.create_task(hold(two, 7, "b", 0))
        other_chat = asyncio.create_task(hold(two, 8, "c", 0))
        await asyncio.gather(first, same_chat, other_chat)
        assert order.index("c out") < order.index("a out")  # another chat was not held up
        assert order.index("b in") > order.index("a out")  # the same chat waited, even on another worker
    finally:
        await one.close()
        if two is not one:
            await two.close()


async def test_updates_holding_every_pooled_connection_still_finish(postgres_url: str) -> None:
    """On PostgreSQL an update's queries run on its chat lock's connection: with every pooled connection held by a
    chat lock, each update still loads and saves (with a second connection each, they would wait on each other
    until the command timeout)."""
    worker = PostgresStore(postgres_url, min_size=1, max_size=2)
    await worker.open()
    try:

        async def update(chat_id: int) -> None:
            async with worker.chat_lock(chat_id):
                await asyncio.sleep(0.05)  # both connections are now held by a chat lock
                assert await worker.load(chat_id) is None
                await worker.save(record(chat_id), [Stage.STARTED], now=NOW)

        await asyncio.wait_for(asyncio.gather(*(update(chat_id) for chat_id in range(1, 7))), timeout=10)
        assert [await worker.count(table) for table in ("sessions", "events")] == [6, 6]
    finally:
        await worker.close()


async def test_a_copy_restores_every_row_once(store: Store, tmp_path: Any) -> None:
    from bot.storage import SqliteStore

    handoff = NewHandoff("demo-clinic", {"phone": "+1555"}, '{"blocks": []}')
    await store.save(record(1, answers={"region": "neck"}), [Stage.STARTED], handoff, now=NOW)
    await store.save(record(2, consent=None), [Stage.STARTED, Stage.RED_FLAG], now=NOW)
    copy = SqliteStore(tmp_path / "copy.sqlite3")
    await copy.open()
    try:
        for _ in range(2):  # a second run changes nothing
            for table in ("sessions", "events", "handoffs", "jobs", "inbox"):
                async for rows in store.dump(table):
                    await copy.restore(table, rows)
        for table in ("sessions", "events", "handoffs", "jobs", "inbox"):
            assert await copy.count(table) == await store.count(table)
        assert await copy.load(1) == await store.load(1)
        assert await copy.handoffs() == await store.handoffs()
    finally:
        await copy.close()


async def test_workers_starting_together_on_a_fresh_database_migrate_it_once(store_factory: Any) -> None:
    workers: list[Store] = [store_factory() for _ in range(4)]
    try:
        await asyncio.gather(*(worker.open() for worker in workers))
        assert await workers[0].count("sessions") == 0
    finally:
        for worker in workers:
            await worker.close()


def test_a_bad_postgres_url_is_named_without_its_password() -> None:
    from bot.storage.postgres import PostgresStore

    store = PostgresStore("postgresql://doctor:s3cret-pw@127.0.0.1:1/bot", timeout_s=2)
    with pytest.raises(StorageError) as caught:
        asyncio.run(store.open())
    message = str(caught.value)
    assert "DATABASE_URL" in message and "127.0.0.1" in message and "s3cret-pw" not in message


async def test_a_second_bot_process_on_one_sqlite_file_is_refused(tmp_path: Any) -> None:
    from bot.storage import SqliteStore

    first = SqliteStore(tmp_path / "bot.sqlite3", single_process=True)
    await first.open()
    try:
        second = SqliteStore(tmp_path / "bot.sqlite3", single_process=True)
        with pytest.raises(StorageError, match="DATABASE_URL"):
            await second.open()
        reader = SqliteStore(tmp_path / "bot.sqlite3")  # maintenance commands may still read it
        await reader.open()
        await reader.close()
    finally:
        await first.close()


async def test_upgrading_cuts_the_times_of_events_stored_to_the_second(tmp_path: Any) -> None:
    path = tmp_path / "bot.sqlite3"
    older = SqliteStore(path)
    await older.open()
    await older.close()
    with contextlib.closing(sqlite3.connect(path)) as db, db:  # as a bot before version 7 left it
        db.execute("INSERT INTO events (chat_id, stage, at, week) VALUES (7, 'started', ?, '')", (NOW.isoformat(),))
        db.execute("DROP INDEX events_clinic_at")
        db.execute("CREATE INDEX events_clinic_stage ON events (clinic, stage, at)")
        db.execute("DELETE FROM schema_migrations WHERE version = 7")
    upgraded = SqliteStore(path)
    await upgraded.open()
    try:
        assert [event["at"] for event in (await upgraded.export(7))["events"]] == [datetime(2026, 12, 1, tzinfo=UTC)]
    finally:
        await upgraded.close()


OPEN_AT_ONCE = """
import asyncio, sys, time
from pathlib import Path
from bot.storage import SqliteStore
start = float(sys.argv[2])
while time.time() < start:
    pass
async def main():
    store = SqliteStore(Path(sys.argv[1]))
    await store.open()
    await store.close()
asyncio.run(main())
"""


def test_processes_starting_together_on_a_fresh_sqlite_file_all_open_it(tmp_path: Any) -> None:
    import subprocess
    import sys
    import time

    from tests.conftest import ROOT

    failures = []
    for attempt in range(6):
        path = tmp_path / f"fresh-{attempt}.sqlite3"
        start = time.time() + 1.0
        processes = [
            subprocess.Popen(
                [sys.executable, "-c", OPEN_AT_ONCE, str(path), str(start)],
                cwd=ROOT,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(3)
        ]
        for process in processes:
            _, error = process.communicate(timeout=60)
            if process.returncode != 0:
                failures.append(error.strip().splitlines()[-1])
    assert failures == []


async def test_writes_cancelled_at_any_moment_leave_the_store_usable(store: Store) -> None:
    for attempt in range(40):  # cancelled before, during and after their transaction starts
        task = asyncio.create_task(store.schedule("follow_up", f"cancelled:{attempt}", NOW))
        for _ in range(attempt % 5):
            await asyncio.sleep(0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    saved = await store.save(record(), [Stage.STARTED], now=NOW)
    assert saved.record.row_version == 1 and await store.load(7) == saved.record


@pytest.mark.parametrize(("setting", "pragma"), [(None, 1), ("NORMAL", 1), ("FULL", 2)])
async def test_sqlite_commits_are_synced_as_sqlite_synchronous_says(
    tmp_path: Any, setting: str | None, pragma: int
) -> None:
    """NORMAL (the default) survives a killed process; FULL syncs every commit, to survive a power cut too."""
    overrides = {} if setting is None else {"sqlite_synchronous": setting}
    store = make_store(make_settings(tmp_path, **overrides))
    assert isinstance(store, SqliteStore)
    await store.open()
    try:
        assert list(await store.db.execute_fetchall("PRAGMA synchronous")) == [(pragma,)]
    finally:
        await store.close()


def test_an_unknown_sqlite_synchronous_stops_the_bot_naming_the_variable(tmp_path: Any) -> None:
    with pytest.raises(ValidationError, match="sqlite_synchronous"):
        make_settings(tmp_path, sqlite_synchronous="OFF")

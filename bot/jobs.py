"""Scheduled work, shared safely by any number of workers: each due job is claimed by one worker for a lease,
then finished or retried; a job whose worker died runs again when its lease ends.

Kinds: 'handoff' (deliver a consented hand-off to a clinic, retried every 10 minutes for 24 hours),
'follow_up' (a check-in the patient asked for, sent at its time or dropped when over a week late) and
'retention' (erase chats idle for longer than RETENTION_DAYS, daily).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.storage import Job, StorageBusy, StorageError, Store

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=5)  # longer than any job takes; a job whose worker died runs again after it
TICK_S = 5.0  # how often a worker looks for due jobs
SETTLE_S = 10.0  # at shutdown, how long jobs already running may take to finish
RETENTION_KEY = "retention"
RETENTION_EVERY = timedelta(days=1)


@dataclass(frozen=True)
class Done:
    """The job is finished."""


@dataclass(frozen=True)
class RetryAt:
    """Run the job again at `when`."""

    when: datetime


Outcome = Done | RetryAt
Handler = Callable[[Job], Awaitable[Outcome]]


class JobRunner:
    """Claims due jobs and runs the handler of their kind."""

    def __init__(self, store: Store, clock: Clock, handlers: dict[str, Handler], lease: timedelta = LEASE) -> None:
        self.store = store
        self.clock = clock
        self.handlers = handlers
        self.lease = lease
        self._soon: set[asyncio.Task[None]] = set()

    async def run_due(self, limit: int = 100) -> int:
        """Run the jobs due now (at most `limit`); returns how many ran."""
        ran = 0
        while ran < limit:
            job = await self.store.claim(self.clock.now(), self.lease)
            if job is None:
                break
            await self._run(job)
            ran += 1
        return ran

    async def run_now(self, key: str) -> bool:
        """Run the job with `key` now if it is due and free (False: another worker has it, or it is gone)."""
        job = await self.store.claim(self.clock.now(), self.lease, key=key)
        if job is None:
            return False
        await self._run(job)
        return True

    def run_soon(self, key: str) -> None:
        """Run the job with `key` in the background, so that whoever asks (a patient's update, holding its
        chat's lock) does not wait for it; if this fails, the job runs again when it is next due."""
        task = asyncio.create_task(self._run_soon(key))
        self._soon.add(task)
        task.add_done_callback(self._soon.discard)

    async def settle(self, timeout_s: float | None = None) -> None:
        """Wait for the jobs started with `run_soon` (at most `timeout_s`; what is left then is cancelled and
        runs again after its lease)."""
        try:
            async with asyncio.timeout(timeout_s):
                while self._soon:
                    await asyncio.gather(*self._soon, return_exceptions=True)
        except TimeoutError:  # the timeout cancelled the gather, and with it the jobs; let them unwind
            await asyncio.gather(*self._soon, return_exceptions=True)

    async def _run_soon(self, key: str) -> None:
        try:
            await self.run_now(key)
        except (StorageBusy, StorageError) as error:
            log.warning("job %s not run now (%s); it runs when next due", key, type(error).__name__)

    async def _run(self, job: Job) -> None:
        handler = self.handlers.get(job.kind)
        if handler is None:
            log.error("job %d has an unknown kind %r; dropped", job.id, job.kind)
            await self.store.finish(job.id)
            return
        try:
            outcome = await handler(job)
        except Exception as error:  # the lease ends and the job is tried again; the error is logged, not hidden
            log.exception("job %d (%s) failed: %s", job.id, job.kind, type(error).__name__)
            return
        if isinstance(outcome, RetryAt):
            await self.store.retry(job.id, outcome.when)
        else:
            await self.store.finish(job.id)

    async def loop(self, tick_s: float = TICK_S) -> None:
        """Run due jobs every `tick_s` seconds until cancelled; a busy or unreachable database is waited out."""
        while True:
            try:
                await self.run_due()
            except (StorageBusy, StorageError) as error:
                log.warning("jobs: database not available (%s); trying again", type(error).__name__)
            await asyncio.sleep(tick_s)

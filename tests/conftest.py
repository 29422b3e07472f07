"""Shared fixtures: the real content, a real Application wired to an offline Bot API, a clock the tests move,
and real databases: an SQLite file, and a throwaway PostgreSQL server started for the session."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.app import build_application, services, start_services, stop_services
from bot.clock import FakeClock
from bot.settings import Settings
from bot.storage import SqliteStore, Store
from bot.storage.postgres import PostgresStore
from tests.fake_bot_api import FakeBotApi
from tests.pg_server import PostgresServer, start_postgres
from tests.telegram_harness import OfflineRequest, TelegramUser

ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "content"
TOKEN = "123456:TEST-token-do-not-log"
BACKENDS = ("sqlite", "postgres")
_databases = itertools.count(1)


@dataclass
class BotEnv:
    """A running offline bot: its Application, the fake API, its settings, its store and its clock."""

    app: object
    api: FakeBotApi
    settings: Settings
    store: Store
    clock: FakeClock

    def user(self, chat_id: int = 4242, language_code: str | None = "en") -> TelegramUser:
        """A patient in a private chat with the bot."""
        return TelegramUser(self.app, self.api, chat_id, language_code)  # type: ignore[arg-type]


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    """Settings for tests: a database in tmp_path, the real content, no .env file."""
    values: dict[str, object] = {
        "telegram_bot_token": TOKEN,
        "database_path": tmp_path / "bot.sqlite3",
        "content_dir": CONTENT,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole test session (started from the machine's server binaries)."""
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """The URL of a new, empty database on the test server; dropped afterwards."""
    name = f"test_{next(_databases)}"
    url = postgres_server.create_database(name)
    try:
        yield url
    finally:
        postgres_server.drop_database(name)


@pytest.fixture
def clock() -> FakeClock:
    """A clock that moves only when the test says so."""
    return FakeClock()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each backend in turn: a test that takes it runs against SQLite and against PostgreSQL."""
    return str(request.param)


@pytest.fixture
def store_factory(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[object]:
    """Makes unopened stores on one database of `backend` (several = several workers on one database)."""
    url = request.getfixturevalue("postgres_url") if backend == "postgres" else None

    def make() -> Store:
        return PostgresStore(url) if url else SqliteStore(tmp_path / "bot.sqlite3")

    yield make


@pytest.fixture
async def store(store_factory: object) -> AsyncIterator[Store]:
    """An open store of each backend."""
    opened: Store = store_factory()  # type: ignore[operator]
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def bot_env(tmp_path: Path, clock: FakeClock) -> AsyncIterator[BotEnv]:
    """A real Application with every handler, an offline Bot API and a fresh SQLite file."""
    api = FakeBotApi()
    settings = make_settings(tmp_path)
    app = build_application(settings, request=OfflineRequest(api), rate_limit=False, clock=clock)
    async with app:
        await start_services(app)
        try:
            yield BotEnv(app, api, settings, services(app).store, clock)
        finally:
            await stop_services(app)

"""Statistics for maintainers and clinics: where people give up (drop-off), the funnel as a chart whose bars
match the counts (masked counts never at their true length), and content bugs logged and counted."""

from __future__ import annotations

import io
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bot.app import build_application, services, start_services, stop_services
from bot.cli import main
from bot.pictures import CHART_BAR_LEFT, FUNNEL_INK, MASKED_BAR_PX, draw_funnel_chart
from bot.stats import SMALL_CELL, dropoff_table
from bot.storage import ChatRecord, DropoffRow, Store
from flows.content import Content
from flows.engine import Engine
from flows.flow import Flow
from flows.loader import load_content
from flows.model import Branch, Condition
from flows.session import Session
from tests.conftest import CONTENT, make_settings
from tests.fake_bot_api import FakeBotApi
from tests.telegram_harness import OfflineRequest, TelegramUser

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def session(state: str, language: str = "en", clinic: str | None = None) -> Session:
    return Session(state=state, language=language, clinic=clinic, consent=True, content_version="v")


async def test_dropoff_counts_chats_idle_over_a_day_per_state_language_and_clinic(store: Store) -> None:
    for chat_id in range(1, 8):
        await store.save(ChatRecord(chat_id, session("mri")), now=NOW - timedelta(days=2))
    await store.save(ChatRecord(20, session("mri", "es", "demo-clinic")), now=NOW - timedelta(days=2))
    await store.save(ChatRecord(30, session("values")), now=NOW - timedelta(hours=2))  # still active
    rows = await store.dropoff(NOW - timedelta(hours=24))
    assert rows == [DropoffRow("mri", "en", "", 7), DropoffRow("mri", "es", "demo-clinic", 1)]
    table = dropoff_table(rows, ["region", "mri", "values"])
    assert table[1:] == [["mri", "en", "(no clinic)", "7"], ["mri", "es", "demo-clinic", "<5"]]
    assert dropoff_table(rows, ["mri"], {"demo-clinic"})[1:] == [["mri", "es", "demo-clinic", "<5"]]


def bar_length(image: Image.Image, box: tuple[int, int, int, int]) -> int:
    """How far the solid bar runs along its middle row, read from the pixels."""
    y = (box[1] + box[3]) // 2
    x = CHART_BAR_LEFT
    while x < image.width and image.getpixel((x, y)) == FUNNEL_INK:
        x += 1
    return x - CHART_BAR_LEFT


def test_the_chart_bars_match_the_counts_and_masked_counts_hide_their_size() -> None:
    groups = [("demo-clinic · 2026-W49", [("started", 40), ("screened", 20), ("consented", 3), ("completed", 0)])]
    groups.append(("(no clinic) · 2026-W49", [("started", 10), ("screened", 1), ("consented", 4), ("completed", 5)]))
    chart = draw_funnel_chart(groups, SMALL_CELL, "<5")
    image = Image.open(io.BytesIO(chart.png)).convert("RGB")
    full = bar_length(image, chart.bars[0].box)  # 40, the largest count
    assert full > 500
    for bar in chart.bars:
        if bar.masked:
            x0, y0, x1, y1 = bar.box
            assert x1 - x0 == MASKED_BAR_PX and 0 < bar.count < SMALL_CELL
            inside = image.crop((x0 + 3, y0 + 3, x1 - 3, y1 - 3)).convert("L").tobytes()
            dark = sum(p < 200 for p in inside) / len(inside)
            assert 0.15 < dark < 0.85, "hatched, not solid"
            assert bar_length(image, bar.box) == 0
        else:
            assert abs(bar_length(image, bar.box) - round(full * bar.count / 40)) <= 2, bar
    assert [b.masked for b in chart.bars] == [False, False, True, False, False, True, True, False]


def test_stats_dropoff_and_chart_work_on_the_benchmarks_prefilled_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    from bench.scale import prefill_sqlite

    database = tmp_path / "bot.sqlite3"
    asyncio.run(prefill_sqlite({"database": str(database), "start": 0, "stop": 300, "workdir": str(tmp_path)}))
    with sqlite3.connect(database) as db:  # the pre-filled chats went quiet two days ago
        db.execute("UPDATE sessions SET updated_at = ?", ((datetime.now(UTC) - timedelta(days=2)).isoformat(),))
    monkeypatch.setenv("DATABASE_PATH", str(database))
    monkeypatch.setenv("CONTENT_DIR", str(CONTENT))
    chart = tmp_path / "funnel.png"
    assert main(["stats", "--dropoff", "--chart", str(chart)]) == 0
    out = capsys.readouterr().out
    dropoff = out[out.index("idle over 24 h") :]
    assert "leaning" in dropoff and "301" in dropoff  # the pre-fill's chats all wait at the leaning question
    with Image.open(chart) as picture:
        assert picture.width >= 1000 and picture.format == "PNG"


def broken_content() -> Content:
    """The real content, but its first question's only way on needs an answer nobody can have given."""
    loaded = load_content(CONTENT)
    assert loaded.content is not None
    real = loaded.content
    states = list(real.flow.states)
    index = next(i for i, s in enumerate(states) if s.id == "welcome")
    impossible = [Branch(when=Condition.model_validate({"answer": "pain", "at_least": 11}), to="safety_cauda")]
    states[index] = states[index].model_copy(update={"next": impossible})
    flow = Flow.model_construct(start=real.flow.start, states=states, follow_ups=real.flow.follow_ups)
    return Content(
        flow=flow,
        sections=real.sections,
        candidacy=real.candidacy,
        texts=real.texts,
        version="broken-1",
        clinics=real.clinics,
        groups=real.groups,
        decision=real.decision,
        sources=real.sources,
    )


async def test_a_content_bug_is_logged_once_without_the_chat_and_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    api = FakeBotApi()
    app = build_application(
        make_settings(tmp_path), engine=Engine(broken_content()), request=OfflineRequest(api), rate_limit=False
    )
    async with app:
        await start_services(app)
        try:
            for chat_id in (8101, 8102):
                user = TelegramUser(app, api, chat_id)
                await user.send("/start")
                await user.tap("Continue")
                answered = [c for c in api.calls if c.method == "answerCallbackQuery"][-1]
                assert "out of date" in answered.params.get("text", "")  # a friendly answer ...
                assert "Hello" in user.last_text()  # ... and the current question again
            bugs = [r for r in caplog.records if "content bug" in r.getMessage()]
            assert len(bugs) == 1  # once per process, state and reason
            line = bugs[0].getMessage()
            assert "welcome" in line and "broken-1" in line and "8101" not in line and "8102" not in line
            rows = await services(app).store.funnel_rows()
            assert sum(r.count for r in rows if r.stage == "content_bug") == 2
        finally:
            await stop_services(app)


def test_stats_prints_the_content_bugs_counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "empty.sqlite3"))
    assert main(["stats"]) == 0
    assert "content bugs counted: 0" in capsys.readouterr().out

"""Clinics: referral links with disclosure, consented hand-offs, withdrawal, statistics, links and QR codes."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from bot.app import build_application, start_services, stop_services
from bot.plaintext import to_plain
from bot.stats import funnel_table, mask
from tests.conftest import CONTENT, ROOT, BotEnv, make_settings
from tests.fake_bot_api import FakeBotApi
from tests.telegram_harness import CONTACT, OfflineRequest, TelegramUser, message_update

CLINIC_CHAT = -100777
STAFF = 9001
ADMIN = 7001


@pytest.fixture
async def clinic_env(tmp_path: Path) -> AsyncIterator[BotEnv]:
    """The real content, with the demo clinic able to receive hand-offs and one staff member."""
    content = tmp_path / "content"
    shutil.copytree(CONTENT, content)
    clinics = content / "clinics.yaml"
    text = clinics.read_text(encoding="utf-8")
    text = text.replace("    handoff_chat_id:\n", f"    handoff_chat_id: {CLINIC_CHAT}\n")
    text = text.replace("    staff_ids: []", f"    staff_ids: [{STAFF}]")
    clinics.write_text(text, encoding="utf-8")
    api = FakeBotApi()
    settings = make_settings(tmp_path, content_dir=content, admin_ids=str(ADMIN))
    app = build_application(settings, request=OfflineRequest(api), rate_limit=False)
    async with app:
        await start_services(app)
        try:
            yield BotEnv(app, api, settings, app.bot_data["store"])
        finally:
            await stop_services(app)


async def walk_to_handoff(user: TelegramUser, start: str = "/start demo-clinic") -> list[dict[str, object]]:
    """A low-back patient from a referral link to the hand-off offer."""
    await user.send(start)
    for label in (
        "Continue",
        "Yes, I agree",
        "No",
        "No",
        "No",
        "Low back and legs",
        "Leg pain on walking",
        "Done",
        "More than a year",
        "5",
        "No",
        "Physiotherapy",
        "Done",
        "Good",
        "Avoiding surgery",
        "Done",
    ):
        await user.tap(label)
    await user.send("walk further")
    for label in ("Continue", "Wait and see", "Yes", "Yes", "Yes", "Yes", "Continue"):
        await user.tap(label)
    return await user.tap("Continue")  # from the summary


def clinic_messages(env: BotEnv) -> list[str]:
    return [to_plain(m["text"]) for m in env.api.sent(CLINIC_CHAT)]


async def test_a_referral_link_discloses_the_clinic_before_any_question(bot_env: BotEnv) -> None:
    user = bot_env.user()
    sent = await user.send("/start demo-clinic")
    first = to_plain(sent[0]["text"])
    assert "You came here through a link from Demo Spine Clinic" in first
    assert "pays nothing for referrals" in first
    assert "This guide helps you think" in sent[1]["text"]
    rows = await bot_env.store.execute_fetchall("SELECT clinic FROM sessions")
    assert rows == [("demo-clinic",)]
    started = await bot_env.store.execute_fetchall("SELECT clinic, stage FROM events")
    assert started == [("demo-clinic", "started")]


async def test_the_disclosure_is_in_the_patients_language(bot_env: BotEnv) -> None:
    sent = await bot_env.user(language_code="es").send("/start demo-clinic")
    assert "Llegaste aquí por un enlace de" in sent[0]["text"]


@pytest.mark.parametrize(
    "payload",
    ["unknown-clinic", "x" * 100, "<b>bold</b>", "../../etc/passwd", "demo-clinic%00", "DEMO-CLINIC"],
)
async def test_unknown_or_malformed_codes_start_normally_and_are_never_shown(
    bot_env: BotEnv, payload: str, caplog: pytest.LogCaptureFixture
) -> None:
    user = bot_env.user()
    with caplog.at_level(logging.INFO, logger="bot.handlers"):
        sent = await user.send(f"/start {payload}")
        await user.send(f"/start {payload}")
    assert "This guide helps you think" in sent[0]["text"]
    assert all(payload not in m["text"] for m in bot_env.api.sent(4242))
    assert await bot_env.store.execute_fetchall("SELECT clinic FROM sessions") == [(None,)]
    logged = [r.getMessage() for r in caplog.records if "referral code" in r.getMessage()]
    assert len(logged) == 1  # once, however often it comes
    if len(payload) > 64 or "<" in payload or "/" in payload or "%" in payload:
        assert payload not in logged[0]


async def test_a_later_link_does_not_change_the_referral(clinic_env: BotEnv) -> None:
    user = clinic_env.user()
    await user.send("/start")
    await user.tap("Continue")
    await user.send("/start demo-clinic")
    assert await clinic_env.store.execute_fetchall("SELECT clinic FROM sessions") == [(None,)]


async def test_without_a_clinic_chat_no_handoff_is_offered(bot_env: BotEnv) -> None:
    sent = await walk_to_handoff(bot_env.user())
    assert "Topics" in sent[-1]["text"]  # straight to the topics: the demo clinic has no hand-off chat


async def test_declining_the_handoff_sends_nothing(clinic_env: BotEnv) -> None:
    user = clinic_env.user()
    sent = await walk_to_handoff(user)
    assert "Would you like a clinic to contact you?" in sent[-1]["text"]
    assert "Demo Spine Clinic" in [b["text"] for b in user.buttons()]
    await user.tap("Demo Spine Clinic")
    sent = await user.tap("No, don't send")
    assert "Topics" in sent[-1]["text"]
    assert clinic_messages(clinic_env) == []
    assert await clinic_env.store.execute_fetchall("SELECT COUNT(*) FROM handoffs") == [(0,)]


async def test_consented_handoff_sends_exactly_the_summary_and_username(clinic_env: BotEnv) -> None:
    user = clinic_env.user()
    await walk_to_handoff(user)
    sent = await user.tap("Demo Spine Clinic")
    consent = to_plain(sent[-1]["text"])
    assert "We will send Demo Spine Clinic:" in consent and "We send nothing else" in consent
    assert clinic_messages(clinic_env) == []  # nothing before consent
    sent = await user.tap("Yes, send with my Telegram username")
    texts = [to_plain(m["text"]) for m in sent]
    assert any("We are sending your summary" in t for t in texts)
    assert any("Your summary has reached Demo Spine Clinic" in t for t in texts)
    received = clinic_messages(clinic_env)
    assert "@patient" in received[0]
    assert "Where it is: Low back and legs" in received[0] and "Your goal: walk further" in received[0]
    assert "[32]" not in received[0]  # sources are in the PDF, not the message
    documents = clinic_env.api.sent(CLINIC_CHAT, method="sendDocument")
    assert len(documents) == 1 and clinic_env.api.documents[-1].startswith(b"%PDF")
    rows = await clinic_env.store.execute_fetchall("SELECT status, summary, contact FROM handoffs")
    assert rows == [("sent", None, None)]  # our copy is dropped once delivered
    stages = await clinic_env.store.execute_fetchall("SELECT stage FROM events WHERE stage = 'handed_off'")
    assert stages == [("handed_off",)]


async def test_phone_handoff_takes_only_the_patients_own_number(clinic_env: BotEnv) -> None:
    user = clinic_env.user()
    await walk_to_handoff(user)
    await user.tap("Demo Spine Clinic")
    sent = await user.tap("Yes, send with my phone number")
    keyboard = sent[-1]["reply_markup"]
    keyboard = json.loads(keyboard) if isinstance(keyboard, str) else keyboard
    assert keyboard["keyboard"][0][0]["request_contact"] is True
    someone_else = dict(CONTACT["contact"], user_id=123)
    await user.feed(message_update(4242, None, extra={"contact": someone_else}))
    assert clinic_messages(clinic_env) == []
    await user.send("+44 7700 900000")  # typed numbers are not taken either
    assert clinic_messages(clinic_env) == []
    own = dict(CONTACT["contact"], user_id=4242)
    await user.feed(message_update(4242, None, extra={"contact": own}))
    received = clinic_messages(clinic_env)
    assert len(received) == 1 and "+100000" in received[0] and "@patient" not in received[0]


async def test_an_unreachable_clinic_is_reported_honestly_and_retried(clinic_env: BotEnv) -> None:
    user = clinic_env.user()
    await walk_to_handoff(user)
    await user.tap("Demo Spine Clinic")
    clinic_env.api.inject("403", "sendMessage", chat_id=CLINIC_CHAT)
    sent = await user.tap("Yes, send with my Telegram username")
    assert any("We could not reach Demo Spine Clinic just now" in m["text"] for m in sent)
    assert await clinic_env.store.execute_fetchall("SELECT status FROM handoffs") == [("pending",)]
    handlers = clinic_env.app.bot_data["handlers"]  # type: ignore[attr-defined]
    delivered = await handlers.handoffs.retry_pending(clinic_env.app.bot)  # type: ignore[attr-defined]
    assert delivered == 1
    assert len(clinic_messages(clinic_env)) == 1
    assert "Your summary has reached" in user.last_text()


async def test_delete_withdraws_the_handoff_and_tells_the_clinic(clinic_env: BotEnv) -> None:
    user = clinic_env.user()
    await walk_to_handoff(user)
    await user.tap("Demo Spine Clinic")
    await user.tap("Yes, send with my Telegram username")
    await user.send("/delete")
    await user.tap("Yes, erase")
    withdrawn = clinic_messages(clinic_env)[-1]
    assert "withdrawn" in withdrawn and "#1" in withdrawn
    assert await clinic_env.store.execute_fetchall("SELECT COUNT(*) FROM handoffs") == [(0,)]


async def test_stats_for_admins_staff_and_nobody_else(clinic_env: BotEnv) -> None:
    for chat in range(20, 27):  # seven referred patients, two without a clinic
        await clinic_env.user(chat).send("/start demo-clinic")
    for chat in range(30, 32):
        await clinic_env.user(chat).send("/start")
    admin = await clinic_env.user(ADMIN).send("/stats")
    table = to_plain(admin[0]["text"])
    assert "demo-clinic" in table and "(no clinic)" in table
    assert "7" in table.split("demo-clinic")[1].split()[1:3]  # 7 started
    staff = to_plain((await clinic_env.user(STAFF).send("/stats"))[0]["text"])
    assert "demo-clinic" in staff and "(no clinic)" not in staff
    stranger = await clinic_env.user(555).send("/stats")
    assert "only for the people who run this guide" in stranger[0]["text"]


def test_small_cells_are_masked() -> None:
    assert [mask(n) for n in (0, 1, 4, 5, 12)] == ["0", "<5", "<5", "5", "12"]
    table = funnel_table([("c1", "2026-W47", "started", 3), ("c2", "2026-W47", "started", 9)], {"c1"})
    assert table[1][:3] == ["c1", "2026-W47", "<5"] and len(table) == 2


def test_link_prints_the_deep_link_and_writes_a_decodable_qr(tmp_path: Path) -> None:
    qr = tmp_path / "clinic.png"
    result = subprocess.run(
        [sys.executable, "-m", "bot", "link", "demo-clinic", "--username", "stenosis_guide_bot", "--qr", str(qr)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
        timeout=60,
    )
    url = "https://t.me/stenosis_guide_bot?start=demo-clinic"
    assert result.stdout.splitlines()[0] == url
    assert [code.text for code in zxingcpp.read_barcodes(Image.open(qr))] == [url]
    svg = tmp_path / "clinic.svg"
    subprocess.run(
        [sys.executable, "-m", "bot", "link", "demo-clinic", "--username", "x_bot", "--qr", str(svg)],
        capture_output=True,
        cwd=ROOT,
        check=True,
        timeout=60,
    )
    assert svg.read_text().lstrip().startswith("<?xml")


def test_link_refuses_an_unknown_clinic() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "link", "nope", "--username", "x_bot"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode != 0 and "demo-clinic" in result.stderr


async def test_stats_command_line_prints_the_funnel(bot_env: BotEnv) -> None:
    for chat in range(40, 46):
        await bot_env.user(chat).send("/start demo-clinic")
    env = {"DATABASE_PATH": str(bot_env.settings.database_path), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "stats", "--clinic", "demo-clinic"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=True,
    )
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["clinic", "week", "started"]
    assert lines[1].split()[0] == "demo-clinic" and lines[1].split()[2] == "6"

"""Clinics: referral links with disclosure, consented hand-offs, withdrawal, statistics, links and QR codes."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from bot.app import services
from bot.plaintext import to_plain
from bot.stats import funnel_table, mask
from bot.storage import FunnelRow
from tests.conftest import ROOT, BotEnv
from tests.db import stored
from tests.telegram_harness import CONTACT, OfflineRequest, message_update
from tests.test_telegram_decision_aid import (
    CLINIC_CHAT,
    CLINIC_STAFF,
    Patient,
    clinic_application,
    content,
    example,
    text_of,
)

STAFF = CLINIC_STAFF
ADMIN = 7001


@pytest.fixture
async def clinic_env(tmp_path: Path) -> AsyncIterator[BotEnv]:
    """The real content, with the demo clinic able to receive hand-offs and one staff member."""
    async with clinic_application(tmp_path) as env:
        yield env


async def walk_to_handoff(
    env: BotEnv, payload: str | None = "demo-clinic", patient: str = "low_back_profile", language: str = "en"
) -> Patient:
    """An example patient who cleared the safety questions and consented, from /start (through a referral link,
    by default) through their summary and a "no" to check-ins: whatever comes after the offer is on screen."""
    p = Patient.of(env, language=language)
    await p.walk(example(patient), goal="walk further", payload=payload)
    sent = await p.tap("ok")  # from the summary
    assert p.says(sent[-1], "follow_up.offer") and p.names() == ["no", "yes", "back"]
    await p.tap("no")  # "No, thank you": no check-ins
    return p


def clinic_messages(env: BotEnv) -> list[str]:
    return [to_plain(m["text"]) for m in env.api.sent(CLINIC_CHAT)]


async def test_a_referral_link_discloses_the_clinic_before_any_question(bot_env: BotEnv) -> None:
    p = Patient.of(bot_env)
    sent = await p.start("demo-clinic")
    assert p.says(sent[0], "clinic.disclosure") and p.says(sent[0], "clinic_relationship.demo_clinic")
    assert "Demo Spine Clinic" in sent[0]["text"]
    assert p.says(sent[1], "welcome") and len(sent) == 2
    assert stored(bot_env, "SELECT clinic FROM sessions") == [("demo-clinic",)]
    assert stored(bot_env, "SELECT clinic, stage FROM events") == [("demo-clinic", "started")]


async def test_the_disclosure_is_in_the_patients_language(bot_env: BotEnv) -> None:
    p = Patient.of(bot_env, language="es")
    sent = await p.start("demo-clinic")
    assert p.says(sent[0], "clinic.disclosure") and p.says(sent[0], "clinic_relationship.demo_clinic")


@pytest.mark.parametrize(
    "payload",
    ["unknown-clinic", "x" * 100, "<b>bold</b>", "../../etc/passwd", "demo-clinic%00", "DEMO-CLINIC"],
)
async def test_unknown_or_malformed_codes_start_normally_and_are_never_shown(
    bot_env: BotEnv, payload: str, caplog: pytest.LogCaptureFixture
) -> None:
    p = Patient.of(bot_env)
    with caplog.at_level(logging.INFO, logger="bot.handlers"):
        sent = await p.start(payload)
        await p.start(payload)
    assert [p.says(m, "welcome") for m in sent] == [True]  # no disclosure
    assert all(payload not in m["text"] for m in bot_env.api.sent(4242))
    assert stored(bot_env, "SELECT clinic FROM sessions") == [(None,)]
    logged = [r.getMessage() for r in caplog.records if "referral code" in r.getMessage()]
    assert len(logged) == 1  # once, however often it comes
    if len(payload) > 64 or "<" in payload or "/" in payload or "%" in payload:
        assert payload not in logged[0]


async def test_a_later_link_does_not_change_the_referral(clinic_env: BotEnv) -> None:
    p = Patient.of(clinic_env)
    await p.start()
    await p.tap("ok")
    await p.start("demo-clinic")
    assert stored(clinic_env, "SELECT clinic FROM sessions") == [(None,)]


async def test_without_a_clinic_chat_no_handoff_is_offered(bot_env: BotEnv) -> None:
    p = await walk_to_handoff(bot_env)  # the demo clinic of the real content has no hand-off chat
    assert p.says(p.last(), "own_doctor")
    assert not any(p.says(m, "handoff.choose") for m in p.user.messages())


@pytest.mark.parametrize(
    ("patient", "payload", "offered"),
    [
        ("low_back_profile", "demo-clinic", True),  # may_be_discussed
        ("low_back_profile", None, True),  # no link: clinics that treat the region in the patient's language
        ("facet_arthritis", "demo-clinic", True),  # unclear
        ("neck_pain_only", None, True),  # unclear
        ("low_back_weak_legs", "demo-clinic", False),  # see a spine specialist first
        ("severe_bone_spur", "demo-clinic", False),  # surgery may serve better
        ("nothing_tried", "demo-clinic", False),  # other steps come first
        ("no_scan", None, False),  # other steps come first
    ],
)
async def test_a_clinic_is_offered_only_after_a_result_that_allows_a_handoff(
    clinic_env: BotEnv, patient: str, payload: str | None, offered: bool
) -> None:
    outcome = next(e.outcome for e in content().candidacy.examples if e.id == patient)
    p = await walk_to_handoff(clinic_env, payload, patient)
    summary, offer = p.texts()[-3:-1]  # the summary (its pictures are photos), the check-in offer, what follows
    assert p.says(summary, f"outcome.{outcome}.title")
    assert p.says(offer, "follow_up.offer")
    if offered:
        assert p.says(p.last(), "handoff.choose") and "Demo Spine Clinic" in p.last()["text"]
        assert p.names() == ["k0", "none", "back"]
        sent = await p.tap("none")  # "No, thank you"
        assert p.says(sent[-1], "own_doctor")
    else:
        assert p.says(p.last(), "own_doctor")
        assert not any(p.says(m, "handoff.choose") for m in p.user.messages())
    assert clinic_messages(clinic_env) == []


async def test_a_clinic_is_offered_in_spanish_to_a_spanish_patient(clinic_env: BotEnv) -> None:
    p = await walk_to_handoff(clinic_env, None, "low_back_profile", language="es")
    assert p.says(p.last(), "handoff.choose") and p.names()[0] == "k0"


async def test_declining_the_handoff_sends_nothing(clinic_env: BotEnv) -> None:
    p = await walk_to_handoff(clinic_env)
    assert p.says(p.last(), "handoff.choose")
    assert "Demo Spine Clinic" in [b["text"] for b in p.user.buttons()]
    sent = await p.tap("k0")
    assert p.says(sent[-1], "handoff.consent")
    sent = await p.tap("cancel")  # "No, don't send"
    assert p.says(sent[-1], "own_doctor")
    assert clinic_messages(clinic_env) == []
    assert stored(clinic_env, "SELECT COUNT(*) FROM handoffs") == [(0,)]


async def test_consented_handoff_sends_exactly_the_summary_and_username(clinic_env: BotEnv) -> None:
    p = await walk_to_handoff(clinic_env)
    sent = await p.tap("k0")
    assert p.says(sent[-1], "handoff.consent") and "Demo Spine Clinic" in sent[-1]["text"]
    assert p.names() == ["username", "phone", "cancel", "back"]
    assert clinic_messages(clinic_env) == []  # nothing before consent
    sent = await p.tap("username")
    assert any(p.says(m, "handoff.queued") for m in sent)
    assert any(p.says(m, "bot.handoff_delivered") for m in sent)
    received = clinic_messages(clinic_env)
    assert "@patient" in received[0]
    assert "Where it is: Low back and legs" in received[0] and "Your goal: walk further" in received[0]
    assert to_plain(text_of("summary.sources")) not in received[0]  # sources are in the PDF, not the message
    documents = clinic_env.api.sent(CLINIC_CHAT, method="sendDocument")
    assert len(documents) == 1 and clinic_env.api.documents[-1].startswith(b"%PDF")
    rows = stored(clinic_env, "SELECT status, summary, contact FROM handoffs")
    assert rows == [("sent", None, None)]  # our copy is dropped once delivered
    assert stored(clinic_env, "SELECT stage FROM events WHERE stage = 'handed_off'") == [("handed_off",)]
    assert await clinic_env.store.jobs(chat_id=4242) == []  # nothing left to deliver
    sent = await p.tap("ok")
    assert p.says(sent[-1], "menu.intro")


async def test_the_patient_goes_on_while_the_clinic_is_slow_to_receive(clinic_env: BotEnv) -> None:
    """The hand-off is delivered beside the conversation, not inside the patient's turn: a clinic whose Bot API
    calls hang holds up neither the answer to the consent nor the patient's next tap."""
    p = await walk_to_handoff(clinic_env)
    await p.tap("k0")
    request = clinic_env.app.bot.request  # type: ignore[attr-defined]
    assert isinstance(request, OfflineRequest)
    request.hanging.add(CLINIC_CHAT)
    p.user.settle_jobs = False
    sent = await asyncio.wait_for(p.tap("username"), timeout=5)
    assert any(p.says(m, "handoff.queued") for m in sent)
    sent = await asyncio.wait_for(p.tap("ok"), timeout=5)
    assert p.says(sent[-1], "menu.intro")
    assert clinic_messages(clinic_env) == []
    request.release.set()
    await services(clinic_env.app).jobs.settle()  # type: ignore[arg-type]
    assert len(clinic_messages(clinic_env)) == 1
    assert p.says(p.last(), "bot.handoff_delivered")
    assert stored(clinic_env, "SELECT status FROM handoffs") == [("sent",)]


async def test_phone_handoff_takes_only_the_patients_own_number(clinic_env: BotEnv) -> None:
    p = await walk_to_handoff(clinic_env)
    await p.tap("k0")
    sent = await p.tap("phone")
    keyboard = sent[-1]["reply_markup"]
    keyboard = json.loads(keyboard) if isinstance(keyboard, str) else keyboard
    assert keyboard["keyboard"][0][0]["request_contact"] is True
    someone_else = dict(CONTACT["contact"], user_id=123)
    await p.user.feed(message_update(4242, None, extra={"contact": someone_else}))
    assert clinic_messages(clinic_env) == []
    await p.send("+44 7700 900000")  # typed numbers are not taken either
    assert clinic_messages(clinic_env) == []
    own = dict(CONTACT["contact"], user_id=4242)
    await p.user.feed(message_update(4242, None, extra={"contact": own}))
    received = clinic_messages(clinic_env)
    assert len(received) == 1 and "+100000" in received[0] and "@patient" not in received[0]


async def test_an_unreachable_clinic_is_reported_honestly_and_retried(clinic_env: BotEnv) -> None:
    p = await walk_to_handoff(clinic_env)
    await p.tap("k0")
    clinic_env.api.inject("403", "sendMessage", chat_id=CLINIC_CHAT)
    sent = await p.tap("username")
    assert any(p.says(m, "bot.handoff_delayed") for m in sent)
    assert not any(p.says(m, "bot.handoff_delivered") for m in sent)
    assert stored(clinic_env, "SELECT status FROM handoffs") == [("pending",)]
    [retry] = await clinic_env.store.jobs(chat_id=4242)
    assert retry.kind == "handoff" and retry.due_at == clinic_env.clock.now() + timedelta(minutes=10)
    jobs = services(clinic_env.app).jobs  # type: ignore[arg-type]
    clinic_env.clock.advance(timedelta(minutes=9))
    await jobs.run_due()
    assert clinic_messages(clinic_env) == [] and not p.says(p.last(), "bot.handoff_delivered")  # not yet
    clinic_env.clock.advance(timedelta(minutes=1))
    await jobs.run_due()
    assert len(clinic_messages(clinic_env)) == 1
    assert p.says(p.last(), "bot.handoff_delivered")
    assert stored(clinic_env, "SELECT status FROM handoffs") == [("sent",)]
    assert await clinic_env.store.jobs(chat_id=4242) == []


async def test_delete_withdraws_the_handoff_and_tells_the_clinic(clinic_env: BotEnv) -> None:
    p = await walk_to_handoff(clinic_env)
    await p.tap("k0")
    await p.tap("username")
    await p.send("/delete")
    await p.user.tap(text_of("bot.delete_yes"))
    withdrawn = clinic_messages(clinic_env)[-1]
    assert "withdrawn" in withdrawn and "#1" in withdrawn
    assert stored(clinic_env, "SELECT COUNT(*) FROM handoffs") == [(0,)]


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
    rows = [FunnelRow("c1", "2026-W47", "started", 3), FunnelRow("c2", "2026-W47", "started", 9)]
    table = funnel_table(rows, {"c1"})
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

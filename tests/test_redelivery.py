"""An update Telegram sends again (after a crash, or a webhook answered too late) or one whose process died while
its replies went out: the patient gets their current question again, and Telegram refuses none of the calls. Each
kind of step that sends more than a plain question is driven: a picture, an edit in place, a statement explained,
and a typed question's topics."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_settings
from tests.conversation_script import button_name
from tests.fake_bot_api import FakeBotApi
from tests.telegram_harness import OfflineRequest, callback_update, message_update
from tests.test_telegram_decision_aid import Patient, buttons_of, content, example, running_bot

Raw = dict[str, Any]


def tap_of(p: Patient, name: str) -> Raw:
    """The update of a tap on the button named `name` of the newest keyboard (not sent yet)."""
    message = p.keyboard()
    data = next(b["callback_data"] for b in buttons_of(message) if button_name(b["callback_data"]) == name)
    return callback_update(p.chat_id, data, dict(message), p.user.language_code)


async def at_the_result(p: Patient) -> None:
    await p.consent()
    await p.answer_intake(example("low_back_profile"))


async def the_comparison_with_its_picture(p: Patient) -> Raw:
    await at_the_result(p)
    return tap_of(p, "ok")


async def a_value_weighed_in_place(p: Patient) -> Raw:
    await at_the_result(p)
    await p.tap("ok")
    await p.tap("ok")
    return tap_of(p, "a_lot")


async def a_statement_explained(p: Patient) -> Raw:
    await at_the_result(p)
    await p.tap("ok")
    await p.tap("ok")
    await p.weigh({})
    return tap_of(p, "not_sure")


async def a_typed_question(p: Patient) -> Raw:
    await at_the_result(p)
    await p.tap("ok")
    return message_update(p.chat_id, "what does it cost?", language_code=p.user.language_code)


STEPS: dict[str, Callable[[Patient], Awaitable[Raw]]] = {
    "the comparison with its picture": the_comparison_with_its_picture,
    "a value weighed in place": a_value_weighed_in_place,
    "a statement explained": a_statement_explained,
    "a typed question's topics": a_typed_question,
}


def current_question_shown(p: Patient, state: str) -> bool:
    """The newest keyboard is the question of `state`."""
    return p.says(p.keyboard(), content().states[state].text)


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("step", list(STEPS))
async def test_an_update_sent_again_shows_the_current_question(tmp_path: Path, step: str, language: str) -> None:
    async with running_bot(make_settings(tmp_path)) as env:
        p = Patient.of(env, language=language)
        raw = await STEPS[step](p)
        await p.user.feed(raw)
        after = await p.row()
        before = len(env.api.calls)
        await p.user.feed(raw)  # Telegram sends it again
        assert await p.row() == after  # nothing applied twice
        assert len(env.api.calls) > before and current_question_shown(p, after["state"])
        assert env.api.rejected == []


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("step", list(STEPS))
async def test_a_process_killed_while_a_step_is_sent_shows_the_current_question_after_the_restart(
    tmp_path: Path, step: str, language: str
) -> None:
    settings, api = make_settings(tmp_path), FakeBotApi()
    request = OfflineRequest(api)
    async with running_bot(settings, request=request) as env:
        p = Patient.of(env, language=language)
        raw = await STEPS[step](p)
        request.hanging.add(p.chat_id)  # the step's messages are on their way when the process dies
        handling = asyncio.create_task(p.user.feed(raw))
        await request.stuck.wait()
        handling.cancel()
        await asyncio.gather(handling, return_exceptions=True)
        request.release.set()
    async with running_bot(settings, api=api) as restarted:
        p = Patient.of(restarted, language=language)
        state = await p.state()  # the step was stored before anything was sent
        await p.user.feed(raw)  # Telegram sends it again: it was never confirmed
        assert await p.state() == state and current_question_shown(p, state)
        assert api.rejected == []

"""`python -m bot validate | console | diagram`, and running the bot without a token."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from flows.content import Content
from flows.limits import plain_text
from flows.loader import load_content
from flows.machine import branches

ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "content"

# Console input for a low-back patient; numbers are the buttons as the console lists them.
LOW_BACK_LINES = [
    "1",  # welcome: Continue
    "1",  # consent: Yes, I agree
    "3",  # cauda equina screen: No
    "3",  # spinal cord screen: No
    "3",  # other red flags: No
    "1",  # where: low back and legs
    "1",  # tick: leg pain on walking
    "6",  # Done
    "4",  # more than a year
    "7",  # pain 6 (0 is button 1)
    "1",  # MRI: yes
    "1",  # tick: bulging disc
    "7",  # Done
    "2",  # moderate
    "1",  # tick: physiotherapy
    "7",  # Done
    "1",  # general health: good
    "4",  # tick: matters most: proven to work
    "7",  # Done
    "walk to the shops",
    "1",  # result: Continue
    "4",  # leaning: exercise or physio
    "1",  # SURE 1 of 4: Yes
    "1",  # SURE 2 of 4: Yes
    "1",  # SURE 3 of 4: Yes
    "1",  # SURE 4 of 4: Yes
    "1",  # "you seem ready": Continue
    "1",  # summary: Get it as a PDF
    "2",  # summary: Continue (no clinic to offer, so the topics follow)
]


def env_without_token() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in {"TELEGRAM_BOT_TOKEN", "CONTENT_DIR"}}
    env["PYTHONPATH"] = str(ROOT)
    return env


def run_bot(*args: str, stdin: str = "", cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env_without_token(),
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def content() -> Content:
    result = load_content(CONTENT)
    assert result.content is not None, "\n".join(map(str, result.problems))
    return result.content


def first_line(content: Content, key: str) -> str:
    return next(line for line in plain_text(content.texts.get("en", key)).splitlines() if line.strip())


# --- validate ---------------------------------------------------------------------------------------


def test_validate_accepts_the_real_content() -> None:
    done = run_bot("validate")
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"content: OK - \d+ states, \d+ sections, \d+ rules, languages: en", done.stdout)


def test_validate_lists_every_problem_as_path_line_message(tmp_path: Path) -> None:
    broken = tmp_path / "content"
    shutil.copytree(CONTENT, broken)
    flow = broken / "flow.yaml"
    text = flow.read_text(encoding="utf-8")
    assert text.count("action: grant_consent") == 1 and text.count("    text: info_only\n") == 1
    text = text.replace("action: grant_consent", "action: grant_consnet")
    text = text.replace("    text: info_only\n", "    text: info_only_page\n")
    flow.write_text(text, encoding="utf-8")
    lines = text.splitlines()
    action_line = next(n for n, line in enumerate(lines, 1) if "grant_consnet" in line)
    text_line = next(n for n, line in enumerate(lines, 1) if "info_only_page" in line)

    done = run_bot("validate", "--content", str(broken))
    assert done.returncode == 1
    printed = done.stdout.splitlines()
    assert len(printed) == 2, done.stdout
    assert all(re.match(rf"{re.escape(str(broken))}/\S+\.yaml:\d+: .+ \(.+\)$", line) for line in printed)
    assert any(line.startswith(f"{flow}:{action_line}: unknown action 'grant_consnet'") for line in printed)
    assert any(line.startswith(f"{flow}:{text_line}: text 'info_only_page' is not written") for line in printed)
    assert "2 problem(s)" in done.stderr


def test_validate_in_process_returns_the_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "content"
    shutil.copytree(CONTENT, broken)
    (broken / "candidacy.yaml").unlink()
    assert main(["validate", "--content", str(broken)]) == 1
    assert f"{broken / 'candidacy.yaml'}:1: file not found" in capsys.readouterr().out
    assert main(["validate", "--content", str(CONTENT)]) == 0


# --- console ----------------------------------------------------------------------------------------


def test_console_completes_a_low_back_conversation(content: Content) -> None:
    done = run_bot("console", "--content", str(CONTENT), stdin="\n".join(LOW_BACK_LINES) + "\n")
    assert done.returncode == 0, done.stderr
    output = done.stdout
    assert output.splitlines()[-1] == "(state: menu)"
    assert first_line(content, "welcome") in output
    assert plain_text(content.texts.get("en", "outcome.may_be_discussed.title")) in output
    assert plain_text(content.texts.get("en", "result.values_heading")) in output
    assert plain_text(content.texts.get("en", "values.reflect.proven")) in output
    assert first_line(content, "leaning.ask") in output
    assert first_line(content, "sure.high") in output
    assert first_line(content, "sure.low") not in output
    assert first_line(content, "summary.intro") in output
    goal = plain_text(content.texts.get("en", "goal.short"))
    assert f"{goal}: walk to the shops" in output  # the summary repeats the answers
    assert first_line(content, "summary.pdf_caption") in output  # the PDF tap is answered
    assert plain_text(content.texts.get("en", "menu.intro")) in output
    assert "> walk to the shops" in output
    assert "(no button" not in output


def test_console_stops_at_a_red_flag(content: Content) -> None:
    done = run_bot("console", "--content", str(CONTENT), stdin="1\n1\n1\n")
    assert done.returncode == 0, done.stderr
    output = done.stdout
    assert output.splitlines()[-1] == "(state: urgent_cauda)"
    assert first_line(content, "urgent.cauda") in output
    restart = content.texts.get("en", "common.restart")
    assert output.splitlines()[-2].strip() == f"[1] {restart}", "only a button to start again"


def test_console_words_and_wrong_numbers(content: Content) -> None:
    done = run_bot("console", "--content", str(CONTENT), stdin="1\n9\nback\nback\nmenu\n/help\nquit\n1\n")
    assert done.returncode == 0, done.stderr
    output = done.stdout
    assert "(no button 9; choose 1-3)" in output
    assert first_line(content, "notice.first_question") in output
    assert first_line(content, "info.help") in output
    assert output.splitlines()[-1] == "(state: welcome)"  # 'quit' ends before the last line


# --- diagram ----------------------------------------------------------------------------------------


def test_diagram_draws_every_state_and_transition(content: Content, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagram", "--content", str(CONTENT)]) == 0
    diagram = capsys.readouterr().out
    assert "stateDiagram-v2" in diagram
    for state in content.flow.states:
        assert f'state "{state.id}" as {state.id}' in diagram
        targets = [branch.to for option in getattr(state, "options", []) for branch in branches(option.next)]
        targets += [branch.to for branch in branches(getattr(state, "next", None))]
        for target in targets:
            assert f"{state.id} --> {target}" in diagram
    assert f"[*] --> {content.flow.start}" in diagram


def test_diagram_output_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "flow.mmd"
    assert main(["diagram", "--content", str(CONTENT), "--output", str(target)]) == 0
    assert str(target) in capsys.readouterr().out
    written = target.read_text(encoding="utf-8")
    assert "stateDiagram-v2" in written
    assert "welcome --> consent" in written


def test_diagram_of_broken_content_says_to_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "content"
    shutil.copytree(CONTENT, broken)
    (broken / "flow.yaml").unlink()
    assert main(["diagram", "--content", str(broken)]) != 0
    err = capsys.readouterr().err
    assert "flow.yaml:1: file not found" in err
    assert "python -m bot validate" in err


# --- the bot itself ---------------------------------------------------------------------------------


def test_running_without_a_token_explains_how_to_get_one(tmp_path: Path) -> None:
    done = run_bot(cwd=tmp_path)  # no TELEGRAM_BOT_TOKEN, no .env in this folder
    assert done.returncode != 0
    message = done.stdout + done.stderr
    assert "TELEGRAM_BOT_TOKEN" in message
    assert "BotFather" in message
    assert "python -m bot console" in message
    assert "Traceback" not in message

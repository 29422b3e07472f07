"""`python -m bot validate [--balance] | console | diagram`, and running the bot without a token."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from bot.cli import main
from bot.pictures import Pictures
from flows.balance import GENERAL, GOAL, topic_balance
from flows.content import Content
from flows.limits import plain_text
from flows.loader import load_content
from flows.machine import branches
from flows.states import kind_of

ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "content"

# Console input for a low-back patient; numbers are the buttons as the console lists them.
LOW_BACK_LINES = [
    "1",  # welcome: Continue
    "3",  # safety 1 of 4 (cauda equina): No
    "4",  # safety 2 of 4 (a leg getting weaker): No
    "4",  # safety 3 of 4 (neck signs): No
    "3",  # safety 4 of 4 (fever, cancer, ...): No
    "1",  # consent: Yes, I agree
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
    "walk to the shops",
    "1",  # result: Continue
    "1",  # the options compared: Continue
    "2",  # avoiding an operation: a little
    "1",  # shown to work in fair trials: a lot
    "2",  # keeping the cost low: a little
    "2",  # getting back to normal quickly: a little
    "2",  # few visits: a little
    "2",  # not having to travel: a little
    "1",  # knowledge 1 of 3: True
    "2",  # knowledge 2 of 3: False
    "2",  # knowledge 3 of 3: False
    "2",  # leaning: exercise or physio (no value that matters a lot conflicts with it: no nudge)
    "1",  # SURE 1 of 4: Yes
    "1",  # SURE 2 of 4: Yes
    "1",  # SURE 3 of 4: Yes
    "1",  # SURE 4 of 4: Yes
    "1",  # "you seem ready": Continue
    "1",  # summary (its buttons under its pictures): Get it as a PDF
    "2",  # summary: the PDF in large print
    "3",  # summary: Continue
    "1",  # check-ins later: No, thank you (no clinic can take a hand-off: "talk it through with your own doctor")
    "1",  # own doctor: See topics for me
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
    assert re.search(r"content: OK - \d+ states, \d+ sections, \d+ rules, languages: en, es", done.stdout)
    assert "Topic text per option" not in done.stdout  # only with --balance


def test_validate_lists_every_problem_as_path_line_message(tmp_path: Path) -> None:
    broken = tmp_path / "content"
    shutil.copytree(CONTENT, broken)
    flow = broken / "flow.yaml"
    text = flow.read_text(encoding="utf-8")
    assert text.count("action: grant_consent,") == 1 and text.count("    text: info_only\n") == 1
    text = text.replace("action: grant_consent,", "action: grant_consnet,")
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


def test_validate_checks_the_reading_level_of_spanish_topics(tmp_path: Path) -> None:
    broken = tmp_path / "content"
    shutil.copytree(CONTENT, broken)
    spanish = broken / "texts" / "es.general.yaml"
    lines = spanish.read_text(encoding="utf-8").splitlines(keepends=True)
    title = lines.index('    title: "ℹ️ Sobre esta guía"\n')
    body, keywords = title + 1, next(n for n in range(title, len(lines)) if lines[n].startswith("    keywords:"))
    assert lines[body] == "    body: |\n"
    hard = (
        "La administración percutánea de células estromales mesenquimales autólogas demuestra características "
        "metodológicas heterogéneas, documentación radiológica inconsistente y evaluación longitudinal "
        "insuficiente de resultados neurológicos funcionales en enfermedades degenerativas."
    )
    lines[body:keywords] = [f'    body: "{hard}"\n']
    spanish.write_text("".join(lines), encoding="utf-8")

    done = run_bot("validate", "--content", str(broken))
    assert done.returncode == 1
    printed = done.stdout.splitlines()
    assert len(printed) == 1, done.stdout
    assert printed[0].startswith(f"{spanish}:{body + 1}: 'section.about.body' (es) scores "), printed[0]
    assert "Fernández-Huerta" in printed[0] and "needs 70 or above" in printed[0]
    assert main(["diagram", "--content", str(broken), "--output", str(tmp_path / "flow.mmd")]) == 0  # the bot runs


def test_validate_balance_prints_each_options_share(content: Content, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--balance", "--content", str(CONTENT)]) == 0
    out = capsys.readouterr().out
    assert "Topic text per option" in out and "35%" in out
    shares = topic_balance(content)
    assert [share.option for share in shares] == [option.id for option in content.options] + [GENERAL]
    rows = dict(re.findall(r"^  (\S+)\s+(\d+) words\s+[\d.]+%", out, flags=re.MULTILINE))
    for share in shares:
        line = next(line for line in out.splitlines() if line.startswith(f"  {share.option} "))
        assert re.fullmatch(rf"  {share.option}\s+{share.words} words\s+{share.share * 100:.1f}%", line), line
        assert int(rows[share.option]) == share.words
    total = sum(share.words for share in shares)
    assert re.search(rf"^  all topics\s+{total} words$", out, flags=re.MULTILINE)
    assert "OVER" not in out


def test_no_option_has_more_than_its_share_of_the_topics(content: Content) -> None:
    shares = topic_balance(content)
    assert abs(sum(share.share for share in shares) - 1) < 1e-9
    over = {share.option: round(share.share, 3) for share in shares if share.option != GENERAL and share.share > GOAL}
    assert over == {}, f"over {GOAL:.0%} of all topic words"
    for share in shares:
        bodies = [s.body for s in content.sections if (s.option or GENERAL) == share.option]
        assert share.words == sum(len(plain_text(content.texts.get("en", b)).split()) for b in bodies)
        assert share.over_goal == (share.option != GENERAL and share.share > GOAL)
    assert all(share.words > 0 for share in shares), "every option has a topic"


def test_validate_balance_flags_an_option_over_its_share(tmp_path: Path) -> None:
    lopsided = tmp_path / "content"
    shutil.copytree(CONTENT, lopsided)
    stem_cells = lopsided / "texts" / "en.stemcells.yaml"
    text = stem_cells.read_text(encoding="utf-8")
    assert text.count("    body: |\n") >= 8  # the stem cell topics
    extra = "      Stem cells are cells that can grow into other cells.\n" * 8  # 80 more words in each
    stem_cells.write_text(text.replace("    body: |\n", "    body: |\n" + extra), encoding="utf-8")
    done = run_bot("validate", "--balance", "--content", str(lopsided))
    assert done.returncode == 0, done.stdout + done.stderr  # a goal, not an error
    flagged = [line for line in done.stdout.splitlines() if line.endswith("OVER")]
    assert len(flagged) == 1 and flagged[0].startswith("  stem_cells "), done.stdout


# --- console ----------------------------------------------------------------------------------------


def test_console_completes_a_low_back_conversation(content: Content) -> None:
    done = run_bot("console", "--content", str(CONTENT), stdin="\n".join(LOW_BACK_LINES) + "\n")
    assert done.returncode == 0, done.stderr
    output = done.stdout
    assert output.splitlines()[-1] == "(state: menu)"
    assert first_line(content, "welcome") in output
    for key in ("safety.cauda", "safety.legs", "safety.neck", "safety.other", "consent.ask"):
        assert first_line(content, key) in output
    assert first_line(content, "urgent.advice") not in output
    assert plain_text(content.texts.get("en", "outcome.may_be_discussed.title")) in output
    assert first_line(content, "comparison.intro") in output
    assert plain_text(content.texts.get("en", "option.stem_cells.figures")) in output
    assert first_line(content, "values.ask") in output
    for key in ("knowledge.waiting_why", "knowledge.cells_proven_why", "knowledge.surgery_sure_why"):
        assert first_line(content, key) in output  # each statement is explained
    assert first_line(content, "leaning.ask") in output
    assert first_line(content, "nudge.intro") not in output
    assert first_line(content, "sure.high") in output
    assert first_line(content, "sure.low") not in output
    assert first_line(content, "summary.intro") in output
    goal = plain_text(content.texts.get("en", "goal.short"))
    assert f"{goal}: walk to the shops" in output  # the summary repeats the answers
    values = plain_text(content.texts.get("en", "values.short"))
    proven = plain_text(content.texts.get("en", "values.proven"))
    a_lot = plain_text(content.texts.get("en", "weighted.a_lot"))
    assert f"{values}: " in output and f"{proven}: {a_lot}" in output  # what matters, weighted
    assert output.count(first_line(content, "summary.pdf_caption")) == 2  # the PDF and the large-print one
    assert first_line(content, "follow_up.offer") in output
    assert first_line(content, "own_doctor") in output  # no clinic can take a hand-off
    assert first_line(content, "handoff.choose") not in output
    assert first_line(content, "menu.intro") in output
    assert "> walk to the shops" in output
    assert "(no button" not in output


def picture_notes(output: str) -> list[tuple[str, str]]:
    """Each '[picture: <figure>...]' line of the console's output, as (the note, the line after it)."""
    lines = output.splitlines()
    return [(line, lines[n + 1]) for n, line in enumerate(lines[:-1]) if line.startswith("[picture: ")]


# The pictures of the low-back conversation: the options table at the comparison, then after the summary the
# first figure of exercise (where the patient leans) and of stem cells (its comparator).
LOW_BACK_PICTURES = ["options_table", "physio_then_surgery", "cells_vs_dummy_6_months"]


def test_console_says_where_a_picture_would_be_sent_with_its_caption(content: Content, tmp_path: Path) -> None:
    done = run_bot("console", "--content", str(CONTENT), stdin="\n".join(LOW_BACK_LINES) + "\n", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    notes = picture_notes(done.stdout)
    assert [note for note, _ in notes] == [f"[picture: {figure}]" for figure in LOW_BACK_PICTURES]
    for (_, caption), figure in zip(notes, LOW_BACK_PICTURES, strict=True):
        assert caption == first_line(content, f"figure.{figure}.caption")  # its text alternative, under it
    lines = done.stdout.splitlines()
    table = lines.index("[picture: options_table]")
    assert first_line(content, "comparison.intro") in "\n".join(lines[:table])  # after the comparison
    assert lines[table + 2 : table + 4] == [  # the comparison's buttons, under the table
        f"   [1] {content.texts.get('en', 'common.continue')}",
        f"   [2] {content.texts.get('en', 'common.back')}",
    ]
    assert list(tmp_path.rglob("*.png")) == [], "no file without --pictures"


def test_console_writes_each_picture_as_png_with_pictures_dir(content: Content, tmp_path: Path) -> None:
    folder = tmp_path / "pictures"
    stdin = "\n".join(LOW_BACK_LINES) + "\n"
    done = run_bot("console", "--content", str(CONTENT), "--pictures", str(folder), stdin=stdin, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    written = [folder / f"{figure}-en.png" for figure in LOW_BACK_PICTURES]
    assert [note for note, _ in picture_notes(done.stdout)] == [
        f"[picture: {figure}] written to {path}" for figure, path in zip(LOW_BACK_PICTURES, written, strict=True)
    ]
    assert sorted(folder.iterdir()) == sorted(written)
    for path in written:
        with Image.open(path) as image:
            assert image.format == "PNG" and image.width >= 1000, path
            image.load()  # the whole picture decodes
    assert Pictures(content).png("options_table", "en") == written[0].read_bytes()  # the picture Telegram gets


def test_console_stops_at_a_red_flag(content: Content) -> None:
    done = run_bot("console", "--content", str(CONTENT), stdin="1\n1\n")
    assert done.returncode == 0, done.stderr
    output = done.stdout
    assert output.splitlines()[-1] == "(state: emergency_cauda)"
    assert first_line(content, "emergency.cauda") in output
    assert first_line(content, "consent.ask") not in output  # the safety questions come before consent
    restart = content.texts.get("en", "common.restart")
    assert output.splitlines()[-2].strip() == f"[1] {restart}", "only a button to start again"


def test_console_words_and_wrong_numbers(content: Content) -> None:
    done = run_bot("console", "--content", str(CONTENT), stdin="1\n9\nback\nback\nmenu\n/help\nquit\n1\n")
    assert done.returncode == 0, done.stderr
    output = done.stdout
    assert "(no button 9; choose 1-4)" in output  # yes, not sure, no, back
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
        targets = [branch.to for exit_ in kind_of(state).exits(state) for branch in branches(exit_.next)]
        for target in targets:
            assert f"{state.id} --> {target}" in diagram
    assert f"[*] --> {content.flow.start}" in diagram


def test_diagram_output_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "flow.mmd"
    assert main(["diagram", "--content", str(CONTENT), "--output", str(target)]) == 0
    assert str(target) in capsys.readouterr().out
    written = target.read_text(encoding="utf-8")
    assert "stateDiagram-v2" in written
    assert "welcome --> safety_cauda" in written
    assert "safety_other --> consent" in written


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

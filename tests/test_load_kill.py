"""tests/load_kill at CI size: patients walk whole conversations while the bot's processes are SIGKILLed, in both
modes on both databases: long polling on each, and webhooks with one worker on SQLite and three on PostgreSQL."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.load_kill import MUST_BE_ZERO

ROOT = Path(__file__).resolve().parent.parent
PATIENTS, KILLS = 30, 3
RUNS = {
    "polling on SQLite": (["--mode", "polling", "--database", "sqlite"], 130),
    "polling on PostgreSQL": (["--mode", "polling", "--database", "postgres"], 130),
    "1 webhook worker on SQLite": (["--mode", "webhook", "--database", "sqlite", "--workers", "1"], 130),
    "3 webhook workers on PostgreSQL": (["--mode", "webhook", "--database", "postgres", "--workers", "3"], 130),
}


def count(table: str, name: str) -> int | None:
    """The value of one row of the table (None when the row is missing)."""
    match = re.search(rf"^{re.escape(name)} +(\d+)(  |$)", table, re.MULTILINE)
    return int(match.group(1)) if match else None


@pytest.mark.slow
@pytest.mark.parametrize("run", list(RUNS))
def test_patients_lose_nothing_and_nothing_is_applied_twice_when_processes_are_killed(tmp_path: Path, run: str) -> None:
    options, seconds = RUNS[run]
    command = [sys.executable, "-m", "tests.load_kill", *options, "--patients", str(PATIENTS), "--kills", str(KILLS)]
    command += ["--seconds", str(seconds), "--workdir", str(tmp_path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False, cwd=ROOT)
    table, output = done.stdout, done.stdout + done.stderr
    mode, database = options[1], options[3]
    assert re.search(rf"^load-kill: mode {mode}, database {database}\b", table, re.MULTILINE), output
    counts = {name: count(table, name) for name in MUST_BE_ZERO}
    assert [name for name, value in counts.items() if value is None] == [], f"the table is missing counts\n{output}"
    assert {name: value for name, value in counts.items() if value} == {}, output
    assert (count(table, "kills (SIGKILL)") or 0) >= KILLS, output
    assert count(table, "patients finished") == PATIENTS, output
    consented = count(table, "hand-offs consented (through a clinic link)")
    assert consented == PATIENTS // 5, output  # one patient in five sends a hand-off
    assert count(table, "repeated hand-off parts (a worker died sending)") is not None, output
    assert "result: OK" in table, output
    assert done.returncode == 0, output

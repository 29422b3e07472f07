"""tests/load_kill.py at CI size: patients walk whole conversations while the bot process is SIGKILLed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.load_kill import MUST_BE_ZERO

SCRIPT = Path(__file__).resolve().parent / "load_kill.py"
PATIENTS, KILLS, SECONDS = 40, 5, 180


@pytest.mark.slow
def test_patients_lose_nothing_and_nothing_is_applied_twice_when_the_bot_is_killed(tmp_path: Path) -> None:
    command = [sys.executable, str(SCRIPT), "--patients", str(PATIENTS), "--kills", str(KILLS)]
    command += ["--seconds", str(SECONDS), "--workdir", str(tmp_path)]
    run = subprocess.run(command, capture_output=True, text=True, timeout=SECONDS + 60, check=False)
    output = run.stdout + run.stderr
    counts = {
        name: int(match.group(1))
        for name in MUST_BE_ZERO
        if (match := re.search(rf"^{re.escape(name)} +(\d+) ", run.stdout, re.MULTILINE))
    }
    assert set(counts) == set(MUST_BE_ZERO), f"the table is missing counts\n{output}"
    assert {name: value for name, value in counts.items() if value} == {}, output
    kills = re.search(r"^kills \(SIGKILL\) +(\d+)$", run.stdout, re.MULTILINE)
    assert kills is not None and int(kills.group(1)) >= KILLS, output
    assert "result: OK" in run.stdout, output
    assert run.returncode == 0, output

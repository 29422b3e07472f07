"""`python -m bench --quick` runs and writes the documented JSON shape (no performance thresholds here)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
CASE_KEYS = {"updates_per_s", "p50_ms", "p95_ms", "p99_ms", "peak_rss_mb"}
SCALE_KEYS = {"sessions", "store", "startup_s", "rss_mb", "bytes_per_session"}
LATENCY_KEYS = {
    "rtt_ms",
    "patients",
    "bot_visible_p50_ms",
    "bot_visible_p95_ms",
    "baseline_b_visible_p50_ms",
    "baseline_b_visible_p95_ms",
    "ratio_to_baseline_b",
}
LATENCY_CASE_KEYS = {"taps", "visible_p50_ms", "visible_p95_ms", "visible_p99_ms", "handled_p50_ms", "api_p50_ms"}


def positive(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0


@pytest.mark.slow
def test_quick_bench_writes_every_case_and_scale_row(tmp_path: Path) -> None:
    output = tmp_path / "bench.json"
    process = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--json", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert process.returncode == 0, process.stderr[-3000:]
    assert "baseline_b" in process.stdout  # the table was printed
    results = json.loads(output.read_text(encoding="utf-8"))

    cases = results["cases"]
    assert set(cases) == {"baseline_a", "baseline_b", "bot"}
    for name, case in cases.items():
        assert set(case) >= CASE_KEYS, name
        assert all(positive(case[key]) for key in CASE_KEYS), (name, case)
        assert case["p50_ms"] <= case["p95_ms"] <= case["p99_ms"], (name, case)
    bot = cases["bot"]
    assert positive(bot["ratio_to_baseline_b"])
    assert math.isclose(bot["ratio_to_baseline_b"], bot["updates_per_s"] / cases["baseline_b"]["updates_per_s"])
    assert bot["sessions_in_menu"] == bot["sessions"] > 0
    assert bot["updates"] >= bot["sessions"] * 20  # a complete conversation each

    latency = results["latency"]
    assert set(latency) >= LATENCY_KEYS
    assert all(positive(latency[key]) for key in LATENCY_KEYS), latency
    rtt = latency["rtt_ms"]
    assert rtt == results["params"]["rtt_ms"] == 40  # the default network model
    assert latency["patients"] == results["params"]["latency_patients"]
    for name in ("bot", "baseline_b"):
        assert latency[f"{name}_visible_p50_ms"] <= latency[f"{name}_visible_p95_ms"], latency
        assert latency[f"{name}_visible_p50_ms"] >= rtt, latency  # at least one round trip before the question
        case = latency[name]
        assert set(case) >= LATENCY_CASE_KEYS, name
        assert all(positive(case[key]) for key in LATENCY_CASE_KEYS), (name, case)
        assert case["visible_p50_ms"] == latency[f"{name}_visible_p50_ms"]
        assert case["taps"] >= latency["patients"] * 20  # every patient walked
        assert case["api_p50_ms"] >= rtt  # waited for the stand-in
        assert case["call_sequences"] and "|" in case["call_sequences"][0]["calls"]
    assert math.isclose(
        latency["ratio_to_baseline_b"], latency["bot_visible_p50_ms"] / latency["baseline_b_visible_p50_ms"]
    )

    scale = results["scale"]
    assert {row["store"] for row in scale} == {"ours", "ptb_pickle"}
    sizes = {row["sessions"] for row in scale}
    assert len(sizes) >= 2
    for size in sizes:
        assert {row["store"] for row in scale if row["sessions"] == size} == {"ours", "ptb_pickle"}
    for row in scale:
        assert set(row) >= SCALE_KEYS, row
        assert all(positive(row[key]) for key in ("sessions", "startup_s", "rss_mb")), row
        assert positive(row["bytes_per_session"]), row
        if row["store"] == "ours":
            assert positive(row["p99_ms"]), row
            assert row["events_per_session"] >= 1, row  # stage events are part of what a session costs
        else:
            assert row["answers_compared"] > 0, row  # the pickle holds the database's answers

    assert positive(results["content"]["load_s"])

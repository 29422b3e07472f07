"""`python -m bench`: run every case in its own process, print the tables, optionally write JSON."""

from __future__ import annotations

import argparse
import json
import os
import platform
import pstats
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.child import RESULT_MARKER

ROOT = Path(__file__).resolve().parent.parent
CASES = ("baseline_a", "baseline_b", "bot")
DEFAULT_PATIENTS, QUICK_PATIENTS = 1000, 50
DEFAULT_LATENCY_PATIENTS, QUICK_LATENCY_PATIENTS = 100, 20
DEFAULT_THINK_MS, QUICK_THINK_MS = 1000.0, 100.0  # a patient reads the question before tapping
DEFAULT_RTT_MS = 40
DEFAULT_SCALE, QUICK_SCALE = (10_000, 100_000, 1_000_000), (1_000, 10_000)
SCALE_UPDATES = 1000
STARTUP_RUNS = 3  # start-up varies by +-0.2 s from run to run here: the median of fresh processes is reported
PICKLE_REPEAT_MAX = 100_000  # above this, one PicklePersistence start only (a 1M start takes about a minute)
FLAT = 1.25  # "flat": the largest size costs at most this many times the smallest


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes for CI (about 30 s)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--patients", type=int, help=f"simulated patients (default {DEFAULT_PATIENTS})")
    parser.add_argument(
        "--scale", type=lambda s: [int(x) for x in s.split(",")], help="stored sessions per row, e.g. 10000,100000"
    )
    parser.add_argument("--pickle-max", type=int, help="skip PicklePersistence above this many conversations")
    parser.add_argument("--skip-scale", action="store_true", help="only the throughput cases and content")
    parser.add_argument(
        "--skip-cases", action="store_true", help="no throughput cases (the latency run has its own flag)"
    )
    parser.add_argument(
        "--rtt-ms",
        type=float,
        default=DEFAULT_RTT_MS,
        metavar="N",
        help="the latency run's network model: each Bot API call is answered N ms after it is made "
        f"(default {DEFAULT_RTT_MS})",
    )
    parser.add_argument(
        "--latency-patients",
        type=int,
        metavar="N",
        help=f"patients walking at the same time in the latency run (default {DEFAULT_LATENCY_PATIENTS}, "
        f"--quick {QUICK_LATENCY_PATIENTS})",
    )
    parser.add_argument(
        "--think-ms",
        type=float,
        metavar="N",
        help="in the latency run, a patient waits about N ms (0.5-1.5x) after seeing a question before tapping "
        f"(default {DEFAULT_THINK_MS:g}, --quick {QUICK_THINK_MS:g}; 0 taps at once, which measures a saturated "
        "process rather than round trips)",
    )
    parser.add_argument("--skip-latency", action="store_true", help="no latency run")
    parser.add_argument(
        "--postgres", metavar="URL", help="also run the bot on this PostgreSQL database (its chats are emptied first)"
    )
    parser.add_argument("--profile", type=Path, metavar="FILE", help="run only one case under cProfile, stats to FILE")
    parser.add_argument("--profile-case", choices=CASES, default="bot", help="the case --profile runs (default bot)")
    return parser.parse_args(argv)


def run_child(name: str, params: dict[str, Any], timed: bool = False) -> dict[str, Any]:
    """Run `bench.child NAME` in a fresh interpreter; its stderr passes through, its result is parsed."""
    if timed:
        params = {**params, "t0": time.time()}  # start-up is measured from just before the process is created
    command = [sys.executable, "-m", "bench.child", name, json.dumps(params)]
    process = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=False)
    results = [line for line in process.stdout.splitlines() if line.startswith(RESULT_MARKER)]
    if process.returncode != 0 or not results:
        sys.stderr.write(process.stdout)
        raise SystemExit(f"bench: {name} failed (exit status {process.returncode})")
    result: dict[str, Any] = json.loads(results[-1][len(RESULT_MARKER) :])
    return result


def progress(message: str) -> None:
    sys.stderr.write(f"[bench] {message}\n")
    sys.stderr.flush()


def machine() -> dict[str, Any]:
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram_gb = 0.0
    with open("/proc/meminfo", encoding="utf-8") as info:
        for line in info:
            if line.startswith("MemTotal:"):
                ram_gb = int(line.split()[1]) / 2**20
    from importlib.metadata import version

    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gb": round(ram_gb, 1),
        "python": platform.python_version(),
        "python_telegram_bot": version("python-telegram-bot"),
        "platform": platform.platform(),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        "source": source_version(),
    }


def source_version() -> str:
    """The commit measured, '+changes' when bot/, flows/ or content/ differ from it (read-only git calls)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        changes = subprocess.run(
            ["git", "--no-optional-locks", "status", "--porcelain", "--", "bot", "flows", "content"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + (" +changes" if changes else "")


def pick_indexes(sessions: int, used: set[int], seed: int) -> list[int]:
    """Up to SCALE_UPDATES stored sessions, spread at random over the table, not tapped before."""
    rng = random.Random(seed)
    wanted = min(SCALE_UPDATES, sessions - len(used))
    chosen: set[int] = set()
    while len(chosen) < wanted:
        index = rng.randrange(sessions)
        if index not in used:
            chosen.add(index)
    used |= chosen
    return sorted(chosen)


def run_cases(patients: int, workdir: Path, postgres: str | None = None) -> dict[str, Any]:
    cases: dict[str, Any] = {}
    names = [*CASES, "bot_postgres"] if postgres else list(CASES)
    for name in names:
        progress(f"{name}: {patients} chats ...")
        case_dir = workdir / name
        case_dir.mkdir()
        params: dict[str, Any] = {"patients": patients, "workdir": str(case_dir)}
        if name == "bot_postgres":
            params["postgres"] = postgres
        cases[name] = run_child(name, params)
    if postgres:
        cases["bot_postgres"]["ratio_to_bot"] = cases["bot_postgres"]["updates_per_s"] / cases["bot"]["updates_per_s"]
    b = cases["baseline_b"]["updates_per_s"]
    cases["bot"]["ratio_to_baseline_b"] = cases["bot"]["updates_per_s"] / b
    if postgres:
        cases["bot_postgres"]["ratio_to_baseline_b"] = cases["bot_postgres"]["updates_per_s"] / b
    cases["bot"]["ratio_to_baseline_a"] = cases["bot"]["updates_per_s"] / cases["baseline_a"]["updates_per_s"]
    cases["baseline_a"]["ratio_to_baseline_b"] = cases["baseline_a"]["updates_per_s"] / b
    cases["baseline_b"]["ratio_to_baseline_b"] = 1.0
    return cases


def run_latency(patients: int, rtt_ms: float, think_ms: float, workdir: Path) -> dict[str, Any]:
    """Baseline B and our bot under the network model (bench/latency.py): visible latency per tap."""
    found: dict[str, Any] = {}
    for name in ("baseline_b", "bot"):
        progress(f"latency: {name}, {patients} patients at once, rtt {rtt_ms:g} ms ...")
        case_dir = workdir / f"latency_{name}"
        case_dir.mkdir()
        params = {"patients": patients, "rtt_ms": rtt_ms, "think_ms": think_ms, "workdir": str(case_dir)}
        found[name] = run_child(f"latency_{name}", params)
    bot, b = found["bot"], found["baseline_b"]
    return {
        "rtt_ms": rtt_ms,
        "patients": patients,
        "think_ms": think_ms,
        "bot_visible_p50_ms": bot["visible_p50_ms"],
        "bot_visible_p95_ms": bot["visible_p95_ms"],
        "baseline_b_visible_p50_ms": b["visible_p50_ms"],
        "baseline_b_visible_p95_ms": b["visible_p95_ms"],
        "ratio_to_baseline_b": bot["visible_p50_ms"] / b["visible_p50_ms"],
        "baseline_b": b,
        "bot": bot,
    }


def median_start(first: dict[str, Any], again: list[dict[str, Any]]) -> dict[str, Any]:
    """`first` (the run with the updates) with start-up time and RSS replaced by the median over all runs."""
    runs = [first, *again]
    row = dict(first)
    for key in ("startup_s", "import_s", "build_s", "load_s", "rss_mb"):
        row[key] = statistics.median(run[key] for run in runs)
    row["peak_rss_mb"] = max(run["peak_rss_mb"] for run in runs)
    row["startup_runs"] = len(runs)
    row["startup_all_s"] = [run["startup_s"] for run in runs]
    return row


def run_scale(sizes: list[int], pickle_max: int | None, workdir: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    database = workdir / "scale.sqlite3"
    previous = 0
    template_events: int | None = None
    used: set[int] = set()
    for sessions in sorted(sizes):
        progress(f"scale: filling SQLite to {sessions:,} sessions ...")
        fill = {"database": str(database), "start": previous, "stop": sessions, "template_events": template_events}
        filled = run_child("prefill_sqlite", fill)
        template_events = filled["template_events"]
        os.sync()  # the kernel writing back a freshly written GB would otherwise slow the start-ups measured next
        previous = sessions
        progress(f"scale: ours at {sessions:,} ...")
        params = {"database": str(database), "indexes": pick_indexes(sessions, used, sessions), "step": filled["step"]}
        first = run_child("scale_ours", params, timed=True)
        again = [run_child("scale_ours", {**params, "indexes": []}, timed=True) for _ in range(STARTUP_RUNS - 1)]
        ours = median_start(first, again)
        rows.append(
            {
                "sessions": sessions,
                "store": "ours",
                **ours,
                "file_mb": filled["database_mb"],
                "bytes_per_session": filled["bytes_per_session"],
                "events_per_session": filled["events_per_session"],
                "bytes_by_table": filled["bytes_by_table"],
            }
        )
        if pickle_max is not None and sessions > pickle_max:
            rows.append({"sessions": sessions, "store": "ptb_pickle", "skipped": f"above --pickle-max {pickle_max}"})
            continue
        path = workdir / f"scale-{sessions}.pickle"
        progress(f"scale: building the pickle of {sessions:,} conversations ...")
        built = run_child(
            "prefill_pickle",
            {
                "path": str(path),
                "sessions": sessions,
                "answers": filled["answers"],
                "database": str(database),
                "tapped": sorted(used),
            },
        )
        os.sync()
        progress(f"scale: ptb_pickle at {sessions:,} ...")
        indexes = random.Random(sessions).sample(range(sessions), min(SCALE_UPDATES, sessions))
        first = run_child("scale_pickle", {"path": str(path), "indexes": indexes}, timed=True)
        repeats = STARTUP_RUNS - 1 if sessions <= PICKLE_REPEAT_MAX else 0
        again = [run_child("scale_pickle", {"path": str(path), "indexes": []}, timed=True) for _ in range(repeats)]
        theirs = median_start(first, again)
        rows.append(
            {
                "sessions": sessions,
                "store": "ptb_pickle",
                **theirs,
                "file_mb": built["file_mb"],
                "bytes_per_session": built["bytes_per_session"],
                "answers_compared": built["answers_compared"],
            }
        )
        path.unlink()
    return rows


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The goals, checked and reported (never enforced)."""
    found: list[dict[str, Any]] = []
    bot = results["cases"].get("bot")
    if bot and "ratio_to_baseline_b" in bot:
        ratio = bot["ratio_to_baseline_b"]
        found.append({"target": "bot throughput >= 1.0x baseline B", "value": f"{ratio:.2f}x", "met": ratio >= 1.0})
        baseline = results["cases"]["baseline_b"]
        tail = bot["p99_ms"] / baseline["p99_ms"]
        found.append(
            {
                "target": f"bot p99 <= 2.5x baseline B's at {bot['sessions']} interleaved chats",
                "value": f"{bot['p99_ms']:.2f} ms against {baseline['p99_ms']:.2f} ms ({tail:.2f}x)",
                "met": tail <= 2.5,
            }
        )
    latency = results.get("latency") or {}
    if "ratio_to_baseline_b" in latency:
        ratio = latency["ratio_to_baseline_b"]
        found.append(
            {
                "target": "time until the next question shows (p50) <= 0.6x baseline B's",
                "value": f"{ratio:.2f}x at rtt {latency['rtt_ms']:g} ms",
                "met": ratio <= 0.6,
            }
        )
    for sessions in sorted({r["sessions"] for r in results["scale"]}):
        rows = {r["store"]: r for r in results["scale"] if r["sessions"] == sessions and "bytes_per_session" in r}
        if {"ours", "ptb_pickle"} <= set(rows):
            ratio = rows["ours"]["bytes_per_session"] / rows["ptb_pickle"]["bytes_per_session"]
            found.append(
                {
                    "target": f"bytes per session <= 3x the pickle's at {sessions:,} sessions",
                    "value": f"{rows['ours']['bytes_per_session']:,.0f} B against "
                    f"{rows['ptb_pickle']['bytes_per_session']:,.0f} B ({ratio:.2f}x)",
                    "met": ratio <= 3.0,
                }
            )
    ours = [r for r in results["scale"] if r["store"] == "ours"]
    if len(ours) >= 2:
        first, last = ours[0], ours[-1]
        for key, label in (("startup_s", "start-up"), ("rss_mb", "RSS after start")):
            ratio = last[key] / first[key]
            found.append(
                {
                    "target": f"{label} flat from {first['sessions']:,} to {last['sessions']:,} sessions",
                    "value": f"{first[key]:.2f} -> {last[key]:.2f} ({ratio:.2f}x)",
                    "met": ratio <= FLAT,
                }
            )
    return found


def print_latency(latency: dict[str, Any]) -> None:
    think = f", thinking ~{latency['think_ms']:g} ms before each tap" if latency["think_ms"] else ""
    print()
    print(
        f"latency at rtt {latency['rtt_ms']:g} ms, {latency['patients']} patients at once{think}; ms from a tap's "
        "arrival until the call showing the next question is answered, and its p50 parts:"
    )
    print(
        f"{'case':<11} {'taps':>6} {'p50':>7} {'p95':>7} {'p99':>7} {'handled':>8} | {'1st call':>8} "
        f"{'API':>6} {'store':>6} {'rest':>6} {'API waits':>9} {'calls/tap':>9} {'CPU busy':>8}"
    )
    for name in ("baseline_b", "bot"):
        c = latency[name]
        print(
            f"{name:<11} {c['taps']:>6} {c['visible_p50_ms']:>7.1f} {c['visible_p95_ms']:>7.1f} "
            f"{c['visible_p99_ms']:>7.1f} {c['handled_p50_ms']:>8.1f} | {c['first_call_p50_ms']:>8.1f} "
            f"{c['api_p50_ms']:>6.1f} {c['store_p50_ms']:>6.1f} {c['rest_p50_ms']:>6.1f} "
            f"{c['api_waits_before_visible_mean']:>9.2f} {c['api_calls_per_tap']:>9.2f} {c['cpu_busy']:>8.0%}"
        )
    print(f"bot / baseline_b visible p50: {latency['ratio_to_baseline_b']:.2f}x")
    for name in ("baseline_b", "bot"):
        top = latency[name]["call_sequences"][0]
        share = top["taps"] / latency[name]["taps"]
        print(f"{name}, {share:.0%} of taps: {top['calls']}   (| = the next question is visible)")


def print_report(results: dict[str, Any]) -> None:
    info = results["machine"]
    print(f"$ {results['command']}   (source {info['source']})")
    print(
        f"{info['nproc']} cores, {info['cpu']}, {info['ram_gb']} GB RAM, Python {info['python']}, "
        f"python-telegram-bot {info['python_telegram_bot']}; load average at start {info['loadavg_start'][0]}, "
        f"at end {info['loadavg_end'][0]} (other processes make the numbers noisy)"
    )
    cases = results["cases"]
    if cases:
        print()
        print(
            f"{'case':<11} {'chats':>6} {'updates':>8} {'updates/s':>10} {'vs B':>6} "
            f"{'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7} {'peak RSS MB':>12}"
        )
        for name in (*CASES, "bot_postgres"):
            if name not in cases:
                continue
            c = cases[name]
            ratio = f"{c['ratio_to_baseline_b']:.2f}x" if "ratio_to_baseline_b" in c else "-"
            print(
                f"{name:<11} {c['sessions']:>6} {c['updates']:>8} {c['updates_per_s']:>10,.0f} {ratio:>6} "
                f"{c['p50_ms']:>7.3f} {c['p95_ms']:>7.3f} {c['p99_ms']:>7.3f} {c['max_ms']:>7.2f} "
                f"{c['peak_rss_mb']:>12.1f}"
            )
        if "bot" in cases:
            bot = cases["bot"]
            print(
                f"bot: {bot['updates']} updates processed ({bot['updates_per_session']:.0f} per patient), "
                f"{bot['sessions_in_menu']}/{bot['sessions']} sessions ended in state 'menu'"
            )
        if "bot_postgres" in cases:
            print(f"bot_postgres: {cases['bot_postgres']['ratio_to_bot']:.2f}x the SQLite bot's updates/s")
    if results.get("latency"):
        print_latency(results["latency"])
    content = results.get("content")
    if content:
        print()
        print(
            f"content: load + validate {content['load_s'] * 1000:.0f} ms (first run in the process "
            f"{content['first_load_s'] * 1000:.0f} ms), engine build {content['engine_s'] * 1000:.1f} ms"
        )
        if "validate_first_s" in content:
            print(f"content: full validation with the reading-grade check {content['validate_first_s']:.2f} s")
    if results["scale"]:
        print()
        print(
            f"{'sessions':>9} {'store':<10} {'startup s':>9} {'load s':>7} {'RSS MB':>7} {'peak MB':>8} "
            f"{'p50 ms':>7} {'p99 ms':>7} {'file MB':>8} {'B/session':>10} {'flush s':>8}"
        )
        for row in results["scale"]:
            if "skipped" in row:
                print(f"{row['sessions']:>9,} {row['store']:<10} skipped: {row['skipped']}")
                continue
            flush = f"{row['flush_s']:.2f}" if "flush_s" in row else "-"
            print(
                f"{row['sessions']:>9,} {row['store']:<10} {row['startup_s']:>9.2f} {row['load_s']:>7.3f} "
                f"{row['rss_mb']:>7.1f} {row['peak_rss_mb']:>8.1f} {row['p50_ms']:>7.3f} {row['p99_ms']:>7.3f} "
                f"{row['file_mb']:>8.1f} {row['bytes_per_session']:>10,.0f} {flush:>8}"
            )
    if results["targets"]:
        print()
        print("targets (goals, not enforced):")
        for target in results["targets"]:
            print(f"  {'met   ' if target['met'] else 'MISSED'} {target['target']}: {target['value']}")
    print(f"\ntotal {results['total_s']:.0f} s")


def profile(path: Path, case: str, patients: int) -> int:
    with tempfile.TemporaryDirectory(prefix="bench-") as workdir:
        progress(f"{case} under cProfile: {patients} chats ...")
        result = run_child(case, {"patients": patients, "workdir": workdir, "profile": str(path.resolve())})
    print(f"{case} under cProfile: {result['updates']} updates, {result['updates_per_s']:,.0f} updates/s (profiled)")
    for order in ("cumulative", "tottime"):
        print(f"\n--- top 30 by {order} ---")
        pstats.Stats(str(path)).strip_dirs().sort_stats(order).print_stats(30)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    patients = args.patients or (QUICK_PATIENTS if args.quick else DEFAULT_PATIENTS)
    latency_patients = args.latency_patients or (QUICK_LATENCY_PATIENTS if args.quick else DEFAULT_LATENCY_PATIENTS)
    if args.think_ms is None:
        args.think_ms = QUICK_THINK_MS if args.quick else DEFAULT_THINK_MS
    with_latency = not args.skip_latency
    if args.profile:
        return profile(args.profile, args.profile_case, patients)
    sizes = args.scale or list(QUICK_SCALE if args.quick else DEFAULT_SCALE)
    started = time.perf_counter()
    results: dict[str, Any] = {
        "command": " ".join(["python -m bench", *(argv if argv is not None else sys.argv[1:])]),
        "quick": args.quick,
        "machine": machine(),
        "params": {
            "patients": 0 if args.skip_cases else patients,
            "scale_sizes": [] if args.skip_scale else sizes,
            "rtt_ms": args.rtt_ms if with_latency else None,
            "think_ms": args.think_ms if with_latency else None,
            "latency_patients": latency_patients if with_latency else 0,
        },
    }
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        workdir = Path(tmp)
        results["cases"] = {} if args.skip_cases else run_cases(patients, workdir, args.postgres)
        results["latency"] = run_latency(latency_patients, args.rtt_ms, args.think_ms, workdir) if with_latency else {}
        progress("content ...")
        results["content"] = run_child("content", {"runs": 5})
        results["scale"] = [] if args.skip_scale else run_scale(sizes, args.pickle_max, workdir)
    results["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    results["targets"] = targets(results)
    results["total_s"] = time.perf_counter() - started
    print_report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0

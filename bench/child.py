"""`python -m bench.child NAME PARAMS_JSON`: run one measurement in this fresh process and print its result.

The result is the last stdout line, prefixed with RESULT_MARKER. The process ends with os._exit so that
freeing millions of objects at exit is not part of anyone's measurement.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import sys
from collections.abc import Callable
from typing import Any

RESULT_MARKER = "BENCH-RESULT "


def _children() -> dict[str, Callable[[dict[str, Any]], Any]]:
    from bench import cases, latency, scale

    return {
        "baseline_a": cases.baseline_a,
        "baseline_b": cases.baseline_b,
        "bot": cases.bot,
        "bot_postgres": cases.bot_postgres,
        "content": cases.content,
        "latency_baseline_b": latency.latency_baseline_b,
        "latency_bot": latency.latency_bot,
        "prefill_sqlite": scale.prefill_sqlite,
        "prefill_pickle": scale.prefill_pickle,
        "scale_ours": scale.scale_ours,
        "scale_pickle": scale.scale_pickle,
    }


def main(argv: list[str]) -> int:
    name, raw = argv[1], argv[2]
    params: dict[str, Any] = json.loads(raw)
    function = _children()[name]
    result = asyncio.run(function(params)) if inspect.iscoroutinefunction(function) else function(params)
    from bench.stats import peak_rss_mb

    result.setdefault("peak_rss_mb", peak_rss_mb())
    sys.stdout.write(RESULT_MARKER + json.dumps(result) + "\n")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))

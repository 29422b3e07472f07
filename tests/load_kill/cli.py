"""The command line of the load-and-kill run: `python -m tests.load_kill --help`."""

from __future__ import annotations

import argparse
import random

from tests.load_kill.patients import HANDOFF_EVERY
from tests.load_kill.scheduler import Run
from tests.load_kill.telegram import WEBHOOK_CONNECTIONS

MODES = ("polling", "webhook")
DATABASES = ("sqlite", "postgres")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.load_kill",
        description="Patients walk whole conversations with the real bot process(es) while they are SIGKILLed.",
    )
    parser.add_argument("--mode", choices=MODES, default="polling", help="how Telegram hands out updates")
    parser.add_argument("--database", choices=DATABASES, default="sqlite", help="where the bot keeps its data")
    parser.add_argument("--postgres-url", help="an empty PostgreSQL database (default: a throwaway server)")
    parser.add_argument("--workers", type=int, default=1, help="webhook workers, each on its own port (1-16)")
    parser.add_argument("--patients", type=int, default=40, help="simulated patients at once (1-5000)")
    parser.add_argument("--kills", type=int, default=5, help="at least this many SIGKILLs (0-100)")
    parser.add_argument("--seconds", type=float, default=120.0, help="time bound of the whole run (20-3600)")
    parser.add_argument(
        "--handoff-every",
        type=int,
        default=HANDOFF_EVERY,
        help="every N-th patient comes through a clinic link and sends a hand-off (0: none)",
    )
    parser.add_argument("--patience", type=float, default=120.0, help="a reply later than this is a failure (s)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: drawn, and printed)")
    parser.add_argument(
        "--connections",
        type=int,
        default=WEBHOOK_CONNECTIONS,
        help=f"webhook requests Telegram makes at once (its default: {WEBHOOK_CONNECTIONS})",
    )
    parser.add_argument("--confirm-delay", type=float, default=0.25, help="network delay of a getUpdates (s)")
    parser.add_argument("--workdir", help="folder for the database, logs and snapshot (default: a new temp folder)")
    args = parser.parse_args(argv)
    if not (
        1 <= args.patients <= 5000
        and 0 <= args.kills <= 100
        and 20 <= args.seconds <= 3600
        and 1 <= args.workers <= 16
        and 1 <= args.connections <= 100
        and args.handoff_every >= 0
        and args.patience > 0
    ):
        parser.error(
            "out of bounds: --patients 1-5000, --kills 0-100, --seconds 20-3600, --workers 1-16, --connections 1-100"
        )
    if args.mode == "polling" and args.workers != 1:
        parser.error("--workers: long polling runs one process (several would fetch the same updates)")
    if args.workers > 1 and args.database == "sqlite":
        parser.error("--workers above 1 needs --database postgres: SQLite serves one process")
    if args.postgres_url and args.database != "postgres":
        parser.error("--postgres-url goes with --database postgres")
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1_000_000)
    return args


def main(argv: list[str] | None = None) -> int:
    return Run(parse(argv)).run()

"""The one entry point: `python -m bot <command>` for the bot and the maintainers' tools."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date
from pathlib import Path

from bot.settings import ConfigError, load_settings
from bot.storage import StorageError
from flows.content import Content
from flows.engine import Engine
from flows.loader import load_content


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Spinal stenosis decision-aid bot. Without a command, runs the bot (long polling).",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("run", help="run the bot with long polling (needs TELEGRAM_BOT_TOKEN)")
    webhook = commands.add_parser("webhook", help="serve Telegram webhooks on PORT (needs WEBHOOK_URL, WEBHOOK_SECRET)")
    webhook.add_argument(
        "--workers", type=int, default=1, help="worker processes (more than 1 needs DATABASE_URL: PostgreSQL)"
    )
    validate = commands.add_parser("validate", help="check all content; prints path:line: message (hint)")
    validate.add_argument(
        "--balance", action="store_true", help="also print the share of topic text per option (goal: none over 35%%)"
    )
    console = commands.add_parser("console", help="chat with the flow in this terminal, without Telegram")
    console.add_argument("--language", default="en", help="language code of the texts (default: en)")
    console.add_argument("--pictures", type=Path, metavar="DIR", help="also write every picture shown, as PNG")
    diagram = commands.add_parser("diagram", help="write the flow as a Mermaid state diagram")
    diagram.add_argument("--output", "-o", type=Path, help="file to write (default: print it)")
    link = commands.add_parser("link", help="print a clinic's referral link, optionally as a QR code")
    link.add_argument("code", help="the clinic's code in content/clinics.yaml")
    link.add_argument("--username", help="the bot's username (default: asked from Telegram with the token)")
    link.add_argument("--qr", type=Path, metavar="FILE", help="also write a QR code (.png or .svg)")
    stats = commands.add_parser("stats", help="funnel counts per clinic and week (cells under 5 shown as <5)")
    stats.add_argument("--clinic", help="only this clinic's code")
    stats.add_argument("--since", type=_date, help="only events from this date (YYYY-MM-DD)")
    stats.add_argument("--dropoff", action="store_true", help="also: chats idle over 24 h, per state of the flow")
    stats.add_argument("--chart", type=Path, metavar="FILE", help="also draw the funnel per clinic and week (PNG)")
    backup = commands.add_parser("backup", help="write a consistent copy of the database while the bot runs")
    backup.add_argument("file", type=Path, help="where to write the copy")
    commands.add_parser("purge", help="erase chats idle for longer than RETENTION_DAYS")
    export = commands.add_parser("export", help="print everything stored about one chat, as JSON")
    export.add_argument("chat_id", type=int, help="the Telegram chat id")
    preview = commands.add_parser("preview", help="write the whole conversation as a static web site, for reviewers")
    preview.add_argument("--out", required=True, type=Path, metavar="DIR", help="folder for the site (new or empty)")
    preview.add_argument("--content", type=Path, help="content folder (default: CONTENT_DIR or ./content)")
    move = commands.add_parser("migrate-store", help="copy everything from the SQLite file to PostgreSQL")
    move.add_argument("--to", required=True, metavar="URL", help="postgresql://user:password@host:5432/db")
    for sub in (validate, console, diagram, link):
        sub.add_argument("--content", type=Path, help="content folder (default: CONTENT_DIR or ./content)")
    return parser


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-01") from None


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the process exit code."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "validate":
            return _validate(_content_dir(args), args.balance)
        if args.command == "console":
            engine = Engine(_load_or_exit(_content_dir(args)))
            from bot.console import run_console

            return run_console(engine, sys.stdin, print, args.language, args.pictures)
        if args.command == "diagram":
            return _diagram(_load_or_exit(_content_dir(args)), args.output)
        if args.command == "preview":
            from bot.preview import command

            return command(_content_dir(args), args.out)
        if args.command == "link":
            return _link(_load_or_exit(_content_dir(args)), args)
        if args.command in ("stats", "backup", "purge", "export", "migrate-store"):
            return asyncio.run(_maintenance(args))
        from bot.run import run_polling, run_webhook

        settings = load_settings()
        return run_webhook(settings, args.workers) if args.command == "webhook" else run_polling(settings)
    except (ConfigError, StorageError) as error:
        print(error, file=sys.stderr)
        return 2


def _content_dir(args: argparse.Namespace) -> Path:
    if args.content is not None:
        return Path(args.content)
    return load_settings().content_dir


def _load_or_exit(folder: Path) -> Content:
    result = load_content(folder)
    if result.content is None:
        for problem in result.problems:
            print(problem, file=sys.stderr)
        raise ConfigError(f"content in {folder} has {len(result.problems)} problem(s): run python -m bot validate")
    return result.content


def _validate(folder: Path, balance: bool = False) -> int:
    result = load_content(folder, readability=True)
    for problem in result.problems:
        print(problem)
    if result.content is None:
        print(f"{len(result.problems)} problem(s) found in {folder}", file=sys.stderr)
        return 1
    content = result.content
    print(
        f"{folder}: OK - {len(content.flow.states)} states, {len(content.sections)} sections, "
        f"{len(content.candidacy.rules)} rules, languages: {', '.join(content.texts.languages)} "
        f"(version {content.version})"
    )
    if balance:
        _print_balance(content)
    return 0


def _print_balance(content: Content) -> None:
    from flows.balance import GOAL, topic_balance

    shares = topic_balance(content)
    total = sum(share.words for share in shares)
    print(f"\nTopic text per option (English words of the topic bodies; goal: no option over {GOAL:.0%}):")
    for share in shares:
        flag = "  OVER" if share.over_goal else ""
        print(f"  {share.option:<12} {share.words:>6} words  {share.share:6.1%}{flag}")
    print(f"  {'all topics':<12} {total:>6} words")


def _diagram(content: Content, output: Path | None) -> int:
    text = Engine(content).machine.mermaid()
    if output is None:
        print(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        print(f"wrote {output}")
    return 0


def _link(content: Content, args: argparse.Namespace) -> int:
    from bot.links import bot_username, referral_link, write_qr

    if args.code not in content.clinic_by_code:
        known = ", ".join(content.clinic_by_code) or "none"
        raise ConfigError(f"no clinic with code {args.code!r} in clinics.yaml (known: {known})")
    username = args.username or asyncio.run(bot_username(load_settings()))
    url = referral_link(username, args.code)
    print(url)
    if args.qr is not None:
        write_qr(url, args.qr)
        print(f"wrote {args.qr}")
    return 0


async def _maintenance(args: argparse.Namespace) -> int:
    from bot import maintenance

    settings = load_settings()
    if args.command == "stats":
        return await maintenance.stats(settings, args.clinic, args.since, args.dropoff, args.chart)
    if args.command == "backup":
        return await maintenance.backup(settings, args.file)
    if args.command == "purge":
        return await maintenance.purge(settings)
    if args.command == "export":
        return await maintenance.export(settings, args.chat_id)
    if not args.to.startswith(("postgresql://", "postgres://")):
        raise ConfigError("--to must be a PostgreSQL URL like postgresql://user:password@host:5432/db")
    return await maintenance.migrate_store(settings, args.to)

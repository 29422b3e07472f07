"""The one entry point: `python -m bot <command>` for the bot and the maintainers' tools."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.settings import ConfigError, load_settings
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
    commands.add_parser("webhook", help="serve Telegram webhooks on PORT (needs WEBHOOK_URL, WEBHOOK_SECRET)")
    validate = commands.add_parser("validate", help="check all content; prints path:line: message (hint)")
    console = commands.add_parser("console", help="chat with the flow in this terminal, without Telegram")
    console.add_argument("--language", default="en", help="language code of the texts (default: en)")
    diagram = commands.add_parser("diagram", help="write the flow as a Mermaid state diagram")
    diagram.add_argument("--output", "-o", type=Path, help="file to write (default: print it)")
    for sub in (validate, console, diagram):
        sub.add_argument("--content", type=Path, help="content folder (default: CONTENT_DIR or ./content)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the process exit code."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "validate":
            return _validate(_content_dir(args))
        if args.command == "console":
            engine = Engine(_load_or_exit(_content_dir(args)))
            from bot.console import run_console

            return run_console(engine, sys.stdin, print, args.language)
        if args.command == "diagram":
            return _diagram(_load_or_exit(_content_dir(args)), args.output)
        from bot.app import run_polling, run_webhook

        settings = load_settings()
        return run_webhook(settings) if args.command == "webhook" else run_polling(settings)
    except ConfigError as error:
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


def _validate(folder: Path) -> int:
    result = load_content(folder)
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
    return 0


def _diagram(content: Content, output: Path | None) -> int:
    text = Engine(content).machine.mermaid()
    if output is None:
        print(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        print(f"wrote {output}")
    return 0

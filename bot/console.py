"""Chat with the flow in a terminal, on the same engine the bot runs, without Telegram or storage."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from bot.plaintext import to_plain
from flows.engine import Engine
from flows.events import Back, Event, Restart, ShowInfo, ShowMenu, Start, Typed, decode
from flows.replies import Button, Reply

WORDS: dict[str, Event] = {
    "back": Back(),
    "/back": Back(),
    "restart": Restart(),
    "/restart": Restart(),
    "menu": ShowMenu(),
    "/menu": ShowMenu(),
    "/help": ShowInfo("help"),
    "/privacy": ShowInfo("privacy"),
    "/start": Start(),
}
QUIT = {"quit", "exit", "/quit"}
HELP = "Type a number to tap a button; 'back', 'restart', 'menu' or 'quit'; anything else is sent as text."


def run_console(
    engine: Engine,
    lines: Iterable[str],
    write: Callable[[str], None],
    language: str = "en",
    pictures: Path | None = None,
) -> int:
    """Drive `engine` from `lines` (e.g. stdin) and write what the patient would see; returns an exit code.
    Where Telegram would get a picture, its figure and caption are shown (and, with `pictures`, the PNG is
    written into that folder)."""
    session = engine.new_session(language)
    write(HELP)
    first = engine.step(session, Start())
    session = first.session
    drawer = _drawer(engine, pictures, write)
    buttons = _show(first.replies, write, drawer)
    for raw in lines:
        line = raw.strip()
        write(f"> {line}")
        if line.lower() in QUIT:
            break
        if line.isdigit() and 1 <= int(line) <= len(buttons):
            event = decode(buttons[int(line) - 1].data)
        elif line.isdigit():
            write(f"(no button {line}; choose 1-{len(buttons)})")
            continue
        else:
            event = WORDS.get(line.lower(), Typed(line))
        step = engine.step(session, event)
        session = step.session
        new_buttons = _show(step.replies, write, drawer)
        buttons = new_buttons or buttons
    write(f"(state: {session.state})")
    return 0


def _drawer(engine: Engine, folder: Path | None, write: Callable[[str], None]) -> Callable[[Reply], None]:
    """Shows where a picture would be sent; with a folder, writes it there as PNG."""
    from bot.pictures import Pictures

    drawn = Pictures(engine.content) if folder is not None else None

    def show(reply: Reply) -> None:
        assert reply.picture is not None
        note = f"[picture: {reply.picture.figure}]"
        if drawn is not None and folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{reply.picture.figure}-{reply.picture.language}.png"
            path.write_bytes(drawn.png(reply.picture.figure, reply.picture.language))
            note += f" written to {path}"
        write(note)

    return show


def _show(replies: list[Reply], write: Callable[[str], None], picture: Callable[[Reply], None]) -> list[Button]:
    buttons: list[Button] = []
    for reply in replies:
        if reply.picture is not None:
            picture(reply)
        prefix = "! " if reply.kind == "notice" else ""
        write(prefix + to_plain(reply.text))
        for row in reply.buttons:
            labels = []
            for button in row:
                buttons.append(button)
                labels.append(f"[{len(buttons)}] {button.label}")
            write("   " + "   ".join(labels))
    return buttons

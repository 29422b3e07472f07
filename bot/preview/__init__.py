"""`python -m bot preview --out DIR`: the whole conversation as a static web site, for reviewers and translators
who do not use a terminal. One page per step and language, drawn by the bot's own views; plain files that open
from disk, with no server and no network."""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["command"]


def command(content_dir: Path, out: Path) -> int:
    """Build the site of the content in `content_dir` into `out`; print where it is. Exit code 1 when the
    content has problems other than missing translations (they are printed), 2 when `out` cannot be used."""
    from bot.preview.site import build
    from bot.preview.source import ContentProblems, load

    try:
        content = load(content_dir)
    except ContentProblems as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        print(f"{error} (the preview shows only content the bot would start with)", file=sys.stderr)
        return 1
    try:
        built = build(content, out)
    except FileExistsError as error:
        print(error, file=sys.stderr)
        return 2
    for language, keys in built.missing.items():
        if keys:
            print(f"{language}: {len(keys)} text(s) not translated yet, marked on the pages")
    print(f"wrote {built.pages} pages to {out} in {built.seconds:.1f} s: open {out / 'index.html'}")
    return 0

"""Funnel statistics per clinic and week: counts only, small cells masked so nobody can be singled out."""

from __future__ import annotations

from bot.storage import DropoffRow, FunnelRow
from flows.stages import FUNNEL, Stage

STAGES = tuple(str(stage) for stage in FUNNEL)
SMALL_CELL = 5
NO_CLINIC = "(no clinic)"


def mask(count: int) -> str:
    """A count as shown: 0, '<5' for 1-4, else the number."""
    return "<5" if 0 < count < SMALL_CELL else str(count)


def funnel_table(rows: list[FunnelRow], clinics: set[str] | None = None) -> list[list[str]]:
    """Header plus one row per (clinic, week), from the store's funnel rows; `clinics` limits it."""
    cells: dict[tuple[str, str], dict[str, int]] = {}
    for row in rows:
        if clinics is not None and row.clinic not in clinics:
            continue
        cells.setdefault((row.clinic, row.week), {})[row.stage] = row.count
    table = [["clinic", "week", *STAGES]]
    for (clinic, week), counts in sorted(cells.items()):
        table.append([clinic or NO_CLINIC, week, *(mask(counts.get(stage, 0)) for stage in STAGES)])
    return table


def render(table: list[list[str]]) -> str:
    """The table as aligned plain text."""
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in table)


def dropoff_table(rows: list[DropoffRow], states: list[str], clinics: set[str] | None = None) -> list[list[str]]:
    """Header plus one row per (state, language, clinic) with idle chats, the states in the flow's order."""
    order = {state: index for index, state in enumerate(states)}
    kept = [r for r in rows if clinics is None or r.clinic in clinics]
    kept.sort(key=lambda r: (order.get(r.state, len(order)), r.language, r.clinic))
    table = [["state", "language", "clinic", "idle over 24 h"]]
    table += [[r.state, r.language, r.clinic or NO_CLINIC, mask(r.count)] for r in kept]
    return table


def chart_groups(
    rows: list[FunnelRow], clinics: set[str] | None = None, latest: int = 12
) -> list[tuple[str, list[tuple[str, int]]]]:
    """The funnel per (clinic, week), stages in the flow's order, for the chart: the latest `latest` groups."""
    cells: dict[tuple[str, str], dict[str, int]] = {}
    for row in rows:
        if clinics is None or row.clinic in clinics:
            cells.setdefault((row.clinic, row.week), {})[row.stage] = row.count
    keys = sorted(cells, key=lambda key: (key[1], key[0]))[-latest:]
    return [
        (f"{clinic or NO_CLINIC} · {week}", [(stage, cells[(clinic, week)].get(stage, 0)) for stage in STAGES])
        for clinic, week in keys
    ]


def content_bugs(rows: list[FunnelRow]) -> int:
    """How many times the flow had no way on (each is logged with its state)."""
    return sum(row.count for row in rows if row.stage == str(Stage.CONTENT_BUG))

"""Funnel statistics per clinic and week: counts only, small cells masked so nobody can be singled out."""

from __future__ import annotations

from bot.storage import FunnelRow
from flows.stages import FUNNEL

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

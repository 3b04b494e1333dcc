"""Plain lines for text too big to lay out as Markdown without freezing the app.

Rich's word wrapping and syntax highlighting run on the event loop and cost
seconds on a megabyte paragraph or a single 100,000-character line. An answer
is attacker-controlled, so such a block is drawn as plain text, hard-wrapped
at the width, in linear time: the app stays responsive and shows every
character.
"""

from __future__ import annotations

from rich.cells import chop_cells
from rich.segment import Segment

HUGE_BLOCK = 100_000
"""A block longer than this many characters is drawn plain."""
HUGE_LINE = 20_000
"""So is a block (or a line of code) with a line longer than this."""


def is_huge(text: str) -> bool:
    if len(text) > HUGE_BLOCK:
        return True
    return len(text) > HUGE_LINE and max(map(len, text.split("\n"))) > HUGE_LINE


def plain_lines(text: str, width: int) -> list[list[Segment]]:
    """`text` hard-wrapped at `width` cells, unstyled."""
    width = max(1, width)
    lines: list[list[Segment]] = []
    for row in text.strip("\n").replace("\t", "    ").split("\n"):
        if not row:
            lines.append([])
        elif row.isascii():
            lines.extend([Segment(row[i:i + width])] for i in range(0, len(row), width))
        else:
            lines.extend([Segment(piece)] for piece in chop_cells(row, width))
    return lines

"""Markdown tables drawn without Rich's `Table` machinery.

Rich draws a Markdown table with a general `Table` (column measuring, wrapping,
padding objects per cell): about 10 ms for a 10-row table here, the most
expensive block per token an answer has. For the common case (every cell on one
line and the whole table within the width, so nothing wraps) this builds the
same lines directly: the cells' text is still Rich's (inline styles, links),
justified and styled as Rich's table does it. Anything else falls back to Rich.
A test checks, on many generated tables, that both draw the same segments.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.markdown import TableElement
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

Line = list[Segment]

_NEWLINE_TEXT = Text("\n")


def _justified(text: Text, width: int) -> Text:
    """`text` (one line, at most `width` cells) as `Text.wrap` justifies it."""
    justify = text.justify
    if justify not in ("left", "right", "center"):
        return text  # "default": padded afterwards, outside the text
    line = text.copy()
    if justify == "left":
        line.truncate(width, pad=True)
    elif justify == "right":
        line.rstrip()
        line.truncate(width)
        line.pad_left(width - cell_len(line.plain))
    else:
        line.rstrip()
        line.truncate(width)
        line.pad_left((width - cell_len(line.plain)) // 2)
        line.pad_right(width - cell_len(line.plain))
    return line


def _cell(console: Console, text: Text, width: int, right: int, style: Style) -> Line:
    line = _justified(text, width)
    # As `Text.__rich_console__` renders a line: joined (its style becomes a span), then rendered.
    segments = list(_NEWLINE_TEXT.join([line]).render(console))
    used = cell_len(line.plain)
    blank = Style.null()  # the style of `Padding`, which pads the cell
    if used < width:
        segments.append(Segment(" " * (width - used), blank))
    if right:
        segments.append(Segment(" " * right, blank))
    if style:
        segments = [Segment(s.text, style + s.style, s.control) for s in segments]
    return segments


def table_lines(
    console: Console, options: ConsoleOptions, header: list[Text], rows: list[list[Text]]
) -> list[Line] | None:
    """The lines Rich draws for a Markdown table (`box.SIMPLE`, edge shown, no
    padding at the edges, collapsed padding), or None when Rich must draw it."""
    columns = len(header)
    if not columns or options.ascii_only or any(len(row) != columns for row in rows):
        return None
    table = [header, *rows]
    for row in table:
        for text in row:
            if "\n" in text.plain or "\t" in text.plain:
                return None
    widths = [max(cell_len(row[c].plain) for row in table) for c in range(columns)]
    total = 2 + sum(widths) + 2 * (columns - 1)
    if not all(widths) or total > options.max_width:
        return None
    border = console.get_style("markdown.table.border")
    header_style = console.get_style("table.header")
    edge = Segment(" ", border)
    lines: list[Line] = [[Segment(" " * total, border)]]
    for index, row in enumerate(table):
        style = header_style if index == 0 else Style.null()
        line: Line = [edge]
        for c, text in enumerate(row):
            last = c == columns - 1
            line.extend(_cell(console, text, widths[c], 0 if last else 1, style))
            if not last:
                line.append(edge)
        line.append(edge)
        lines.append(line)
        if index == 0:
            lines.append([Segment(" " + "─" * (total - 2) + " ", border)])
    lines.append([Segment(" " * total, border)])
    return lines


class FastTableElement(TableElement):
    """Rich's Markdown table element, drawn by `table_lines` when it can be."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        lines = None
        if self.header is not None and self.header.row is not None:
            header = []
            for column in self.header.row.cells:
                heading = column.content.copy()
                heading.stylize("markdown.table.header")
                header.append(heading)
            rows = [[cell.content for cell in row.cells] for row in self.body.rows] if self.body is not None else []
            lines = table_lines(console, options, header, rows)
        if lines is None:
            yield from super().__rich_console__(console, options)
            return
        new_line = Segment.line()
        for line in lines:
            yield from line
            yield new_line

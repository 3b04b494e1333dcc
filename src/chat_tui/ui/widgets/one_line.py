"""A bar of one line, drawn from a Rich `Text` and kept until what it shows changes.

Textual draws what a widget's `render()` returns through its general path for
any content (a `Text` becomes `Content`, which is styled, wrapped and cut into
lines): about 0.3 ms for a one-line bar here, and the bars change at every
answer's start and end (the bottom bar's Esc key, the header's totals), inside
the frames that show the answer. A `OneLineBar` turns its `Text` into the
line's segments itself, on the widget's style as Textual would (a test compares
the cells with Textual's drawing of the same `Text`), and keeps that line while
`line_key()` and the width stay the same.
"""

from __future__ import annotations

from collections.abc import Hashable

from rich.segment import Segment
from rich.text import Text
from textual.strip import Strip
from textual.widget import Widget


class OneLineBar(Widget):
    """A one-line widget whose `render()` returns a `Text` of one line."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._drawn: tuple[Hashable, Strip] | None = None

    def line_key(self) -> Hashable:
        """What the line depends on besides the widget's width and style (None:
        draw it again at every repaint)."""
        return None

    def render(self) -> Text:
        raise NotImplementedError

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._drawn = None

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        style = self.rich_style
        if y:
            return Strip.blank(width, style)
        key = (self.line_key(), width, style)
        if self._drawn is not None and self._drawn[0] == key and key[0] is not None:
            return self._drawn[1]
        text = self.render()
        segments = [Segment(segment.text, style + segment.style if segment.style else style)
                    for segment in text.render(self.app.console, end="")]
        strip = Strip(segments).adjust_cell_length(width, style)
        self._drawn = (key, strip)
        return strip

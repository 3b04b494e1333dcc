"""MarkdownStreamView: a streaming Markdown answer, drawn with the Line API.

Text appended between two frames is coalesced: the document is re-rendered at
most once per frame, and only its last, growing block is rendered again (see
`MarkdownDocument`). Only the lines that changed are repainted. The cursor at
the tip blinks by repainting one line, without rendering anything again.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.timer import Timer
from textual.widget import Widget

from chat_tui.sanitize import sanitize

if TYPE_CHECKING:
    from chat_tui.ui.markdown_document import MarkdownDocument


class MarkdownStreamView(Widget):
    DEFAULT_CSS = """
    MarkdownStreamView {
        height: auto;
        width: 1fr;
    }
    """

    FRAME_INTERVAL = 1 / 60
    """The shortest time between two renders while streaming."""
    MAX_FRAME_INTERVAL = 0.2
    BLINK_INTERVAL = 0.5
    blink = True
    """Blink the cursor (turned off in snapshot tests, for determinism)."""

    def __init__(self, text: str = "", *, streaming: bool = False, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        # Imported here: the Markdown parser and highlighter load when the first
        # answer needs them, not before the app's first frame.
        from chat_tui.ui.markdown_document import CURSOR, MarkdownDocument

        self.document: MarkdownDocument = MarkdownDocument()
        self._cursor = CURSOR
        self.document.append(sanitize(text))
        self.streaming = streaming
        self._dirty = True
        self._rendered_width = 0
        self._frame_timer: Timer | None = None
        self._blink_timer: Timer | None = None
        self._cursor_shown = True
        self._last_frame = 0.0
        self._interval = self.FRAME_INTERVAL
        self._strips: dict[int, Strip] = {}
        self._base_style: Style | None = None
        self.frames = 0
        """How many times the document was rendered (for benchmarks)."""
        self.raw_text_parts: list[str] = [text]

    @property
    def text(self) -> str:
        """The text as received (not sanitized)."""
        return "".join(self.raw_text_parts)

    def on_mount(self) -> None:
        if self.streaming and self.blink:
            self._blink_timer = self.set_interval(self.BLINK_INTERVAL, self._toggle_cursor)

    # -- streaming ----------------------------------------------------------------------
    def append(self, text: str) -> None:
        """Add streamed text; it is shown at the next frame."""
        if not text:
            return
        self.raw_text_parts.append(text)
        self.document.append(sanitize(text))
        self._dirty = True
        if self._frame_timer is None and self.is_mounted:
            # Never 0: a Textual timer with a zero delay never fires.
            delay = max(0.001, self._last_frame + self._interval - time.monotonic())
            self._frame_timer = self.set_timer(delay, self._frame, name="stream-frame")

    def finish(self) -> None:
        """The stream ended, however it ended: the cursor goes, the last block is finalized."""
        self.streaming = False
        if self._blink_timer is not None:
            self._blink_timer.stop()
            self._blink_timer = None
        if self._frame_timer is not None:
            self._frame_timer.stop()
            self._frame_timer = None
        self._dirty = True
        self._frame()

    def _frame(self) -> None:
        self._frame_timer = None
        width = self.size.width
        if not self._dirty or width <= 0:
            return
        self._last_frame = start = time.monotonic()
        old_height = self.document.height
        first_changed = self._render(width)
        # A frame that was expensive to render (a big table, a burst of text)
        # spaces the next ones out, so rendering never takes more than about a
        # third of the time: the app stays responsive on any stream.
        cost = time.monotonic() - start
        self._interval = min(self.MAX_FRAME_INTERVAL, max(self.FRAME_INTERVAL, 2 * cost))
        self._cursor_shown = True
        if self.document.height != old_height:
            self.refresh(layout=True)
        else:
            self.refresh(Region(0, first_changed, width, max(1, self.document.height - first_changed)))

    def _render(self, width: int) -> int:
        """Render the document at `width`; return the first line that changed."""
        document = self.document
        if width != self._rendered_width:
            self._strips.clear()
            before: list = []
            start = 0
        else:
            start = document.finished_line_count
            before = [document.line(y) for y in range(start, document.height)]
        document.render(self.app.console, width, cursor=self.streaming, final=not self.streaming)
        self.frames += 1
        self._rendered_width = width
        self._dirty = False
        # Usually only the last line or two changed: repaint from there, not the whole block.
        first_changed = start
        while first_changed - start < len(before) and first_changed < document.height and (
            document.line(first_changed) == before[first_changed - start]
        ):
            first_changed += 1
        for y in [y for y in self._strips if y >= first_changed]:
            del self._strips[y]
        return first_changed

    def _toggle_cursor(self) -> None:
        if self.document.cursor_at is None:
            return
        self._cursor_shown = not self._cursor_shown
        y = self.document.finished_line_count + self.document.cursor_at[0]
        self._strips.pop(y, None)
        self.refresh(Region(0, y, self.size.width, 1))

    def notify_style_update(self) -> None:
        """The theme or CSS changed: draw every line again with the new base style."""
        super().notify_style_update()
        self._base_style = None
        self._strips.clear()

    # -- Line API ---------------------------------------------------------------------------
    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        if width > 0 and (self._dirty or width != self._rendered_width):
            self._render(width)
        return self.document.height

    def render_line(self, y: int) -> Strip:
        strip = self._strips.get(y)
        if strip is None:
            segments = self.document.line(y)
            cursor = self.document.cursor_at
            if cursor is not None and not self._cursor_shown and y == self.document.finished_line_count + cursor[0]:
                segments = [Segment(s.text.replace(self._cursor, " "), s.style, s.control) for s in segments]
            style = self._base_style
            if style is None:
                style = self._base_style = self.rich_style  # costly (it walks the ancestors): once
            strip = Strip(segments).apply_style(style).extend_cell_length(self.size.width, style)
            self._strips[y] = strip
        return strip

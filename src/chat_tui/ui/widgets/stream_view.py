"""MarkdownStreamView: a streaming Markdown answer, drawn with the Line API.

Text appended between two frames is coalesced: the document is re-rendered at
most once per frame, and only its last, growing block is rendered again (see
`MarkdownDocument`). Only the lines that changed are repainted. The cursor at
the tip stays lit while text arrives and blinks when the stream pauses, by
repainting one line, without rendering anything again.

What a frame costs is mostly Textual's, not ours: each screen update composes
every visible widget again (about 3 ms at 100x40 on a slow machine) and each
change of height lays the whole screen out again. So:

* the typing indicator is a line of the answer's own (its first, before any
  text) until text comes and takes its place: no widget is removed and, when
  the first text is a line, no layout is needed for the moment a person waits for;
* a new answer starts under its question at the top of the view, laid out
  from the start in the rows down to the view's bottom (`reserve`, see
  `AssistantMessageView.hold_top`): its text fills them with no layout;
* an answer taller than the screen, followed by the transcript, is laid out as
  a window on its last lines, which keeps its height while the answer grows
  (see `_window_rows`; rows laid out ahead of the text there would show as a
  gap under the cursor, the transcript following the answer's bottom);
* frames are paced by their whole measured cost (rendering, layout and
  compositing), to stay within `PAINT_BUDGET` of one core, and never come more
  often than the frame-rate setting allows (`FRAME_INTERVAL`).
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.timer import Timer
from textual.widget import Widget

from chat_tui.sanitize import sanitize
from chat_tui.ui.textual_internals import LayoutOnce, WindowedScroll, report_error
from chat_tui.ui.widgets.typing_indicator import TypingIndicator

if TYPE_CHECKING:
    from chat_tui.ui.markdown_document import MarkdownDocument


class MarkdownStreamView(LayoutOnce, Widget):
    DEFAULT_CSS = """
    MarkdownStreamView {
        height: auto;
        width: 1fr;
    }
    MarkdownStreamView > .markdown-stream-view--indicator { color: $text-muted; }
    MarkdownStreamView > .markdown-stream-view--indicator-frame { color: $accent; }
    """
    COMPONENT_CLASSES = {"markdown-stream-view--indicator", "markdown-stream-view--indicator-frame"}

    FRAME_INTERVAL = 1 / 36
    """The shortest time between two renders while streaming (the frame-rate setting)."""
    MAX_FRAME_INTERVAL = 0.2
    """The longest (unless the frame-rate setting asks for longer)."""
    PAINT_BUDGET = 0.04
    """The share of one core that showing a slow stream may take: the measured
    CPU cost of each frame (rendering, then Textual's layout and compositing)
    spaces the next ones out to stay within it, between the two intervals above.
    A token or two per frame is all a slow stream brings, so few frames lose
    nothing."""
    FAST_PAINT_BUDGET = 0.7
    FAST_STREAM = 8000.0
    """Characters per second at which a stream gets `FAST_PAINT_BUDGET` (in
    proportion below, down to `PAINT_BUDGET`): a fast stream brings lines per
    frame, and keeping up with it is worth the CPU."""

    WINDOW = True
    """Lay a streaming answer taller than the screen out as a window on its last
    lines while the transcript follows it (see `_window_rows`)."""

    BLINK_INTERVAL = 0.5
    blink = True
    """Blink the cursor (turned off in snapshot tests, for determinism)."""

    def __init__(
        self, text: str = "", *, streaming: bool = False, waiting: bool = False, id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """`waiting`: show the typing indicator until the first text."""
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
        self._frame_handle: asyncio.TimerHandle | None = None
        self._blink_timer: Timer | None = None
        self._frame_cost = 0.0
        self._frame_cpu = 0.0
        self._measuring = False
        self._cursor_shown = True
        self._last_frame = 0.0
        self._last_due = 0.0
        """When the last frame was due (its place on the frame grid)."""
        self._next_due = 0.0
        self._chars_since_frame = 0
        self._last_append = 0.0
        self._rate = 0.0
        """Characters per second arriving (smoothed)."""
        self._interval = self.FRAME_INTERVAL
        self.indicator: TypingIndicator | None = TypingIndicator() if waiting and streaming and not text else None
        """The typing indicator, shown on the line after the text (the first line
        before any) until more text comes."""
        self._waiting_since = 0
        """How much text there was when the indicator was shown."""
        self._indicator_timer: Timer | None = None
        self._laid_out = 0
        """The rows the last layout was given (`get_content_height`)."""
        self._reserve = 0
        """Rows laid out at least while streaming: the text's, then blank rows
        the text grows into with no layout (see `AssistantMessageView.hold_top`)."""
        self._window = 0
        """Rows laid out while the answer is a window on its last lines (0: all of it)."""
        self._window_container: WindowedScroll | None = None
        self._offset = 0
        """The document line at the widget's first row."""
        self._strips: dict[int, Strip] = {}
        """Lines as shown (see `_shown_line`), by line number."""
        self._line_styles: dict[Style | None, Style] = {}
        """A line's style -> as shown (see `_shown_style`)."""
        self._look: tuple = ()
        """What shown lines and styles depend on besides the widget's style: line filters, background, width."""
        self._base_style: Style | None = None
        self._plain: bool | None = None
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
        if self.indicator is not None:
            self._animate_indicator()

    # -- the typing indicator -----------------------------------------------------------
    def show_waiting(self, label: str, countdown: float | None = None) -> None:
        """Show (again) the indicator with a label, e.g. a retry countdown."""
        if self.indicator is None:
            self.indicator = TypingIndicator(label)
            self._waiting_since = self.document.length
            self._animate_indicator()
            self._relayout()
        self.indicator.restart(label, countdown)
        self._repaint_indicator()

    def stop_waiting(self) -> None:
        """No indicator any more (reasoning or a tool call is shown instead)."""
        if self.indicator is None:
            return
        self._repaint_indicator()
        self._drop_indicator()
        self._relayout()

    def _drop_indicator(self) -> None:
        self.indicator = None
        if self._indicator_timer is not None:
            self._indicator_timer.stop()
            self._indicator_timer = None

    def _animate_indicator(self) -> None:
        if TypingIndicator.animate and self._indicator_timer is None and self.is_mounted:
            self._indicator_timer = self.set_interval(TypingIndicator.INTERVAL, self._tick_indicator)

    def _tick_indicator(self) -> None:
        if self.indicator is not None:
            self.indicator.tick()
            self._repaint_indicator()

    def _repaint_indicator(self) -> None:
        y = self.document.height
        self._strips.pop(y, None)
        self.refresh(Region(0, y - self._offset, self.size.width, 1))

    # -- streaming ----------------------------------------------------------------------
    def resume(self) -> None:
        """A finished (cut-off) answer streams again: its last block reopens, the cursor is back."""
        self.streaming = True
        self.document.reopen()
        self._dirty = True
        self._strips.clear()
        self._rendered_width = 0  # draw it all again at the next frame
        if self._blink_timer is None:
            self.on_mount()
        self.refresh(layout=True)

    def append(self, text: str) -> None:
        """Add streamed text; it is shown at the next frame."""
        if not text:
            return
        self.raw_text_parts.append(text)
        self.document.append(sanitize(text))
        self._chars_since_frame += len(text)
        self._last_append = time.monotonic()
        self._dirty = True
        if self._frame_handle is None and self.is_mounted:
            # A plain event-loop timer: a Textual timer per frame costs a task and a message.
            # Frames keep to their grid: each is due an interval after the last
            # was due, not after it ran (the event loop runs a timer a little
            # late, and frames came a few percent less often than set). After
            # a pause, at once.
            now = time.monotonic()
            due = self._last_due + self._interval
            if due < now - self._interval:
                due = now
            self._next_due = max(due, now)
            self._frame_handle = asyncio.get_running_loop().call_later(self._next_due - now, self._frame_due)

    def _frame_due(self) -> None:
        self._frame_handle = None
        if not self.is_attached:
            return
        try:
            self._frame()
        except Exception as error:  # noqa: BLE001 - as a Textual timer would: the app reports it
            report_error(self.app, error)

    def _stop_frame(self) -> None:
        if self._frame_handle is not None:
            self._frame_handle.cancel()
            self._frame_handle = None
            self._next_due = 0.0

    def on_unmount(self) -> None:
        self._stop_frame()
        container = self._window_container
        if container is not None and container.windowed is self:
            container.windowed = None  # (its hidden rows are gone with it)

    def finish(self) -> None:
        """The stream ended, however it ended: the cursor goes, the last block is finalized."""
        self.streaming = False
        self._reserve = 0
        if self._blink_timer is not None:
            self._blink_timer.stop()
            self._blink_timer = None
        self._drop_indicator()
        self._stop_frame()
        self._dirty = True
        self._frame()
        # An answer laid out as a window keeps it while the transcript follows
        # its end (laying it out whole now would cost a layout and a paint of
        # the whole screen, for the same screen): the transcript lays it out
        # whole before the user scrolls, as while it streamed, or when another
        # answer needs the window.
        self._relayout()

    def _frame(self) -> None:
        # Before its first text the answer is 0 lines high, and Textual leaves a
        # widget of no height unsized: the width is the one its last layout gave
        # (`get_content_height`). Waiting for a size would hold the first token
        # back until the next text arrived.
        width = self.size.width or self._rendered_width
        if not self._dirty or width <= 0:
            return
        start = time.monotonic()
        if self._last_frame:
            rate = self._chars_since_frame / max(start - self._last_frame, 1e-3)
            self._rate = 0.5 * self._rate + 0.5 * rate if self._rate else rate
        self._chars_since_frame = 0
        self._last_frame = start
        self._last_due = self._next_due if self._next_due and start - self._next_due < self._interval else start
        self._next_due = 0.0
        cpu = time.thread_time()
        old_height = self.document.height
        old_rows = self._laid_out
        first_changed = self._render(width)
        # A frame that was expensive to render (a big table, a burst of text)
        # spaces the next ones out, so rendering never takes more than about a
        # third of the time: the app stays responsive on any stream.
        cost = time.monotonic() - start
        self._interval = max(self.FRAME_INTERVAL, min(self.MAX_FRAME_INTERVAL, max(2 * cost, self._budget_interval())))
        self._cursor_shown = True
        window = self._window = self._window_rows()
        rows = self._rows()
        offset = self.document.height - window if window else 0
        if offset != self._offset:
            # Every row shows another line. Where the screen can have the
            # terminal move the rows up (`ScrollsTerminal`), only the rows whose
            # line changed are painted; otherwise all are (as when the transcript
            # scrolls to follow a growing answer).
            shift, self._offset = offset - self._offset, offset
            scroll_rows = getattr(self.screen, "scroll_rows", None)
            if rows == old_rows and scroll_rows is not None and scroll_rows(self, shift):
                first_row = max(0, first_changed - offset)
                self.refresh(Region(0, first_row, width, max(1, rows - first_row)))
            else:
                self.refresh(layout=rows != old_rows)
            if window:
                # The transcript's scrollbar counts the rows above the window
                # (its thumb moves by an eighth of a cell every few frames).
                bar = self._windowed_in().vertical_scrollbar
                getattr(bar, "refresh_if_moved", bar.refresh)()
        else:
            # Only the lines from the first that changed are painted again, also
            # when the height changed (the lines above keep Textual's cached cells).
            changed = Region(0, first_changed - offset, width, max(1, self.document.height - first_changed))
            self.refresh(changed, layout=rows != old_rows)
        if not old_height and self.document.height and self.streaming:
            # The answer's first text: on screen as soon as the screen is free.
            paint_soon = getattr(self.screen, "paint_soon", None)
            if paint_soon is not None:
                paint_soon()
        if self.streaming and not self._measuring:
            # The whole cost of the frame is known once the screen shows it.
            # (A bound method with no arguments: Textual inspects the signature
            # of a callback it has not seen, such as a new partial, each time.)
            self._measuring = True
            self._frame_cpu = cpu
            self.call_after_refresh(self._frame_shown)

    def _shown_rows(self) -> int:
        """Rows of text, and the typing indicator's."""
        return self.document.height + (1 if self.indicator is not None else 0)

    def _rows(self) -> int:
        """Rows to lay the answer out in."""
        return self._window or max(self._shown_rows(), self._reserve)

    @property
    def holding(self) -> bool:
        """Laid out in more rows than its text's, as `reserve` asked."""
        return self.streaming and not self._window and self._reserve > self._shown_rows()

    def reserve(self, rows: int) -> bool:
        """Lay the streaming answer out in at least `rows` rows (0: its own);
        True if that changes the rows its last layout gave it."""
        self._reserve = rows if self.streaming else 0
        return self._rows() != self._laid_out

    def _relayout(self) -> None:
        """Have the answer laid out again if its rows changed."""
        if self._rows() != self._laid_out:
            self.refresh(layout=True)

    def _window_rows(self) -> int:
        """How many rows to lay the answer out in, as a window on its last lines;
        0 to lay all of it out.

        Each frame that makes the answer taller has Textual lay the whole screen
        out again (~2 ms a frame, a fifth of the CPU of a fast stream). While
        the transcript follows the bottom of a streaming answer taller than the
        transcript's view, the screen shows only the answer's last lines, and a
        window at least as tall as the view showing them looks the same: the
        layout then stays put while the answer grows. The transcript (`WindowedScroll`)
        shows the rows above the window in its scrollbar, and lays the whole
        answer out again (`leave_window`) before the user scrolls."""
        if not self.WINDOW:
            return 0
        container = self._windowed_in()
        if container is None:
            return 0
        if not (self.streaming or container.windowed is self) or not container.follows_bottom():
            return 0  # (a finished answer keeps the window it has, and gets none)
        rows = self._window_for(self.app.size.height)
        if rows >= self.document.height:
            if container.windowed is self:
                container.windowed = None
            return 0
        if container.windowed is not self:
            container.leave_window()  # an earlier answer's
            container.windowed = self
            self._window_container = container
        return rows

    @staticmethod
    def _window_for(screen_rows: int) -> int:
        # As tall as the screen, whatever the transcript's height, and a row
        # more: the transcript is then taller than its view, as with the whole
        # answer laid out, and keeps its scrollbar.
        return screen_rows + 1

    def _windowed_in(self) -> WindowedScroll | None:
        return next((a for a in self.ancestors if isinstance(a, WindowedScroll)), None)

    def fit_window(self) -> None:
        """The screen was resized: the window keeps to its height (at once, not
        at the next frame: the stream may be paused)."""
        window = self._window_for(self.app.size.height)
        if self._window and window != self._window:
            self._window = window if window < self.document.height else 0
            self._offset = self.document.height - self._window if self._window else 0
            self.refresh(layout=True)

    def leave_window(self) -> int:
        """Lay the whole answer out again; return how many lines were above the window."""
        if not self._window:
            return 0
        hidden = self._offset
        self._window = self._offset = 0
        self.refresh(layout=True)
        return hidden

    def _frame_shown(self) -> None:
        self._measuring = False
        cost = time.thread_time() - self._frame_cpu
        self._frame_cost = cost if not self._frame_cost else 0.7 * self._frame_cost + 0.3 * cost

    def _budget_interval(self) -> float:
        budget = min(self.FAST_PAINT_BUDGET, max(self.PAINT_BUDGET, self.FAST_PAINT_BUDGET * self._rate / self.FAST_STREAM))
        return self._frame_cost / budget

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
        if self.indicator is not None and document.length > self._waiting_since:
            # The text that came takes the indicator's line (also when a layout
            # renders it first, at a new width: the frame then finds nothing to do).
            self._drop_indicator()
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
        if self._cursor_shown and time.monotonic() - self._last_append < self.BLINK_INTERVAL:
            return  # text is arriving: the cursor stays lit (and costs no repaint); it blinks when the stream pauses
        self._cursor_shown = not self._cursor_shown
        y = self.document.finished_line_count + self.document.cursor_at[0]
        self._strips.pop(y, None)
        self.refresh(Region(0, y - self._offset, self.size.width, 1))

    def notify_style_update(self) -> None:
        """The theme or CSS changed: draw every line again with the new base style."""
        super().notify_style_update()
        self._base_style = None
        self._plain = None
        self._strips.clear()
        self._line_styles.clear()

    def prepare(self, width: int, blocks: int = 2) -> bool:
        """Render up to `blocks` more blocks of a saved answer ahead of time, at
        the width it will have; True once it is all rendered (see
        `MarkdownDocument.prepare`). Mounted later, it only draws its last lines."""
        if self.streaming:
            return True
        return self.document.prepare(self.app.console, width, blocks)

    # -- Line API ---------------------------------------------------------------------------
    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        # Text that arrived since the last frame waits for the next one: a layout
        # (which streaming asks for at every new line) must not render it too.
        if width > 0 and width != self._rendered_width:
            self._render(width)
            if self._window:
                # The window shows the last lines at the new width (a finished
                # answer has no frame to do it), or all of them if they now fit.
                self._window = self._window_rows()
                self._offset = self.document.height - self._window if self._window else 0
        self._laid_out = self._rows()
        return self._laid_out

    def render_lines(self, crop: Region) -> list[Strip]:
        # Textual takes each line through its general styling (borders, padding,
        # outline, tint, opacity), none of which this widget has: about 40 µs a
        # line here, for every new line of a streaming answer. The lines are
        # taken as they are instead, through the app's line filters, as Textual
        # would (the repaint test compares the two). Anything else (a link under
        # the mouse, say) goes Textual's way.
        if not self._is_plain() or (self.auto_links and self.hover_style.link_id):
            return super().render_lines(crop)
        width = self.size.width
        look = (tuple(self.get_line_filters()), self.background_colors[1], width)
        if look != self._look:
            self._look = look
            self._strips.clear()
            self._line_styles.clear()
        strips = self._strips
        lines = []
        offset = self._offset
        for y in crop.line_range:
            y += offset
            strip = strips.get(y)
            if strip is None:
                strip = strips[y] = self._shown_line(y, width)
            lines.append(strip)
        if crop.x or crop.width != width:
            lines = [line.crop(crop.x, crop.right) for line in lines]
        return lines

    def _shown_line(self, y: int, width: int) -> Strip:
        """Line `y` as the screen shows it: on the widget's style, through the
        app's line filters, cropped or padded to `width`. What `render_line`
        and Textual's filtering make (`_filtered`), in one pass: each of the
        line's few styles is worked out once and kept (~70 -> ~25 µs a line)."""
        styles = self._line_styles
        segments = []
        cells = 0
        for text, style, control in self._segments(y):
            shown = styles.get(style)
            if shown is None:
                shown = self._shown_style(style)
            if shown is None or control is not None:
                return self._filtered(self._line(y), width)
            cells += cell_len(text)
            segments.append(Segment(text, shown))
        if cells > width:
            return self._filtered(self._line(y), width)
        if cells < width:
            segments.append(Segment(" " * (width - cells), styles.get(None) or self._shown_style(None)))
        return Strip(segments, width)

    def _shown_style(self, style: Style | None) -> Style | None:
        """`style` on the widget's, through the line filters; None if the filters
        do more than change a segment's style (then lines go the long way)."""
        base = self._base()
        segment = Segment("x", base + style if style is not None else base)
        segments = [segment]
        filters, background, _ = self._look
        for line_filter in filters:
            segments = line_filter.apply(segments, background)
        if len(segments) != 1 or segments[0].text != "x" or segments[0].style is None:
            return None
        self._line_styles[style] = segments[0].style
        return segments[0].style

    def _filtered(self, strip: Strip, width: int) -> Strip:
        if strip.cell_length > width:
            strip = strip.crop(0, width)
        filters, background, _ = self._look
        for line_filter in filters:
            strip = strip.apply_filter(line_filter, background)
        return strip

    def _is_plain(self) -> bool:
        """Nothing in this widget's styles that Textual would draw over its lines."""
        if self._plain is None:
            styles = self.styles
            self._plain = (
                not any(styles.gutter)
                and not any(edge for edge, _ in styles.outline)
                and styles.tint.a == 0
                and self.opacity == 1
                and styles.text_opacity == 1
                and (not styles.has_rule("hatch") or styles.hatch == "none")
            )
        return self._plain

    def _segments(self, y: int) -> list[Segment]:
        if self.indicator is not None and y == self.document.height:
            return self._indicator_segments()
        segments = self.document.line(y)
        cursor = self.document.cursor_at
        if cursor is not None and not self._cursor_shown and y == self.document.finished_line_count + cursor[0]:
            segments = [Segment(s.text.replace(self._cursor, " "), s.style, s.control) for s in segments]
        return segments

    def _indicator_segments(self) -> list[Segment]:
        assert self.indicator is not None
        frame, text = self.indicator.parts()
        return [
            Segment(frame, self.get_component_rich_style("markdown-stream-view--indicator-frame")),
            Segment(text, self.get_component_rich_style("markdown-stream-view--indicator")),
        ]

    def _base(self) -> Style:
        style = self._base_style
        if style is None:
            style = self._base_style = self.rich_style  # costly (it walks the ancestors): once
        return style

    def render_line(self, y: int) -> Strip:
        return self._line(y + self._offset)

    def _line(self, y: int) -> Strip:
        """Document line `y` on the widget's style, `render_line`'s way."""
        style = self._base()
        return Strip(self._segments(y)).apply_style(style).extend_cell_length(self.size.width, style)

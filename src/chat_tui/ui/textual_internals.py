"""The app's only reaches into Textual's private API, kept in one place.

Textual is pinned (pyproject.toml), and `tests/ui/test_textual_internals.py`
fails if what these rely on changes. Each exists because no public API does
the job:

* `LayoutOnce`: Textual lays the screen out a second time whenever a widget's
  virtual size changes (`Widget._size_updated` sets a reactive that asks for a
  layout), although the layout that found the new size has just placed
  everything. A streaming answer changes it with every new line, so the second
  layout doubled the cost of each one. (Scrollbars are updated either way.)
  Textual also marks the whole widget for repainting when its size changes
  (`_set_dirty()`), which throws away the cached cells of every line on screen
  although only the bottom of a growing answer changed: about a third of each
  screen update while streaming.
* `CachedVerticalScrollBar`: the transcript's scrollbar is a `CachedScrollBar`,
  made where Textual makes its own (`Widget.vertical_scrollbar`, which uses
  `_vertical_scrollbar` and `App._start_widget`): it keeps its drawn lines
  while its thumb stays put, and drops a repaint request (`_repaint_required`,
  read in `Widget._check_refresh`) when the screen already shows the bar as it
  would be drawn (see the class). In a container that always shows its bar
  (the transcript) the bar draws the blank gutter while there is nothing to
  scroll, where Textual draws the whole track (`ScrollBar._render_bar`).
* `LayoutAgain`: a widget whose size depends on where a layout placed others
  (an answer holding its question at the top of the view) can only know it
  after the layout; Textual would paint that layout, then lay out again at the
  next update (`Screen._refresh_layout` ends with `_compositor_refresh`). The
  chat screen lays itself out again at once instead, dropping the cached
  arrangements of the widget's containers as `Widget._check_refresh` would
  (`_clear_arrangement_cache`, `_layout_updates`).
* `PaintSoon`: Textual paints a screen from a timer on a fixed grid (120
  times a second here, `Screen._update_timer`): a change made just after a
  tick waits for the next one. The first text of an answer (the moment a
  person waits for) is painted as soon as the screen is idle instead, from
  `Screen._on_idle`, the way the timer would (`Screen._on_timer_update`).
* `CroppedCompositor`: for a partial screen update Textual draws every widget
  whose container meets the updated area, and keeps only what falls in it
  and is not covered (`Compositor._render_chops`); while an answer streams
  that was the header, footer and prompt, and the containers behind the
  answer, at every frame. The chat screen's compositor draws a widget only for
  the lines of the update where some piece of it would show.
* `WindowedScroll`: while the transcript follows a streaming answer taller
  than its view, the answer is laid out as a window on its last lines (see
  `MarkdownStreamView._window_rows`): the transcript adds the rows above the
  window to its scrollbar, and before the user scrolls (every way to scroll
  goes through `Widget._scroll_to` or `release_anchor`; a scroll by an amount
  through the methods named at the class) has the whole answer laid out again,
  with its scroll position, size and scrollbar moved by those rows at once, so
  the scroll works out on the real layout.
* `ScrollsTerminal`: Textual repaints every row whose content changed, and a
  window on a growing answer's last lines changes every row at every frame
  (all its lines move up): ~12 KB sent to the terminal per frame at 100x40,
  ~270 KB per 2,000-token answer. The chat screen has the terminal move those
  rows up itself (a scrolling region, DECSTBM, and an index, IND, per row),
  then paints the rows that changed, as Textual would paint them: its update
  is Textual's (`Compositor.render_update`, which `Screen._compositor_refresh`
  sends) behind those few bytes (`ChopsUpdate.render_segments`).
* `report_error`: what Textual does with an exception raised in a timer
  callback (show it, exit), for a callback scheduled straight on the event loop
  (a Textual timer per frame costs a task and a message).

One more stays where it belongs: `ChatApp._fatal_error` replaces Textual's crash
report, which prints every local variable of every frame (request headers and
message text among them) to the terminal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from rich.segment import Segment
from rich.style import Style
from textual._compositor import ChopsUpdate, Compositor
from textual.geometry import Region, Size
from textual.scrollbar import ScrollBar, ScrollBarRender
from textual.strip import Strip
from textual.widget import Widget

if TYPE_CHECKING:
    from textual.app import App
    from textual.screen import Screen


class LayoutOnce:
    """Mixin for a widget whose size changes need no second layout, and which
    grows at its bottom: when only its height changes, the lines above the old
    bottom keep Textual's cached cells (Textual would draw every line again)."""

    def _size_updated(self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True) -> bool:
        widget: Widget = self  # type: ignore[assignment]
        old = widget._size
        grown = old.width == size.width and old.height != size.height and old.width > 0
        if grown:
            # Mark only the lines from the old bottom edge (its padding or border
            # may move) to the new one, then let Textual see the size as known.
            gutter = widget.styles.gutter
            first = max(0, min(old.height, size.height) - gutter.bottom)
            widget._size = size
            lines = max(old.height, size.height) - first
            widget._set_dirty(Region(-gutter.left, first - gutter.top, size.width, lines))
        resize = super()._size_updated(size, virtual_size, container_size, layout=False)  # type: ignore[misc]
        return resize or grown


class PaintSoon:
    """Mixin for a screen: `paint_soon()` has the next change painted as soon as
    the screen is idle, not at the next tick of Textual's update timer (0-8 ms
    later; 4-10 ms measured for an answer's first text)."""

    _paint_soon = False

    def paint_soon(self) -> None:
        self._paint_soon = True

    async def _on_idle(self, event: Any) -> None:
        screen: Screen[Any] = self  # type: ignore[assignment]
        if (
            self._paint_soon
            and screen.is_current
            and not screen.app._batch_count
            and (screen._layout_required or screen._dirty_widgets)
        ):
            self._paint_soon = False
            screen._on_timer_update()  # (what the timer calls; it pauses the timer first)
            return
        await super()._on_idle(event)  # type: ignore[misc]


class LayoutAgain:
    """Mixin for a screen: a widget that learns from a layout that it needs
    another size (its size depends on where other widgets were placed, see
    `AssistantMessageView.hold_top`) calls `layout_again(widget)` from its
    `_size_updated`; the screen then lays itself out once more before it
    paints, so the screen never shows the first arrangement for a frame."""

    MOST_LAYOUTS = 3
    """Layouts in a row at most before a paint, whatever widgets ask."""

    _layout_again = False
    _layouts_left = 0
    _layout_size: Any = None

    def layout_again(self, widget: Widget) -> None:
        """`widget` (being laid out) needs another size: lay the screen out again
        before painting it. What `Widget.refresh(layout=True)` would do when
        the widget is next idle (`Widget._check_refresh`) is done now: the
        arrangements that hold its old size are dropped."""
        widget._layout_updates += 1
        for ancestor in widget.ancestors:
            if not isinstance(ancestor, Widget):
                break
            ancestor._clear_arrangement_cache()
            ancestor._layout_updates += 1
            if not ancestor.styles.auto_dimensions:
                break
        self._layout_again = True

    def _refresh_layout(self, size: Any = None, scroll: bool = False) -> None:
        if self._layouts_left:
            super()._refresh_layout(size, scroll)  # type: ignore[misc]
            return
        self._layouts_left = self.MOST_LAYOUTS
        self._layout_size = size
        try:
            super()._refresh_layout(size, scroll)  # type: ignore[misc]
        finally:
            again, self._layout_again = self._layout_again, False
            self._layouts_left = 0
            self._layout_size = None
            if again:
                # (Asked where the layout could not be repeated before its
                # paint, as in a batch of updates: at the next update, then.)
                self.refresh(layout=True)  # type: ignore[attr-defined]

    def _compositor_refresh(self) -> None:
        # Textual's layout ends with this paint: lay out again instead if asked
        # (that layout paints, or lays out once more).
        if self._layout_again and self._layouts_left > 1:
            self._layout_again = False
            self._layouts_left -= 1
            self._refresh_layout(self._layout_size)
            return
        self._layout_again = False
        super()._compositor_refresh()  # type: ignore[misc]


class ScrolledUpdate(ChopsUpdate):
    """A screen update that first moves rows `top` to `bottom` - 1 of the
    terminal up by `rows` (a scrolling region), then paints its pieces."""

    def __init__(self, update: ChopsUpdate, top: int, bottom: int, rows: int) -> None:
        super().__init__(update.chops, update.spans, update.chop_ends)
        self.scroll = (top, bottom, rows)

    def render_segments(self, console: Any) -> str:
        top, bottom, rows = self.scroll
        # The region (which homes the cursor), its last row, an index per row
        # (at a region's bottom an index moves the region's lines up), the
        # whole screen as the region again. The pieces then place themselves.
        moves = f"\x1b[{top + 1};{bottom}r\x1b[{bottom};1H" + "\x1bD" * rows + "\x1b[r"
        return moves + super().render_segments(console)


class ScrollsTerminal:
    """Mixin for a screen (before Textual's `Screen`): a widget whose lines all
    moved up on the screen (a window on a growing answer's last lines) has the
    terminal move them (`scroll_rows`), and repaints only the rows that changed.

    Only where nothing else would move with them: at the paint, every widget
    in those rows must be the widget, one of its containers (whose own cells
    are the same on every row: backgrounds, padding, side borders) or a
    container's scrollbar (painted again whole); and the widget must be where
    it was when it asked. Otherwise the widget is painted whole, as Textual
    would. The rows that come in at the bottom are painted whole."""

    _scrolled: tuple[Widget, int, Region] | None = None

    def scroll_rows(self, widget: Widget, rows: int) -> bool:
        """`widget`'s lines moved up `rows` rows since it was painted. True: the
        next paint moves them on the terminal, and `widget` need only have the
        rows that changed painted again; False: it must be painted whole."""
        screen: Any = self
        if (
            rows <= 0 or screen.app.is_inline or self._scrolled is not None or not widget.region
            or not isinstance(screen._compositor, CroppedCompositor)  # (which sends the moves)
        ):
            # (A second scroll before the paint: the rows the first one marked
            # as changed have moved since. The widget is painted whole.)
            self._scrolled = None
            return False
        self._scrolled = (widget, rows, widget.region)
        return True

    def _scroll_span(self, widget: Widget, rows: int, region: Region) -> tuple[int, int, list[Widget]] | None:
        """(first row, end row, scrollbars to paint again) of the rows to move, if they can be."""
        screen: Any = self
        visible = screen._compositor.visible_widgets
        if widget not in visible:
            return None
        placed, clip = visible[widget]
        shown = placed.intersection(clip)
        if placed != region or shown.height <= rows:
            return None  # moved (a layout came in between), or every row changed
        top, bottom = shown.y, shown.bottom
        containers = set(widget.ancestors_with_self)
        bars = []
        for other, (other_region, other_clip) in visible.items():
            area = other_region.intersection(other_clip)
            if not area or area.bottom <= top or area.y >= bottom or other in containers:
                continue
            if isinstance(other, ScrollBar) and other.parent in containers:
                bars.append(other)
                continue
            return None  # something else in those rows (a notification, another message ...)
        return top, bottom, bars

    def _paint_whole(self, widget: Widget) -> None:
        """Have this update paint all that shows of `widget`."""
        screen: Any = self
        visible = screen._compositor.visible_widgets
        if widget in visible:
            region, clip = visible[widget]
            if area := region.intersection(clip):
                screen._compositor._dirty_regions.add(area)

    def _compositor_refresh(self) -> None:
        screen: Any = self
        scrolled, self._scrolled = self._scrolled, None
        app = screen.app
        if scrolled is not None:
            widget, rows, region = scrolled
            span = None if screen is not app.screen or app.is_inline else self._scroll_span(widget, rows, region)
            if span is None:
                self._paint_whole(widget)  # as Textual would
            else:
                top, bottom, bars = span
                for bar in bars:
                    if isinstance(bar, CachedScrollBar):
                        bar._shown_key = None  # (what is on screen of it moves too)
                    self._paint_whole(bar)
                # The rows that come in at the bottom, whole (the terminal clears them).
                screen._compositor._dirty_regions.add(Region(0, bottom - rows, screen.size.width, rows))
                screen._compositor.scroll = (top, bottom, rows)
        try:
            super()._compositor_refresh()  # type: ignore[misc]
        finally:
            screen._compositor.scroll = None


class CroppedCompositor(Compositor):
    """A screen's compositor that draws only what an update can show.

    Textual draws a screen update front to back: for each widget whose
    *container* meets the updated area it asks for the lines of its whole
    visible part, cuts each line where widgets meet, and keeps a piece only
    where nothing in front has drawn it yet (`Compositor._render_chops`). While
    an answer streams, the header, the footer and the prompt were drawn at
    every frame and thrown away (~3 ms of CPU per 1,000 tokens), and so were
    the lines of every container behind the answer (the screen, the
    transcript, the message), all covered by it: three of every four lines
    drawn and cut at every frame. Here a widget is asked only for the rows of
    the update where some piece of it is still uncovered, and not at all when
    none is; every piece that is drawn is Textual's, in Textual's order, so the
    screen is the same (a test compares them)."""

    scroll: tuple[int, int, int] | None = None
    """Rows to have the terminal move up before the next update's pieces
    (first row, end row, rows), set by `ScrollsTerminal` for one paint."""

    def render_update(self, full: bool = False, screen_stack: Any = None, simplify: bool = False) -> Any:
        update = super().render_update(full=full, screen_stack=screen_stack, simplify=simplify)
        scroll, self.scroll = self.scroll, None
        if scroll is not None and type(update) is ChopsUpdate and update.spans:
            return ScrolledUpdate(update, *scroll)
        return update  # (a whole-screen update needs no moving)

    def _render_chops(
        self, crop: Region, is_rendered_line: Callable[[int], bool]
    ) -> Sequence[Mapping[int, Strip]]:
        cuts = self.cuts
        chops: list[dict[int, Strip | None]] = [dict.fromkeys(cut_set[:-1]) for cut_set in cuts]
        crop_left, crop_top, crop_right, crop_bottom = crop.x, crop.y, crop.right, crop.bottom
        # Only what falls in the update is sent to the terminal (`ChopsUpdate`):
        # the pieces of each line in it that nothing has drawn yet.
        undrawn = [0] * len(cuts)
        whole_width = crop_left <= 0 and crop_right >= self.size.width
        for row in range(max(0, crop_top), min(len(cuts), crop_bottom)):
            if is_rendered_line(row):
                row_cuts = cuts[row]
                undrawn[row] = len(row_cuts) - 1 if whole_width else sum(
                    1 for cut, end in zip(row_cuts, row_cuts[1:]) if cut < crop_right and end > crop_left
                )
        intersection = Region.intersection
        for widget, (region, clip) in self.visible_widgets.items():  # front to back
            x, y, width, height = intersection(region, clip)
            right = x + width
            if max(x, crop_left) >= min(right, crop_right):
                continue  # no part of it in the update
            rows = [row for row in range(max(y, crop_top), min(y + height, crop_bottom)) if undrawn[row]]
            if not rows:
                continue  # covered wherever the update reaches: nothing of it would show
            first = rows[0]
            strips = widget.render_lines(Region(x - region.x, first - region.y, width, rows[-1] + 1 - first))
            for row in rows:
                if row - first >= len(strips):
                    break
                line = chops[row]
                line_cuts = [cut for cut in cuts[row] if x <= cut <= right]
                pieces = strips[row - first].divide([cut - x for cut in line_cuts[1:]])
                for cut, end, piece in zip(line_cuts, line_cuts[1:], pieces):
                    if line.get(cut, 0) is None:
                        line[cut] = piece
                        if cut < crop_right and end > crop_left:
                            undrawn[row] -= 1
        return cast("Sequence[Mapping[int, Strip]]", chops)


class WindowedScroll:
    """Mixin for an anchored scrolling container in which a streaming answer
    may be laid out as a window on its last lines (`windowed`, see
    `MarkdownStreamView._window_rows`)."""

    windowed: Any = None
    """The answer laid out as a window, if any (it has `leave_window()`)."""

    def follows_bottom(self) -> bool:
        """Anchored, and the user has not scrolled away."""
        widget: Widget = self  # type: ignore[assignment]
        return widget._anchored and not widget._anchor_released

    @property
    def hidden_rows(self) -> int:
        """Rows above the window (not laid out)."""
        return self.windowed._offset if self.windowed is not None else 0

    def leave_window(self) -> int:
        """Have the answer laid out whole, and move the scroll position, size
        and scrollbar by the rows that were above the window at once (the
        layout follows at the next screen update); return them."""
        return self._leave_window(None)[1]

    def _leave_window(self, y: float | None) -> tuple[float | None, int]:
        """`leave_window`, and where scroll position `y` of the windowed layout is on the whole one."""
        windowed, self.windowed = self.windowed, None
        if windowed is None:
            return y, 0
        widget: Widget = self  # type: ignore[assignment]
        # Rows from the answer's top down move by the hidden rows; those above stay.
        top = windowed.region.y - widget.scrollable_content_region.y + widget.scroll_y
        hidden = windowed.leave_window()
        if not hidden:
            return y, 0

        def whole(position: float) -> float:
            return position + hidden if position >= top else position

        width, height = widget.virtual_size
        widget.set_reactive(Widget.virtual_size, Size(width, height + hidden))
        widget.set_reactive(Widget.scroll_y, whole(widget.scroll_y))
        widget.set_reactive(Widget.scroll_target_y, whole(widget.scroll_target_y))
        bar = widget.vertical_scrollbar
        bar.window_virtual_size = height + hidden
        bar.position = widget.scroll_y
        return (whole(y) if y is not None else None), hidden

    def on_resize(self, event: Any) -> None:
        if self.windowed is not None:
            self.windowed.fit_window()

    def release_anchor(self) -> None:
        self.leave_window()
        super().release_anchor()  # type: ignore[misc]

    # A position given to these was worked out on the layout they are called
    # on (`scroll_to` scrolls after the next screen update, on the whole layout
    # by then). Scrolls by an amount leave the window before they work out
    # where they go (below).
    def scroll_to(self, x: float | None = None, y: float | None = None, **kwargs: Any) -> None:
        if kwargs.get("release_anchor", True):
            y, _ = self._leave_window(y)
        super().scroll_to(x, y, **kwargs)  # type: ignore[misc]

    def _scroll_to(self, x: float | None = None, y: float | None = None, **kwargs: Any) -> bool:
        if kwargs.get("release_anchor", True):
            y, _ = self._leave_window(y)
        return super()._scroll_to(x, y, **kwargs)  # type: ignore[misc]


def _leaving_the_window_first(name: str) -> Any:
    def scroll(self: WindowedScroll, *args: Any, **kwargs: Any) -> Any:
        if name in SCROLLS_DOWN and self.follows_bottom():
            # Already at the bottom: nothing to do. (Textual would release the
            # anchor, and take it again only if the position then changed,
            # which it may not, when the answer has not grown meanwhile: the
            # transcript stopped following the answer.)
            return False
        self.leave_window()
        return getattr(super(WindowedScroll, self), name)(*args, **kwargs)

    scroll.__name__ = scroll.__qualname__ = name
    return scroll


# Textual's scrolls by an amount, from the position they start at (a page up
# from a windowed answer goes into the rows above the window).
SCROLLS_BY_AN_AMOUNT = ("scroll_relative", "scroll_up", "scroll_down", "scroll_page_up", "scroll_page_down",
                        "_scroll_up_for_pointer", "_scroll_down_for_pointer", "scroll_to_region")
SCROLLS_DOWN = ("scroll_down", "scroll_page_down", "_scroll_down_for_pointer")
for _name in SCROLLS_BY_AN_AMOUNT:
    setattr(WindowedScroll, _name, _leaving_the_window_first(_name))


def report_error(app: App[object], error: Exception) -> None:
    app._handle_exception(error)


class CachedScrollBar(ScrollBar):
    """A vertical scrollbar drawn straight from its segments, and again only when they change.

    Textual repaints a scrollbar whenever the size of what it scrolls changes,
    and a streaming answer changes it with every new line, but the bar on screen
    (its thumb in eighths of a cell) seldom moves; and drawing it through
    Textual's general path took ~1 ms (about 70 µs a line). The bar's segments
    are worked out as Textual's renderer does (cheap); only when they differ is
    it drawn again: one segment a line, on the widget's style, through the
    app's line filters, as Textual would (the repaint test compares the two)."""

    def __init__(self, vertical: bool = True, name: str | None = None, *, thickness: int = 1) -> None:
        super().__init__(vertical=vertical, name=name, thickness=thickness)
        self._drawn_key: object = None
        self._drawn: list[Strip] = []
        self._shown_key: object = None
        """The key of the bar as last drawn whole (what the screen shows of it)."""
        self._look: object = None
        self._line_cache: dict[Segment, Strip] = {}

    def _bar_segments(self, size: Size) -> list[Segment] | None:
        renderer = self.render()
        if not isinstance(renderer, ScrollBarRender) or not renderer.vertical:
            return None
        width, height = size
        style = renderer.style
        if not isinstance(style, Style) or style.bgcolor is None or style.color is None:
            return None  # not what ScrollBar.render makes: no shortcut
        bar = renderer.render_bar(
            size=height,
            window_size=renderer.window_size,
            virtual_size=renderer.virtual_size,
            position=renderer.position,
            vertical=True,
            thickness=width,
            back_color=style.bgcolor,
            bar_color=style.color,
        )
        segments = list(bar.segments)
        return segments if len(segments) == height else None

    def _render_bar(self, scrollbar_style: Style) -> Any:
        renderer = super()._render_bar(scrollbar_style)
        if not isinstance(renderer, ScrollBarRender):
            return renderer
        hidden = getattr(self.parent, "hidden_rows", 0)
        if hidden:
            # Rows of a windowed answer not laid out (see `WindowedScroll`).
            renderer.virtual_size += hidden
            renderer.position += hidden
        elif not renderer.window_size and isinstance(self.parent, Widget) and self.parent.styles.overflow_y == "scroll":
            # Nothing to scroll (Textual draws the whole track then), in a
            # container that always shows its bar: drawn as its blank gutter.
            _, background = self.parent.background_colors
            renderer.style = Style.from_color(background.rich_color, background.rich_color)
        return renderer

    def _check_refresh(self) -> None:
        # Textual asks for the bar to be drawn again whenever what it scrolls
        # changes size (`_scroll_update`): while an answer streams, at every new
        # line, from within the layout that then draws the whole bar anyway. The
        # request came too early to be seen as done, and cost a screen update of
        # its own (~1.4 ms here) at most frames. It is dropped when the bar on
        # screen, drawn whole, is what the bar would draw now.
        if self._repaint_required and self._shown_key is not None:
            size = self.size  # (worked out from the screen's layout each time it is read: once)
            if self._shown_key == self._key(size, self._bar_segments(size)):
                self._repaint_required = False
        super()._check_refresh()

    def refresh_if_moved(self) -> None:
        """`refresh()`, unless the bar on screen is what the bar would draw now
        (checked here, not when the bar's own message loop would wake up for
        the request, ~0.3 ms each time, only to drop it)."""
        if self._shown_key is not None and not self._repaint_required:
            size = self.size
            if self._shown_key == self._key(size, self._bar_segments(size)):
                return
        self.refresh()

    @staticmethod
    def _key(size: Size, segments: list[Segment] | None) -> object:
        return (size, tuple(segments)) if segments is not None else None

    def render_lines(self, crop: Region) -> list[Strip]:
        size = self.size
        segments = self._bar_segments(size)
        key = self._key(size, segments)
        # (Only a drawing of the whole bar tells what the screen shows of it.)
        self._shown_key = key if crop == size.region else None
        if key is None or key != self._drawn_key:
            self._drawn_key = key
            if segments is None:
                self._drawn = super().render_lines(size.region)
            else:
                # A bar is a few kinds of line (track, thumb, the thumb's ends)
                # repeated: each kind is made once, while the bar's look holds.
                width = size.width
                base = self.visual_style.rich_style
                background = self.background_colors[1]
                filters = self.get_line_filters()
                look = (width, base, background, tuple(filters))
                if look != self._look:
                    self._look = look
                    self._line_cache = {}
                cache = self._line_cache
                drawn = self._drawn = []
                for segment in segments:
                    strip = cache.get(segment)
                    if strip is None:
                        strip = Strip([Segment(segment.text, base + segment.style)], width)
                        for line_filter in filters:
                            strip = strip.apply_filter(line_filter, background)
                        cache[segment] = strip
                    drawn.append(strip)
        lines = self._drawn[crop.y : crop.bottom]
        if crop.x or crop.width != size.width:
            lines = [line.crop(crop.x, crop.right) for line in lines]
        return lines

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._drawn_key = None
        self._shown_key = None
        self._look = None


class CachedVerticalScrollBar:
    """Mixin for a scrolling container: its vertical scrollbar is a `CachedScrollBar`
    (Textual makes a plain one when the bar is first needed, in `vertical_scrollbar`)."""

    @property
    def vertical_scrollbar(self) -> ScrollBar:
        widget: Widget = self  # type: ignore[assignment]
        if widget._vertical_scrollbar is None:
            bar = CachedScrollBar(vertical=True, name="vertical", thickness=widget.scrollbar_size_vertical)
            widget._vertical_scrollbar = bar
            bar.display = False
            widget.app._start_widget(widget, bar)
        return widget._vertical_scrollbar

"""What `chat_tui.ui.textual_internals` relies on in Textual's private API is
still there, with the same meaning: an upgrade of Textual fails here first."""

from __future__ import annotations

import inspect

from textual.app import App
from textual.geometry import Region
from textual.screen import Screen
from textual.scrollbar import ScrollBarRender
from textual.widget import Widget

from chat_tui.ui.textual_internals import SCROLLS_BY_AN_AMOUNT, CachedVerticalScrollBar, LayoutOnce
from chat_tui.ui.widgets.message_view import AssistantMessageView
from chat_tui.ui.widgets.stream_view import MarkdownStreamView
from chat_tui.ui.widgets.transcript import Transcript


def test_size_updated_still_takes_a_layout_flag() -> None:
    parameters = inspect.signature(Widget._size_updated).parameters
    assert list(parameters)[:5] == ["self", "size", "virtual_size", "container_size", "layout"]
    assert parameters["layout"].default is True
    source = inspect.getsource(Widget._size_updated)
    assert "layout" in source.split("def _size_updated", 1)[1]  # the flag is used, not merely accepted


def test_a_size_change_still_repaints_the_whole_widget_only_through_what_layout_once_sets() -> None:
    """LayoutOnce marks the lines that changed itself and sets `_size` first, so
    that Textual's `_size_updated` does not mark the whole widget: that relies on
    Textual comparing `_size` before calling `_set_dirty()`, and on `_set_dirty`
    taking regions of the content."""
    source = inspect.getsource(Widget._size_updated)
    assert "if self._size != size:" in source
    assert "self._set_dirty()" in source.split("if self._size != size:", 1)[1].split("\n")[1]
    parameters = inspect.signature(Widget._set_dirty).parameters
    assert list(parameters) == ["self", "regions"]
    assert parameters["regions"].kind is inspect.Parameter.VAR_POSITIONAL
    assert "translate(content_offset)" in inspect.getsource(Widget._set_dirty)


def test_the_widgets_that_grow_while_streaming_use_it() -> None:
    for widget in (Transcript, MarkdownStreamView):
        assert widget._size_updated is LayoutOnce._size_updated
    # The answer's view adds to it (where it sits, see `AssistantMessageView._hold`).
    assert AssistantMessageView.__mro__.index(LayoutOnce) > 0
    assert "super()._size_updated(" in inspect.getsource(AssistantMessageView._size_updated)


def test_a_repaint_request_is_still_a_flag_read_when_the_widget_is_idle() -> None:
    """`CachedScrollBar._check_refresh` clears `_repaint_required` before Textual
    reads it there (and posts the screen update it asks for)."""
    assert "self._repaint_required = True" in inspect.getsource(Widget.refresh)
    source = inspect.getsource(Widget._check_refresh)
    assert "if self._repaint_required:" in source
    assert "messages.Update(self)" in source.split("if self._repaint_required:", 1)[1]


def test_the_screen_is_still_painted_by_a_timer_that_idle_resumes() -> None:
    """`PaintSoon` paints from `Screen._on_idle` by calling what the update timer
    calls; that relies on idle resuming the timer when a layout or repaint is
    due, and on the timer's callback pausing the timer and doing the paint."""
    from textual.screen import Screen

    from chat_tui.ui.screens.chat import ChatScreen
    from chat_tui.ui.textual_internals import PaintSoon

    idle = inspect.getsource(Screen._on_idle)
    assert "self._layout_required" in idle and "self._dirty_widgets" in idle
    assert "self._update_timer.resume()" in idle
    tick = inspect.getsource(Screen._on_timer_update)
    assert "self._update_timer.pause()" in tick and "self._refresh_layout(" in tick
    assert "self._compositor_refresh()" in tick
    assert 'self._on_timer_update, name="screen_update"' in inspect.getsource(Screen._update_timer.fget)
    assert ChatScreen._on_idle is PaintSoon._on_idle


def test_handle_exception_is_still_there() -> None:
    assert callable(App._handle_exception)
    assert list(inspect.signature(App._handle_exception).parameters) == ["self", "error"]


def test_the_crash_report_hook_is_still_there() -> None:
    from chat_tui.ui.app import ChatApp

    assert list(inspect.signature(App._fatal_error).parameters) == ["self"]
    assert ChatApp._fatal_error is not App._fatal_error
    assert "_exit_renderables" in inspect.getsource(App._fatal_error)


def test_the_vertical_scrollbar_is_still_made_as_cached_vertical_scrollbar_makes_it() -> None:
    """`CachedVerticalScrollBar.vertical_scrollbar` repeats Textual's own, with
    another class: Textual's must still make it the same way."""
    source = inspect.getsource(Widget.vertical_scrollbar.fget)
    for line in (
        "if self._vertical_scrollbar is not None:",
        "self._vertical_scrollbar = scroll_bar = ScrollBar(",
        'vertical=True, name="vertical", thickness=self.scrollbar_size_vertical',
        "self._vertical_scrollbar.display = False",
        "self.app._start_widget(self, scroll_bar)",
    ):
        assert line in source, line
    assert Transcript.vertical_scrollbar is CachedVerticalScrollBar.vertical_scrollbar
    assert list(inspect.signature(ScrollBarRender.render_bar).parameters) == [
        "size", "virtual_size", "window_size", "position", "thickness", "vertical", "back_color", "bar_color"
    ]


def test_blank_widgets_are_still_painted_as_blank_lines() -> None:
    assert "if self.BLANK:" in inspect.getsource(Widget.render_lines)
    assert "if self.BLANK:" in inspect.getsource(Widget.render_line)


def test_textual_still_draws_an_update_front_to_back_into_pieces_cut_where_widgets_meet() -> None:
    """`CroppedCompositor._render_chops` replaces Textual's: the same signature
    and result (per line, a piece per cut, the first widget front to back to
    reach it wins), of which Textual sends only the pieces in the update."""
    from textual._compositor import ChopsUpdate, Compositor

    from chat_tui.ui.screens.chat import ChatScreen
    from chat_tui.ui.textual_internals import CroppedCompositor

    assert list(inspect.signature(Compositor._render_chops).parameters) == ["self", "crop", "is_rendered_line"]
    source = inspect.getsource(Compositor._render_chops)
    assert "chops = [fromkeys(cut_set[:-1]) for cut_set in cuts]" in source
    assert "final_cuts = [cut for cut in cuts[y] if (last_cut >= cut >= first_cut)]" in source
    assert "strip.divide([cut - render_x for cut in final_cuts[1:]])" in source
    assert "if get_chops_line(cut) is None:" in source
    renders = inspect.getsource(Compositor._get_renders)
    assert "widget.render_lines(" in renders and "for widget, (region, clip) in visible_widgets.items()" in renders
    assert "visible_widgets.sort(key=itemgetter(0), reverse=True)" in inspect.getsource(
        Compositor.visible_widgets.fget  # type: ignore[attr-defined]
    )  # front to back
    assert "if x > x2 or end <= x1:" in inspect.getsource(ChopsUpdate.__rich_console__)  # only the update's
    assert "self._compositor = CroppedCompositor()" in inspect.getsource(ChatScreen.__init__)
    assert issubclass(CroppedCompositor, Compositor)


def _same_update(compositor, crop: Region, rendered) -> None:  # noqa: ANN001
    """Every piece of the update `crop` (lines `rendered`) that Textual would
    send is the same in ours."""
    from textual._compositor import Compositor

    ours = compositor._render_chops(crop, rendered)
    theirs = Compositor._render_chops(compositor, crop, rendered)
    for y in crop.line_range:
        if not rendered(y):
            continue
        for x, strip in theirs[y].items():
            cut_end = [c for c in compositor.cuts[y] if c > x][0]
            if strip is not None and x < crop.right and cut_end > crop.x:  # a piece of the update
                assert ours[y][x] is not None and ours[y][x].text == strip.text, (crop, y, x)
                assert list(ours[y][x]) == list(strip), (crop, y, x)


async def test_an_update_draws_only_what_it_shows_and_what_it_draws_is_textuals(tmp_path, monkeypatch) -> None:
    from chat_tui.ui.widgets.header_bar import HeaderBar
    from tests.support.app import make_app, open_store
    from tests.support.pilot import send, wait_for

    app = make_app(open_store(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, "Show me a table and some code")
        await wait_for(lambda: app.screen._streaming_view is None, timeout=10)
        await pilot.pause()
        screen = app.screen
        compositor = screen._compositor
        drawn: list[tuple[str, int]] = []
        original = Widget.render_lines

        def counting(self: Widget, crop):  # noqa: ANN001, ANN202
            drawn.append((type(self).__name__, crop.height))
            return original(self, crop)

        monkeypatch.setattr(Widget, "render_lines", counting)
        monkeypatch.setattr(MarkdownStreamView, "render_lines", counting)
        transcript = screen.transcript.region
        header = screen.query_one(HeaderBar).region
        body = screen.query_one(AssistantMessageView).body.region.intersection(transcript)
        crops = [transcript, header, transcript.union(header), Region(3, 5, 10, 3), Region(0, 23, 80, 1),
                 screen.size.region, body, Region(body.x - 1, body.y, 3, body.height), Region(78, 0, 2, 24)]
        every_other = lambda y: y % 2 == 0  # noqa: E731
        for crop in crops:
            for rendered in (lambda y: True, every_other, lambda y: y in (2, 9, 10, 23)):
                _same_update(compositor, crop, rendered)
        drawn.clear()
        compositor._render_chops(transcript, lambda y: True)
        assert "HeaderBar" not in {name for name, _ in drawn} and drawn
        # The screen behind the transcript is covered where the update reaches.
        assert "ChatScreen" not in {name for name, _ in drawn}
        drawn.clear()
        compositor._render_chops(body, lambda y: True)
        assert {name for name, _ in drawn} == {"MarkdownStreamView"}  # the containers behind it are covered
        drawn.clear()
        compositor._render_chops(body, lambda y: y == body.y + 2)
        assert drawn == [("MarkdownStreamView", 1)]  # only the lines of the update


def test_every_way_of_scrolling_still_goes_through_what_windowed_scroll_replaces() -> None:
    """A windowed answer is laid out whole before any scroll works out a position
    (`WindowedScroll`): Textual's scrolls go through `scroll_to` or `_scroll_to`,
    which release the anchor; grabbing the scrollbar releases it directly."""
    from textual.scrollbar import ScrollBar

    for method in (Widget.scroll_to, Widget._scroll_to):
        parameters = inspect.signature(method).parameters
        assert list(parameters)[:3] == ["self", "x", "y"] and "release_anchor" in parameters
        assert "self.release_anchor()" in inspect.getsource(method)
    for name in ("scroll_relative", "scroll_up", "scroll_page_up", "scroll_home"):
        assert "self.scroll_to(" in inspect.getsource(getattr(Widget, name)), name
    assert "self._scroll_to(" in inspect.getsource(Widget._scroll_up_for_pointer)
    for name in SCROLLS_BY_AN_AMOUNT:  # each works out where it goes from where it is
        assert "self.scroll_" in inspect.getsource(getattr(Widget, name)), name
    assert "release_anchor()" in inspect.getsource(ScrollBar._on_mouse_capture)
    assert "self._anchor_released = True" in inspect.getsource(Widget.release_anchor)
    assert "self._anchored = anchor" in inspect.getsource(Widget.anchor)
    assert {"virtual_size", "position"} <= set(inspect.signature(ScrollBarRender.__init__).parameters)
    assert "return self.renderer(" in inspect.getsource(ScrollBar._render_bar)


def test_textual_still_paints_the_top_screen_through_its_compositors_update() -> None:
    """`ScrollsTerminal` has the chat screen's compositor put the terminal's
    moves before the update Textual's `Screen._compositor_refresh` sends, a
    `ChopsUpdate` made from another's parts."""
    from textual._compositor import ChopsUpdate, Compositor

    from chat_tui.ui.screens.chat import ChatScreen
    from chat_tui.ui.textual_internals import ScrollsTerminal

    source = inspect.getsource(Screen._compositor_refresh)
    assert "update = self._compositor.render_update(" in source and "app._display(self, update)" in source
    assert list(inspect.signature(Compositor.render_update).parameters) == ["self", "full", "screen_stack", "simplify"]
    assert list(inspect.signature(ChopsUpdate.__init__).parameters) == ["self", "chops", "spans", "chop_ends"]
    assert "return ChopsUpdate(chops, spans, chop_ends)" in inspect.getsource(Compositor.render_partial_update)
    assert "self._dirty_regions: set[Region] = set()" in inspect.getsource(Compositor.__init__)
    assert ChatScreen.__mro__.index(ScrollsTerminal) < ChatScreen.__mro__.index(Screen)

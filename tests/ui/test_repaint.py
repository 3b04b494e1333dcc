"""What is on screen while an answer streams equals a fresh paint of the same
screen, and equals what Textual paints without the app's shortcuts. The app
lets Textual keep the cells of lines that did not change when an answer grows
and keeps the scrollbar's lines while its thumb stays put
(`ui/textual_internals.py`), and has containers painted as blank lines
(`ui/blank.py`); a line kept that should have been painted again, or a
container that shows something of its own, would show here."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from rich.segment import Segment
from textual.app import App
from textual.pilot import Pilot
from textual.widget import Widget

from chat_tui.ui.blank import BlankBackground
from chat_tui.ui.kept_lines import KeptLines
from chat_tui.ui.textual_internals import CachedScrollBar
from chat_tui.ui.widgets.message_view import AssistantMessageView
from chat_tui.ui.widgets.stream_view import MarkdownStreamView
from tests.support.app import make_app, open_store
from tests.support.pilot import send, wait_for
from tests.support.sse_server import Reply, SSETestServer, openai_text_reply

ANSWER = (
    "# A heading\n\nA paragraph that wraps over more than one line of the screen, with **bold** and `code` "
    "in it, long enough to wrap twice at this width.\n\n"
    "- one\n- two, which is longer and wraps onto a second line of the screen here\n\n"
    "```python\n" + "".join(f"value_{i} = compute({i})  # step {i}\n" for i in range(12)) + "```\n\n"
    "| name | time |\n| --- | ---: |\n" + "".join(f"| row {i} | {i * 7} ms |\n" for i in range(6)) +
    "\n> a quote\n\nThe end."
)


def gated_reply(pieces: list[str], step: int) -> tuple[Reply, list[threading.Event]]:
    """A reply whose pieces come `step` at a time, each group once its gate is
    set: every check of the screen sees the answer grown, whatever the machine's speed."""
    reply = openai_text_reply(pieces)
    gates = [threading.Event() for _ in range(0, len(pieces), step)]
    body = reply.chunks[1 : 1 + len(pieces)]
    reply.chunks[1 : 1 + len(pieces)] = [
        chunk for i, gate in enumerate(gates) for chunk in (gate, *body[i * step : (i + 1) * step])
    ]
    return reply, gates


async def show_next(pilot: Pilot[object], gate: threading.Event, length: int) -> None:
    """Let the next group of pieces come, and wait until the screen shows the answer `length` long."""
    app = pilot.app
    gate.set()

    def shown() -> bool:
        view = app.screen._streaming_view  # type: ignore[attr-defined]
        body = view.body if view is not None else None
        return body is None or (body.document.length >= length and not body._dirty and not
                                app.screen._dirty_widgets and not app.screen._layout_required)

    await wait_for(shown, timeout=10)
    await pilot.pause()


def _cells(app: App[object], *, fresh: bool) -> list[list[tuple[str, object]]]:
    screen = app.screen
    if fresh:
        for widget in screen.walk_children(with_self=True):
            widget._styles_cache.clear()
            if isinstance(widget, CachedScrollBar):
                widget._drawn_key = None
            if isinstance(widget, MarkdownStreamView):
                widget._strips.clear()
            if isinstance(widget, KeptLines):
                widget.forget_lines()
    strips = screen._compositor.render_strips()
    return [[(character, segment.style) for segment in strip for character in segment.text]
            for strip in strips if not isinstance(strip, Segment)]


def _textual_cells(app: App[object], monkeypatch: pytest.MonkeyPatch) -> list[list[tuple[str, object]]]:
    """A fresh paint by Textual alone: containers drawn line by line, the
    scrollbar and the answer's lines through Textual's own `render_lines`. (A blank cell's foreground
    colour cannot be seen, so only the background of spaces is compared.)"""
    with monkeypatch.context() as patch:
        patch.setattr(BlankBackground, "BLANK", False)
        patch.setattr(CachedScrollBar, "render_lines", Widget.render_lines)
        patch.setattr(MarkdownStreamView, "render_lines", Widget.render_lines)
        cells = _cells(app, fresh=True)
    _cells(app, fresh=True)  # and the app's own caches again
    return [[(c, style.bgcolor if c == " " else style) for c, style in line] for line in cells]


def _visible(cells: list[list[tuple[str, object]]]) -> list[list[tuple[str, object]]]:
    return [[(c, style.bgcolor if c == " " else style) for c, style in line] for line in cells]


@pytest.mark.parametrize("no_color", [False, True])
async def test_screen_while_streaming_equals_a_fresh_paint(
    server: SSETestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_color: bool
) -> None:
    """(With NO_COLOR, Textual's line filters turn every style grey: the app's
    own shortcut for the answer's lines must filter them as Textual would.)"""
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    pieces = [ANSWER[i:i + 7] for i in range(0, len(ANSWER), 7)]
    reply, gates = gated_reply(pieces, 8)
    server.queue(reply)
    app = make_app(open_store(tmp_path), base_url=server.base_url)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "go")
        await wait_for(lambda: app.screen._streaming_view is not None, timeout=1)
        for checked, gate in enumerate(gates):
            await show_next(pilot, gate, len("".join(pieces[: (checked + 1) * 8])))
            shown = _cells(app, fresh=False)
            assert shown == _cells(app, fresh=True), f"stale cells after {checked} checks"
            assert _visible(shown) == _textual_cells(app, monkeypatch), f"not Textual's paint after {checked} checks"
        await wait_for(lambda: app.screen._streaming_view is None, timeout=10)
        await pilot.pause()
        assert app.screen.query_one(AssistantMessageView).body.text == ANSWER
        assert _cells(app, fresh=False) == _cells(app, fresh=True)
        assert _visible(_cells(app, fresh=False)) == _textual_cells(app, monkeypatch)
        assert isinstance(app.screen.transcript.vertical_scrollbar, CachedScrollBar)
        assert app.screen.transcript.vertical_scrollbar.display  # the answer is longer than the screen
    assert len(gates) >= 5


@pytest.mark.parametrize("no_color", [False, True])
async def test_containers_are_painted_blank_unless_a_colour_filter_must_see_their_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_color: bool
) -> None:
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    app = make_app(open_store(tmp_path))
    async with app.run_test(size=(80, 20)):
        blank = [widget for widget in app.screen.walk_children(with_self=True) if isinstance(widget, BlankBackground)]
        assert blank and {widget.BLANK for widget in blank} == {not no_color}


async def test_garbage_collector_settings_last_as_long_as_the_app(tmp_path: Path) -> None:
    """After its first frame the app freezes what it has loaded and makes full
    collections rarer (they stalled streaming); on exit both are undone, so an
    app run inside a longer process (tests) leaves nothing uncollectable."""
    import gc

    from chat_tui.ui.app import GC_THRESHOLDS

    before = gc.get_threshold()
    assert gc.get_freeze_count() == 0
    app = make_app(open_store(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(lambda: gc.get_freeze_count() > 0)
        await pilot.pause()
        assert gc.get_threshold() == GC_THRESHOLDS
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


async def test_the_collector_off_while_the_app_starts_is_on_once_it_has(tmp_path: Path) -> None:
    """The command turns the cyclic collector off while the app starts (nothing
    it creates then is garbage); the app turns it on after its first frame."""
    import gc

    app = make_app(open_store(tmp_path))
    gc.disable()
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(lambda: gc.get_freeze_count() > 0)
            await pilot.pause()
            assert gc.isenabled()
    finally:
        gc.enable()


def test_the_command_starts_the_app_with_the_collector_off_and_leaves_it_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc

    from chat_tui import cli
    from chat_tui.ui.app import ChatApp

    seen = []
    monkeypatch.setattr(ChatApp, "run", lambda self, *args, **kwargs: seen.append(gc.isenabled()))
    monkeypatch.setenv("CHAT_TUI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CHAT_TUI_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    try:
        assert cli.main([]) == 0
        assert seen == [False]  # off while it starts (the app turns it on after its first frame)
        assert gc.isenabled()  # on again, whatever the app did
    finally:
        gc.enable()


class _Terminal:
    """What a terminal would show: every screen update the app sends, fed to a
    terminal emulator (headless, Textual renders updates but sends them nowhere)."""

    def __init__(self, app: App[object], cols: int, rows: int) -> None:
        import pyte
        from textual._compositor import CompositorUpdate

        from chat_tui.ui.textual_internals import ScrolledUpdate

        self.screen = pyte.Screen(cols, rows)
        self._stream = pyte.Stream(self.screen)
        self.updates = 0
        self.scrolled = 0
        """Updates that had the terminal move rows up (`ScrollsTerminal`)."""
        self._app = app
        display = app._display

        def capture(screen: object, renderable: object) -> None:
            if isinstance(renderable, CompositorUpdate) and not app._batch_count:
                self._stream.feed(renderable.render_segments(app.console))
                self.updates += 1
                self.scrolled += isinstance(renderable, ScrolledUpdate)
            display(screen, renderable)  # type: ignore[arg-type]

        app._display = capture  # type: ignore[method-assign]

    def cells(self) -> list[list[tuple[str, str, str, bool, bool]]]:
        return [[(c.data, c.fg, c.bg, c.bold, c.reverse) for c in (row[x] for x in range(self.screen.columns))]
                for row in (self.screen.buffer[y] for y in range(self.screen.lines))]

    def fresh_paint(self) -> list[list[tuple[str, str, str, bool, bool]]]:
        """A whole-screen paint of the app as it is now, on a terminal of its own."""
        import pyte

        screen = pyte.Screen(self.screen.columns, self.screen.lines)
        update = self._app.screen._compositor.render_update(full=True)
        pyte.Stream(screen).feed(update.render_segments(self._app.console))
        return [[(c.data, c.fg, c.bg, c.bold, c.reverse) for c in (row[x] for x in range(screen.columns))]
                for row in (screen.buffer[y] for y in range(screen.lines))]


async def _ask_into_terminal(pilot: Pilot[object]) -> tuple[_Terminal, AssistantMessageView]:
    """A terminal emulator behind the app's 100x30 screen, fed from its first paint;
    then a question, and the view of its answer once it streams."""
    app = pilot.app
    terminal = _Terminal(app, 100, 30)
    app.screen.refresh()
    await pilot.pause()
    await send(pilot, "go")
    await wait_for(lambda: app.screen._streaming_view is not None, timeout=1)
    return terminal, app.screen._streaming_view


@pytest.mark.parametrize("long", [False, True])
async def test_what_reaches_the_terminal_while_streaming_equals_a_fresh_paint(
    server: SSETestServer, tmp_path: Path, long: bool
) -> None:
    """The updates sent while an answer streams leave the terminal showing what
    a whole-screen paint shows: a repaint the app skipped (an answer's lines
    kept, the scrollbar's refresh dropped when the screen already shows it)
    would leave stale cells here, the scrollbar's thumb among them. A long
    answer streams mostly laid out as a window on its last lines, whose
    scrollbar moves with no layout at all."""
    answer = ANSWER + "".join(f"\n- item {i}, a line of its own" for i in range(60)) if long else ANSWER
    size = 14 if long else 7
    pieces = [answer[i:i + size] for i in range(0, len(answer), size)]
    # The pieces come a few at a time, each group when the test has checked the
    # screen after the last: every check sees the answer grown, whatever the machine's speed.
    step = 10 if long else 8
    reply, gates = gated_reply(pieces, step)
    server.queue(reply)
    app = make_app(open_store(tmp_path), base_url=server.base_url)
    async with app.run_test(size=(100, 30)) as pilot:
        terminal, view = await _ask_into_terminal(pilot)
        windowed = 0
        thumbs: set[object] = set()
        for checked, gate in enumerate(gates):
            await show_next(pilot, gate, len("".join(pieces[: (checked + 1) * step])))
            assert terminal.cells() == terminal.fresh_paint(), f"the terminal is stale after {checked} checks"
            bar = app.screen.transcript.vertical_scrollbar
            thumbs.add((bar.window_virtual_size + app.screen.transcript.hidden_rows, bar.position))
            windowed += bool(view.body._window)
        await wait_for(lambda: app.screen._streaming_view is None, timeout=10)
        await pilot.pause()
        assert terminal.cells() == terminal.fresh_paint()
        transcript = app.screen.transcript
        assert transcript.vertical_scrollbar.display
        for _ in range(3):  # the thumb moves without a layout: only the bar's own repaint shows it
            transcript.scroll_relative(y=-7, animate=False)
            await pilot.pause()
            assert terminal.cells() == terminal.fresh_paint(), f"stale after scrolling to {transcript.scroll_y}"
    assert len(gates) >= 10
    assert len(thumbs) >= 3  # the thumb moved while the answer grew
    if long:
        assert windowed >= len(gates) // 2  # most checks saw the answer windowed
        assert terminal.scrolled >= len(gates) // 2  # the window's rows moved up by the terminal


async def test_rows_are_not_moved_by_the_terminal_under_a_notification(server: SSETestServer, tmp_path: Path) -> None:
    """A notification over the answer's rows would move with them: while one
    shows, the window's rows are painted again instead (and the terminal still
    shows what a whole-screen paint shows, before and after it goes)."""
    answer = ANSWER + "".join(f"\n- item {i}, a line of its own" for i in range(60))
    pieces = [answer[i:i + 14] for i in range(0, len(answer), 14)]
    reply, gates = gated_reply(pieces, 10)
    server.queue(reply)
    app = make_app(open_store(tmp_path), base_url=server.base_url)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        terminal, view = await _ask_into_terminal(pilot)
        checked = 0
        while not view.body._window and checked < len(gates):
            await show_next(pilot, gates[checked], len("".join(pieces[: (checked + 1) * 10])))
            checked += 1
        assert view.body._window
        for i in range(4):  # (stacked up from the bottom, they reach over the answer's rows)
            app.notify(f"Notification {i} over the answer", timeout=30)
        await wait_for(lambda: len(app.screen.query("Toast")) == 4, timeout=2)
        await pilot.pause()
        toasts = [toast.region for toast in app.screen.query("Toast")]
        window = view.body.region
        assert any(t.y < window.bottom and t.bottom > window.y for t in toasts)
        scrolled = terminal.scrolled
        for gate in gates[checked : checked + 3]:
            checked += 1
            await show_next(pilot, gate, len("".join(pieces[: checked * 10])))
            assert terminal.cells() == terminal.fresh_paint()
        assert terminal.scrolled == scrolled  # none while the notification shows
        app.clear_notifications()
        await pilot.pause()
        for gate in gates[checked:]:
            checked += 1
            await show_next(pilot, gate, len("".join(pieces[: checked * 10])))
            assert terminal.cells() == terminal.fresh_paint()
        assert terminal.scrolled > scrolled  # and again once it is gone
        await wait_for(lambda: app.screen._streaming_view is None, timeout=10)

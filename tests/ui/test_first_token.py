"""An answer's first text is painted as soon as the screen is free, not at the
next tick of Textual's screen-update timer (`PaintSoon`)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import textual.screen
from textual.app import App, ComposeResult
from textual.screen import Screen

from chat_tui.ui.widgets.stream_view import MarkdownStreamView
from tests.support.app import make_app, open_store
from tests.support.pilot import send, wait_for
from tests.support.sse_server import SSETestServer, openai_text_reply


async def test_the_first_text_does_not_wait_for_the_screen_update_timer(
    server: SSETestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Textual's timer ticks every 2 s here (the answer's view is laid out at the
    # first tick, before the first text comes): a first text left to it would be
    # painted about a second late.
    monkeypatch.setattr(textual.screen, "UPDATE_PERIOD", 2.0)
    appended: list[float] = []
    painted: list[float] = []
    append = MarkdownStreamView.append
    refresh = Screen._compositor_refresh

    def timed_append(self: MarkdownStreamView, text: str) -> None:
        if text and self.streaming and not appended:
            appended.append(time.monotonic())
        append(self, text)

    def timed_refresh(self: Screen[object]) -> None:
        refresh(self)
        views = [v for v in self.query(MarkdownStreamView) if v.streaming and v.document.height]
        if appended and views and not painted:
            painted.append(time.monotonic())

    monkeypatch.setattr(MarkdownStreamView, "append", timed_append)
    monkeypatch.setattr(Screen, "_compositor_refresh", timed_refresh)
    reply = openai_text_reply(["Hello", " there"] + [" more"] * 10, delay=0.05)
    reply.chunks.insert(1, 2.6)  # (after the role chunk: the answer is under way, its view mounted)
    server.queue(reply)
    app = make_app(open_store(tmp_path), base_url=server.base_url)
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, "hi")
        await wait_for(lambda: appended, timeout=5)
        await wait_for(lambda: painted, timeout=3)
        assert painted[0] - appended[0] < 0.3
        await wait_for(lambda: app.screen._streaming_view is None, timeout=10)


async def test_the_question_and_the_typing_indicator_do_not_wait_for_the_screen_update_timer(
    server: SSETestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A question's answer is laid out (typing indicator, under the question) as
    soon as the screen is free: on a local server the first text can come
    within the timer's tick, and its paint then had to lay the answer out too."""
    monkeypatch.setattr(textual.screen, "UPDATE_PERIOD", 2.0)
    shown: list[float] = []
    refresh = Screen._compositor_refresh

    def timed_refresh(self: Screen[object]) -> None:
        refresh(self)
        waiting = [v for v in self.query(MarkdownStreamView) if v.streaming and v.indicator is not None]
        if waiting and not shown and waiting[0] in self._compositor.visible_widgets:
            shown.append(time.monotonic())

    monkeypatch.setattr(Screen, "_compositor_refresh", timed_refresh)
    reply = openai_text_reply(["Hello", " there"], delay=0.05)
    reply.chunks.insert(1, 2.6)  # the first text well after the timer's next tick
    server.queue(reply)
    app = make_app(open_store(tmp_path), base_url=server.base_url)
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, "hi")
        sent = time.monotonic()
        await wait_for(lambda: shown, timeout=5)
        assert shown[0] - sent < 0.5
        assert not app.screen.query_one(MarkdownStreamView).document.length  # before any text
        await wait_for(lambda: app.screen._streaming_view is None, timeout=10)


class Waiting(App[None]):
    def compose(self) -> ComposeResult:
        yield MarkdownStreamView(streaming=True, waiting=True)


def line(view: MarkdownStreamView, y: int = 0) -> str:
    return "".join(segment.text for segment in view.render_line(y))


async def test_the_first_text_takes_the_typing_indicators_line_without_a_layout(layouts: list[int]) -> None:
    """The typing indicator is the answer's own first line: a first text of one
    line replaces it with a repaint of that line (no widget removed, no layout);
    a longer text grows the answer as usual."""
    app = Waiting()
    async with app.run_test(size=(60, 10)) as pilot:
        view = app.query_one(MarkdownStreamView)
        await pilot.pause()
        assert "Waiting for the model… 0.0 s" in line(view) and view.size.height == 1
        layouts.clear()
        view.append("The first words")
        await wait_for(lambda: "The first words" in line(view) and not app.screen._dirty_widgets)
        await pilot.pause()
        assert not layouts and view.indicator is None
        view.append(" and more.\n\nA second paragraph.")
        await wait_for(lambda: view.size.height == 3)
        assert layouts


async def test_the_typing_indicator_gives_way_to_reasoning_and_comes_back_for_a_retry() -> None:
    app = Waiting()
    async with app.run_test(size=(60, 10)) as pilot:
        view = app.query_one(MarkdownStreamView)
        await pilot.pause()
        view.stop_waiting()
        await wait_for(lambda: view.size.height == 0)
        assert view.indicator is None
        view.show_waiting("Server error. Retry 1 of 2", countdown=3)
        await wait_for(lambda: view.size.height == 1)
        assert "Server error. Retry 1 of 2 — retrying in 3 s" in line(view)
        view.append("text")
        await wait_for(lambda: line(view).startswith("text"))
        view.finish()
        await pilot.pause()
        assert view.indicator is None and line(view).rstrip() == "text"


async def test_the_indicator_goes_when_a_layout_draws_the_first_text_before_the_frame() -> None:
    """A layout at a new width draws the text that came (and the frame then has
    nothing to do): the indicator's line goes all the same (it stayed, a blank
    row under the text, seen once in a snapshot)."""
    app = Waiting()
    async with app.run_test(size=(60, 10)) as pilot:
        view = app.query_one(MarkdownStreamView)
        await pilot.pause()
        view.append("The first words")
        view.get_content_height(app.screen.size, app.screen.size, view.size.width - 3)  # (as a layout would)
        await pilot.pause()
        await pilot.pause()
        assert view.indicator is None
        assert view.size.height == view.document.height == 1

"""An answer's first text is painted as soon as the screen is free, not at the
next tick of Textual's screen-update timer (`PaintSoon`)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import textual.screen
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

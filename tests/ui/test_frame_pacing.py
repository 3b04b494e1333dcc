"""Frames of a streaming answer keep to a grid of the frame-rate setting: a
frame the event loop ran late does not push the next ones back (the delay of
each timer is checked with a clock the test moves, not timed)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from textual.app import App, ComposeResult

import chat_tui.ui.widgets.stream_view as stream_view
from chat_tui.ui.widgets.stream_view import MarkdownStreamView


class OneView(App[None]):
    def compose(self) -> ComposeResult:
        yield MarkdownStreamView(streaming=True)


async def test_a_late_frame_does_not_push_the_next_ones_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(MarkdownStreamView, "FRAME_INTERVAL", 0.025)
    monkeypatch.setattr(MarkdownStreamView, "blink", False)
    app = OneView()
    async with app.run_test(size=(60, 10)) as pilot:
        await pilot.pause()
        view = app.query_one(MarkdownStreamView)
        now = [1000.0]
        monkeypatch.setattr(stream_view, "time", SimpleNamespace(monotonic=lambda: now[0], thread_time=lambda: 0.0))
        loop = asyncio.get_running_loop()
        delays: list[float] = []
        real_call_later = loop.call_later

        def call_later(delay, callback, *args):  # noqa: ANN001, ANN202
            if callback == view._frame_due:
                delays.append(round(delay, 6))
                return real_call_later(3600, callback, *args)  # run by the test, not by the loop
            return real_call_later(delay, callback, *args)

        monkeypatch.setattr(loop, "call_later", call_later)

        def frame_at(t: float) -> None:
            now[0] = t
            handle = view._frame_handle
            assert handle is not None
            handle.cancel()
            view._frame_due()

        view.append("a")  # the first text: at once
        frame_at(1000.003)  # run 3 ms late
        now[0] = 1000.010
        view.append("b")
        frame_at(1000.029)  # 4 ms late
        now[0] = 1000.030
        view.append("c")
        frame_at(1000.050)
        now[0] = 1001.0  # a pause in the stream: the next text is shown at once
        view.append("d")
        frame_at(1001.0)
        now[0] = 1001.1  # again after a pause: at once, and the grid starts from here
        view.append("e")
        frame_at(1001.1)
        now[0] = 1001.101
        view.append("f")
        assert delays == [0.0, 0.015, 0.02, 0.0, 0.0, 0.024]
        view._stop_frame()

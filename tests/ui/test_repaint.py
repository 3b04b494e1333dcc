"""What is on screen while an answer streams equals a fresh paint of the same
screen. The app lets Textual keep the cells of lines that did not change when
an answer grows (`ui/textual_internals.py`); a line kept that should have been
painted again would show here."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rich.segment import Segment
from textual.app import App

from chat_tui.ui.widgets.message_view import AssistantMessageView
from tests.support.app import make_app, open_store
from tests.support.pilot import send, wait_for
from tests.support.sse_server import SSETestServer, openai_text_reply

ANSWER = (
    "# A heading\n\nA paragraph that wraps over more than one line of the screen, with **bold** and `code` "
    "in it, long enough to wrap twice at this width.\n\n"
    "- one\n- two, which is longer and wraps onto a second line of the screen here\n\n"
    "```python\n" + "".join(f"value_{i} = compute({i})  # step {i}\n" for i in range(12)) + "```\n\n"
    "| name | time |\n| --- | ---: |\n" + "".join(f"| row {i} | {i * 7} ms |\n" for i in range(6)) +
    "\n> a quote\n\nThe end."
)


def _cells(app: App[object], *, fresh: bool) -> list[list[tuple[str, object]]]:
    screen = app.screen
    if fresh:
        for widget in screen.walk_children(with_self=True):
            widget._styles_cache.clear()
    strips = screen._compositor.render_strips()
    return [[(character, segment.style) for segment in strip for character in segment.text]
            for strip in strips if not isinstance(strip, Segment)]


async def test_screen_while_streaming_equals_a_fresh_paint(server: SSETestServer, tmp_path: Path) -> None:
    pieces = [ANSWER[i:i + 7] for i in range(0, len(ANSWER), 7)]
    server.queue(openai_text_reply(pieces, delay=0.02))
    app = make_app(open_store(tmp_path), base_url=server.base_url)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "go")
        await wait_for(lambda: app.screen._streaming_view is not None, timeout=1)
        checked = 0
        while app.screen._streaming_view is not None:
            await asyncio.sleep(0.03)
            await pilot.pause()
            shown = _cells(app, fresh=False)
            assert shown == _cells(app, fresh=True), f"stale cells after {checked} checks"
            checked += 1
        await pilot.pause()
        assert app.screen.query_one(AssistantMessageView).body.text == ANSWER
        assert _cells(app, fresh=False) == _cells(app, fresh=True)
    assert checked >= 5


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

"""An answer's end: the cursor goes and the stats line fills the row kept for
it under the answer, with no layout of the screen (which moved every line of
the conversation up by a row at the end of each answer)."""

from __future__ import annotations

import threading
from pathlib import Path

from chat_tui.ui.widgets.message_view import AssistantMessageView
from tests.support.app import make_app, open_store
from tests.support.pilot import send, wait_for
from tests.support.sse_server import SSETestServer, openai_text_reply
from tests.ui.test_repaint import show_next


def screen_text(app) -> list[str]:  # type: ignore[no-untyped-def]
    return ["".join(segment.text for segment in strip) for strip in app.screen._compositor.render_strips()]


async def test_the_stats_line_takes_its_kept_row_without_a_layout(
    server: SSETestServer, tmp_path: Path, layouts: list[int]
) -> None:
    pieces = ["Here is ", "a short answer, ", "one line long."]
    reply = openai_text_reply(pieces)
    text_gate, end_gate = threading.Event(), threading.Event()
    reply.chunks.insert(1, text_gate)
    reply.chunks.insert(2 + len(pieces), end_gate)  # the finish, usage and [DONE] wait for it
    server.queue(reply)
    app = make_app(open_store(tmp_path), base_url=server.base_url)
    async with app.run_test(size=(80, 20)) as pilot:
        await send(pilot, "a question")
        await show_next(pilot, text_gate, len("".join(pieces)))
        streaming = screen_text(app)
        answer_row = next(y for y, row in enumerate(streaming) if "one line long." in row)
        assert not streaming[answer_row + 1].strip()  # the kept row, blank while the answer streams
        layouts.clear()
        end_gate.set()
        await wait_for(lambda: app.screen._streaming_view is None)
        await pilot.pause()
        await pilot.pause()
        finished = screen_text(app)
        view = app.screen.query_one(AssistantMessageView)
        assert "first token" in str(view.query_one(".stats").render())
        assert "first token" in finished[answer_row + 1]  # in the kept row: nothing moved
        assert finished[answer_row].rstrip() == streaming[answer_row].rstrip().replace("▋", "").rstrip()
        assert not layouts

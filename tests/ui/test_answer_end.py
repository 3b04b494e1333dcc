"""An answer's end: the cursor goes and the stats line comes in the row under
the answer's text, with nothing above it moving (the conversation moved up by
a row at the end of each answer), in one layout of the screen."""

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


async def test_the_stats_line_comes_under_the_text_and_nothing_above_moves(
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
        assert finished[1:answer_row] == streaming[1:answer_row]  # (the header counts the answer)
        # The text keeps its rows (the view its height) and the stats line's moves
        # up to it: one layout, not one and another to hold the question in place.
        assert len(layouts) == 1

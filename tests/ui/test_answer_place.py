"""Where a new answer sits: under its question, which moves to the top of the
view, in rows laid out down to the view's bottom from the start, so that the
text stays put while it grows and the screen is not laid out at every frame."""

from __future__ import annotations

from pathlib import Path

from textual.screen import Screen

from chat_tui.ui.widgets.message_view import AssistantMessageView, UserMessageView
from chat_tui.ui.widgets.tool_call_view import ToolCallView
from tests.support.app import make_app, open_store
from tests.support.pilot import send, wait_for
from tests.support.sse_server import SSETestServer
from tests.ui.test_answer_end import screen_text
from tests.ui.test_repaint import gated_reply, show_next

LINES = [f"Line {i} of the answer, a paragraph of its own.\n\n" for i in range(40)]


def question_top(app) -> int:  # type: ignore[no-untyped-def]
    """Screen row of the (last) question's first line."""
    return app.screen.query(UserMessageView).last().region.y


def view_top(app) -> int:  # type: ignore[no-untyped-def]
    """Screen row of the transcript's first row (its view)."""
    return app.screen.transcript.scrollable_content_region.y


async def test_the_question_goes_to_the_top_and_the_text_stays_put_with_no_layout(
    server: SSETestServer, tmp_path: Path, layouts: list[int]
) -> None:
    reply, gates = gated_reply(LINES[:9], 1)  # (the last piece, and the end, held back)
    server.queue(reply)
    app = make_app(open_store(tmp_path), base_url=server.base_url)
    async with app.run_test(size=(80, 30)) as pilot:
        await send(pilot, "a question")
        await wait_for(lambda: app.screen._streaming_view is not None)
        await show_next(pilot, gates[0], len(LINES[0]))
        assert question_top(app) == view_top(app) + 1  # (its margin above it)
        first = screen_text(app)
        row = next(y for y, line in enumerate(first) if "Line 0 of" in line)
        assert row == question_top(app) + 2  # under the question and the answer's margin
        layouts.clear()
        for i, gate in enumerate(gates[1:-1], start=1):
            await show_next(pilot, gate, len("".join(LINES[: i + 1])))
        now = screen_text(app)
        assert now[: row + 1] == first[: row + 1]  # nothing above the first line moved
        assert [y for y, line in enumerate(now) if "Line 7 of" in line] == [row + 14]
        assert not layouts  # seven frames of new lines, in rows laid out from the start
        assert question_top(app) == view_top(app) + 1
        gates[-1].set()
        await wait_for(lambda: app.screen._streaming_view is None)


async def test_no_paint_shows_the_question_anywhere_but_at_the_top(
    server: SSETestServer, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """Where the question goes is known from a layout that placed it: the screen
    lays itself out again before painting, never showing it at the bottom first."""
    reply, gates = gated_reply(LINES[:2], 1)
    server.queue(reply)
    app = make_app(open_store(tmp_path), base_url=server.base_url)
    painted: list[tuple[int, int]] = []
    refresh = Screen._compositor_refresh

    def recorded(self: Screen[object]) -> None:
        refresh(self)
        questions = self.query(UserMessageView)
        if questions and questions.last().region:
            painted.append((questions.last().region.y, self.transcript.scrollable_content_region.y))

    monkeypatch.setattr(Screen, "_compositor_refresh", recorded)
    async with app.run_test(size=(80, 30)) as pilot:
        await send(pilot, "a question")
        for i, gate in enumerate(gates):
            await show_next(pilot, gate, len("".join(LINES[: i + 1])))
        await wait_for(lambda: app.screen._streaming_view is None)
        await pilot.pause()
    assert painted
    assert {question - top for question, top in painted} == {1}


async def test_the_end_and_the_next_question(server: SSETestServer, tmp_path: Path) -> None:
    from tests.support.sse_server import openai_text_reply

    server.queue(openai_text_reply(["A short answer."]))
    server.queue(openai_text_reply(["Another short answer."]))
    app = make_app(open_store(tmp_path), base_url=server.base_url)
    async with app.run_test(size=(80, 30)) as pilot:
        await send(pilot, "first question")
        await wait_for(lambda: app.screen._streaming_view is None)
        await pilot.pause()
        first = app.screen.query_one(AssistantMessageView)
        # It ended: still at the top, the stats line right under the text, the
        # rows under it kept by the view (blank), down to the view's bottom.
        assert question_top(app) == view_top(app) + 1
        stats = first.query_one(".stats")
        assert "first token" in str(stats.render())
        assert stats.region.y == first.body.region.bottom
        transcript = app.screen.transcript
        assert first.region.bottom == transcript.scrollable_content_region.bottom
        await send(pilot, "second question")
        await wait_for(lambda: app.screen._streaming_view is None and len(app.screen.query(AssistantMessageView)) == 2)
        await pilot.pause()
        # The new question at the top; the first turn above it, scrolled out of
        # view, laid out as it is (no rows kept under it any more).
        assert question_top(app) == view_top(app) + 1
        assert first.region.bottom <= view_top(app)
        assert first.region.height == first.body.region.height + 1  # its text and stats line
        assert transcript.scroll_y > 0


async def test_a_resize_keeps_the_question_at_the_top(server: SSETestServer, tmp_path: Path) -> None:
    reply, gates = gated_reply(LINES[:3], 1)
    server.queue(reply)
    app = make_app(open_store(tmp_path), base_url=server.base_url)
    async with app.run_test(size=(80, 30)) as pilot:
        await send(pilot, "a question")
        await show_next(pilot, gates[0], len(LINES[0]))
        for size in [(80, 40), (60, 24), (100, 30)]:
            await pilot.resize_terminal(*size)
            await pilot.pause()
            await pilot.pause()
            assert question_top(app) == view_top(app) + 1, size
            assert app.screen.query_one(AssistantMessageView).region.bottom == app.screen.transcript.region.bottom
        for i, gate in enumerate(gates[1:], start=1):
            await show_next(pilot, gate, len("".join(LINES[: i + 1])))
        await wait_for(lambda: app.screen._streaming_view is None)
        await pilot.resize_terminal(80, 36)
        await pilot.pause()
        await pilot.pause()
        assert question_top(app) == view_top(app) + 1


async def test_an_answer_that_outgrows_the_view_follows_its_end(server: SSETestServer, tmp_path: Path) -> None:
    reply, gates = gated_reply(LINES, 8)
    server.queue(reply)
    app = make_app(open_store(tmp_path), base_url=server.base_url)
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, "a question")
        for i, gate in enumerate(gates):
            await show_next(pilot, gate, len("".join(LINES[: (i + 1) * 8])))
            text = screen_text(app)
            last = max(int(line.split()[1]) for line in text if line.strip().startswith("Line "))
            assert last == min(len(LINES), (i + 1) * 8) - 1  # the newest line is on screen
        await wait_for(lambda: app.screen._streaming_view is None)
        await pilot.pause()
        assert question_top(app) < view_top(app)  # scrolled out of view, up


async def test_a_question_taller_than_the_view_holds_nothing(server: SSETestServer, tmp_path: Path) -> None:
    reply, gates = gated_reply(LINES[:2], 1)
    server.queue(reply)
    app = make_app(open_store(tmp_path), base_url=server.base_url)
    async with app.run_test(size=(80, 20)) as pilot:
        await send(pilot, "\n".join(f"question line {i}" for i in range(40)))
        for i, gate in enumerate(gates):
            await show_next(pilot, gate, len("".join(LINES[: i + 1])))
        view = app.screen.query_one(AssistantMessageView)
        # The answer's end is at the view's bottom, nothing kept under it.
        assert view.body.region.height == view.body.document.height
        assert view.region.bottom == app.screen.transcript.region.bottom
        assert any("Line 1 of" in line for line in screen_text(app))


async def test_tool_calls_come_right_under_the_text_that_called_them(tmp_path: Path) -> None:
    app = make_app(open_store(tmp_path))
    async with app.run_test(size=(100, 40)) as pilot:
        await send(pilot, "calculate (17 + 25) * 2")
        await wait_for(lambda: app.screen._streaming_view is None and len(app.screen.query(AssistantMessageView)) == 2)
        await pilot.pause()
        first, last = app.screen.query(AssistantMessageView)
        row = app.screen.query_one(ToolCallView)
        assert first.body.document.height > 0 and row.region.y == first.body.region.bottom
        assert question_top(app) == view_top(app) + 1
        assert first.region.height == first.body.region.height + row.region.height  # nothing kept under it
        assert last.region.bottom == app.screen.transcript.scrollable_content_region.bottom


async def test_the_scrollbar_is_there_from_the_start_and_blank_until_there_is_something_to_scroll(
    server: SSETestServer, tmp_path: Path
) -> None:
    """It appearing, when the conversation first outgrows the view, laid the screen out twice."""
    reply, gates = gated_reply(LINES, 8)
    server.queue(reply)
    app = make_app(open_store(tmp_path), base_url=server.base_url)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        transcript = app.screen.transcript
        bar = transcript.vertical_scrollbar
        assert bar.display and bar.region
        background = transcript.background_colors[1].rich_color
        assert {next(iter(line)).style.bgcolor for line in bar.render_lines(bar.size.region)} == {background}
        await send(pilot, "a question")
        for i, gate in enumerate(gates):
            await show_next(pilot, gate, len("".join(LINES[: (i + 1) * 8])))
        assert len({next(iter(line)).style.bgcolor for line in bar.render_lines(bar.size.region)}) == 2  # thumb, track


async def test_asking_again_and_switching_answers_keep_the_question_at_the_top(
    server: SSETestServer, tmp_path: Path
) -> None:
    from chat_tui.ui.widgets.interrupted_banner import InterruptedBanner
    from tests.support.sse_server import Reply, openai_chunk, openai_text_reply, sse

    cut = Reply(chunks=[sse(openai_chunk("a second one, cut"))], drop=True)
    server.queue(openai_text_reply(["the first answer"]), cut)
    app = make_app(open_store(tmp_path), base_url=server.base_url)
    async with app.run_test(size=(80, 30)) as pilot:
        await send(pilot, "tell me")
        await wait_for(lambda: app.screen._streaming_view is None and app.screen.query(AssistantMessageView))
        await pilot.press("f5")
        await wait_for(lambda: app.screen.query(InterruptedBanner) and app.screen._streaming_view is None)
        await pilot.pause()
        assert question_top(app) == view_top(app) + 1
        answer = app.screen.query_one(AssistantMessageView)
        banner = app.screen.query_one(InterruptedBanner)
        assert banner.region.y == answer.body.region.bottom + banner.styles.margin.top  # right under the text
        await pilot.press("alt+left")
        await wait_for(lambda: not app.screen.query(InterruptedBanner))
        await pilot.pause()
        assert "the first answer" in app.screen.query_one(AssistantMessageView).body.text
        assert question_top(app) == view_top(app) + 1


async def test_continuing_a_saved_answer_holds_its_question_at_the_top(server: SSETestServer, tmp_path: Path) -> None:
    from chat_tui.ui.widgets.interrupted_banner import InterruptedBanner
    from tests.support.sse_server import Reply, openai_chunk, sse

    server.queue(Reply(chunks=[sse(openai_chunk("The quick brown")), 0.05], drop=True))
    store = open_store(tmp_path)
    app = make_app(store, base_url=server.base_url)
    async with app.run_test(size=(80, 30)) as pilot:
        await send(pilot, "a sentence")
        await wait_for(lambda: app.screen._streaming_view is None and app.screen.query(InterruptedBanner))
    # Reopened later: laid out as a saved conversation (at the bottom of the view) ...
    reply, gates = gated_reply([" fox", " jumps."], 1)
    server.queue(reply)
    app = make_app(store, base_url=server.base_url, conversation_id=store.last_conversation_id())
    async with app.run_test(size=(80, 30)) as pilot:
        await wait_for(lambda: app.screen.query(InterruptedBanner))
        await pilot.pause()
        assert question_top(app) > view_top(app) + 1
        # ... and continued: the question goes to the top, the answer streams on under it.
        await pilot.press("ctrl+g")
        await show_next(pilot, gates[0], len("The quick brown fox"))
        assert question_top(app) == view_top(app) + 1
        gates[1].set()
        await wait_for(lambda: app.screen._streaming_view is None and not app.screen.query(InterruptedBanner))
        await pilot.pause()
        answer = app.screen.query_one(AssistantMessageView)
        assert answer.body.text == "The quick brown fox jumps."
        assert question_top(app) == view_top(app) + 1
        assert answer.query_one(".stats").region.y == answer.body.region.bottom


async def test_a_new_question_and_its_answer_are_laid_out_once_before_the_first_token(
    server: SSETestServer, tmp_path: Path, layouts: list[int]
) -> None:
    """The question and its answer are laid out, then once more where the rows
    under the question are known (`LayoutAgain`), and painted: nothing asks for
    a layout after that before the first token (the question's first layout,
    setting its size, asked for another)."""
    reply, gates = gated_reply(LINES[:2], 1)
    server.queue(reply)
    app = make_app(open_store(tmp_path), base_url=server.base_url)
    async with app.run_test(size=(80, 30)) as pilot:
        await pilot.pause()
        layouts.clear()
        await send(pilot, "a question")
        await wait_for(lambda: app.screen._streaming_view is not None)
        for _ in range(5):
            await pilot.pause()
        assert app.screen.query(AssistantMessageView).last().body.indicator is not None  # still waiting
        assert len(layouts) == 2
        for gate in gates:
            gate.set()
        await wait_for(lambda: app.screen._streaming_view is None)

"""The cursor at the tip of a streaming answer: lit while text arrives, blinking
when the stream pauses, and a blink repaints one line without rendering."""

from __future__ import annotations

import asyncio

import pytest
from textual.app import App, ComposeResult

from chat_tui.ui.markdown_document import CURSOR
from chat_tui.ui.widgets.prompt_input import PromptInput
from chat_tui.ui.widgets.stream_view import MarkdownStreamView


class OneView(App[None]):
    def compose(self) -> ComposeResult:
        yield MarkdownStreamView(streaming=True)


def cursor_lit(view: MarkdownStreamView) -> bool:
    y = view.document.finished_line_count + view.document.cursor_at[0]  # type: ignore[index]
    return CURSOR in "".join(segment.text for segment in view.render_line(y))


async def test_lit_while_text_arrives_blinking_when_it_pauses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(MarkdownStreamView, "blink", True)
    monkeypatch.setattr(MarkdownStreamView, "BLINK_INTERVAL", 0.05)
    app = OneView()
    async with app.run_test(size=(60, 10)) as pilot:
        view = app.query_one(MarkdownStreamView)
        seen_while_arriving = []
        for i in range(30):  # a token every 20 ms for 0.6 s: twelve blink periods
            view.append(f"word{i} ")
            await asyncio.sleep(0.02)
            seen_while_arriving.append(cursor_lit(view))
        assert all(seen_while_arriving)
        await pilot.pause()
        seen_when_paused = []
        for _ in range(12):
            await asyncio.sleep(0.025)
            seen_when_paused.append(cursor_lit(view))
        assert False in seen_when_paused and True in seen_when_paused  # it blinks
        rendered = view.frames
        await asyncio.sleep(0.3)
        assert view.frames == rendered  # blinking renders nothing again


class PromptOnly(App[None]):
    def compose(self) -> ComposeResult:
        yield PromptInput(id="prompt")


async def test_the_prompt_stops_blinking_for_an_answer_without_a_repaint() -> None:
    """While an answer streams, the prompt's cursor stays lit (one blinking
    cursor at a time: the answer's); stopping and restarting its blink repaints
    nothing when the cursor shows either way (TextArea repaints it whole)."""
    app = PromptOnly()
    async with app.run_test(size=(60, 10)) as pilot:
        prompt = app.query_one(PromptInput)
        prompt.focus()
        await pilot.pause()
        prompt._cursor_visible = True
        await pilot.pause()
        assert not prompt._repaint_required
        prompt.cursor_blink = False
        assert not prompt._repaint_required
        seen = []
        for _ in range(8):  # two blink periods
            await asyncio.sleep(0.15)
            seen.append(prompt._cursor_visible)
        assert all(seen)
        prompt.cursor_blink = True
        assert not prompt._repaint_required and prompt._cursor_visible
        seen = []
        for _ in range(10):
            await asyncio.sleep(0.15)
            seen.append(prompt._cursor_visible)
        assert False in seen  # it blinks again

"""Size limits: one stream event over 8 MiB or an answer over 32 MiB ends the
stream as "response too large", keeping what arrived; huge lines and tokens
render without freezing the app."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from chat_tui.domain import MessageStatus
from chat_tui.engine import ChatEngine, RetryPolicy
from chat_tui.errors import ErrorKind
from chat_tui.providers.http import DEFAULT_MAX_ANSWER_CHARS
from chat_tui.providers.openai_compat import OpenAICompatProvider
from chat_tui.providers.sse import DEFAULT_MAX_EVENT_BYTES
from chat_tui.store import Store
from chat_tui.ui.huge_text import HUGE_BLOCK, HUGE_LINE, is_huge, plain_lines
from chat_tui.ui.widgets.message_view import AssistantMessageView
from chat_tui.ui.widgets.prompt_input import PromptInput
from tests.support.app import make_app, open_store
from tests.support.sse_server import Reply, SSETestServer, openai_chunk, openai_text_reply, sse
from tests.support.turns import run_turn


def stream_of(*pieces: str) -> Reply:
    body = [sse(openai_chunk("", role="assistant"))] + [sse(openai_chunk(p)) for p in pieces]
    return Reply(chunks=[*body, sse(openai_chunk(finish="stop")), b"data: [DONE]\n\n"])


async def too_large(server: SSETestServer, tmp_path: Path, reply: Reply, **limits: int) -> tuple[str, object]:
    server.queue(reply)
    store = Store.open(tmp_path / "chat.sqlite3")
    provider = OpenAICompatProvider(base_url=server.base_url, model="m", stall_timeout=30, **limits)
    try:
        engine = ChatEngine(store, provider, retry=RetryPolicy(attempts=0))
        turn = await run_turn(engine, engine.new_conversation(), "big")
        assert turn.ended is not None
        assert turn.ended.error is not None and turn.ended.error.kind == ErrorKind.TOO_LARGE
        assert turn.ended.error.message.startswith("Response too large")
        assert turn.ended.status in (MessageStatus.INTERRUPTED, MessageStatus.ERROR)
        message = store.get_message(turn.ended.message_id)
        assert message is not None and message.error_kind == "too_large"
        assert message.text == turn.shown  # what was shown is what was kept
        return message.text, message.status
    finally:
        await provider.aclose()
        store.close()


async def test_an_event_over_the_limit_ends_the_stream_keeping_the_partial(server: SSETestServer, tmp_path: Path) -> None:
    text, _ = await too_large(server, tmp_path, stream_of("kept ", "also kept ", "x" * 5_000, "never shown"),
                              max_event_chars=4_000)
    assert text == "kept also kept "


async def test_an_answer_over_the_limit_ends_the_stream_keeping_the_partial(server: SSETestServer, tmp_path: Path) -> None:
    pieces = [f"{i:04d}" + "y" * 996 for i in range(40)]
    text, _ = await too_large(server, tmp_path, stream_of(*pieces), max_answer_chars=20_000)
    assert 10_000 <= len(text) <= 20_000 and "".join(pieces).startswith(text)


async def test_the_real_event_limit(server: SSETestServer, tmp_path: Path) -> None:
    assert DEFAULT_MAX_EVENT_BYTES == 8 * 1024 * 1024
    text, _ = await too_large(server, tmp_path, stream_of("before ", "z" * (DEFAULT_MAX_EVENT_BYTES + 1024), "after"))
    assert text == "before "


async def test_the_real_answer_limit(server: SSETestServer, tmp_path: Path) -> None:
    assert DEFAULT_MAX_ANSWER_CHARS == 32 * 1024 * 1024
    piece = "w" * (4 * 1024 * 1024 - 64)  # 4 MiB events, under the event limit
    text, _ = await too_large(server, tmp_path, stream_of(*[piece] * 9))
    assert len(text) >= 7 * len(piece) and set(text) == {"w"}


@pytest.mark.parametrize("text", ["The quick brown fox. " * 5_000, "Q" * HUGE_LINE * 3, "日本語のテキスト\n" * 20_000],
                         ids=["a long paragraph", "a long word", "many lines of wide characters"])
def test_huge_text_is_drawn_plain_and_whole(text: str) -> None:
    assert is_huge(text)
    lines = plain_lines(text, 80)
    drawn = "".join(segment.text for line in lines for segment in line)
    assert drawn == text.replace("\n", "")
    assert all(sum(2 if ord(c) > 0x2E7F else 1 for s in line for c in s.text) <= 80 for line in lines)
    assert not is_huge("A paragraph of words. " * 800) and not is_huge("short line\n" * (HUGE_BLOCK // 12))


@pytest.mark.parametrize("pieces", [
    pytest.param(["word " * 20_000], id="a 100,000-character line in one token"),
    pytest.param(["wordy" * 200] * 100, id="a 100,000-character line in 100 tokens"),
    pytest.param(["ab cd " * 166_667], id="a 1 MB token of words"),
    pytest.param(["```\n" + "z" * 1_000_000], id="a 1 MB token in an open code block"),
    pytest.param(["```python\n" + "x = 1; " * 150_000 + "\n```\n"], id="a 1 MB token: one line of code"),
])
async def test_huge_lines_and_tokens_do_not_freeze_the_app(server: SSETestServer, tmp_path: Path, pieces: list[str]) -> None:
    server.queue(openai_text_reply(pieces))
    store = open_store(tmp_path)
    app = make_app(store, base_url=server.base_url, stall_timeout=60)
    async with app.run_test(size=(100, 30)) as pilot:
        prompt = app.screen.prompt
        # As Enter does, without waiting (as `pilot.press` does) for the app to be idle.
        prompt.post_message(PromptInput.Submitted(prompt, "huge"))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 120  # a bound on the test, not a speed requirement
        # The test polls on the app's own event loop: a gap between two polls is
        # time the app could not handle a key press or draw a frame.
        longest_gap, last = 0.0, loop.time()
        expected = "".join(pieces)

        def finished() -> bool:
            views = app.screen.query(AssistantMessageView)
            return bool(views) and views.first().body.text == expected and app.screen._streaming_view is None

        while not finished():
            assert loop.time() < deadline, "the turn did not finish"
            await asyncio.sleep(0.02)
            longest_gap, last = max(longest_gap, loop.time() - last), loop.time()
        await pilot.press("k")
        await pilot.pause()
        longest_gap = max(longest_gap, loop.time() - last)
        assert longest_gap < 5, f"the app froze for {longest_gap:.1f} s"
        assert prompt.text == "k"
        view = app.screen.query_one(AssistantMessageView)
        assert view.body.document.height > 0 and not view.body.streaming

"""Continue, through a real loopback server: more than once, with and without prefill."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from chat_tui.domain import MessageStatus
from chat_tui.engine import ChatEngine, RetryPolicy, TurnEnded
from chat_tui.engine.turn import CONTINUE_INSTRUCTION
from chat_tui.providers.openai_compat import OpenAICompatProvider
from chat_tui.store import Store
from tests.support.sse_server import Reply, SSETestServer, openai_chunk, openai_text_reply, sse


def dropped_after(text: str) -> Reply:
    return Reply(chunks=[sse(openai_chunk(text)), 0.05], drop=True)


@contextlib.asynccontextmanager
async def chat(
    server: SSETestServer, tmp_path: Path, provider_class: type[OpenAICompatProvider] = OpenAICompatProvider
) -> AsyncIterator[tuple[ChatEngine, Store, int]]:
    """An engine on a real store, talking to `server`, without automatic retries; a new conversation."""
    store = Store.open(tmp_path / "chat.sqlite3")
    provider = provider_class(base_url=server.base_url, model="m")
    engine = ChatEngine(store, provider, retry=RetryPolicy(attempts=0))
    try:
        yield engine, store, engine.new_conversation()
    finally:
        await provider.aclose()
        store.close()


async def turn(engine: ChatEngine, cid: int, prompt: str | None = None, **kwargs) -> TurnEnded:
    ended = None
    async for batch in engine.run_turn(cid, prompt, **kwargs):
        for event in batch:
            if isinstance(event, TurnEnded):
                ended = event
    assert ended is not None
    return ended


async def test_an_answer_continued_twice_ends_whole_and_exact(server: SSETestServer, tmp_path: Path) -> None:
    server.queue(dropped_after("One, two, "), dropped_after("three, four, "), openai_text_reply(["five."]))
    async with chat(server, tmp_path) as (engine, store, cid):
        first = await turn(engine, cid, "count to five")
        assert first.status == MessageStatus.INTERRUPTED
        second = await turn(engine, cid, continue_message_id=first.message_id)
        assert second.status == MessageStatus.INTERRUPTED and second.message_id == first.message_id
        third = await turn(engine, cid, continue_message_id=first.message_id)
        assert third.status == MessageStatus.COMPLETE
        message = store.get_message(first.message_id)
        assert message.text == "One, two, three, four, five." and message.status == MessageStatus.COMPLETE
        assert len(store.messages(cid)) == 2  # the same message all along
        # Each continuation sent the partial answer as the last (assistant) message: prefill.
        assert server.requests[1].body["messages"][-1] == {"role": "assistant", "content": "One, two, "}
        assert server.requests[2].body["messages"][-1] == {"role": "assistant", "content": "One, two, three, four, "}


class NoPrefill(OpenAICompatProvider):
    supports_prefill = False  # like OpenAI's own API


async def test_without_prefill_the_model_is_asked_to_go_on(server: SSETestServer, tmp_path: Path) -> None:
    server.queue(dropped_after("The quick brown"), openai_text_reply(["The quick brown fox."]))
    async with chat(server, tmp_path, NoPrefill) as (engine, store, cid):
        first = await turn(engine, cid, "a sentence")
        await turn(engine, cid, continue_message_id=first.message_id)
        sent = server.requests[1].body["messages"]
        assert sent[-2] == {"role": "assistant", "content": "The quick brown"}
        assert sent[-1] == {"role": "user", "content": CONTINUE_INSTRUCTION}
        # The model repeated the start; the seam drops it.
        assert store.get_message(first.message_id).text == "The quick brown fox."


async def test_a_code_block_cut_at_a_line_end_goes_on_with_its_indentation(
    server: SSETestServer, tmp_path: Path
) -> None:
    """The seam drops white space the continuation doubles, but after a line end
    the next line's indentation is its own (so is a nested list item's)."""
    start = "Here:\n\n```python\ndef f():\n"
    rest = "    return 1\n```\n\n- a\n"
    server.queue(dropped_after(start), dropped_after(rest), openai_text_reply(["  - nested\n"]))
    async with chat(server, tmp_path) as (engine, store, cid):
        first = await turn(engine, cid, "code")
        await turn(engine, cid, continue_message_id=first.message_id)
        await turn(engine, cid, continue_message_id=first.message_id)
        assert store.get_message(first.message_id).text == start + rest + "  - nested\n"

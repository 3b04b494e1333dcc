"""Whole turns over real HTTP through the native Anthropic provider."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chat_tui.domain import MessageStatus
from chat_tui.engine import ChatEngine, RetryPolicy
from chat_tui.errors import ErrorKind
from chat_tui.providers.anthropic import AnthropicProvider
from chat_tui.providers.events import TextDelta
from chat_tui.providers.http import Secret
from chat_tui.store import Store
from tests.support import anthropic_wire as wire
from tests.support.sse_server import Reply, SSETestServer, sse
from tests.support.turns import SleepRecorder, Turn, run_turn


@pytest.fixture
async def engine(server: SSETestServer, tmp_path: Path) -> AsyncIterator[ChatEngine]:
    store = Store.open(tmp_path / "chat.sqlite3")
    provider = AnthropicProvider(base_url=server.base_url, model="claude-test", api_key=Secret("ak-test"),
                                 stall_timeout=0.3)
    yield ChatEngine(store, provider, retry=RetryPolicy(attempts=2), sleep=SleepRecorder())
    await provider.aclose()
    store.close()


def check(engine: ChatEngine, turn: Turn, status: MessageStatus, kind: ErrorKind | None, text: str) -> None:
    assert turn.ended is not None
    assert turn.ended.status == status, turn.ended.error
    assert (turn.ended.error.kind if turn.ended.error else None) == kind
    assert turn.message_id is not None
    message = engine.store.get_message(turn.message_id)
    assert message is not None
    assert (message.status, message.error_kind, message.text) == (status, kind.value if kind else None, text)
    assert turn.shown == text


async def test_complete_answer_with_ping(engine: ChatEngine, server: SSETestServer) -> None:
    reply = wire.text_reply(["Bonjour", ", le ", "monde ✓"])
    reply.chunks.insert(2, sse({"type": "ping"}, event="ping"))
    server.queue(reply)
    turn = await run_turn(engine, engine.new_conversation(), "salut")
    check(engine, turn, MessageStatus.COMPLETE, None, "Bonjour, le monde ✓")
    message = engine.store.get_message(turn.message_id or 0)
    assert message is not None and message.finish_reason == "end_turn"
    assert message.usage == {"input_tokens": 12, "output_tokens": 3}
    request = server.requests[0]
    assert request.path == "/v1/messages"
    assert request.headers["x-api-key"] == "ak-test" and request.headers["anthropic-version"]
    assert request.body["messages"] == [{"role": "user", "content": "salut"}]


async def test_401(engine: ChatEngine, server: SSETestServer) -> None:
    server.queue(wire.error_reply(401, "authentication_error", "invalid x-api-key"))
    turn = await run_turn(engine, engine.new_conversation(), "hi")
    check(engine, turn, MessageStatus.ERROR, ErrorKind.AUTH, "")
    assert turn.ended is not None and turn.ended.error is not None
    assert "invalid x-api-key" in turn.ended.error.message and "ANTHROPIC_API_KEY" in turn.ended.error.message
    assert len(server.requests) == 1


async def test_529_overloaded_is_retried(engine: ChatEngine, server: SSETestServer) -> None:
    server.queue(wire.error_reply(529, "overloaded_error", "Overloaded", {"retry-after": "4"}),
                 wire.text_reply(["second ", "time"]))
    turn = await run_turn(engine, engine.new_conversation(), "hi")
    check(engine, turn, MessageStatus.COMPLETE, None, "second time")
    assert engine._sleep.delays == [4.0]  # type: ignore[attr-defined]


async def test_overloaded_error_event_mid_stream(engine: ChatEngine, server: SSETestServer) -> None:
    server.queue(Reply(chunks=[wire.message_start(), wire.text_start(), wire.text_delta("half an "),
                               wire.text_delta("answer"), wire.error_event(), wire.text_delta(" never")]))
    turn = await run_turn(engine, engine.new_conversation(), "hi")
    check(engine, turn, MessageStatus.INTERRUPTED, ErrorKind.SERVER, "half an answer")
    assert len(server.requests) == 1


async def test_drop_after_stop_reason_before_message_stop(engine: ChatEngine, server: SSETestServer) -> None:
    server.queue(Reply(chunks=[wire.message_start(), wire.text_start(), wire.text_delta("all of it"),
                               wire.block_stop(), wire.message_delta()], drop=True))
    turn = await run_turn(engine, engine.new_conversation(), "hi")
    # The stop reason arrived, so the answer is whole: only the end marker was lost.
    check(engine, turn, MessageStatus.COMPLETE, None, "all of it")
    assert turn.ended is not None and turn.ended.finish_reason == "end_turn"


async def test_events_with_fields_of_the_wrong_type_are_malformed_not_a_crash(
    engine: ChatEngine, server: SSETestServer
) -> None:
    hostile = [
        sse({"type": "message_start", "message": [1, 2]}, event="message_start"),
        sse({"type": "content_block_start", "index": [0], "content_block": {"type": "text"}}),
        sse({"type": "content_block_start", "index": 1, "content_block": "text"}),
        sse({"type": "content_block_delta", "index": 0, "delta": "text_delta"}),
        sse({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": 42}}),
        sse({"type": "content_block_stop", "index": {"a": 1}}),
        sse({"type": "message_delta", "delta": ["end_turn"]}),
    ]
    server.queue(Reply(chunks=[wire.message_start(), wire.text_start(), wire.text_delta("kept "), *hostile,
                               wire.text_delta("and this"), wire.block_stop(), wire.message_delta(),
                               wire.message_stop()]))
    turn = await run_turn(engine, engine.new_conversation(), "hi")
    check(engine, turn, MessageStatus.INTERRUPTED, ErrorKind.BAD_RESPONSE, "kept and this")
    assert turn.ended is not None and turn.ended.error is not None
    assert "6 malformed events" in turn.ended.error.message


async def test_cancel_mid_stream(engine: ChatEngine, server: SSETestServer) -> None:
    chunks: list[bytes | float] = [wire.message_start(), wire.text_start()]
    for i in range(300):
        chunks += [0.01, wire.text_delta(f"t{i} ")]
    server.queue(Reply(chunks=chunks))
    turn = engine.run_turn(engine.new_conversation(), "hi")
    shown, message_id = "", None
    async for batch in turn:
        for event in batch:
            message_id = getattr(event, "message_id", message_id)
            if isinstance(event, TextDelta):
                shown += event.text
        if len(shown) > 10:
            break
    await turn.aclose()
    message = engine.store.get_message(message_id or 0)
    assert message is not None
    assert (message.status, message.text) == (MessageStatus.CANCELLED, shown)
    for _ in range(500):
        if server.disconnects:
            break
        await asyncio.sleep(0.01)
    assert server.disconnects == 1

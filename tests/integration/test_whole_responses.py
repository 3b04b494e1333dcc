"""Servers that ignore `stream: true`, and connections lost after the model finished."""

from __future__ import annotations

import json

from chat_tui.providers.anthropic import AnthropicProvider
from chat_tui.providers.base import ChatRequest, PromptMessage
from chat_tui.providers.openai_compat import OpenAICompatProvider
from tests.support.collect import collect
from tests.support.sse_server import Reply, SSETestServer, openai_chunk, sse

REQUEST = ChatRequest(model="m", messages=[PromptMessage("user", "hi")])


def json_reply(obj: dict) -> Reply:
    return Reply(chunks=[json.dumps(obj).encode()], headers={"content-type": "application/json"}, chunked=False)


async def run(provider_cls, server: SSETestServer):
    provider = provider_cls(base_url=server.base_url, model="m", stall_timeout=2)
    try:
        return await collect(provider.stream(REQUEST))
    finally:
        await provider.aclose()


async def test_openai_non_streamed_completion(server: SSETestServer) -> None:
    server.queue(json_reply({
        "id": "x", "object": "chat.completion",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": "Checking.", "reasoning_content": "think",
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "calc", "arguments": "{\"x\": 1}"}}]}}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 4},
    }))
    got = await run(OpenAICompatProvider, server)
    assert got.error is None
    assert got.text == "Checking." and got.reasoning == "think"
    assert got.tool_calls == [{"id": "c1", "name": "calc", "arguments": "{\"x\": 1}"}]
    assert got.finish_reason == "tool_calls" and got.usage == {"prompt_tokens": 3, "completion_tokens": 4}


async def test_anthropic_non_streamed_message(server: SSETestServer) -> None:
    server.queue(json_reply({
        "id": "msg", "type": "message", "role": "assistant", "stop_reason": "tool_use",
        "content": [{"type": "text", "text": "Let me look."},
                    {"type": "tool_use", "id": "tu1", "name": "weather", "input": {"city": "Paris"}}],
        "usage": {"input_tokens": 5, "output_tokens": 7},
    }))
    got = await run(AnthropicProvider, server)
    assert got.error is None
    assert got.text == "Let me look."
    assert got.tool_calls == [{"id": "tu1", "name": "weather", "arguments": "{\"city\": \"Paris\"}"}]
    assert got.finish_reason == "tool_use" and got.usage["output_tokens"] == 7


async def test_json_that_is_not_an_answer_is_a_bad_response(server: SSETestServer) -> None:
    server.queue(Reply(chunks=[b"[1, 2, 3]"], headers={"content-type": "application/json"}, chunked=False))
    got = await run(OpenAICompatProvider, server)
    assert got.error is not None and got.error.kind.value == "bad_response"


async def test_drop_after_finish_reason_is_complete(server: SSETestServer) -> None:
    server.queue(Reply(chunks=[sse(openai_chunk("All of it.")), sse(openai_chunk(finish="stop")), 0.05], drop=True))
    got = await run(OpenAICompatProvider, server)
    assert got.error is None
    assert got.text == "All of it." and got.finish_reason == "stop"


async def test_drop_before_finish_reason_is_connection_lost(server: SSETestServer) -> None:
    server.queue(Reply(chunks=[sse(openai_chunk("Half of")), 0.05], drop=True))
    got = await run(OpenAICompatProvider, server)
    assert got.error is not None and got.error.kind.value == "connection"
    assert got.text == "Half of"

"""Streamed replies that ask for tool calls, in the OpenAI and Anthropic formats."""

from __future__ import annotations

import json
from dataclasses import dataclass

from tests.support.sse_server import Reply, openai_chunk, sse


@dataclass
class Call:
    id: str
    name: str
    arguments: str
    pieces: int = 3
    """How many chunks the arguments are split across."""


def _split(text: str, pieces: int) -> list[str]:
    if pieces <= 1 or len(text) < pieces:
        return [text]
    size = -(-len(text) // pieces)
    return [text[i : i + size] for i in range(0, len(text), size)]


def openai_tool_reply(*calls: Call, text: str = "", finish: str = "tool_calls", delay: float = 0.0) -> Reply:
    """Optional text, then each call: a header chunk (id, name) and its arguments in pieces."""
    chunks: list[bytes | float] = [sse(openai_chunk("", role="assistant"))]
    if text:
        chunks.append(sse(openai_chunk(text)))
    for index, call in enumerate(calls):
        head = {"index": index, "id": call.id, "type": "function", "function": {"name": call.name, "arguments": ""}}
        chunks.append(sse(openai_chunk(tool_calls=[head])))
        for piece in _split(call.arguments, call.pieces):
            if delay:
                chunks.append(delay)
            chunks.append(sse(openai_chunk(tool_calls=[{"index": index, "function": {"arguments": piece}}])))
    chunks.append(sse(openai_chunk(finish=finish)))
    chunks.append(b"data: [DONE]\n\n")
    return Reply(chunks=chunks)


def anthropic_reply(*calls: Call, text: str = "") -> Reply:
    """A Messages API stream: an optional text block, then one tool_use block per call."""
    events = [sse({"type": "message_start", "message": {
        "id": "msg_test", "type": "message", "role": "assistant", "content": [], "model": "m",
        "usage": {"input_tokens": 10, "output_tokens": 1}}}, event="message_start")]
    index = 0
    if text:
        events += [
            sse({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
                event="content_block_start"),
            sse({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}},
                event="content_block_delta"),
            sse({"type": "content_block_stop", "index": 0}, event="content_block_stop"),
        ]
        index = 1
    for call in calls:
        block = {"type": "tool_use", "id": call.id, "name": call.name, "input": {}}
        events.append(sse({"type": "content_block_start", "index": index, "content_block": block},
                          event="content_block_start"))
        for piece in _split(call.arguments, call.pieces):
            delta = {"type": "input_json_delta", "partial_json": piece}
            events.append(sse({"type": "content_block_delta", "index": index, "delta": delta},
                              event="content_block_delta"))
        events.append(sse({"type": "content_block_stop", "index": index}, event="content_block_stop"))
        index += 1
    stop = "tool_use" if calls else "end_turn"
    events += [
        sse({"type": "message_delta", "delta": {"stop_reason": stop}, "usage": {"output_tokens": 20}},
            event="message_delta"),
        sse({"type": "message_stop"}, event="message_stop"),
    ]
    return Reply(chunks=list(events))


def args(**values: object) -> str:
    return json.dumps(values)

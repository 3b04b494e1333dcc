"""Anthropic Messages API stream bodies, for the loopback server."""

from __future__ import annotations

from typing import Any

from tests.support.sse_server import Reply, sse


def event(data: dict[str, Any]) -> bytes:
    return sse(data, event=data["type"])


def message_start(input_tokens: int = 12) -> bytes:
    return event({"type": "message_start", "message": {
        "id": "msg_test", "type": "message", "role": "assistant", "model": "claude-test", "content": [],
        "stop_reason": None, "usage": {"input_tokens": input_tokens, "output_tokens": 1}}})


def text_start(index: int = 0) -> bytes:
    return event({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}})


def text_delta(text: str, index: int = 0) -> bytes:
    return event({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": text}})


def block_stop(index: int = 0) -> bytes:
    return event({"type": "content_block_stop", "index": index})


def message_delta(stop_reason: str = "end_turn", output_tokens: int = 5) -> bytes:
    return event({"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                  "usage": {"output_tokens": output_tokens}})


def message_stop() -> bytes:
    return event({"type": "message_stop"})


def error_event(kind: str = "overloaded_error", message: str = "Overloaded") -> bytes:
    return event({"type": "error", "error": {"type": kind, "message": message}})


def text_reply(pieces: list[str], *, stop_reason: str = "end_turn") -> Reply:
    chunks: list[bytes | float] = [message_start(), text_start()]
    chunks += [text_delta(p) for p in pieces]
    chunks += [block_stop(), message_delta(stop_reason, len(pieces)), message_stop()]
    return Reply(chunks=chunks)


def error_reply(status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> Reply:
    import json

    body = json.dumps({"type": "error", "error": {"type": kind, "message": message}}).encode()
    return Reply(status=status, chunks=[body], headers={"content-type": "application/json", **(headers or {})},
                 chunked=False)

"""Anthropic's Messages API, natively (httpx + the SSE decoder).

Events: `message_start` (usage), `content_block_start` (text, thinking,
redacted_thinking, tool_use, server_tool_use), `content_block_delta`
(`text_delta`, `thinking_delta`, `input_json_delta`, `signature_delta`,
`citations_delta`), `content_block_stop`, `message_delta` (stop reason and
usage), `message_stop`, `ping` and `error`.
"""

from __future__ import annotations

import json
from typing import Any

from chat_tui.errors import ErrorKind, ProviderError
from chat_tui.providers.base import ChatRequest, PromptMessage
from chat_tui.providers.events import (
    ReasoningDelta,
    StreamEvent,
    StreamFailed,
    TextDelta,
    ToolCallArgumentsDelta,
    ToolCallEnded,
    ToolCallStarted,
    UsageReported,
    end_of_stream,
)
from chat_tui.providers.http import HTTPStreamProvider, hints_for, message_from_error_object
from chat_tui.providers.sse import SSEEvent

DEFAULT_BASE_URL = "https://api.anthropic.com/v1"
DEFAULT_MODEL = "claude-sonnet-4-5"
API_VERSION = "2023-06-01"

_ERROR_KINDS = {
    "authentication_error": ErrorKind.AUTH,
    "permission_error": ErrorKind.PERMISSION,
    "not_found_error": ErrorKind.NOT_FOUND,
    "rate_limit_error": ErrorKind.RATE_LIMIT,
    "overloaded_error": ErrorKind.SERVER,
    "api_error": ErrorKind.SERVER,
    "invalid_request_error": ErrorKind.BAD_REQUEST,
    "request_too_large": ErrorKind.TOO_LARGE,
}


class _Block:
    __slots__ = ("type", "id", "name", "json", "input")

    def __init__(self, block: dict[str, Any]) -> None:
        self.type = block.get("type", "")
        self.id = str(block.get("id") or "")
        self.name = str(block.get("name") or "")
        self.json: list[str] = []
        self.input = block.get("input")


class AnthropicStreamParser:
    def __init__(self) -> None:
        self.finish_reason: str | None = None
        self.finished = False
        self.done = False
        self.parse_errors = 0
        self.errors: list[Any] = []
        self.usage: dict[str, Any] | None = None
        self._blocks: dict[int, _Block] = {}
        self._ended: set[int] = set()
        self._failed = False

    def feed(self, event: SSEEvent) -> list[StreamEvent]:
        try:
            data = json.loads(event.data)
        except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
            self.parse_errors += 1
            return []
        if not isinstance(data, dict):
            self.parse_errors += 1
            return []
        out: list[StreamEvent] = []
        try:
            self._event(data, event, out)
        except (AttributeError, TypeError):  # a field of the wrong JSON type
            self.parse_errors += 1
        return out

    def _event(self, data: dict[str, Any], event: SSEEvent, out: list[StreamEvent]) -> None:
        kind = data.get("type") or event.event
        if kind == "content_block_delta":
            self._delta(data, out)
        elif kind == "content_block_start":
            self._start(data, out)
        elif kind == "content_block_stop":
            self._stop(data.get("index"), out)
        elif kind == "message_start":
            message = data.get("message") or {}
            if isinstance(message.get("usage"), dict):
                self.usage = dict(message["usage"])
                out.append(UsageReported(dict(self.usage)))
        elif kind == "message_delta":
            delta = data.get("delta") or {}
            if isinstance(delta.get("stop_reason"), str):
                self.finish_reason = delta["stop_reason"]
            if isinstance(data.get("usage"), dict):
                self.usage = {**(self.usage or {}), **{k: v for k, v in data["usage"].items() if v is not None}}
                out.append(UsageReported(dict(self.usage)))
        elif kind == "message_stop":
            self.done = True
            self.finished = True
        elif kind == "error" or event.event == "error":
            out.append(self._fail(data.get("error", data)))

    def feed_whole(self, message: dict[str, Any]) -> list[StreamEvent]:
        """A non-streamed Messages response, replayed as its stream events."""
        if message.get("type") == "error":
            return self.feed(SSEEvent("error", json.dumps(message)))
        events = [{"type": "message_start", "message": {"usage": message.get("usage") or {}}}]
        for index, block in enumerate(message.get("content") or []):
            events.append({"type": "content_block_start", "index": index, "content_block": block})
            events.append({"type": "content_block_stop", "index": index})
        events.append({"type": "message_delta", "delta": {"stop_reason": message.get("stop_reason")}})
        events.append({"type": "message_stop"})
        out: list[StreamEvent] = []
        for event in events:
            out.extend(self.feed(SSEEvent(event["type"], json.dumps(event))))
        return out

    def _fail(self, error: Any) -> StreamFailed:
        self.errors.append(error)
        self.finished = True
        self._failed = True
        error_type = error.get("type") if isinstance(error, dict) else None
        kind = _ERROR_KINDS.get(error_type if isinstance(error_type, str) else "", ErrorKind.SERVER)
        message = message_from_error_object(error) or "The server reported an error mid-stream."
        return StreamFailed(ProviderError(kind, f"The server reported an error: {message}", raw=error), self.finish_reason)

    def _start(self, data: dict[str, Any], out: list[StreamEvent]) -> None:
        index = data.get("index", len(self._blocks))
        block = _Block(data.get("content_block") or {})
        self._blocks[index] = block
        if block.type in ("tool_use", "server_tool_use"):
            out.append(ToolCallStarted(index, block.id, block.name, server=block.type == "server_tool_use"))
        elif block.type == "text":
            text = (data.get("content_block") or {}).get("text")
            if isinstance(text, str) and text:
                out.append(TextDelta(text))
        elif block.type == "thinking":
            text = (data.get("content_block") or {}).get("thinking")
            if isinstance(text, str) and text:
                out.append(ReasoningDelta(text))

    def _delta(self, data: dict[str, Any], out: list[StreamEvent]) -> None:
        delta = data.get("delta") or {}
        kind = delta.get("type")
        if kind == "text_delta":
            if isinstance(delta.get("text"), str) and delta["text"]:
                out.append(TextDelta(delta["text"]))
        elif kind == "thinking_delta":
            if isinstance(delta.get("thinking"), str) and delta["thinking"]:
                out.append(ReasoningDelta(delta["thinking"]))
        elif kind == "input_json_delta":
            block = self._blocks.get(data.get("index", -1))
            partial = delta.get("partial_json")
            if block is not None and isinstance(partial, str):
                block.json.append(partial)
                if partial:
                    out.append(ToolCallArgumentsDelta(data["index"], partial))

    def _stop(self, index: Any, out: list[StreamEvent]) -> None:
        block = self._blocks.get(index)
        if block is None or index in self._ended or block.type not in ("tool_use", "server_tool_use"):
            return
        self._ended.add(index)
        if block.json:
            arguments = "".join(block.json)
        elif block.input:
            arguments = json.dumps(block.input)
        else:
            arguments = ""
        out.append(ToolCallEnded(index, block.id, block.name, arguments, server=block.type == "server_tool_use"))

    def close(self) -> list[StreamEvent]:
        if self._failed:
            return []
        self._failed = True
        out: list[StreamEvent] = []
        for index in sorted(self._blocks):
            self._stop(index, out)
        out.append(end_of_stream(parse_errors=self.parse_errors, done=self.done, finish_reason=self.finish_reason,
                                 unit="event"))
        return out


def _to_anthropic(message: PromptMessage) -> dict[str, Any]:
    if message.role == "tool":
        block: dict[str, Any] = {"type": "tool_result", "tool_use_id": message.tool_call_id, "content": message.content}
        if message.is_error:
            block["is_error"] = True
        return {"role": "user", "content": [block]}
    if message.role == "assistant" and message.tool_calls:
        content: list[dict[str, Any]] = []
        if message.content:
            content.append({"type": "text", "text": message.content})
        for call in message.tool_calls:
            try:
                args = json.loads(call.arguments) if call.arguments else {}
            except ValueError:
                args = {}
            content.append({"type": "tool_use", "id": call.id, "name": call.name, "input": args})
        return {"role": "assistant", "content": content}
    return {"role": message.role, "content": message.content}


def _merge_consecutive(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Anthropic wants alternating roles: merge tool results that follow each other."""
    merged: list[dict[str, Any]] = []
    for message in messages:
        if merged and merged[-1]["role"] == message["role"] == "user":
            prev = merged[-1]
            prev_content = prev["content"] if isinstance(prev["content"], list) else [{"type": "text", "text": prev["content"]}]
            content = message["content"] if isinstance(message["content"], list) else [{"type": "text", "text": message["content"]}]
            prev["content"] = prev_content + content
        else:
            merged.append(dict(message))
    return merged


class AnthropicProvider(HTTPStreamProvider):
    name = "anthropic"
    supports_prefill = True
    hints = hints_for("ANTHROPIC_API_KEY")

    def __init__(self, *, base_url: str = DEFAULT_BASE_URL, model: str = DEFAULT_MODEL, **kwargs: Any) -> None:
        super().__init__(base_url=base_url, model=model, **kwargs)

    def endpoint(self) -> str:
        return f"{self.base_url}/messages"

    def models_endpoint(self) -> str:
        # One page of up to 1000 (the API's most; its default page is 20), newest first.
        return f"{self.base_url}/models?limit=1000"

    def auth_headers(self) -> dict[str, str]:
        headers = {"anthropic-version": API_VERSION}
        if key := self._api_key.get():
            headers["x-api-key"] = key
        return headers

    def build_body(self, request: ChatRequest) -> dict[str, Any]:
        messages = _merge_consecutive([_to_anthropic(m) for m in request.messages if m.role != "system"])
        if request.prefill and messages and messages[-1]["role"] == "assistant":
            # The API rejects a final assistant turn that ends in white space.
            last = messages[-1]
            if isinstance(last["content"], str):
                last["content"] = last["content"].rstrip()
        body: dict[str, Any] = {
            "model": request.model or self.model,
            "messages": messages,
            "max_tokens": request.max_tokens or 8192,
            "stream": True,
        }
        if request.system:
            body["system"] = request.system
        if request.tools:
            body["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.parameters} for t in request.tools
            ]
        if request.temperature is not None:
            body["temperature"] = request.temperature
        return body

    def make_parser(self) -> AnthropicStreamParser:
        return AnthropicStreamParser()


__all__ = ["AnthropicProvider", "AnthropicStreamParser", "DEFAULT_BASE_URL", "DEFAULT_MODEL"]

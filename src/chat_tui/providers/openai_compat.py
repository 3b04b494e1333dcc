"""OpenAI chat completions, and every server that speaks it.

OpenAI, Azure, OpenRouter, Groq, DeepSeek, Mistral, Together, Ollama, vLLM,
llama.cpp and LM Studio all stream `chat.completion.chunk` objects over SSE, each
with its own quirks. The parser below handles each *kind* of quirk in general:

* chunks with empty `choices` (Azure's prompt filter results, usage chunks);
* `delta.content` as a string or as a list of parts (Mistral "thinking" parts);
* reasoning in `reasoning_content` (DeepSeek, vLLM) or `reasoning` (OpenRouter, Groq);
* tool-call fragments by `index`, or with no index (a new id opens a new slot);
  id and name are the first non-empty values, never concatenated;
* several choices interleaved (only choice 0 is the answer);
* `usage: null` / `finish_reason: null` never clear an earlier value;
* errors as `event: error` or as a top-level `error` object on HTTP 200;
* data that is not JSON is a parse error of that event, not of the stream;
* no `[DONE]` at the end; anything after `[DONE]` is ignored.
"""

from __future__ import annotations

import json
import json.decoder
import json.scanner
import re
from typing import Any

from chat_tui.errors import ErrorKind, ProviderError
from chat_tui.providers.base import ChatRequest, PromptMessage
from chat_tui.providers.events import (
    ReasoningDelta,
    RefusalDelta,
    StreamEvent,
    StreamFailed,
    TextDelta,
    ToolCallArgumentsDelta,
    ToolCallEnded,
    ToolCallStarted,
    UsageReported,
    end_of_stream,
)
from chat_tui.providers.http import (
    HTTPStreamProvider,
    Secret,
    hints_for,
    message_from_error_object,
)
from chat_tui.providers.sse import SSEEvent

_scan_json = json.scanner.make_scanner(json.decoder.JSONDecoder())
"""`json.loads` without its wrappers (two calls and two regex matches a chunk:
a third of its cost on a token's chunk); see `_load`."""


def _load(data: str) -> Any:
    """`json.loads(data)`. A chunk that starts and ends a JSON object is scanned
    directly; anything else, or anything the scanner stops at, goes through
    `json.loads`, which then returns or raises as it would have."""
    if data[:1] == "{":
        try:
            value, end = _scan_json(data, 0)
        except (StopIteration, ValueError, RecursionError):
            pass
        else:
            if end == len(data):
                return value
    return json.loads(data)


_scanstring = json.decoder.scanstring


class _ChunkTemplate:
    """A token's chunk as this stream's server writes it, with its variable
    string fields cut out: the content, and OpenAI's random `obfuscation`
    padding if there is one. A chunk that is this template with other strings
    in those fields parses to the same object with other values there, so it
    is read by matching the fixed text and scanning the strings only (a few
    µs less a chunk than parsing it). Anything else is parsed in full."""

    __slots__ = ("event", "pieces", "content_at")

    def __init__(self, event: str, pieces: list[str], content_at: int) -> None:
        self.event = event
        self.pieces = pieces
        """Fixed text around the variable strings: a chunk is pieces[0] +
        string + pieces[1] + ... + pieces[-1]; each piece but the last ends
        with a string's opening quote, each but the first starts after its
        closing quote."""
        self.content_at = content_at
        """Which of the strings is the content."""

    def content(self, data: str) -> str | None:
        """The content of `data` if it is this template, else None."""
        pieces = self.pieces
        if not data.startswith(pieces[0]):
            return None
        pos = len(pieces[0])
        values = []
        try:
            for piece in pieces[1:]:
                value, pos = _scanstring(data, pos)
                values.append(value)
                if not data.startswith(piece, pos):
                    return None
                pos += len(piece)
        except ValueError:
            return None
        return values[self.content_at] if pos == len(data) else None

    @classmethod
    def learn(cls, event: str, data: str, chunk: dict[str, Any], delta: dict[str, Any]) -> _ChunkTemplate | None:
        """The template of `data`, a chunk whose whole effect was one text delta
        (`delta` is its answer's delta), if its variable fields are found and
        the template is proven: filled with other values, it parses to `chunk`
        with those values in those fields."""
        fields = [(delta, "content")]
        if isinstance(chunk.get("obfuscation"), str):
            fields.append((chunk, "obfuscation"))
        spans = [_string_span(data, key, owner[key]) for owner, key in fields]
        if None in spans:
            return None
        order = sorted(range(len(fields)), key=lambda i: spans[i][0])  # type: ignore[index]
        pieces = []
        pos = 0
        for i in order:
            start, end = spans[i]  # type: ignore[misc]
            if start < pos:
                return None
            pieces.append(data[pos:start])
            pos = end
        pieces.append(data[pos:])
        saved = [owner[key] for owner, key in fields]
        probes = [value + '\u00e9"\\' for value in saved]  # (never the value itself)
        probe = "".join(piece + json.dumps(probes[i])[1:] for piece, i in zip(pieces, order)) + pieces[-1]
        try:
            try:
                for (owner, key), value in zip(fields, probes):
                    owner[key] = value
                expected = json.dumps(chunk, sort_keys=True)
            finally:
                for (owner, key), value in zip(fields, saved):
                    owner[key] = value
            proven = json.dumps(json.loads(probe), sort_keys=True) == expected
        except (ValueError, RecursionError):
            proven = False
        return cls(event, pieces, order.index(0)) if proven else None


def _string_span(data: str, key: str, value: Any) -> tuple[int, int] | None:
    """(just after the opening quote, just after the closing quote) of the JSON
    string literal holding `value` as the value of a `key` member in `data`;
    None unless exactly one `key` member holds it."""
    if not isinstance(value, str):
        return None
    found = None
    for member in re.finditer(re.escape(json.dumps(key)) + r'[ \t\r\n]*:[ \t\r\n]*"', data):
        try:
            text, end = _scanstring(data, member.end())
        except ValueError:
            return None
        if text == value:
            if found is not None:
                return None
            found = (member.end(), end)
    return found


DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_MODEL = "gpt-4.1-mini"


class _ToolSlot:
    __slots__ = ("index", "id", "name", "arguments", "started")

    def __init__(self, index: int) -> None:
        self.index = index
        self.id = ""
        self.name = ""
        self.arguments: list[str] = []
        self.started = False


def _kind_for_code(code: Any) -> ErrorKind:
    if isinstance(code, str) and code.isdigit():
        code = int(code)
    if code == 429 or code in ("rate_limit_exceeded", "insufficient_quota"):
        return ErrorKind.RATE_LIMIT
    if isinstance(code, int):
        if code in (401,):
            return ErrorKind.AUTH
        if code == 403:
            return ErrorKind.PERMISSION
        if 400 <= code < 500:
            return ErrorKind.BAD_REQUEST
    return ErrorKind.SERVER


class OpenAIStreamParser:
    TEMPLATES = True
    """Read token chunks by their template (`_ChunkTemplate`); tests compare with False."""
    MAX_LEARNED = 8
    """Templates tried in a row without one that serves: a server whose chunks
    differ in more than their strings has every chunk parsed in full after a
    few tries. A template that reads `SERVED` chunks renews the allowance (a
    server may stamp its chunks with the second they were sent)."""
    SERVED = 16

    def __init__(self) -> None:
        self.finish_reason: str | None = None
        self.finished = False
        self.done = False
        self.parse_errors = 0
        self.errors: list[Any] = []
        self._slots: list[_ToolSlot] = []
        self._by_index: dict[int, _ToolSlot] = {}
        self._failed = False
        self._template: _ChunkTemplate | None = None
        self._learned = 0
        self._served = 0
        self.template_reads = 0
        """Chunks read by their template (for tests and benchmarks)."""
        self.templates_learnt = 0

    def feed(self, event: SSEEvent) -> list[StreamEvent]:
        data = event.data
        template = self._template
        if template is not None and event.event == template.event:
            content = template.content(data)
            if content is not None:
                self.template_reads += 1
                self._served += 1
                if self._served >= self.SERVED:
                    self._learned = 0
                return [TextDelta(content)] if content else []
        out, answer = self._feed(event)
        if (
            answer is not None
            and self.TEMPLATES
            and self._learned < self.MAX_LEARNED
            and len(out) == 1
            and type(out[0]) is TextDelta
        ):
            self._learned += 1
            learnt = _ChunkTemplate.learn(event.event, data, *answer)
            if learnt is not None:
                self._template = learnt
                self._served = 0
                self.templates_learnt += 1
        return out

    def _feed(self, event: SSEEvent) -> tuple[list[StreamEvent], tuple[dict[str, Any], dict[str, Any]] | None]:
        """The events of a chunk parsed in full, and (the chunk, its answer's
        delta) if that chunk could be its stream's template."""
        data = event.data
        if data.strip() == "[DONE]":
            self.done = True
            self.finished = True
            return [], None
        try:
            chunk = _load(data)
        except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
            self.parse_errors += 1
            return [], None
        if not isinstance(chunk, dict):
            self.parse_errors += 1
            return [], None
        out: list[StreamEvent] = []
        answer = None
        choices = chunk.get("choices")
        answered = 0
        if isinstance(choices, list):
            for choice in choices:
                if isinstance(choice, dict) and choice.get("index", 0) in (0, None):
                    answered += 1
                    self._choice(choice, out)
            delta = choices[0].get("delta") if answered == 1 and isinstance(choices[0], dict) else None
            if (
                isinstance(delta, dict)
                and choices[0].get("index", 0) in (0, None)
                and choices[0].get("finish_reason") is None
                and not delta.get("tool_calls")  # (a fragment without a name is kept, not shown)
            ):
                answer = chunk, delta
        usage = chunk.get("usage")
        if isinstance(usage, dict) and usage:
            out.append(UsageReported(usage))
        error = chunk.get("error")
        if event.event == "error" or error:
            out.append(self._fail(error if error is not None else chunk))
        return out, answer

    def feed_whole(self, completion: dict[str, Any]) -> list[StreamEvent]:
        """A non-streamed `chat.completion`, read as if it were one chunk."""
        choices = completion.get("choices")
        if isinstance(choices, list):
            completion = {**completion, "choices": [
                {**c, "delta": c.get("message") or {}} for c in choices if isinstance(c, dict)
            ]}
        events = self.feed(SSEEvent("message", json.dumps(completion)))
        self.done = True
        return events

    def _fail(self, error: Any) -> StreamFailed:
        self.errors.append(error)
        self.finished = True
        self._failed = True
        code = error.get("code", error.get("status_code")) if isinstance(error, dict) else None
        message = message_from_error_object(error) or "The server reported an error mid-stream."
        exc = ProviderError(_kind_for_code(code), f"The server reported an error: {message}", raw=error)
        return StreamFailed(exc, self.finish_reason)

    def _choice(self, choice: dict[str, Any], out: list[StreamEvent]) -> None:
        delta = choice.get("delta")
        if isinstance(delta, dict):
            content = delta.get("content")
            if isinstance(content, str):
                if content:
                    out.append(TextDelta(content))
            elif isinstance(content, list):
                self._parts(content, out)
            if content is None or len(delta) > 1:  # (a token's chunk has nothing else)
                self._delta_rest(delta, out)
        reason = choice.get("finish_reason")
        if isinstance(reason, str) and reason:
            self.finish_reason = reason

    def _delta_rest(self, delta: dict[str, Any], out: list[StreamEvent]) -> None:
        """What a delta holds besides its content."""
        for key in ("reasoning_content", "reasoning"):
            value = delta.get(key)
            if isinstance(value, str) and value:
                out.append(ReasoningDelta(value))
                break
        refusal = delta.get("refusal")
        if isinstance(refusal, str) and refusal:
            out.append(RefusalDelta(refusal))
        tool_calls = delta.get("tool_calls")
        if isinstance(tool_calls, list):
            for fragment in tool_calls:
                if isinstance(fragment, dict):
                    self._tool_fragment(fragment, out)

    def _parts(self, parts: list[Any], out: list[StreamEvent]) -> None:
        for part in parts:
            if isinstance(part, str):
                out.append(TextDelta(part))
            elif isinstance(part, dict):
                kind = part.get("type")
                if kind == "text" and isinstance(part.get("text"), str) and part["text"]:
                    out.append(TextDelta(part["text"]))
                elif kind in ("thinking", "reasoning"):
                    inner = part.get("thinking", part.get("text", part.get("reasoning")))
                    for text in _texts(inner):
                        out.append(ReasoningDelta(text))

    def _tool_fragment(self, fragment: dict[str, Any], out: list[StreamEvent]) -> None:
        index = fragment.get("index")
        frag_id = fragment.get("id") or ""
        if isinstance(index, int):
            slot = self._by_index.get(index)
            if slot is None:
                slot = self._new_slot(index)
        elif (frag_id and all(s.id != frag_id for s in self._slots)) or not self._slots:
            slot = self._new_slot(len(self._slots))
        else:
            slot = self._slots[-1]
        function = fragment.get("function") or {}
        if not slot.id and isinstance(frag_id, str):
            slot.id = frag_id
        name = function.get("name") if isinstance(function, dict) else None
        if not slot.name and isinstance(name, str) and name:
            slot.name = name
        args = function.get("arguments") if isinstance(function, dict) else None
        if isinstance(args, dict):  # some servers send arguments as an object
            args = json.dumps(args)
        if slot.name and not slot.started:
            slot.started = True
            out.append(ToolCallStarted(slot.index, slot.id, slot.name))
            if slot.arguments:
                out.append(ToolCallArgumentsDelta(slot.index, "".join(slot.arguments)))
        if isinstance(args, str) and args:
            slot.arguments.append(args)
            if slot.started:
                out.append(ToolCallArgumentsDelta(slot.index, args))

    def _new_slot(self, index: int) -> _ToolSlot:
        while index in self._by_index:
            index += 1
        slot = _ToolSlot(index)
        self._slots.append(slot)
        self._by_index[index] = slot
        return slot

    def close(self) -> list[StreamEvent]:
        if self._failed:
            return []
        out: list[StreamEvent] = []
        for position, slot in enumerate(sorted(self._slots, key=lambda s: s.index)):
            call_id = slot.id or f"call_{position}"
            if not slot.started:
                out.append(ToolCallStarted(slot.index, call_id, slot.name))
            out.append(ToolCallEnded(slot.index, call_id, slot.name, "".join(slot.arguments)))
        self._slots.clear()
        self._by_index.clear()
        out.append(end_of_stream(parse_errors=self.parse_errors, done=self.done, finish_reason=self.finish_reason,
                                 unit="chunk"))
        self._failed = True  # close() owes nothing more
        return out


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list):
        return [t for item in value for t in _texts(item.get("text") if isinstance(item, dict) else item)]
    return []


def prompt_to_openai(message: PromptMessage) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.role == "assistant" and message.tool_calls:
        out["content"] = message.content or None
        out["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments or "{}"}}
            for c in message.tool_calls
        ]
    if message.role == "tool":
        out["tool_call_id"] = message.tool_call_id
    return out


class OpenAICompatProvider(HTTPStreamProvider):
    name = "openai"
    hints = hints_for("OPENAI_API_KEY")

    def __init__(self, *, base_url: str = DEFAULT_BASE_URL, model: str = DEFAULT_MODEL, **kwargs: Any) -> None:
        super().__init__(base_url=base_url, model=model, **kwargs)
        self.stream_usage = True

    @property
    def supports_prefill(self) -> bool:  # type: ignore[override]
        # OpenAI's own API does not continue a trailing assistant message; most
        # local servers (llama.cpp, vLLM, Ollama) do.
        return "api.openai.com" not in self.base_url

    def endpoint(self) -> str:
        return f"{self.base_url}/chat/completions"

    def auth_headers(self) -> dict[str, str]:
        key = self._api_key.get()
        return {"authorization": f"Bearer {key}"} if key else {}

    def build_body(self, request: ChatRequest) -> dict[str, Any]:
        messages: list[dict[str, Any]] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        messages.extend(prompt_to_openai(m) for m in request.messages)
        body: dict[str, Any] = {"model": request.model or self.model, "messages": messages, "stream": True}
        if self.stream_usage:
            body["stream_options"] = {"include_usage": True}
        if request.tools:
            body["tools"] = [
                {"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}
                for t in request.tools
            ]
        if request.max_tokens:
            body["max_tokens"] = request.max_tokens
        if request.temperature is not None:
            body["temperature"] = request.temperature
        return body

    def make_parser(self) -> OpenAIStreamParser:
        return OpenAIStreamParser()


__all__ = ["OpenAICompatProvider", "OpenAIStreamParser", "Secret", "DEFAULT_BASE_URL", "DEFAULT_MODEL"]

"""The OpenAI parser reads a chunk's JSON with the standard library's scanner
directly (`_load`): it returns what `json.loads` returns and fails where it fails."""

from __future__ import annotations

import json
import random

import pytest

from chat_tui.providers.openai_compat import OpenAIStreamParser, _load
from chat_tui.providers.sse import SSEEvent

CASES = [
    '{"choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}',
    '{"a": 1} ',
    '{"a": 1}\n',
    ' {"a": 1}',
    '\ufeff{"a": 1}',
    '{"a": 1}{"b": 2}',
    '{"a": 1},{"b": 2}',
    '{"a": 1} x',
    '{"a": NaN, "b": Infinity}',
    '{"a": "\\ud83d\\ude00 \\u00e9"}',
    '{"a": [1, 2.5e3, true, false, null, {"b": []}]}',
    '{"a": 1',
    '{"a": "unterminated}',
    '{',
    '{}',
    '[1, 2]',
    '"text"',
    '123',
    '',
    '{"a": 1, "a": 2}',
    '{"deep": ' + "[" * 5000 + "]" * 5000 + "}",
    '{"deep": ' + "[" * 100000 + "]" * 100000 + "}",
]


def _outcome(function, data: str) -> tuple[str, object]:  # type: ignore[no-untyped-def]
    try:
        return "value", function(data)
    except json.JSONDecodeError as error:
        return "error", (error.msg, error.pos)
    except (ValueError, RecursionError) as error:
        return "error", type(error).__name__


@pytest.mark.parametrize("data", CASES, ids=range(len(CASES)))
def test_load_is_json_loads(data: str) -> None:
    assert repr(_outcome(_load, data)) == repr(_outcome(json.loads, data))


def test_load_is_json_loads_on_cut_chunks() -> None:
    rng = random.Random(5)
    chunk = json.dumps({"id": "x", "choices": [{"index": 0, "delta": {"content": "a \"quoted\" ✓ \\ tab\t"},
                                                "finish_reason": None}], "usage": None})
    for _ in range(300):
        cut = chunk[: rng.randint(0, len(chunk))] + rng.choice(["", " ", "}", "]", "x", "\n", '"'])
        assert repr(_outcome(_load, cut)) == repr(_outcome(json.loads, cut)), cut


def test_a_token_chunk_and_a_chunk_with_more_in_its_delta() -> None:
    parser = OpenAIStreamParser()
    events = parser.feed(SSEEvent("message", '{"choices":[{"index":0,"delta":{"content":"Hi"}}]}'))
    assert [type(e).__name__ for e in events] == ["TextDelta"]
    events = parser.feed(SSEEvent("message", json.dumps({"choices": [{"index": 0, "delta": {
        "content": "a", "reasoning_content": "b", "tool_calls": [{"index": 0, "id": "c", "function": {
            "name": "f", "arguments": "{}"}}]}}]})))
    assert [type(e).__name__ for e in events] == ["TextDelta", "ReasoningDelta", "ToolCallStarted",
                                                  "ToolCallArgumentsDelta"]
    assert parser.feed(SSEEvent("message", '{"a": 1} trailing')) == []
    assert parser.parse_errors == 1


def test_runs_of_text_in_a_read_are_one_event_and_nothing_else_moves() -> None:
    from chat_tui.providers.events import ReasoningDelta, RefusalDelta, TextDelta, UsageReported
    from chat_tui.providers.http import joined_text

    batch = [TextDelta("a"), TextDelta("b"), ReasoningDelta("r"), TextDelta("c"), RefusalDelta("no"),
             TextDelta("d"), TextDelta("e"), TextDelta("f"), UsageReported({"x": 1})]
    assert joined_text(batch) == [TextDelta("ab"), ReasoningDelta("r"), TextDelta("c"), RefusalDelta("no"),
                                  TextDelta("def"), UsageReported({"x": 1})]
    assert joined_text([TextDelta("a"), TextDelta("b")]) == [TextDelta("ab")]
    assert joined_text([UsageReported({})]) == [UsageReported({})]

"""The OpenAI parser reads a token's chunk by the template of the stream's
earlier chunks (`_ChunkTemplate`): only a chunk that is the template with other
strings in its content (and `obfuscation`) field is read that way, and what
the parser returns is always what parsing every chunk in full returns."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from chat_tui.providers.openai_compat import OpenAIStreamParser
from chat_tui.providers.sse import SSEDecoder, SSEEvent

FIXTURES = Path(__file__).parent.parent / "fixtures" / "provider-streams"
OPENAI_FORMAT = sorted(
    p.stem for p in FIXTURES.glob("*.json") if json.loads(p.read_text())["api_format"] != "anthropic-messages"
)


def _both(events: list[SSEEvent], learn: int | None = None) -> tuple[list[str], list[str], OpenAIStreamParser]:
    """What a parser with templates and one without return for each event, and at close."""
    fast, full = OpenAIStreamParser(), OpenAIStreamParser()
    if learn is not None:
        fast.MAX_LEARNED = learn
    full.TEMPLATES = False
    # (repr: a failure's event holds an exception, which equals only itself)
    got_fast = [repr(fast.feed(event)) for event in events] + [repr(fast.close())]
    got_full = [repr(full.feed(event)) for event in events] + [repr(full.close())]
    return got_fast, got_full, fast


def _events(body: bytes) -> list[SSEEvent]:
    decoder = SSEDecoder()
    return list(decoder.feed(body)) + list(decoder.flush() if hasattr(decoder, "flush") else [])


@pytest.mark.parametrize("name", OPENAI_FORMAT)
def test_every_recorded_stream_reads_the_same_with_templates(name: str) -> None:
    events = _events((FIXTURES / f"{name}.sse").read_bytes())
    got_fast, got_full, _ = _both(events)
    assert got_fast == got_full


def test_recorded_token_streams_are_read_by_their_template() -> None:
    """(Otherwise the test above would compare the full parse with itself.)"""
    used = []
    for name in OPENAI_FORMAT:
        _, _, parser = _both(_events((FIXTURES / f"{name}.sse").read_bytes()))
        if parser.template_reads:
            used.append(name)
    assert {"openai__text_plain", "openai__text_include_usage", "deepseek__reasoning_content"} & set(used)
    assert len(used) >= 5, used


def _chunk(content: object, **extra: object) -> dict[str, object]:
    chunk: dict[str, object] = {
        "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m",
        "choices": [{"index": 0, "delta": {"content": content}, "logprobs": None, "finish_reason": None}],
    }
    chunk.update(extra)
    return chunk


CONTENTS = ["a", " word", "", 'quote " and \\ backslash', "\n\t", "é😀", "\u2028", "}", '"}]}', "\\u0041", "x" * 500]


@pytest.mark.parametrize("obfuscation", [False, True])
@pytest.mark.parametrize("separators", [(",", ":"), (", ", ": ")])
def test_tokens_with_any_content_read_the_same(obfuscation: bool, separators: tuple[str, str]) -> None:
    rng = random.Random(3)
    events = []
    for i in range(200):
        padding = "".join(rng.choice("abcXYZ09") for _ in range(rng.randint(0, 12)))
        extra = {"obfuscation": padding} if obfuscation else {}
        content = rng.choice(CONTENTS) + str(i)
        events.append(SSEEvent("message", json.dumps(_chunk(content, **extra), separators=separators,
                                                     ensure_ascii=rng.random() < 0.5)))
    got_fast, got_full, parser = _both(events)
    assert got_fast == got_full
    assert parser.templates_learnt == 1 and parser.template_reads == 199


def _mutations(data: str, rng: random.Random, count: int) -> list[str]:
    out = []
    alphabet = '{}[]",:0123456789 abcnulltruefalse\\ue'
    for _ in range(count):
        kind = rng.choice(["replace", "insert", "delete"])
        at = rng.randrange(len(data) + (kind == "insert"))
        if kind == "replace":
            out.append(data[:at] + rng.choice(alphabet) + data[at + 1:])
        elif kind == "insert":
            out.append(data[:at] + rng.choice(alphabet) + data[at:])
        else:
            out.append(data[:at] + data[at + 1:])
    return out


def test_any_other_chunk_is_parsed_in_full() -> None:
    """Chunks one character away from the template anywhere (in the content,
    the other fields, the structure; valid JSON or not), and chunks that say
    more (a finish reason, usage, tool calls, reasoning, several choices): the
    same events, in order, and at the end, as parsing every chunk in full."""
    rng = random.Random(11)
    template = json.dumps(_chunk("token"))
    events = [SSEEvent("message", template)]
    for data in _mutations(template, rng, 3000):
        events.append(SSEEvent("message", data))
        events.append(SSEEvent("message", json.dumps(_chunk(f"t{len(events)}"))))
    others = [
        _chunk("a", usage={"prompt_tokens": 1, "completion_tokens": 2}),
        {**_chunk("b"), "choices": [{"index": 0, "delta": {"content": "b"}, "finish_reason": "stop"}]},
        {**_chunk("c"), "choices": [{"index": 0, "delta": {"content": "c", "reasoning_content": "r"}}]},
        {**_chunk("d"), "choices": [{"index": 0, "delta": {"content": "d", "tool_calls": [
            {"index": 0, "id": "call_1", "function": {"arguments": "{\"a\""}}]}}]},
        {**_chunk("e"), "choices": [{"index": 0, "delta": {"content": "e"}}, {"index": 1, "delta": {"content": "x"}}]},
        {**_chunk("f"), "choices": [{"index": 0, "delta": {"content": ["f"]}}]},
    ]
    for other in others:
        events.append(SSEEvent("message", json.dumps(other)))
        events.append(SSEEvent("message", json.dumps(_chunk("between"))))
    # Runs of chunks that must not be read by a template learnt from the first:
    tool = {**_chunk("d"), "choices": [{"index": 0, "delta": {"content": "d", "tool_calls": [
        {"index": 0, "id": "call_1", "function": {"arguments": "{}"}}]}}]}
    stop = {**_chunk("s"), "choices": [{"index": 0, "delta": {"content": "s"}, "finish_reason": "stop"}]}
    length = {**_chunk(""), "choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]}
    runs: list[list[object]] = [
        [tool, tool],  # a fragment without a name yet is kept: each one counts
        [stop, length, stop],  # the finish reason is the last one given
    ]
    # The answer's content under a key written with an escape, the same text
    # in another choice's: the template must not take the other one for it.
    runs.append([
        '{"choices": [{"index": 0, "delta": {"cont\\u0065nt": "same"}}, {"index": 1, "delta": {"content": "' + other
        + '"}}]}' for other in ("same", "other", "third")
    ])
    for run in runs:
        for chunk in run:
            events.append(SSEEvent("message", chunk if isinstance(chunk, str) else json.dumps(chunk)))
        events.append(SSEEvent("message", json.dumps(_chunk("between"))))
    # (A chunk parsed in full that could be a template is learnt as the template:
    # here without limit, so that the template is always the last such chunk's.)
    got_fast, got_full, parser = _both(events, learn=10**6)
    assert got_fast == got_full
    assert parser.template_reads > 1000  # tokens between, and mutants still of the template


@pytest.mark.parametrize("error", ["object", "event"])
def test_an_error_after_tokens_reads_the_same(error: str) -> None:
    events = [SSEEvent("message", json.dumps(_chunk(f"w{i}"))) for i in range(5)]
    if error == "object":
        events.append(SSEEvent("message", json.dumps(_chunk("w5", error={"message": "boom", "code": 429}))))
    else:
        events.append(SSEEvent("error", json.dumps(_chunk("w5"))))
    events.append(SSEEvent("message", json.dumps(_chunk("after"))))
    got_fast, got_full, parser = _both(events)
    assert got_fast == got_full and "StreamFailed" in got_fast[5]
    assert parser.template_reads == 5  # w1-w4 and the one after


def test_a_template_is_learnt_again_when_the_chunks_change_but_not_forever() -> None:
    first = [SSEEvent("message", json.dumps({**_chunk("hi"), "choices": [
        {"index": 0, "delta": {"role": "assistant", "content": "hi"}, "finish_reason": None}]}))]
    rest = [SSEEvent("message", json.dumps(_chunk(f"w{i}"))) for i in range(20)]
    got_fast, got_full, parser = _both(first + rest)
    assert got_fast == got_full
    assert parser.templates_learnt == 2  # the first chunk's (with a role), then the tokens'
    changing = [SSEEvent("message", json.dumps(_chunk(f"w{i}", created=i))) for i in range(50)]
    got_fast, got_full, parser = _both(changing)
    assert got_fast == got_full
    assert parser.templates_learnt == OpenAIStreamParser.MAX_LEARNED and parser.template_reads == 0


def test_a_server_that_stamps_chunks_with_the_second_keeps_its_templates() -> None:
    """llama.cpp's server writes the current second into each chunk: a new
    template each second, for as long as the answer lasts."""
    events = [SSEEvent("message", json.dumps(_chunk(f"w{i} ", created=1000 + i // 40))) for i in range(2000)]
    got_fast, got_full, parser = _both(events)
    assert got_fast == got_full
    assert parser.template_reads == 2000 - 50  # all but each second's first chunk
    assert parser.templates_learnt == 50


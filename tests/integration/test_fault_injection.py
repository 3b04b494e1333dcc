"""Fault injection: a loopback server that misbehaves on purpose.

Hundreds of seeded random streams run through the real engine, a real SQLite
store and the real providers over HTTP. Each stream carries one fault: the
connection dropped at a random byte (inside a UTF-8 character, inside a JSON
chunk, between events), a stall, a malformed or absurd chunk, an error event
mid-stream, HTTP 429/500/503 before the first token, no `[DONE]`, `[DONE]`
twice, data after `[DONE]`, an event over the size limit, junk chunks.

For every stream the expected outcome is computed from the bytes actually
sent, by the SSE rules alone (an event counts once its blank line ended):
the status, the error kind, the number of requests (retries), and the exact
text, which must be what the engine handed out *and* what the store holds.

Run with -s to see the summary (it is also printed in the terminal summary).
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import os
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from chat_tui.domain import MessageStatus
from chat_tui.engine import ChatEngine, RetryPolicy
from chat_tui.errors import ErrorKind
from chat_tui.providers.anthropic import AnthropicProvider
from chat_tui.providers.http import HTTPStreamProvider
from chat_tui.providers.openai_compat import OpenAICompatProvider
from chat_tui.store import Store
from tests.support.sse_server import RecordedRequest, Reply, SSETestServer, error_reply
from tests.support.summary import SUMMARY_KEY
from tests.support.turns import SleepRecorder, run_turn

SEED = 20240607
STREAMS = 400
ANTHROPIC_STREAMS = 80
CONCURRENCY = 16
STALL = 0.5
"""Stall timeout of the client; stalls injected by the server last much longer."""
ATTEMPTS = 2
MAX_EVENT = 2048
"""A small per-event size limit, so that an oversized event is cheap to send."""

ALPHABET = list("abcdefghijklmnopqrstuvwxyz     ,.;:!?'-") + [
    "é", "ß", "ñ", "Ω", "世", "界", "🎉", "🙂", "𝄞", "\n", "\t", '"', "\\", "/", "\u2028", "{", "}", "[DONE]", "data: ",
]
EOLS = {"LF": b"\n", "CRLF": b"\r\n", "CR": b"\r"}


# -- building streams -------------------------------------------------------------


@dataclass
class Event:
    raw: bytes
    text: str = ""
    """The answer text it carries, if any (and if it is well-formed)."""
    done: bool = False
    """The end marker: [DONE] / message_stop."""
    finish: bool = False
    """It carries the finish / stop reason: after it, the answer is whole."""


class Wire:
    """One streaming format: how to write its events with a given line ending."""

    name = ""

    def __init__(self, eol: bytes) -> None:
        self.eol = eol

    def frame(self, payload: str, event: str | None = None) -> bytes:
        head = f"event: {event}".encode() + self.eol if event else b""
        return head + b"data: " + payload.encode() + self.eol + self.eol

    def dispatch_offset(self, start: int, event: Event) -> int:
        """Bytes of the body that must have arrived for `event` to be dispatched:
        its blank line is complete once the first character of its line end arrived."""
        return start + len(event.raw) - (len(self.eol) - 1)


class OpenAIWire(Wire):
    name = "openai"

    def chunk(self, delta: dict[str, Any], finish: str | None = None) -> str:
        return json.dumps({"id": "c", "object": "chat.completion.chunk", "choices": [
            {"index": 0, "delta": delta, "finish_reason": finish}]}, ensure_ascii=False)

    def preamble(self) -> list[Event]:
        return [Event(self.frame(self.chunk({"role": "assistant", "content": ""})))]

    def content(self, text: str) -> Event:
        return Event(self.frame(self.chunk({"content": text})), text=text)

    def finish(self, rng: random.Random) -> list[Event]:
        events = [Event(self.frame(self.chunk({}, "stop")), finish=True)]
        if rng.random() < 0.5:
            usage = {"id": "c", "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 5}}
            events.append(Event(self.frame(json.dumps(usage))))
        return events

    def done(self) -> Event:
        return Event(self.frame("[DONE]"), done=True)


class AnthropicWire(Wire):
    name = "anthropic"

    def typed(self, data: dict[str, Any]) -> bytes:
        return self.frame(json.dumps(data, ensure_ascii=False), event=data["type"])

    def preamble(self) -> list[Event]:
        start = {"type": "message_start", "message": {"id": "m", "role": "assistant", "content": [],
                                                      "usage": {"input_tokens": 3, "output_tokens": 1}}}
        block = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
        return [Event(self.typed(start)), Event(self.typed(block))]

    def content(self, text: str) -> Event:
        delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}}
        return Event(self.typed(delta), text=text)

    def finish(self, rng: random.Random) -> list[Event]:
        stop = {"type": "content_block_stop", "index": 0}
        delta = {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 5}}
        return [Event(self.typed(stop)), Event(self.typed(delta), finish=True)]

    def done(self) -> Event:
        return Event(self.typed({"type": "message_stop"}), done=True)


def random_text(rng: random.Random) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 12)))


def answer_events(wire: Wire, rng: random.Random, *, finish: bool = True, done: bool = True,
                  pieces: int | None = None) -> list[Event]:
    n = pieces if pieces is not None else (0 if rng.random() < 0.05 else rng.randint(1, 10))
    events = wire.preamble() + [wire.content(random_text(rng)) for _ in range(n)]
    if finish:
        events += wire.finish(rng)
    if done:
        events.append(wire.done())
    return events


def split(rng: random.Random, data: bytes) -> list[bytes | float]:
    """The bytes in 1 to 5 writes cut at random places (so reads end anywhere)."""
    if len(data) < 2:
        return [data] if data else []
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(0, 4))))
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def body(events: list[Event]) -> bytes:
    return b"".join(e.raw for e in events)


def dispatched_before(wire: Wire, events: list[Event], cut: int) -> list[Event]:
    out, start = [], 0
    for event in events:
        if wire.dispatch_offset(start, event) > cut:
            break
        out.append(event)
        start += len(event.raw)
    return out


# -- expected outcomes --------------------------------------------------------------


@dataclass
class Case:
    number: int
    wire: str
    fault: str
    detail: str
    replies: list[Reply]
    status: MessageStatus
    kind: ErrorKind | None
    text: str
    requests: int
    delays: list[float | tuple[float, float]] = field(default_factory=list)
    """Expected retry waits: exact (Retry-After) or (low, high) backoff bounds."""

    @property
    def prompt(self) -> str:
        return f"stream {self.number}"


def failed(text: str, kind: ErrorKind) -> tuple[MessageStatus, ErrorKind, int]:
    """Status, kind and request count of a stream that failed after delivering `text`,
    when the same failure repeats on every retry."""
    if text:
        return MessageStatus.INTERRUPTED, kind, 1
    retryable = kind in (ErrorKind.CONNECTION, ErrorKind.SERVER, ErrorKind.RATE_LIMIT, ErrorKind.TIMEOUT)
    return MessageStatus.ERROR, kind, 1 + ATTEMPTS if retryable else 1


def backoff_bounds(attempts: int) -> list[float | tuple[float, float]]:
    return [(0.5 * 2 ** (a - 1), 1.0 * 2 ** (a - 1)) for a in range(1, attempts + 1)]


def cut_point(rng: random.Random, wire: Wire, events: list[Event]) -> tuple[int, str]:
    data = body(events)
    mode = rng.choice(["anywhere", "utf8", "json", "boundary", "line-end"])
    if mode == "utf8":
        inside = [i for i, b in enumerate(data) if 0x80 <= b <= 0xBF]  # a continuation byte: mid-character
        if inside:
            return rng.choice(inside), "inside a UTF-8 character"
    if mode == "json":
        start = 0
        spans = []
        for event in events:
            open_brace = event.raw.find(b"{")
            if open_brace >= 0:
                spans.append((start + open_brace + 1, start + len(event.raw) - len(wire.eol) * 2))
            start += len(event.raw)
        a, b = rng.choice(spans)
        return rng.randint(a, b - 1), "inside a JSON chunk"
    if mode == "boundary":
        ends = [0]
        for event in events:
            ends.append(ends[-1] + len(event.raw))
        return rng.choice(ends), "between events"
    if mode == "line-end":
        # Between the two characters of a CRLF, or between the line end of the
        # data line and the blank line.
        positions = [i + 1 for i in range(len(data) - 1) if data[i : i + 1] in (b"\r", b"\n")]
        return rng.choice(positions), "inside a line end"
    return rng.randint(0, len(data)), "anywhere"


def expect_cut(
    wire: Wire, events: list[Event], cut: int, kind: ErrorKind
) -> tuple[MessageStatus, ErrorKind | None, str, int]:
    """The outcome of a stream whose body stops arriving after `cut` bytes."""
    got = dispatched_before(wire, events, cut)
    if any(e.done for e in got):
        return MessageStatus.COMPLETE, None, "".join(e.text for e in events), 1
    if any(e.finish for e in got) and kind in (ErrorKind.CONNECTION, ErrorKind.STALL):
        # The model had finished; only the end marker was lost (connection lost or stalled).
        return MessageStatus.COMPLETE, None, "".join(e.text for e in got), 1
    text = "".join(e.text for e in got)
    status, kind, requests = failed(text, kind)
    return status, kind, text, requests


def make_case(number: int, rng: random.Random, wire: Wire, fault: str) -> Case:
    def case(replies: list[Reply], status: MessageStatus, kind: ErrorKind | None, text: str, requests: int,
             detail: str = "", delays: list[float | tuple[float, float]] | None = None) -> Case:
        if delays is None:  # a failure repeated on every retry: waits with backoff
            delays = backoff_bounds(requests - 1)
        return Case(number, wire.name, fault, detail, replies, status, kind, text, requests, delays)

    if fault == "clean":
        events = answer_events(wire, rng)
        return case([Reply(chunks=split(rng, body(events)))], MessageStatus.COMPLETE, None,
                    "".join(e.text for e in events), 1)

    if fault == "drop":
        events = answer_events(wire, rng)
        cut, where = cut_point(rng, wire, events)
        reply = Reply(chunks=split(rng, body(events)[:cut]), drop=True, chunked=rng.random() < 0.7)
        status, kind, text, requests = expect_cut(wire, events, cut, ErrorKind.CONNECTION)
        return case([reply], status, kind, text, requests, where)

    if fault == "stall":
        events = answer_events(wire, rng)
        cut, where = cut_point(rng, wire, events)
        data = body(events)
        reply = Reply(chunks=[*split(rng, data[:cut]), STALL * 4, data[cut:]])
        status, kind, text, _ = expect_cut(wire, events, cut, ErrorKind.STALL)
        return case([reply], status, kind, text, 1, where)  # a stall is never retried

    if fault in ("malformed", "absurd"):
        events = answer_events(wire, rng, pieces=rng.randint(1, 8))
        contents = [i for i, e in enumerate(events) if e.text]
        bad = rng.choice(contents)
        if fault == "absurd":
            # Valid-looking but nested deeper than the JSON parser can go (under the size limit).
            payload, detail = "[" * (MAX_EVENT - 100), "nesting too deep"
        else:
            raw = events[bad].raw.decode()
            json_text = raw[raw.index("{"): raw.rindex("}") + 1]
            payload, detail = json_text[: rng.randint(0, len(json_text) - 1)], "truncated JSON"
        events[bad] = Event(wire.frame(payload))
        text = "".join(e.text for e in events)
        status, kind, requests = failed(text, ErrorKind.BAD_RESPONSE)
        return case([Reply(chunks=split(rng, body(events)))], status, kind, text, requests, detail)

    if fault == "error_event":
        events = answer_events(wire, rng, done=False, finish=False)
        position = rng.randint(len(wire.preamble()), len(events))
        code = rng.choice([429, 500, 502, 503, 400])
        kind = {429: ErrorKind.RATE_LIMIT, 400: ErrorKind.BAD_REQUEST}.get(code, ErrorKind.SERVER)
        error = {"error": {"message": f"injected failure {code}", "code": code}}
        as_event = rng.random() < 0.7
        frame = wire.frame(json.dumps(error), "error" if as_event else None)
        after = [wire.content("never shown")] + wire.finish(rng) + [wire.done()]
        sent = events[:position] + [Event(frame)] + after
        text = "".join(e.text for e in events[:position])
        status, kind, requests = failed(text, kind)
        detail = f"code {code} {'as event: error' if as_event else 'as an error object'}"
        return case([Reply(chunks=split(rng, body(sent)))], status, kind, text, requests, detail)

    if fault == "http_error":
        count = rng.randint(1, ATTEMPTS + 1)
        replies, delays = [], []
        statuses = []
        for attempt in range(1, count + 1):
            status_code = rng.choice([429, 500, 503])
            statuses.append(status_code)
            headers: dict[str, str] = {}
            wait = rng.choice([None, None, 0.0, 2.0, 7.0, 1.5])
            if wait is not None:
                headers = {"retry-after-ms": str(int(wait * 1000))} if wait == 1.5 else {"retry-after": f"{wait:g}"}
            replies.append(error_reply(status_code, f"injected {status_code}", headers))
            if attempt <= ATTEMPTS:
                delays.append(wait if wait is not None else backoff_bounds(attempt)[-1])
        events = answer_events(wire, rng)
        replies.append(Reply(chunks=split(rng, body(events))))
        detail = "then ".join(f"{s} " for s in statuses)
        if count <= ATTEMPTS:
            return case(replies, MessageStatus.COMPLETE, None, "".join(e.text for e in events), count + 1,
                        detail + "then success", delays)
        last = ErrorKind.RATE_LIMIT if statuses[ATTEMPTS] == 429 else ErrorKind.SERVER
        return case(replies, MessageStatus.ERROR, last, "", ATTEMPTS + 1, detail + "(gave up)", delays)

    if fault == "no_done":
        with_finish = rng.random() < 0.5
        events = answer_events(wire, rng, done=False, finish=with_finish)
        text = "".join(e.text for e in events)
        reply = Reply(chunks=split(rng, body(events)), chunked=rng.random() < 0.5)
        if with_finish:
            return case([reply], MessageStatus.COMPLETE, None, text, 1, "finish reason, no end marker")
        status, kind, requests = failed(text, ErrorKind.CONNECTION)
        return case([reply], status, kind, text, requests, "no finish reason, no end marker")

    if fault == "after_done":
        events = answer_events(wire, rng)
        text = "".join(e.text for e in events)
        extra = rng.choice(["done twice", "data after done", "garbage after done"])
        if extra == "done twice":
            tail = [wire.done(), wire.done(), wire.content("after the second marker")]
        elif extra == "data after done":
            tail = [wire.content("after the marker"), *wire.finish(rng)]
        else:
            tail = [Event(wire.frame("{not json")), Event(b"\xff\xfe garbage" + wire.eol * 2)]
        return case([Reply(chunks=split(rng, body(events + tail)))], MessageStatus.COMPLETE, None, text, 1, extra)

    if fault == "oversized":
        events = answer_events(wire, rng, pieces=rng.randint(1, 6))
        position = rng.randint(len(wire.preamble()), len(events) - 2)
        events.insert(position, wire.content("x" * (MAX_EVENT + 100)))
        text = "".join(e.text for e in events[:position])
        status, kind, requests = failed(text, ErrorKind.TOO_LARGE)
        return case([Reply(chunks=split(rng, body(events)))], status, kind, text, requests)

    if fault == "junk":
        events = answer_events(wire, rng, pieces=rng.randint(1, 8))
        text = "".join(e.text for e in events)
        junk_frames = [
            wire.eol.join([b": keep-alive", b""]),
            wire.eol.join([b"id: 42", b"retry: 10", b"x-unknown: field", b"", b""]),
            wire.eol * 3,
        ]
        if wire.name == "openai":
            junk_frames += [wire.frame(j) for j in (
                '{"choices": []}', '{"choices": "nope"}', '{"choices": [{"delta": "nope"}]}',
                '{"choices": [{"index": 1, "delta": {"content": "second choice"}}]}',
                '{"choices": [{"delta": {"content": 5, "tool_calls": "x", "refusal": null}}]}',
                '{"usage": "lots", "error": null}', '{"error": {}}', '{}',
            )]
        else:
            junk_frames += [wire.frame(j, e) for j, e in (
                ('{"type": "ping"}', "ping"),
                ('{"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta"}}', None),
                ('{"type": "unknown_future_event", "x": [1, 2]}', "unknown_future_event"),
            )]
        for _ in range(rng.randint(1, 4)):
            events.insert(rng.randint(len(wire.preamble()), len(events) - 1), Event(rng.choice(junk_frames)))
        return case([Reply(chunks=split(rng, body(events)))], MessageStatus.COMPLETE, None, text, 1)

    raise AssertionError(fault)


OPENAI_FAULTS = {"drop": 30, "stall": 8, "malformed": 8, "absurd": 3, "error_event": 10, "http_error": 10,
                 "no_done": 8, "after_done": 8, "oversized": 4, "junk": 6, "clean": 5}
ANTHROPIC_FAULTS = {"drop": 40, "stall": 10, "malformed": 10, "no_done": 10, "after_done": 10, "junk": 10,
                    "clean": 10}


def plan(rng: random.Random, count: int, weights: dict[str, int], wire_cls: type[Wire], first: int) -> list[Case]:
    faults = list(weights)
    cases = []
    for i in range(count):
        fault = rng.choices(faults, weights=[weights[f] for f in faults])[0]
        wire = wire_cls(EOLS[rng.choice(list(EOLS))])
        cases.append(make_case(first + i, rng, wire, fault))
    return cases


# -- running them -----------------------------------------------------------------


class Router:
    """Serves each stream its own replies, picked by the prompt (streams run concurrently).
    Once a stream's replies are used up its last one repeats (every retry meets the same fault)."""

    def __init__(self, cases: list[Case]) -> None:
        self._replies = {c.prompt: list(c.replies) for c in cases}
        self.requests: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()

    def __call__(self, request: RecordedRequest) -> Reply:
        prompt = request.body["messages"][-1]["content"]
        with self._lock:
            self.requests[prompt] += 1
            replies = self._replies[prompt]
            return replies.pop(0) if len(replies) > 1 else replies[0]


@dataclass
class Result:
    case: Case
    shown: str = ""
    stored: str = ""
    status: MessageStatus | None = None
    stored_status: MessageStatus | None = None
    kind: ErrorKind | None = None
    stored_kind: str | None = None
    delays: list[float] = field(default_factory=list)
    exception: BaseException | None = None

    def problems(self, requests: int) -> list[str]:
        c = self.case
        if self.exception is not None:
            return [f"exception escaped: {self.exception!r}"]
        out = []
        if (self.status, self.kind) != (c.status, c.kind):
            out.append(f"outcome {self.status}/{self.kind}, expected {c.status}/{c.kind}")
        if (self.stored_status, self.stored_kind) != (c.status, c.kind.value if c.kind else None):
            out.append(f"stored outcome {self.stored_status}/{self.stored_kind}")
        if self.stored != c.text:
            out.append(f"stored text {self.stored!r} != expected {c.text!r}")
        if self.shown != c.text:
            out.append(f"shown text {self.shown!r} != expected {c.text!r}")
        if requests != c.requests:
            out.append(f"{requests} requests, expected {c.requests}")
        if len(self.delays) != len(c.delays):
            out.append(f"retry waits {self.delays}, expected {c.delays}")
        else:
            for got, want in zip(self.delays, c.delays):
                ok = (want[0] <= got <= want[1]) if isinstance(want, tuple) else abs(got - want) < 1e-9
                if not ok:
                    out.append(f"retry wait {got}, expected {want}")
        return out


async def run_cases(cases: list[Case], server: SSETestServer, store: Store,
                    providers: dict[str, HTTPStreamProvider]) -> list[Result]:
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one(case: Case) -> Result:
        result = Result(case)
        sleeps = SleepRecorder()
        engine = ChatEngine(store, providers[case.wire], retry=RetryPolicy(attempts=ATTEMPTS), sleep=sleeps)
        async with limit:
            try:
                turn = await asyncio.wait_for(run_turn(engine, engine.new_conversation(), case.prompt), 30)
            except BaseException as exc:  # noqa: BLE001 - any escape is a finding
                result.exception = exc
                return result
        assert turn.ended is not None and turn.message_id is not None
        message = store.get_message(turn.message_id)
        assert message is not None
        result.shown = turn.shown
        result.status = turn.ended.status
        result.kind = turn.ended.error.kind if turn.ended.error else None
        result.stored, result.stored_status, result.stored_kind = message.text, message.status, message.error_kind
        result.delays = sleeps.delays
        return result

    return await asyncio.gather(*(one(c) for c in cases))


def summarize(results: list[Result], seconds: float) -> list[str]:
    by_fault = collections.Counter(f"{r.case.wire}:{r.case.fault}" for r in results)
    by_detail = collections.Counter(r.case.detail for r in results if r.case.fault in ("drop", "stall"))
    by_outcome = collections.Counter(
        f"{r.case.status.value}/{r.case.kind.value if r.case.kind else '-'}" for r in results)
    received = sum(len(r.case.text) for r in results)
    # Characters received but not in the store (counted from the first difference on).
    lost = sum(len(r.case.text) - len(os.path.commonprefix([r.case.text, r.stored])) for r in results)
    lines = [
        (f"fault injection: {len(results)} streams in {seconds:.1f} s ({CONCURRENCY} at a time), "
         f"{received} characters received, characters lost: {lost}"),
        "  faults:   " + ", ".join(f"{k} {v}" for k, v in sorted(by_fault.items())),
        "  cuts:     " + ", ".join(f"{k} {v}" for k, v in sorted(by_detail.items())),
        "  outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(by_outcome.items())),
    ]
    return lines


@pytest.fixture
async def rig(server: SSETestServer, tmp_path: Path) -> Any:
    store = Store.open(tmp_path / "chat.sqlite3")
    common: dict[str, Any] = {"base_url": server.base_url, "stall_timeout": STALL, "connect_timeout": 5,
                              "max_event_chars": MAX_EVENT}
    providers: dict[str, HTTPStreamProvider] = {
        "openai": OpenAICompatProvider(model="m", **common),
        "anthropic": AnthropicProvider(model="m", **common),
    }
    yield store, providers
    for provider in providers.values():
        await provider.aclose()
    store.close()


async def test_hundreds_of_faulty_streams_lose_nothing(
    server: SSETestServer, rig: Any, request: pytest.FixtureRequest
) -> None:
    store, providers = rig
    rng = random.Random(SEED)
    cases = plan(rng, STREAMS, OPENAI_FAULTS, OpenAIWire, 0)
    cases += plan(rng, ANTHROPIC_STREAMS, ANTHROPIC_FAULTS, AnthropicWire, STREAMS)
    router = Router(cases)
    server.responder = router

    started = time.monotonic()
    results = await run_cases(cases, server, store, providers)
    seconds = time.monotonic() - started

    failures = []
    for result in results:
        for problem in result.problems(router.requests[result.case.prompt]):
            c = result.case
            failures.append(f"#{c.number} {c.wire} {c.fault} ({c.detail}): {problem}")
    lines = summarize(results, seconds)
    print("\n" + "\n".join(lines))
    request.config.stash.setdefault(SUMMARY_KEY, []).extend(lines)
    assert not failures, f"{len(failures)} of {len(results)} streams wrong:\n" + "\n".join(failures[:30])
    # The mix really covered the faults it claims to.
    covered = collections.Counter(r.case.fault for r in results)
    assert all(covered[f] > 0 for f in OPENAI_FAULTS)
    details = {r.case.detail for r in results}
    assert {"inside a UTF-8 character", "inside a JSON chunk", "between events", "inside a line end"} <= details
    assert sum(len(r.stored) for r in results) > 0


# -- the expectation model itself ---------------------------------------------------


def test_dispatch_offsets_follow_the_line_ending() -> None:
    for name, eol in EOLS.items():
        wire = OpenAIWire(eol)
        events = [wire.content("a"), wire.content("b")]
        first = len(events[0].raw)
        # The event counts once the first character of its blank line's end arrived.
        assert [e.text for e in dispatched_before(wire, events, first - len(eol))] == [], name
        assert [e.text for e in dispatched_before(wire, events, first - len(eol) + 1)] == ["a"], name
        assert [e.text for e in dispatched_before(wire, events, len(body(events)))] == ["a", "b"], name


async def test_drop_inside_a_character_and_inside_a_json_chunk(server: SSETestServer, rig: Any) -> None:
    store, providers = rig
    wire = OpenAIWire(b"\n")
    events = [*wire.preamble(), wire.content("ab"), wire.content("世界🎉"), *wire.finish(random.Random(0)), wire.done()]
    data = body(events)
    in_character = data.index("界".encode()) + 1
    in_json = data.index(b'"content": "ab"') + 5
    cases = []
    for number, cut in enumerate([in_character, in_json]):
        status, kind, text, requests = expect_cut(wire, events, cut, ErrorKind.CONNECTION)
        cases.append(Case(number, "openai", "drop", "", [Reply(chunks=[data[:cut]], drop=True)], status, kind, text,
                          requests, backoff_bounds(requests - 1)))
    assert [(c.status, c.text) for c in cases] == [(MessageStatus.INTERRUPTED, "ab"), (MessageStatus.ERROR, "")]
    router = Router(cases)
    server.responder = router
    for result in await run_cases(cases, server, store, providers):
        assert result.problems(router.requests[result.case.prompt]) == []

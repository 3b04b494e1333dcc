"""Whole turns over real HTTP: ChatEngine + a real SQLite store +
OpenAICompatProvider against the loopback server, through every way a stream
can end. Each test checks the status, the error kind and the exact stored text."""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import socket
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from chat_tui.domain import MessageStatus
from chat_tui.engine import ChatEngine, RetryPolicy
from chat_tui.errors import ErrorKind
from chat_tui.providers.events import Finished, TextDelta
from chat_tui.providers.http import Secret
from chat_tui.providers.openai_compat import OpenAICompatProvider
from chat_tui.store import Store
from tests.support.sse_server import (
    Reply,
    SSETestServer,
    error_reply,
    openai_chunk,
    openai_text_reply,
    sse,
)
from tests.support.turns import SleepRecorder, Turn, run_turn

STALL = 0.3

Setup = Callable[..., tuple[ChatEngine, int]]


@pytest.fixture
async def setup(server: SSETestServer, tmp_path: Path) -> AsyncIterator[Setup]:
    """Build an engine on a real store and a provider pointed at the server."""
    store = Store.open(tmp_path / "chat.sqlite3")
    providers: list[OpenAICompatProvider] = []
    sleeps = SleepRecorder()

    def make(*, base_url: str | None = None, attempts: int = 3, stall: float = STALL) -> tuple[ChatEngine, int]:
        provider = OpenAICompatProvider(base_url=base_url or server.base_url, model="test-model",
                                        api_key=Secret("sk-test"), stall_timeout=stall, connect_timeout=2)
        providers.append(provider)
        engine = ChatEngine(store, provider, retry=RetryPolicy(attempts=attempts), sleep=sleeps)
        return engine, engine.new_conversation()

    make.sleeps = sleeps  # type: ignore[attr-defined]
    make.store = store  # type: ignore[attr-defined]
    yield make
    for provider in providers:
        await provider.aclose()
    store.close()


def stored(engine: ChatEngine, turn: Turn):
    assert turn.message_id is not None
    message = engine.store.get_message(turn.message_id)
    assert message is not None
    return message


def assert_outcome(engine: ChatEngine, turn: Turn, status: MessageStatus, kind: ErrorKind | None, text: str) -> None:
    assert turn.ended is not None
    assert turn.ended.status == status, turn.ended.error
    assert (turn.ended.error.kind if turn.ended.error else None) == kind
    if turn.ended.error is not None:
        assert "\n" not in turn.ended.error.message
    message = stored(engine, turn)
    assert message.status == status
    assert message.error_kind == (kind.value if kind else None)
    assert message.text == text
    assert turn.shown == text  # what was shown is exactly what was saved
    assert len(turn.terminal) == 1


async def test_complete_answer(setup: Setup, server: SSETestServer) -> None:
    engine, cid = setup()
    server.queue(openai_text_reply(["Hel", "lo, ", "wörld ", "🎉"]))
    turn = await run_turn(engine, cid, "hi")
    assert_outcome(engine, turn, MessageStatus.COMPLETE, None, "Hello, wörld 🎉")
    message = stored(engine, turn)
    assert message.finish_reason == "stop"
    assert message.usage == {"prompt_tokens": 10, "completion_tokens": 4, "total_tokens": 14}
    request = server.requests[0]
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-test"
    assert request.body["stream"] is True
    assert request.body["messages"] == [{"role": "user", "content": "hi"}]


async def test_401_is_an_auth_error_and_not_retried(setup: Setup, server: SSETestServer) -> None:
    engine, cid = setup()
    server.queue(error_reply(401, "Incorrect API key provided: sk-test."))
    turn = await run_turn(engine, cid, "hi")
    assert_outcome(engine, turn, MessageStatus.ERROR, ErrorKind.AUTH, "")
    assert turn.ended is not None and turn.ended.error is not None
    assert turn.ended.error.status == 401
    assert "HTTP 401" in turn.ended.error.message and "Incorrect API key" in turn.ended.error.message
    assert "OPENAI_API_KEY" in turn.ended.error.message  # says what to do
    assert len(server.requests) == 1 and turn.retries == []


async def test_404_unknown_model(setup: Setup, server: SSETestServer) -> None:
    engine, cid = setup()
    server.queue(error_reply(404, "The model `nope` does not exist or you do not have access to it."))
    turn = await run_turn(engine, cid, "hi")
    assert_outcome(engine, turn, MessageStatus.ERROR, ErrorKind.NOT_FOUND, "")
    assert turn.ended is not None and turn.ended.error is not None
    assert "--model" in turn.ended.error.message
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("headers", "expected_delay"),
    [({"retry-after": "7"}, 7.0), ({"retry-after-ms": "1500"}, 1.5), ({"retry-after": "0"}, 0.0)],
    ids=["seconds", "milliseconds", "zero"],
)
async def test_429_is_retried_after_the_delay_the_server_asked_for(
    setup: Setup, server: SSETestServer, headers: dict[str, str], expected_delay: float
) -> None:
    engine, cid = setup()
    server.queue(error_reply(429, "Rate limit reached", headers), openai_text_reply(["after ", "the wait"]))
    turn = await run_turn(engine, cid, "hi")
    assert_outcome(engine, turn, MessageStatus.COMPLETE, None, "after the wait")
    assert setup.sleeps.delays == [expected_delay]  # type: ignore[attr-defined]
    assert [(r.attempt, r.error.kind) for r in turn.retries] == [(1, ErrorKind.RATE_LIMIT)]
    assert len(server.requests) == 2


async def test_429_retry_after_as_an_http_date(setup: Setup, server: SSETestServer) -> None:
    engine, cid = setup()
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    server.queue(error_reply(429, "slow down", {"retry-after": when}), openai_text_reply(["ok"]))
    turn = await run_turn(engine, cid, "hi")
    assert_outcome(engine, turn, MessageStatus.COMPLETE, None, "ok")
    (delay,) = setup.sleeps.delays  # type: ignore[attr-defined]
    assert 25 <= delay <= 31


@pytest.mark.parametrize(("retry_after", "said"), [("3600", "wait 60 min"), ("9000", "wait 2 h 30 min"),
                                                   ("121", "wait 2 min")])
async def test_429_asking_for_a_longer_wait_than_a_retry_is_not_retried_and_says_how_long(
    setup: Setup, server: SSETestServer, retry_after: str, said: str
) -> None:
    """A quota that resets in an hour: retrying within the retry policy's
    longest wait (120 s) would only fail again. The error says how long."""
    engine, cid = setup()
    server.queue(error_reply(429, "You exceeded your current quota", {"retry-after": retry_after}),
                 openai_text_reply(["too soon"]))
    turn = await run_turn(engine, cid, "hi")
    assert_outcome(engine, turn, MessageStatus.ERROR, ErrorKind.RATE_LIMIT, "")
    assert setup.sleeps.delays == [] and turn.retries == []  # type: ignore[attr-defined]
    assert len(server.requests) == 1
    assert turn.ended is not None and turn.ended.error is not None
    message = turn.ended.error.message
    assert "exceeded your current quota" in message and f"the server asks to {said} before trying again" in message
    stored = engine.store.messages(cid)[-1]
    assert stored.error_message == message


async def test_429_every_time_gives_up_after_the_retries(setup: Setup, server: SSETestServer) -> None:
    engine, cid = setup(attempts=2)
    server.queue(*(error_reply(429, "Rate limit reached", {"retry-after": "3"}) for _ in range(3)))
    turn = await run_turn(engine, cid, "hi")
    assert_outcome(engine, turn, MessageStatus.ERROR, ErrorKind.RATE_LIMIT, "")
    assert setup.sleeps.delays == [3.0, 3.0]  # type: ignore[attr-defined]
    assert len(server.requests) == 3


async def test_500_then_success(setup: Setup, server: SSETestServer) -> None:
    engine, cid = setup()
    server.queue(error_reply(500, "internal error"), error_reply(503, "overloaded"),
                 openai_text_reply(["fine ", "now"]))
    turn = await run_turn(engine, cid, "hi")
    assert_outcome(engine, turn, MessageStatus.COMPLETE, None, "fine now")
    delays = setup.sleeps.delays  # type: ignore[attr-defined]
    assert len(delays) == 2
    assert 0.5 <= delays[0] <= 1.0 and 1.0 <= delays[1] <= 2.0  # exponential backoff with jitter
    assert [r.error.status for r in turn.retries] == [500, 503]
    # The retry sends the same request; the failed attempts left no trace in the history.
    assert server.requests[0].body == server.requests[2].body
    assert [m.role.value for m in engine.store.messages(cid)] == ["user", "assistant"]


async def test_connection_drop_mid_stream_keeps_what_arrived(setup: Setup, server: SSETestServer) -> None:
    engine, cid = setup()
    chunks: list[bytes | float] = [sse(openai_chunk("", role="assistant")), sse(openai_chunk("The first ")),
                                   sse(openai_chunk("half, ")), b'data: {"choices": [{"index": 0, "delta": {"cont']
    server.queue(Reply(chunks=chunks, drop=True))
    turn = await run_turn(engine, cid, "hi")
    assert_outcome(engine, turn, MessageStatus.INTERRUPTED, ErrorKind.CONNECTION, "The first half, ")
    assert len(server.requests) == 1  # content arrived: never retried


async def test_connection_drop_with_content_length_body(setup: Setup, server: SSETestServer) -> None:
    engine, cid = setup()
    server.queue(Reply(chunks=[sse(openai_chunk("cut ")), sse(openai_chunk("short"))], drop=True, chunked=False))
    turn = await run_turn(engine, cid, "hi")
    assert_outcome(engine, turn, MessageStatus.INTERRUPTED, ErrorKind.CONNECTION, "cut short")


async def test_stall_mid_stream(setup: Setup, server: SSETestServer) -> None:
    engine, cid = setup()
    server.queue(Reply(chunks=[sse(openai_chunk("waiting ")), sse(openai_chunk("for")), STALL * 4,
                               sse(openai_chunk(" never shown"))]))
    turn = await run_turn(engine, cid, "hi")
    assert_outcome(engine, turn, MessageStatus.INTERRUPTED, ErrorKind.STALL, "waiting for")


async def test_stall_before_any_content_is_an_error_not_retried(setup: Setup, server: SSETestServer) -> None:
    engine, cid = setup()
    server.queue(Reply(chunks=[sse(openai_chunk("", role="assistant")), STALL * 4, sse(openai_chunk("late"))]))
    turn = await run_turn(engine, cid, "hi")
    assert_outcome(engine, turn, MessageStatus.ERROR, ErrorKind.STALL, "")
    assert len(server.requests) == 1


async def test_malformed_json_chunk(setup: Setup, server: SSETestServer) -> None:
    engine, cid = setup()
    server.queue(Reply(chunks=[sse(openai_chunk("before ")), b'data: {"choices": [{"delta": {"content": "lost"\n\n',
                               sse(openai_chunk("after")), sse(openai_chunk(finish="stop")), b"data: [DONE]\n\n"]))
    turn = await run_turn(engine, cid, "hi")
    # The stream went on, but part of the answer is missing: it is not complete.
    assert_outcome(engine, turn, MessageStatus.INTERRUPTED, ErrorKind.BAD_RESPONSE, "before after")
    assert turn.ended is not None and turn.ended.error is not None
    assert "malformed" in turn.ended.error.message


async def test_absurdly_nested_json_is_a_malformed_chunk_not_a_crash(setup: Setup, server: SSETestServer) -> None:
    engine, cid = setup()
    server.queue(Reply(chunks=[sse(openai_chunk("ok ")), b"data: " + b"[" * 100_000 + b"\n\n",
                               sse(openai_chunk(finish="stop")), b"data: [DONE]\n\n"]))
    turn = await run_turn(engine, cid, "hi")
    assert_outcome(engine, turn, MessageStatus.INTERRUPTED, ErrorKind.BAD_RESPONSE, "ok ")


async def test_error_event_mid_stream(setup: Setup, server: SSETestServer) -> None:
    engine, cid = setup()
    error = {"error": {"message": "Upstream provider overloaded", "code": 502}}
    server.queue(Reply(chunks=[sse(openai_chunk("partial ")), sse(openai_chunk("answer")), sse(error, event="error"),
                               sse(openai_chunk(" ignored"))]))
    turn = await run_turn(engine, cid, "hi")
    assert_outcome(engine, turn, MessageStatus.INTERRUPTED, ErrorKind.SERVER, "partial answer")
    assert turn.ended is not None and turn.ended.error is not None
    assert "Upstream provider overloaded" in turn.ended.error.message


async def test_error_in_the_same_read_as_text_keeps_the_text(setup: Setup, server: SSETestServer) -> None:
    # Text and an error arriving in one network read: the text was received and
    # must be kept, exactly as if they had come in two reads (no retry).
    engine, cid = setup()
    body = sse(openai_chunk("said this")) + sse({"error": {"message": "boom", "code": 500}}, event="error")
    server.queue(Reply(chunks=[body]), openai_text_reply(["a different answer"]))
    turn = await run_turn(engine, cid, "hi")
    assert_outcome(engine, turn, MessageStatus.INTERRUPTED, ErrorKind.SERVER, "said this")
    assert len(server.requests) == 1


async def test_error_event_before_content_is_retried(setup: Setup, server: SSETestServer) -> None:
    engine, cid = setup()
    error = {"error": {"message": "Rate limited upstream", "code": 429}}
    server.queue(Reply(chunks=[sse(openai_chunk("", role="assistant")), sse(error, event="error")]),
                 openai_text_reply(["second try"]))
    turn = await run_turn(engine, cid, "hi")
    assert_outcome(engine, turn, MessageStatus.COMPLETE, None, "second try")
    assert [r.error.kind for r in turn.retries] == [ErrorKind.RATE_LIMIT]


async def test_done_twice_and_data_after_done(setup: Setup, server: SSETestServer) -> None:
    engine, cid = setup()
    server.queue(Reply(chunks=[sse(openai_chunk("only ")), sse(openai_chunk("this")), sse(openai_chunk(finish="stop")),
                               b"data: [DONE]\n\n", b"data: [DONE]\n\n", sse(openai_chunk(" and not this")),
                               b"data: {broken\n\n"]))
    turn = await run_turn(engine, cid, "hi")
    assert_outcome(engine, turn, MessageStatus.COMPLETE, None, "only this")
    assert isinstance(turn.terminal[0], Finished) and turn.terminal[0].done


async def test_no_done_but_a_finish_reason_is_complete(setup: Setup, server: SSETestServer) -> None:
    engine, cid = setup()
    server.queue(openai_text_reply(["no ", "marker"], done=False))
    turn = await run_turn(engine, cid, "hi")
    assert_outcome(engine, turn, MessageStatus.COMPLETE, None, "no marker")
    assert isinstance(turn.terminal[0], Finished) and not turn.terminal[0].done


async def test_no_done_and_no_finish_reason_is_interrupted(setup: Setup, server: SSETestServer) -> None:
    engine, cid = setup()
    server.queue(Reply(chunks=[sse(openai_chunk("ended ")), sse(openai_chunk("early"))]))
    turn = await run_turn(engine, cid, "hi")
    assert_outcome(engine, turn, MessageStatus.INTERRUPTED, ErrorKind.CONNECTION, "ended early")


async def test_length_limit_is_interrupted_with_its_own_kind(setup: Setup, server: SSETestServer) -> None:
    engine, cid = setup()
    server.queue(openai_text_reply(["cut at the ", "limit"], finish="length"))
    turn = await run_turn(engine, cid, "hi")
    assert_outcome(engine, turn, MessageStatus.INTERRUPTED, ErrorKind.LENGTH, "cut at the limit")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_unreachable_server(setup: Setup) -> None:
    engine, cid = setup(base_url=f"http://127.0.0.1:{closed_port()}/v1")
    turn = await run_turn(engine, cid, "hi")
    assert_outcome(engine, turn, MessageStatus.ERROR, ErrorKind.CONNECTION, "")
    assert turn.ended is not None and turn.ended.error is not None
    assert "Cannot connect" in turn.ended.error.message
    assert len(setup.sleeps.delays) == 3  # type: ignore[attr-defined]


async def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


def slow_reply(words: int = 400) -> Reply:
    return openai_text_reply([f"w{i} " for i in range(words)], delay=0.01)


async def test_closing_the_turn_cancels_and_the_server_sees_the_hang_up(setup: Setup, server: SSETestServer) -> None:
    engine, cid = setup()
    server.queue(slow_reply())
    shown = ""
    message_id = None
    turn = engine.run_turn(cid, "hi")
    async for batch in turn:
        for event in batch:
            message_id = getattr(event, "message_id", message_id)
            if isinstance(event, TextDelta):
                shown += event.text
        if len(shown) >= 20:
            break
    await turn.aclose()
    assert message_id is not None
    message = engine.store.get_message(message_id)
    assert message is not None
    assert message.status == MessageStatus.CANCELLED and message.error_kind == "cancelled"
    assert message.text == shown and shown.startswith("w0 w1 ")
    assert await wait_for(lambda: server.disconnects >= 1), "the server never saw the client hang up"


async def test_cancelling_the_task_cancels_the_turn(setup: Setup, server: SSETestServer) -> None:
    engine, cid = setup()
    server.queue(slow_reply())
    shown: list[str] = []
    ids: list[int] = []
    enough = asyncio.Event()

    async def consume() -> None:
        async with contextlib.aclosing(engine.run_turn(cid, "hi")) as turn:
            async for batch in turn:
                for event in batch:
                    if hasattr(event, "message_id") and not ids:
                        ids.append(event.message_id)
                    if isinstance(event, TextDelta):
                        shown.append(event.text)
                if len("".join(shown)) >= 20:
                    enough.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(enough.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    message = engine.store.get_message(ids[0])
    assert message is not None
    assert message.status == MessageStatus.CANCELLED
    assert message.text == "".join(shown)
    assert await wait_for(lambda: server.disconnects >= 1), "the server never saw the client hang up"


async def test_cancelling_during_a_retry_wait(server: SSETestServer, tmp_path: Path) -> None:
    store = Store.open(tmp_path / "chat.sqlite3")
    provider = OpenAICompatProvider(base_url=server.base_url, model="m", stall_timeout=STALL)
    try:
        engine = ChatEngine(store, provider, retry=RetryPolicy(attempts=3))  # the real asyncio.sleep
        cid = engine.new_conversation()
        server.queue(error_reply(429, "wait", {"retry-after": "60"}))
        retrying = asyncio.Event()

        async def consume() -> None:
            async with contextlib.aclosing(engine.run_turn(cid, "hi")) as turn:
                async for batch in turn:
                    if any(type(e).__name__ == "Retrying" for e in batch):
                        retrying.set()

        task = asyncio.create_task(consume())
        await asyncio.wait_for(retrying.wait(), 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 5)
        (message,) = [m for m in store.messages(cid) if m.role.value == "assistant"]
        assert (message.status, message.text, message.error_kind) == (MessageStatus.CANCELLED, "", "cancelled")
    finally:
        await provider.aclose()
        store.close()


async def test_an_http_client_that_cannot_be_set_up_is_a_one_line_error(
    setup: Setup, server: SSETestServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The HTTP client is made when first needed (not at start-up): a broken TLS
    setting then ends the turn with one line, and the next try works once it is fixed."""
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "no-such-bundle.pem"))
    engine, cid = setup()
    turn = await run_turn(engine, cid, "hi")
    assert_outcome(engine, turn, MessageStatus.ERROR, ErrorKind.CONNECTION, "")
    assert turn.ended is not None and turn.ended.error is not None
    assert turn.ended.error.message.startswith("Could not set up the HTTP client:")
    assert server.requests == [] and turn.retries == []
    monkeypatch.delenv("SSL_CERT_FILE")
    server.queue(openai_text_reply(["fine"]))
    turn = await run_turn(engine, cid, "again")
    assert_outcome(engine, turn, MessageStatus.COMPLETE, None, "fine")

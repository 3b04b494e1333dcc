"""The tool loop end to end: a real loopback server speaking the OpenAI format,
the real provider, the engine and a real SQLite file."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from chat_tui.domain import MessageStatus, Role, ToolCall
from chat_tui.engine import ChatEngine, RetryPolicy, RoundStarted, ToolFinished, ToolRunning, TurnEnded, TurnStarted
from chat_tui.engine.builtin_tools import builtin_tools
from chat_tui.engine.tools import Tool, ToolRegistry
from chat_tui.errors import ErrorKind
from chat_tui.providers.openai_compat import OpenAICompatProvider
from chat_tui.store import Store
from tests.support.sse_server import Reply, SSETestServer, openai_chunk, openai_text_reply, sse
from tests.support.tool_replies import Call, args, openai_tool_reply

TEXT_SCHEMA = {"type": "object", "properties": {"text": {"type": "string"}}}


@pytest.fixture
async def provider(server: SSETestServer) -> AsyncIterator[OpenAICompatProvider]:
    p = OpenAICompatProvider(base_url=server.base_url, model="test-model", stall_timeout=5)
    yield p
    await p.aclose()


def registry(tmp_path: Path, *extra: Tool, timeout: float = 5.0) -> ToolRegistry:
    return ToolRegistry([*builtin_tools(tmp_path), *extra], timeout=timeout)


def engine(store: Store, provider: Any, tools: ToolRegistry, **options: Any) -> ChatEngine:
    return ChatEngine(store, provider, tools=tools, retry=RetryPolicy(attempts=0), **options)


async def run(eng: ChatEngine, conversation_id: int, prompt: str | None = None, **kw: Any) -> list[Any]:
    events: list[Any] = []
    async with contextlib.aclosing(eng.run_turn(conversation_id, prompt, **kw)) as turn:
        async for batch in turn:
            events.extend(batch)
    return events


def of(kind: type, events: list[Any]) -> list[Any]:
    return [e for e in events if isinstance(e, kind)]


def rendezvous() -> tuple[Tool, Tool]:
    """Two tools that each wait for the other to start: they only finish when run concurrently."""
    started = {"a": asyncio.Event(), "b": asyncio.Event()}

    def make(me: str, other: str) -> Tool:
        async def meet() -> str:
            started[me].set()
            await started[other].wait()
            return f"{me} met {other}"

        return Tool(f"meet_{me}", f"Meet {other}.", {"type": "object", "properties": {}}, meet)

    return make("a", "b"), make("b", "a")


async def test_parallel_calls_run_concurrently_and_go_back_in_openai_format(
    tmp_path: Path, store: Store, provider: OpenAICompatProvider, server: SSETestServer
) -> None:
    server.queue(
        openai_tool_reply(Call("call_a", "meet_a", "{}", pieces=1), Call("call_b", "meet_b", args(), pieces=1),
                          Call("call_c", "calculator", args(expression="6 * 7"), pieces=5), text="Let me see."),
        openai_text_reply(["Both ", "met; ", "6 * 7 = 42."]),
    )
    eng = engine(store, provider, registry(tmp_path, *rendezvous(), timeout=2.0))
    conversation = eng.new_conversation()
    events = await run(eng, conversation, "meet and multiply")

    started, = of(TurnStarted, events)
    running = of(ToolRunning, events)
    finished = of(ToolFinished, events)
    round2, = of(RoundStarted, events)
    ended, = of(TurnEnded, events)
    assert [e.call.name for e in running] == ["meet_a", "meet_b", "calculator"]
    assert all(e.call.status == "running" and e.message_id == started.message_id for e in running)
    assert {e.call.name: (e.call.status, e.call.result) for e in finished} == {
        "meet_a": ("ok", "a met b"), "meet_b": ("ok", "b met a"), "calculator": ("ok", "42")}
    assert (round2.previous_message_id, round2.round) == (started.message_id, 2)
    assert ended.message_id == round2.message_id != started.message_id
    assert ended.message_ids == [started.message_id, round2.message_id]
    assert ended.status == MessageStatus.COMPLETE
    assert events.index(finished[-1]) < events.index(round2) < events.index(ended)

    assert {t["function"]["name"] for t in server.requests[0].body["tools"]} >= {"meet_a", "meet_b", "calculator"}
    assert server.requests[1].body["messages"] == [
        {"role": "user", "content": "meet and multiply"},
        {"role": "assistant", "content": "Let me see.", "tool_calls": [
            {"id": "call_a", "type": "function", "function": {"name": "meet_a", "arguments": "{}"}},
            {"id": "call_b", "type": "function", "function": {"name": "meet_b", "arguments": "{}"}},
            {"id": "call_c", "type": "function", "function": {"name": "calculator", "arguments": '{"expression": "6 * 7"}'}},
        ]},
        {"role": "tool", "content": "a met b", "tool_call_id": "call_a"},
        {"role": "tool", "content": "b met a", "tool_call_id": "call_b"},
        {"role": "tool", "content": "42", "tool_call_id": "call_c"},
    ]


async def test_everything_is_saved_and_reloads(
    tmp_path: Path, store: Store, provider: OpenAICompatProvider, server: SSETestServer
) -> None:
    server.queue(openai_tool_reply(Call("c1", "calculator", args(expression="2 ** 8"))), openai_text_reply(["256."]))
    eng = engine(store, provider, registry(tmp_path))
    conversation = eng.new_conversation()
    await run(eng, conversation, "two to the eighth")

    reopened = Store.open(store.path)
    try:
        messages = reopened.messages(conversation)
    finally:
        reopened.close()
    assert [(m.role, m.status) for m in messages] == [
        (Role.USER, MessageStatus.COMPLETE), (Role.ASSISTANT, MessageStatus.COMPLETE),
        (Role.TOOL, MessageStatus.COMPLETE), (Role.ASSISTANT, MessageStatus.COMPLETE)]
    call, = messages[1].tool_calls
    assert (call.id, call.name, call.status, call.result, call.error) == ("c1", "calculator", "ok", "256", None)
    assert call.duration_ms is not None
    assert messages[1].finish_reason == "tool_calls"
    assert (messages[2].text, messages[2].tool_call_id) == ("256", "c1")
    assert messages[3].text == "256."


async def test_unknown_tool_bad_json_and_missing_arguments_are_errors_for_the_model(
    tmp_path: Path, store: Store, provider: OpenAICompatProvider, server: SSETestServer
) -> None:
    server.queue(
        openai_tool_reply(Call("c1", "no_such_tool", "{}"), Call("c2", "calculator", '{"expression": "1 +'),
                          Call("c3", "read_file", "{}")),
        openai_text_reply(["Sorry."]),
    )
    eng = engine(store, provider, registry(tmp_path))
    events = await run(eng, eng.new_conversation(), "try things")

    errors = {e.call.id: e.call.error for e in of(ToolFinished, events)}
    assert all(e.call.status == "error" for e in of(ToolFinished, events))
    assert "'no_such_tool' does not exist" in errors["c1"]
    assert "not valid JSON" in errors["c2"]
    assert "Missing required argument(s): path" in errors["c3"]
    assert of(TurnEnded, events)[0].status == MessageStatus.COMPLETE
    results = {m["tool_call_id"]: m["content"] for m in server.requests[1].body["messages"] if m["role"] == "tool"}
    assert results == {k: f"Error: {v}" for k, v in errors.items()}


async def test_a_tool_that_times_out_is_an_error_result(
    tmp_path: Path, store: Store, provider: OpenAICompatProvider, server: SSETestServer
) -> None:
    async def slow(text: str = "") -> str:
        await asyncio.sleep(30)
        return "never"

    server.queue(openai_tool_reply(Call("c1", "slow", "{}")), openai_text_reply(["It timed out."]))
    eng = engine(store, provider, registry(tmp_path, Tool("slow", "", TEXT_SCHEMA, slow), timeout=0.05))
    events = await run(eng, eng.new_conversation(), "be slow")

    finished, = of(ToolFinished, events)
    assert (finished.call.status, finished.call.error) == ("error", "The tool 'slow' timed out after 0.05 s.")
    assert of(TurnEnded, events)[0].status == MessageStatus.COMPLETE
    assert server.requests[1].body["messages"][-1] == {
        "role": "tool", "content": "Error: The tool 'slow' timed out after 0.05 s.", "tool_call_id": "c1"}


class SlowOnce:
    """A tool that hangs on its first call (until cancelled) and answers at once afterwards."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.cancelled = False
        self.calls = 0
        self.tool = Tool("slow_once", "", TEXT_SCHEMA, self.run)

    async def run(self, text: str = "") -> str:
        self.calls += 1
        if self.calls > 1:
            return "fast this time"
        self.started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        return "never"


async def cancel_during_tool(eng: ChatEngine, conversation: int, slow: SlowOnce, how: str) -> None:
    """Run a turn and stop it while the tool runs: by closing the generator (Esc) or cancelling the task."""
    async def consume() -> None:
        async with contextlib.aclosing(eng.run_turn(conversation, "go slow")) as turn:
            async for batch in turn:
                if how == "close" and any(isinstance(e, ToolRunning) for e in batch):
                    await slow.started.wait()
                    return

    task = asyncio.ensure_future(consume())
    if how == "cancel":
        await slow.started.wait()
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@pytest.mark.parametrize("how", ["close", "cancel"])
async def test_cancel_while_a_tool_runs_cancels_the_tool_and_the_turn(
    how: str, tmp_path: Path, store: Store, provider: OpenAICompatProvider, server: SSETestServer
) -> None:
    slow = SlowOnce()
    server.queue(openai_tool_reply(Call("c1", "slow_once", "{}"), Call("c2", "calculator", args(expression="1+1")),
                                   text="Working on it."))
    eng = engine(store, provider, registry(tmp_path, slow.tool))
    conversation = eng.new_conversation()
    await cancel_during_tool(eng, conversation, slow, how)

    assert slow.cancelled
    messages = store.messages(conversation)
    assistant = messages[1]
    assert assistant.status == MessageStatus.CANCELLED
    assert assistant.text == "Working on it."
    statuses = {c.id: c.status for c in assistant.tool_calls}
    assert statuses == {"c1": "cancelled", "c2": "ok"}
    assert [(m.role, m.tool_call_id) for m in messages[2:]] == [(Role.TOOL, "c2")]
    assert len(server.requests) == 1


async def test_after_a_cancelled_tool_the_next_request_still_answers_every_call(
    tmp_path: Path, store: Store, provider: OpenAICompatProvider, server: SSETestServer
) -> None:
    slow = SlowOnce()
    server.queue(openai_tool_reply(Call("c1", "slow_once", "{}")), openai_text_reply(["OK."]))
    eng = engine(store, provider, registry(tmp_path, slow.tool))
    conversation = eng.new_conversation()
    await cancel_during_tool(eng, conversation, slow, "close")
    await run(eng, conversation, "never mind")

    assert [m["role"] for m in server.requests[1].body["messages"]] == ["user", "assistant", "tool", "user"]
    assert server.requests[1].body["messages"][2] == {
        "role": "tool", "content": "Error: the user cancelled this call before it finished.", "tool_call_id": "c1"}


async def test_continue_after_a_cancelled_tool_runs_it_and_goes_on(
    tmp_path: Path, store: Store, provider: OpenAICompatProvider, server: SSETestServer
) -> None:
    slow = SlowOnce()
    server.queue(openai_tool_reply(Call("c1", "slow_once", "{}")), openai_text_reply(["Done now."]))
    eng = engine(store, provider, registry(tmp_path, slow.tool))
    conversation = eng.new_conversation()
    await cancel_during_tool(eng, conversation, slow, "close")
    first = store.messages(conversation)[1]

    events = await run(eng, conversation, continue_message_id=first.id)
    started, = of(TurnStarted, events)
    assert (started.message_id, started.continued) == (first.id, True)
    assert [(e.call.id, e.call.status, e.call.result) for e in of(ToolFinished, events)] == [
        ("c1", "ok", "fast this time")]
    ended, = of(TurnEnded, events)
    assert ended.status == MessageStatus.COMPLETE and ended.message_id != first.id
    messages = store.messages(conversation)
    assert messages[1].status == MessageStatus.COMPLETE
    assert messages[1].tool_calls[0].status == "ok"
    assert [m.role for m in messages] == [Role.USER, Role.ASSISTANT, Role.TOOL, Role.ASSISTANT]
    assert messages[-1].text == "Done now."
    assert len(server.requests) == 2


async def test_the_round_limit_stops_the_loop_and_continue_goes_on(
    tmp_path: Path, store: Store, provider: OpenAICompatProvider, server: SSETestServer
) -> None:
    server.responder = lambda request: openai_tool_reply(
        Call(f"c{len(server.requests)}", "calculator", args(expression="1 + 1")))
    eng = engine(store, provider, registry(tmp_path), max_rounds=3)
    conversation = eng.new_conversation()
    events = await run(eng, conversation, "loop forever")

    assert len(server.requests) == 3
    assert len(of(RoundStarted, events)) == 2
    assert len(of(ToolFinished, events)) == 2
    ended, = of(TurnEnded, events)
    assert ended.status == MessageStatus.INTERRUPTED
    assert ended.error is not None and ended.error.kind == ErrorKind.TOOL_LIMIT
    assert [c.status for c in ended.tool_calls] == ["requested"]
    last = store.get_message(ended.message_id)
    assert last is not None and last.error_kind == "tool_limit" and last.tool_calls[0].status == "requested"

    more = await run(eng, conversation, continue_message_id=ended.message_id)
    assert next(e.call.id for e in of(ToolFinished, more)) == "c3"
    assert len(server.requests) > 3


@pytest.mark.parametrize("answer", [None, False, True])
async def test_tools_that_need_approval(
    answer: bool | None, tmp_path: Path, store: Store, provider: OpenAICompatProvider, server: SSETestServer
) -> None:
    asked: list[ToolCall] = []
    ran: list[str] = []

    async def approve(call: ToolCall) -> bool:
        asked.append(call)
        return bool(answer)

    async def launch(text: str = "") -> str:
        ran.append(text)
        return "launched"

    tool = Tool("launch", "", TEXT_SCHEMA, launch, needs_approval=True)
    server.queue(openai_tool_reply(Call("c1", "launch", args(text="go"))), openai_text_reply(["OK."]))
    eng = engine(store, provider, registry(tmp_path, tool), approve=None if answer is None else approve)
    events = await run(eng, eng.new_conversation(), "launch it")

    finished, = of(ToolFinished, events)
    if answer:
        assert (finished.call.status, ran, [c.id for c in asked]) == ("ok", ["go"], ["c1"])
    else:
        assert (finished.call.status, ran) == ("error", [])
        assert finished.call.error == "Not run: the user did not approve this call."
        assert not of(ToolRunning, events)
    assert len(asked) == (0 if answer is None else 1)


async def test_continue_after_the_answer_to_tool_results_broke_continues_that_answer(
    tmp_path: Path, store: Store, provider: OpenAICompatProvider, server: SSETestServer
) -> None:
    broken = Reply(chunks=[sse(openai_chunk("", role="assistant")), sse(openai_chunk("The answer is "))], drop=True)
    server.queue(openai_tool_reply(Call("c1", "calculator", args(expression="6 * 7"))), broken,
                 openai_text_reply(["42."]))
    eng = engine(store, provider, registry(tmp_path))
    conversation = eng.new_conversation()
    events = await run(eng, conversation, "six sevens")
    ended, = of(TurnEnded, events)
    assert ended.status == MessageStatus.INTERRUPTED
    assert ended.message_id == of(RoundStarted, events)[0].message_id

    more = await run(eng, conversation, continue_message_id=ended.message_id)
    assert of(TurnEnded, more)[0].status == MessageStatus.COMPLETE
    assert not of(ToolRunning, more)
    sent = server.requests[2].body["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool", "assistant"]
    assert sent[2] == {"role": "tool", "content": "42", "tool_call_id": "c1"}
    assert sent[3]["content"] == "The answer is "
    assert store.get_message(ended.message_id).text == "The answer is 42."  # type: ignore[union-attr]

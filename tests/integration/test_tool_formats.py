"""Tool calls through both wire formats, recorded real streams, the demo and `chat-tui ask`."""

from __future__ import annotations

import contextlib
import json
import random
from pathlib import Path
from typing import Any

import pytest

from chat_tui.cli import _ask, _tool_line, build_parser
from chat_tui.config import Settings
from chat_tui.domain import MessageStatus, Role, ToolCall
from chat_tui.engine import ChatEngine, RetryPolicy, RoundStarted, ToolFinished, TurnEnded
from chat_tui.engine.builtin_tools import builtin_tools
from chat_tui.engine.tools import Tool, ToolRegistry
from chat_tui.providers.anthropic import AnthropicProvider
from chat_tui.providers.demo import DemoProvider
from chat_tui.providers.openai_compat import OpenAICompatProvider
from chat_tui.store import Store
from tests.support.sse_server import Reply, SSETestServer, openai_text_reply
from tests.support.tool_replies import Call, anthropic_reply, args, openai_tool_reply

FIXTURES = Path(__file__).parent.parent / "fixtures" / "provider-streams"


def _tool_fixtures() -> list[str]:
    names = []
    for meta_path in sorted(FIXTURES.glob("*.json")):
        meta = json.loads(meta_path.read_text())
        if meta["http"]["status"] == 200 and meta["expected"]["tool_calls"] and not meta["expected"]["errors"]:
            names.append(meta_path.stem)
    return names


TOOL_FIXTURES = _tool_fixtures()


async def run(eng: ChatEngine, conversation_id: int, prompt: str) -> list[Any]:
    events: list[Any] = []
    async with contextlib.aclosing(eng.run_turn(conversation_id, prompt)) as turn:
        async for batch in turn:
            events.extend(batch)
    return events


def recording_tools(names: set[str], seen: list[tuple[str, dict[str, Any]]]) -> list[Tool]:
    def make(name: str) -> Tool:
        async def record(**kwargs: Any) -> str:
            seen.append((name, kwargs))
            return f"result of {name}"

        return Tool(name, "", {"type": "object", "additionalProperties": True}, record)

    return [make(n) for n in sorted(names)]


def split_randomly(body: bytes, seed: int) -> list[bytes | float]:
    rng = random.Random(seed)
    pieces: list[bytes | float] = []
    i = 0
    while i < len(body):
        n = rng.randint(1, 40)
        pieces.append(body[i : i + n])
        i += n
    return pieces


def test_the_recordings_with_tool_calls_are_found() -> None:
    assert len(TOOL_FIXTURES) >= 8


@pytest.mark.parametrize("name", TOOL_FIXTURES)
async def test_recorded_tool_calls_run_and_their_results_go_back(name: str, store: Store, server: SSETestServer) -> None:
    meta = json.loads((FIXTURES / f"{name}.json").read_text())
    expected = meta["expected"]["tool_calls"]
    anthropic = meta["api_format"] == "anthropic-messages"
    body = (FIXTURES / f"{name}.sse").read_bytes()
    server.queue(Reply(chunks=split_randomly(body, len(body))),
                 anthropic_reply(text="Done.") if anthropic else openai_text_reply(["Done."]))
    seen: list[tuple[str, dict[str, Any]]] = []
    tools = ToolRegistry(recording_tools({c["name"] for c in expected}, seen))
    cls = AnthropicProvider if anthropic else OpenAICompatProvider
    provider = cls(base_url=server.base_url, model="m", stall_timeout=5)
    try:
        eng = ChatEngine(store, provider, tools=tools, retry=RetryPolicy(attempts=0))
        events = await run(eng, eng.new_conversation(), "use your tools")
    finally:
        await provider.aclose()

    assert sorted(seen, key=repr) == sorted(
        ((c["name"], json.loads(c["arguments"] or "{}")) for c in expected), key=repr)
    assert all(e.call.status == "ok" for e in [e for e in events if isinstance(e, ToolFinished)])
    ended = next(e for e in events if isinstance(e, TurnEnded))
    assert ended.status == MessageStatus.COMPLETE
    sent = json.dumps(server.requests[1].body["messages"])
    for call in expected:
        assert json.dumps(call["id"]) in sent
    assert sent.count("result of ") == len(expected)


async def test_anthropic_format_tool_use_then_merged_tool_results(
    tmp_path: Path, store: Store, server: SSETestServer
) -> None:
    server.queue(
        anthropic_reply(Call("toolu_1", "calculator", args(expression="2 + 2")),
                        Call("toolu_2", "calculator", args(expression="3 * 3"), pieces=4),
                        Call("toolu_3", "calculator", args(expression="1 / 0")), text="Checking."),
        anthropic_reply(text="4 and 9."),
    )
    provider = AnthropicProvider(base_url=server.base_url, model="m", stall_timeout=5)
    try:
        eng = ChatEngine(store, provider, tools=ToolRegistry(builtin_tools(tmp_path)), retry=RetryPolicy(attempts=0))
        events = await run(eng, eng.new_conversation(), "sums")
    finally:
        await provider.aclose()

    assert next(e for e in events if isinstance(e, TurnEnded)).status == MessageStatus.COMPLETE
    first = server.requests[0].body
    assert {t["name"] for t in first["tools"]} == {"current_datetime", "calculator", "read_file", "list_directory"}
    assert all("input_schema" in t for t in first["tools"])
    assert server.requests[1].body["messages"] == [
        {"role": "user", "content": "sums"},
        {"role": "assistant", "content": [
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "toolu_1", "name": "calculator", "input": {"expression": "2 + 2"}},
            {"type": "tool_use", "id": "toolu_2", "name": "calculator", "input": {"expression": "3 * 3"}},
            {"type": "tool_use", "id": "toolu_3", "name": "calculator", "input": {"expression": "1 / 0"}},
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "4"},
            {"type": "tool_result", "tool_use_id": "toolu_2", "content": "9"},
            # A failed call is marked as such, in Anthropic's own way.
            {"type": "tool_result", "tool_use_id": "toolu_3", "content": "Error: Division by zero.", "is_error": True},
        ]},
    ]


async def test_anthropic_next_prompt_follows_the_tool_results(tmp_path: Path, store: Store, server: SSETestServer) -> None:
    server.queue(anthropic_reply(Call("toolu_1", "calculator", args(expression="1+1"))), anthropic_reply(text="2."),
                 anthropic_reply(text="Bye."))
    provider = AnthropicProvider(base_url=server.base_url, model="m", stall_timeout=5)
    try:
        eng = ChatEngine(store, provider, tools=ToolRegistry(builtin_tools(tmp_path)), retry=RetryPolicy(attempts=0))
        conversation = eng.new_conversation()
        await run(eng, conversation, "add")
        await run(eng, conversation, "thanks")
    finally:
        await provider.aclose()

    roles = [(m["role"], [b["type"] for b in m["content"]] if isinstance(m["content"], list) else "text")
             for m in server.requests[2].body["messages"]]
    assert roles == [("user", "text"), ("assistant", ["tool_use"]), ("user", ["tool_result"]),
                     ("assistant", "text"), ("user", "text")]


async def test_demo_tool_answer_end_to_end(tmp_path: Path, store: Store) -> None:
    eng = ChatEngine(store, DemoProvider(tokens_per_second=0, first_token_delay=0),
                     tools=ToolRegistry(builtin_tools(tmp_path)))
    conversation = eng.new_conversation()
    events = await run(eng, conversation, "Please calculate (17 + 4) * 2 for me")

    finished, = [e for e in events if isinstance(e, ToolFinished)]
    assert (finished.call.name, finished.call.status, finished.call.result) == ("calculator", "ok", "42")
    assert len([e for e in events if isinstance(e, RoundStarted)]) == 1
    messages = store.messages(conversation)
    assert [m.role for m in messages] == [Role.USER, Role.ASSISTANT, Role.TOOL, Role.ASSISTANT]
    assert "(17 + 4) * 2 = 42" in messages[-1].text
    assert "demo" in messages[-1].text


async def test_demo_without_tools_just_answers(store: Store) -> None:
    eng = ChatEngine(store, DemoProvider(tokens_per_second=0, first_token_delay=0), tools=ToolRegistry())
    conversation = eng.new_conversation()
    events = await run(eng, conversation, "what time is it?")
    assert not [e for e in events if isinstance(e, ToolFinished)]
    assert [m.role for m in store.messages(conversation)] == [Role.USER, Role.ASSISTANT]


async def test_ask_json_lists_calls_with_results(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    args_ns = build_parser().parse_args(["ask", "--json", "calculate 6 * 7"])
    provider = DemoProvider(tokens_per_second=0, first_token_delay=0)
    code = await _ask(args_ns, Settings(), store, provider, "calculate 6 * 7")

    out, err = capsys.readouterr()
    result = json.loads(out)
    assert code == 0
    call, = result["tool_calls"]
    assert (call["name"], call["arguments"], call["result"], call["status"]) == (
        "calculator", '{"expression": "6 * 7"}', "42", "ok")
    assert result["message_id"] == result["message_ids"][-1] and len(result["message_ids"]) == 2
    assert "6 * 7 = 42" in result["text"]
    assert "chat-tui: tool calculator → ok (" in err


def test_tool_line_shows_status_duration_and_error() -> None:
    call = ToolCall("1", "read_file", "{}", status="error", error="No such file: 'x'.", duration_ms=3)
    assert _tool_line(call) == "tool read_file → error (3 ms): No such file: 'x'."


@pytest.mark.parametrize("flag", [[], ["--yes"]])
async def test_ask_refuses_calls_needing_approval_unless_yes(
    flag: list[str], store: Store, server: SSETestServer, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from chat_tui.engine import builtin_tools as builtin_module

    async def launch() -> str:
        return "launched"

    risky = Tool("launch", "", {"type": "object", "properties": {}}, launch, needs_approval=True)
    monkeypatch.setattr(builtin_module, "builtin_tools", lambda root=None: [risky])
    server.queue(openai_tool_reply(Call("c1", "launch", "{}")), openai_text_reply(["OK."]))
    provider = OpenAICompatProvider(base_url=server.base_url, model="m", stall_timeout=5)
    args_ns = build_parser().parse_args(["ask", "--json", *flag, "launch it"])
    await _ask(args_ns, Settings(retries=0), store, provider, "launch it")

    result = json.loads(capsys.readouterr().out)
    call, = result["tool_calls"]
    if flag:
        assert (call["status"], call["result"]) == ("ok", "launched")
    else:
        assert (call["status"], call["error"]) == ("error", "Not run: the user did not approve this call.")


async def test_server_side_tools_are_not_run_by_the_client(tmp_path: Path, store: Store, server: SSETestServer) -> None:
    body = (FIXTURES / "anthropic__web_search_server_tool.sse").read_bytes()
    server.queue(Reply(chunks=[body]))
    seen: list[tuple[str, dict[str, Any]]] = []
    provider = AnthropicProvider(base_url=server.base_url, model="m", stall_timeout=5)
    try:
        eng = ChatEngine(store, provider, tools=ToolRegistry(recording_tools({"web_search"}, seen)),
                         retry=RetryPolicy(attempts=0))
        events = await run(eng, eng.new_conversation(), "search")
    finally:
        await provider.aclose()
    ended = next(e for e in events if isinstance(e, TurnEnded))
    assert ended.status == MessageStatus.COMPLETE
    assert seen == [] and len(server.requests) == 1
    assert ended.tool_calls and all(c.server for c in ended.tool_calls)

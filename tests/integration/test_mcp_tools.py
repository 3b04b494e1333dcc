"""Tools from a real MCP server (written in the tests with the SDK), started over stdio,
called by a model turn against the loopback server."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from chat_tui.domain import MessageStatus
from chat_tui.engine import ChatEngine, RetryPolicy, ToolFinished, TurnEnded
from chat_tui.engine.mcp import MCPServer, MCPTools, parse_server_configs, tool_name
from chat_tui.engine.tools import ToolRegistry
from chat_tui.errors import ConfigError
from chat_tui.providers.openai_compat import OpenAICompatProvider
from chat_tui.store import Store
from tests.support.sse_server import SSETestServer, openai_text_reply
from tests.support.tool_replies import Call, args, openai_tool_reply

pytest.importorskip("mcp")

SERVER_SCRIPT = str(Path(__file__).parent.parent / "support" / "mcp_test_server.py")


def configs(*extra: dict[str, Any]) -> list[Any]:
    test_server = {"name": "calc", "command": sys.executable, "args": [SERVER_SCRIPT], "approval": False}
    return parse_server_configs([test_server, *extra])


@pytest.mark.slow
async def test_a_model_turn_calls_an_mcp_tool(tmp_path: Path, server: SSETestServer) -> None:
    broken = [
        {"name": "missing", "command": str(tmp_path / "no-such-program")},
        {"name": "crashes", "command": sys.executable, "args": ["-c", "import sys; sys.exit('bad setup')"]},
    ]
    registry = ToolRegistry()
    store = Store.open(tmp_path / "chat.db")
    provider = OpenAICompatProvider(base_url=server.base_url, model="m", stall_timeout=5)
    server.queue(
        openai_tool_reply(Call("c1", "calc__add", args(a=20, b=22)), Call("c2", "calc__fail", args(reason="nope"))),
        openai_text_reply(["20 + 22 = 42."]),
    )
    try:
        async with MCPTools(configs(*broken), registry) as statuses:
            by_name = {s.name: s for s in statuses}
            assert by_name["calc"].ok and by_name["calc"].tools == ["calc__add", "calc__shout", "calc__fail"]
            assert by_name["missing"].error == f"command not found ({tmp_path / 'no-such-program'})"
            assert by_name["crashes"].error is not None and "bad setup" in by_name["crashes"].error

            eng = ChatEngine(store, provider, tools=registry, retry=RetryPolicy(attempts=0))
            events: list[Any] = []
            async with contextlib.aclosing(eng.run_turn(eng.new_conversation(), "add")) as turn:
                async for batch in turn:
                    events.extend(batch)
        assert len(registry) == 0  # the tools leave with their servers
    finally:
        await provider.aclose()
        store.close()

    offered = {t["function"]["name"]: t["function"] for t in server.requests[0].body["tools"]}
    assert set(offered) == {"calc__add", "calc__shout", "calc__fail"}
    assert offered["calc__add"]["parameters"]["required"] == ["a", "b"]
    results = {e.call.id: e.call for e in events if isinstance(e, ToolFinished)}
    assert (results["c1"].status, results["c1"].result) == ("ok", "42")
    assert results["c2"].status == "error"
    assert next(e for e in events if isinstance(e, TurnEnded)).status == MessageStatus.COMPLETE
    tool_messages = [m for m in server.requests[1].body["messages"] if m["role"] == "tool"]
    assert tool_messages[0] == {"role": "tool", "content": "42", "tool_call_id": "c1"}
    assert tool_messages[1]["content"].startswith("Error: ")


def test_mcp_tools_need_approval_unless_configured_otherwise() -> None:
    info = SimpleNamespace(name="shout", description="Capitals.", input_schema={"properties": {}})
    default, = parse_server_configs([{"name": "calc", "command": "x"}])
    tool = MCPServer(default)._tool(info)
    assert (tool.name, tool.needs_approval, tool.mutating) == ("calc__shout", True, False)
    assert tool.parameters == {"properties": {}, "type": "object"}
    trusted, = parse_server_configs([{"name": "calc", "command": "x", "approval": False}])
    assert MCPServer(trusted)._tool(info).needs_approval is False


@pytest.mark.parametrize(
    "bad",
    [
        {"command": "x"},
        {"name": "has space", "command": "x"},
        {"name": "a", "command": ""},
        {"name": "a", "command": "x", "args": "--flag"},
        {"name": "a", "command": "x", "env": {"A": 1}},
        {"name": "a", "command": "x", "approval": "sometimes"},
    ],
)
def test_bad_server_configs_are_clear_errors(bad: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        parse_server_configs([bad])


def test_config_shapes_and_names() -> None:
    parsed = parse_server_configs({"servers": [{"name": "fs", "command": "srv", "approval": "never"}]})
    assert (parsed[0].name, parsed[0].args, parsed[0].approval) == ("fs", (), False)
    with pytest.raises(ConfigError, match="unique"):
        parse_server_configs([{"name": "a", "command": "x"}, {"name": "a", "command": "y"}])
    assert tool_name("fs", "read.file") == "fs__read_file"
    assert len(tool_name("s" * 40, "t" * 40)) == 64

"""MCP servers from the settings start with the app; a failing one is reported, the others work."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from chat_tui.config import Settings
from chat_tui.engine.mcp import MCPServerConfig
from chat_tui.providers.openai_compat import OpenAICompatProvider
from chat_tui.ui.app import ChatApp
from chat_tui.ui.screens.approval import ApprovalScreen
from chat_tui.ui.widgets.tool_call_view import ToolCallView
from tests.support.app import open_store
from tests.support.sse_server import SSETestServer, openai_text_reply
from tests.support.pilot import send, wait_for
from tests.ui.test_tool_calls_ui import tool_call_reply

SERVER_SCRIPT = str(Path(__file__).parent.parent / "support" / "mcp_test_server.py")


@pytest.mark.slow
async def test_mcp_tool_called_from_the_app_with_approval(server: SSETestServer, tmp_path: Path) -> None:
    settings = Settings(mcp_servers=(
        MCPServerConfig("calc", sys.executable, (SERVER_SCRIPT,), approval=True),
        MCPServerConfig("broken", sys.executable, ("-c", "import sys; sys.exit('bad setup')")),
    ), retries=0)
    server.queue(tool_call_reply("calc__add", {"a": 2, "b": 40}), openai_text_reply(["It is 42."]))
    provider = OpenAICompatProvider(base_url=server.base_url, model="m")
    app = ChatApp(store=open_store(tmp_path), provider=provider, settings=settings)
    notes: list[str] = []
    app.notify = lambda message, **kw: notes.append(message)  # type: ignore[method-assign]
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(lambda: any("calc" in n for n in notes) and any("broken" in n for n in notes), timeout=30)
        assert any(n.startswith("MCP server broken did not start") for n in notes)
        assert "calc__add" in [spec.name for spec in app.engine.tools.specs()]
        await send(pilot, "add 2 and 40")
        await wait_for(lambda: isinstance(app.screen, ApprovalScreen), timeout=10)
        await pilot.press("y")
        await wait_for(lambda: app.screen._streaming_view is None and len(server.requests) == 2, timeout=15)
        row = app.screen.query(ToolCallView).first()
        assert row.call.status == "ok" and "42" in (row.call.result or "")
    tool_result = server.requests[1].body["messages"][-1]
    assert tool_result["role"] == "tool" and "42" in tool_result["content"]
    offered = {t["function"]["name"]: t["function"]["parameters"] for t in server.requests[0].body["tools"]}
    assert set(offered["calc__add"]["properties"]) == {"a", "b"}

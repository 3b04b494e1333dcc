"""Tool calls in the app: live rows, approval, cancel, reopening."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from chat_tui.domain import MessageStatus
from chat_tui.engine.tools import Tool
from chat_tui.ui.screens.approval import ApprovalScreen
from chat_tui.ui.widgets.message_view import AssistantMessageView
from chat_tui.ui.widgets.tool_call_view import ToolCallView
from tests.support.app import make_app, open_store
from tests.support.sse_server import Reply, SSETestServer, openai_chunk, openai_text_reply, sse
from tests.support.pilot import send, wait_for


def tool_call_reply(name: str, arguments: dict, call_id: str = "call_1") -> Reply:
    encoded = json.dumps(arguments)
    start = {"tool_calls": [{"index": 0, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}]}
    halves = [encoded[: len(encoded) // 2], encoded[len(encoded) // 2 :]]
    chunks: list[bytes | float] = [sse(openai_chunk(**start))]
    for half in halves:
        chunks.append(sse(openai_chunk(tool_calls=[{"index": 0, "function": {"arguments": half}}])))
    chunks += [sse(openai_chunk(finish="tool_calls")), b"data: [DONE]\n\n"]
    return Reply(chunks=chunks)


async def test_demo_tool_call_shows_row_then_answer_and_reopens_collapsed(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    app = make_app(store)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "calculate (17 + 25) * 2")
        await wait_for(lambda: app.screen._streaming_view is None and len(app.screen.query(AssistantMessageView)) == 2)
        rows = app.screen.query(ToolCallView)
        assert len(rows) == 1
        row = rows.first()
        assert row.call.status == "ok" and row.call.result == "84"
        assert "✔" in str(row.query_one("#row").render())
        assert "84" in app.screen.query(AssistantMessageView).last().body.text
        # The row is under the text of the round that called the tool, above its
        # stats line (none: only the answer that ends the turn has one, shown).
        first, last = app.screen.query(AssistantMessageView)
        children = list(first.children)
        assert children.index(first.body) < children.index(row) < children.index(first.query_one(".stats"))
        assert not first.query_one(".stats").display
        assert last.query_one(".stats").display and "first token" in str(last.query_one(".stats").render())
    cid = store.last_conversation_id()
    app2 = make_app(store, conversation_id=cid)
    async with app2.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        rows = app2.screen.query(ToolCallView)
        assert len(rows) == 1 and not rows.first().expanded
        assert rows.first().call.name == "calculator" and rows.first().call.status == "ok"


async def test_tool_needing_approval_asks_and_runs(server: SSETestServer, tmp_path: Path) -> None:
    ran: list[dict] = []

    async def touch(path: str) -> str:
        ran.append({"path": path})
        return f"touched {path}"

    server.queue(tool_call_reply("touch", {"path": "a.txt"}), openai_text_reply(["Done."]))
    app = make_app(open_store(tmp_path), base_url=server.base_url)
    app.engine.tools.add(Tool("touch", "Touch a file", {"type": "object", "properties": {"path": {"type": "string"}},
                                                            "required": ["path"]}, touch, needs_approval=True))
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "touch a.txt")
        await wait_for(lambda: isinstance(app.screen, ApprovalScreen))
        await pilot.press("y")
        await wait_for(lambda: app.screen.query(AssistantMessageView) and app.screen._streaming_view is None)
        assert ran == [{"path": "a.txt"}]
        row = app.screen.query(ToolCallView).first()
        assert row.call.status == "ok" and row.call.result == "touched a.txt"


async def test_escape_during_a_running_tool_cancels_turn(server: SSETestServer, tmp_path: Path) -> None:
    started = asyncio.Event()

    async def slow(seconds: float) -> str:
        started.set()
        await asyncio.sleep(seconds)
        return "slept"

    server.queue(tool_call_reply("slow", {"seconds": 30}))
    store = open_store(tmp_path)
    app = make_app(store, base_url=server.base_url)
    app.engine.tools.add(Tool("slow", "Sleep", {"type": "object", "properties": {"seconds": {"type": "number"}}}, slow))
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "sleep")
        await asyncio.wait_for(started.wait(), 5)
        await pilot.pause()
        row = app.screen.query(ToolCallView).first()
        assert row.running
        await pilot.press("escape")
        await wait_for(lambda: app.screen._streaming_view is None, timeout=3)
        await pilot.pause()
        assert row.call.status == "cancelled"
        assert "cancelled" in str(row.query_one("#row").render())
        view = app.screen.query(AssistantMessageView).last()
        message = store.get_message(view.message_id)
        assert message.status == MessageStatus.CANCELLED
        assert message.tool_calls[0].status == "cancelled"
    assert len(server.requests) == 1  # no further request after the cancel

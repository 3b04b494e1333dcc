"""SVG snapshots of the real app. Each docstring says what a reviewer must see.

Update on purpose with `pytest tests/snapshots --snapshot-update`, and look at
every changed SVG before committing it.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from chat_tui.domain import MessageStatus, Role
from chat_tui.providers.demo import CODE, TABLE
from chat_tui.store import Store
from chat_tui.ui.widgets.message_view import AssistantMessageView
from tests.support.app import make_app, open_store
from tests.support.pilot import screen_ready, send, wait_for
from tests.support.sse_server import Reply, SSETestServer, openai_chunk, sse

SIZE = (100, 34)
FIXED_TIME = 1_790_000_000.0  # 2026-09-21 14:13 UTC


def fix_times(store: Store) -> None:
    db = sqlite3.connect(store.path)
    db.execute("UPDATE conversations SET created_at = ?, updated_at = ? + id * 3600", (FIXED_TIME, FIXED_TIME))
    db.execute("UPDATE messages SET created_at = ?, updated_at = ?", (FIXED_TIME, FIXED_TIME))
    db.commit()
    db.close()


def saved_conversation(store: Store, prompt: str, answer: str, status: MessageStatus, **finish) -> int:
    cid = store.create_conversation(provider="openai", model="gpt-4.1-mini")
    store.rename_conversation(cid, prompt)
    store.add_message(cid, Role.USER, prompt)
    mid = store.start_assistant(cid, model="gpt-4.1-mini", provider="openai")
    store.append(mid, answer)
    store.finish(mid, status, **finish)
    return cid


class TestStreaming:
    def test_empty_app_on_demo_provider(self, snap_compare, tmp_path: Path) -> None:
        """The empty app: top bar with "demo (offline, scripted)" and a yellow
        "DEMO · no API key set" badge; "Start a conversation" with prompts to
        try; the hint on how to connect a real model above the prompt, the
        prompt's placeholder, and the footer keys (^n New chat, ^o Conversations,
        f1 Help, ^p palette; no esc: nothing streams)."""
        assert snap_compare(make_app(open_store(tmp_path)), terminal_size=SIZE)

    def test_typing_indicator(self, snap_compare, server: SSETestServer, tmp_path: Path) -> None:
        """After sending "hello": the user message, and under it the typing
        indicator "●∙∙  Waiting for the model… 0.0 s" (no answer text yet)."""
        server.queue(Reply(chunks=[3.0, sse(openai_chunk("late"))]))
        app = make_app(open_store(tmp_path), base_url=server.base_url)

        async def run_before(pilot) -> None:
            await send(pilot, "hello")
            await wait_for(lambda: any(v.body.indicator for v in app.screen.query(AssistantMessageView)))
            await pilot.pause()

        assert snap_compare(app, terminal_size=SIZE, run_before=run_before)

    def test_mid_stream_answer_with_cursor(self, snap_compare, server: SSETestServer, tmp_path: Path) -> None:
        """Mid-stream: a heading, a paragraph, a list, and an open code block
        that already shows highlighted code, with the block cursor "▋" at the
        end of the last code line. No raw Markdown (no ``` or #) is visible."""
        text = "## Plan\n\nFirst, the steps:\n\n- parse the input\n- print it\n\n```python\nimport sys\n\nfor line in sys.stdin:\n    print(line"
        server.queue(Reply(chunks=[sse(openai_chunk(text)), 5.0]))
        app = make_app(open_store(tmp_path), base_url=server.base_url)

        async def run_before(pilot) -> None:
            await send(pilot, "write a filter")
            await wait_for(lambda: app.screen.query_one(AssistantMessageView).body.text == text)
            await asyncio.sleep(0.05)
            await pilot.pause()

        assert snap_compare(app, terminal_size=SIZE, run_before=run_before)

    def test_finished_answer_with_code_and_table(self, snap_compare, tmp_path: Path) -> None:
        """A reopened finished answer with a code block and a table: the code
        highlighted in a dark block, then a table with a header row and rule, a
        numbered list, and the dim stats line "first token 0.42 s · 50.0 tok/s ·
        12 → 157 tokens" under the answer."""
        answer = ("Fetch them concurrently:\n\n```python\nasync def fetch_all(urls):\n"
                  "    async with httpx.AsyncClient() as client:\n"
                  "        return await asyncio.gather(*(client.get(u) for u in urls))\n```\n\n"
                  "| Approach | Time for 10 URLs |\n| --- | ---: |\n| one by one | 2.1 s |\n| concurrent | 0.3 s |\n\n"
                  "1. One shared client reuses connections.\n2. `gather` runs the requests together.\n")
        store = open_store(tmp_path)
        cid = saved_conversation(
            store, "show me some code", answer, MessageStatus.COMPLETE, ttft_ms=420, duration_ms=3560,
            usage={"prompt_tokens": 12, "completion_tokens": 157}, finish_reason="stop",
        )
        fix_times(store)
        assert snap_compare(make_app(store, conversation_id=cid), terminal_size=(100, 40))

    def test_table_answer(self, snap_compare, tmp_path: Path) -> None:
        """A reopened answer with a Markdown table rendered as a table (header
        row, rule, five rows), a heading and a bullet list."""
        store = open_store(tmp_path)
        cid = saved_conversation(store, "compare sorting", TABLE, MessageStatus.COMPLETE, ttft_ms=300, duration_ms=2300,
                                 usage={"prompt_tokens": 9, "completion_tokens": 170})
        fix_times(store)
        assert snap_compare(make_app(store, conversation_id=cid), terminal_size=(100, 40))


class TestInterruptedBanner:
    def test_cancelled_answer(self, snap_compare, tmp_path: Path) -> None:
        """A cancelled answer: the partial text, then the banner "⚠ Cancelled
        after 59 characters." with the buttons Retry ^R, Continue ^G, Dismiss."""
        store = open_store(tmp_path)
        cid = saved_conversation(store, "tell me a story", "Once upon a time, in a terminal far away, there lived a TUI",
                                 MessageStatus.CANCELLED, error_kind="cancelled", error_message="Cancelled.")
        fix_times(store)
        assert snap_compare(make_app(store, conversation_id=cid), terminal_size=SIZE)

    def test_connection_lost(self, snap_compare, tmp_path: Path) -> None:
        """An interrupted answer: the banner says "⚠ Connection lost after 31
        characters." and offers Retry, Continue and Dismiss."""
        store = open_store(tmp_path)
        cid = saved_conversation(store, "explain TCP", "TCP is a reliable, ordered byte", MessageStatus.INTERRUPTED,
                                 error_kind="connection", error_message="Connection lost: the server closed the stream early.")
        fix_times(store)
        assert snap_compare(make_app(store, conversation_id=cid), terminal_size=SIZE)

    def test_error_notice(self, snap_compare, tmp_path: Path) -> None:
        """A request that failed before any text: a red notice with the server's
        reason and what to do ("HTTP 401 Unauthorized: Incorrect API key
        provided — check the API key …") and a Retry button; no Continue."""
        store = open_store(tmp_path)
        cid = saved_conversation(
            store, "hello", "", MessageStatus.ERROR, error_kind="auth",
            error_message="HTTP 401 Unauthorized: Incorrect API key provided — check the API key (set OPENAI_API_KEY or --api-key-env)",
        )
        fix_times(store)
        assert snap_compare(make_app(store, conversation_id=cid), terminal_size=SIZE)


class TestConversations:
    def test_conversation_list(self, snap_compare, tmp_path: Path) -> None:
        """The conversation list over the chat: three conversations, newest
        first, each with date, title and model; "explain TCP" carries a yellow
        "⚠ interrupted" mark and "tell me a story" a "⚠ cancelled" mark."""
        store = open_store(tmp_path)
        saved_conversation(store, "show me some code", CODE, MessageStatus.COMPLETE)
        saved_conversation(store, "tell me a story", "Once upon a time", MessageStatus.CANCELLED)
        saved_conversation(store, "explain TCP", "TCP is", MessageStatus.INTERRUPTED, error_kind="connection")
        fix_times(store)
        assert snap_compare(make_app(store), terminal_size=SIZE, press=["ctrl+o"])


def saved_tool_conversation(store: Store) -> int:
    from chat_tui.domain import ToolCall

    cid = store.create_conversation(provider="openai", model="gpt-4.1-mini")
    store.rename_conversation(cid, "what is 6 * 7, and what is in notes.txt?")
    store.add_message(cid, Role.USER, "what is 6 * 7, and what is in notes.txt?")
    mid = store.start_assistant(cid, model="gpt-4.1-mini", provider="openai")
    store.append(mid, "Let me check both.")
    calls = [
        ToolCall("call_1", "calculator", '{"expression": "6 * 7"}', result="42", status="ok", duration_ms=2),
        ToolCall("call_2", "read_file", '{"path": "../secrets/notes.txt"}',
                 error="Refused: ../secrets/notes.txt is outside the working directory.", status="error", duration_ms=1),
    ]
    store.set_tool_calls(mid, calls)
    store.finish(mid, MessageStatus.COMPLETE, finish_reason="tool_calls")
    store.add_message(cid, Role.TOOL, "42", tool_call_id="call_1")
    store.add_message(cid, Role.TOOL, "Error: refused", tool_call_id="call_2")
    mid2 = store.start_assistant(cid, model="gpt-4.1-mini", provider="openai", attempt=mid)  # the same answer
    store.append(mid2, "6 × 7 = **42**. I could not read `notes.txt`: it is outside the working directory.")
    store.finish(mid2, MessageStatus.COMPLETE, ttft_ms=250, duration_ms=900,
                 usage={"prompt_tokens": 120, "completion_tokens": 24})
    fix_times(store)
    return cid


class TestToolCalls:
    def test_running_call_with_spinner(self, snap_compare, server: SSETestServer, tmp_path: Path) -> None:
        """A tool call whose arguments are still streaming: the row shows the
        spinner "⠋", the name "calculator", the arguments so far
        ({"expression": "12 *) and the elapsed time; no result yet."""
        start = {"tool_calls": [{"index": 0, "id": "call_9", "type": "function",
                                 "function": {"name": "calculator", "arguments": ""}}]}
        part = {"tool_calls": [{"index": 0, "function": {"arguments": '{"expression": "12 *'}}]}
        server.queue(Reply(chunks=[sse(openai_chunk(**start)), sse(openai_chunk(**part)), 5.0]))
        app = make_app(open_store(tmp_path), base_url=server.base_url)

        async def run_before(pilot) -> None:
            from chat_tui.ui.widgets.tool_call_view import ToolCallView

            await send(pilot, "what is 12 * 12?")
            await wait_for(lambda: any("12 *" in v.arguments for v in app.screen.query(ToolCallView)))
            await pilot.pause()

        assert snap_compare(app, terminal_size=SIZE, run_before=run_before)

    def test_finished_calls_ok_and_error(self, snap_compare, tmp_path: Path) -> None:
        """A reopened conversation with two finished calls, collapsed: a green
        "✔ calculator(...) → 42" and a red "✖ read_file(...) Refused: ... outside
        the working directory", then the final answer using the result."""
        store = open_store(tmp_path)
        cid = saved_tool_conversation(store)
        assert snap_compare(make_app(store, conversation_id=cid), terminal_size=SIZE)

    def test_expanded_call(self, snap_compare, tmp_path: Path) -> None:
        """The first call expanded (focused, Enter): under its row the full
        "arguments: {"expression": "6 * 7"}" and "result: 42"."""
        store = open_store(tmp_path)
        cid = saved_tool_conversation(store)

        async def run_before(pilot) -> None:
            from chat_tui.ui.widgets.tool_call_view import ToolCallView

            await screen_ready(pilot)
            row = pilot.app.screen.query(ToolCallView).first()
            row.focus()
            await pilot.press("enter")
            await pilot.pause()

        assert snap_compare(make_app(store, conversation_id=cid), terminal_size=SIZE, run_before=run_before)


class TestComforts:
    def test_search_results(self, snap_compare, tmp_path: Path) -> None:
        """The conversation list searching for "pouch": the search field holds
        "pouch" and the one result shows the date, the title "about pelicans"
        and a snippet with "pouch" in bold."""
        store = open_store(tmp_path)
        saved_conversation(store, "show me some code", CODE, MessageStatus.COMPLETE)
        saved_conversation(store, "about pelicans", "Pelicans scoop fish with their pouch, then drain the water.",
                           MessageStatus.COMPLETE)
        fix_times(store)
        assert snap_compare(make_app(store), terminal_size=SIZE, press=["ctrl+o", *"pouch"])

    def test_help_screen(self, snap_compare, tmp_path: Path) -> None:
        """F1: every key in sections (Prompt, Answer, Conversations, App), keys in
        yellow, what they do beside them."""
        assert snap_compare(make_app(open_store(tmp_path)), terminal_size=(100, 40), press=["f1"])

    def test_reasoning_section(self, snap_compare, tmp_path: Path) -> None:
        """A reopened answer with reasoning: a folded "▶ Thought for …"/"Reasoning"
        section above the answer, opened by a click: the reasoning text in a muted
        colour, then the answer itself."""
        store = open_store(tmp_path)
        cid = store.create_conversation(provider="openai", model="o-mini", title="2 + 2?")
        store.add_message(cid, Role.USER, "What is 2 + 2?")
        mid = store.start_assistant(cid, model="o-mini", provider="openai")
        store.append(mid, "**4**.", reasoning="The user asks a simple sum. Two plus two is four; answer briefly.")
        store.finish(mid, MessageStatus.COMPLETE, ttft_ms=800, duration_ms=1000,
                     usage={"prompt_tokens": 12, "completion_tokens": 30})
        fix_times(store)

        async def run_before(pilot) -> None:
            from chat_tui.ui.widgets.reasoning_view import ReasoningView

            await screen_ready(pilot)
            pilot.app.screen.query_one(ReasoningView).collapsed = False
            await pilot.pause()

        assert snap_compare(make_app(store, conversation_id=cid), terminal_size=SIZE, run_before=run_before)

    def test_alternative_answers(self, snap_compare, tmp_path: Path) -> None:
        """A question answered twice (regenerated), reopened and switched back
        with Alt+Left: the first answer "Blue, because…" with its stats line and,
        under it, "◀ answer 1 of 2 ▶  Alt+← / Alt+→ to switch"."""
        store = open_store(tmp_path)
        cid = store.create_conversation(provider="openai", model="gpt-4.1-mini", title="why is the sky blue")
        store.add_message(cid, Role.USER, "Why is the sky blue? One sentence.")
        first = store.start_assistant(cid, model="gpt-4.1-mini", provider="openai")
        store.append(first, "Blue, because air scatters short (blue) wavelengths of sunlight far more than red ones.")
        store.finish(first, MessageStatus.COMPLETE, ttft_ms=310, duration_ms=1200,
                     usage={"prompt_tokens": 14, "completion_tokens": 19})
        store.supersede([first])
        second = store.start_assistant(cid, model="gpt-4.1-mini", provider="openai")
        store.append(second, "Rayleigh scattering: the shorter the wavelength, the more it scatters.")
        store.finish(second, MessageStatus.COMPLETE, ttft_ms=280, duration_ms=900,
                     usage={"prompt_tokens": 14, "completion_tokens": 15})
        fix_times(store)
        assert snap_compare(make_app(store, conversation_id=cid), terminal_size=SIZE, press=["alt+left"])

    def test_config_warning(self, snap_compare, tmp_path: Path) -> None:
        """A warning from the config file shown as a notification when the app
        starts (here: an API key kept in the file)."""
        from chat_tui.config import Settings
        from chat_tui.providers.demo import DemoProvider
        from chat_tui.ui.app import ChatApp

        warning = "config.toml: profile 'work' holds an API key; prefer api_key_env (the key stays out of the file)."
        app = ChatApp(store=open_store(tmp_path), provider=DemoProvider(), settings=Settings(warnings=(warning,)))
        assert snap_compare(app, terminal_size=SIZE)

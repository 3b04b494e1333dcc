"""`search`, `export --all` / `import`, and the pipe mode of `ask`, through the
real command (a subprocess with its own data folder and config file)."""

from __future__ import annotations

import asyncio
import io
import json
import os
import pty
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from chat_tui.domain import MessageStatus, Role, ToolCall
from chat_tui.providers.demo import CODE, TABLE
from chat_tui.store import Store
from tests.support.cli import cli_env, command, one_line_error, run_cli
from tests.support.sse_server import SSETestServer, openai_text_reply


def run_on_tty(data_dir: Path, *args: str) -> tuple[int, str]:
    """Run the command with its stdout on a pseudo-terminal; the exit code and what it printed."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(command(*args), env=cli_env(data_dir), stdin=subprocess.DEVNULL, stdout=slave,
                            stderr=subprocess.DEVNULL)
    os.close(slave)
    out = bytearray()
    try:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the other side is closed
                break
            if not data:
                break
            out += data
    finally:
        os.close(master)
        code = proc.wait(timeout=30)
    return code, out.decode("utf-8", "replace").replace("\r\n", "\n")


def stored(data_dir: Path) -> Store:
    return Store.open(data_dir / "chat.sqlite3")


def seed_everything(data_dir: Path) -> None:
    """Conversations with every kind of content an export must carry."""
    store = stored(data_dir)
    try:
        cid = store.create_conversation(provider="openai", model="gpt-x", system_prompt="Be brief.")
        store.rename_conversation(cid, "Trip to Lisbon")
        store.add_message(cid, Role.USER, "Plan a trip to Lisbon")
        mid = store.start_assistant(cid, model="gpt-x", provider="openai")
        store.append(mid, "Day 1: Alfama.", reasoning="They like walking.")
        store.finish(mid, MessageStatus.COMPLETE, finish_reason="stop", usage={"prompt_tokens": 12, "completion_tokens": 4},
                     ttft_ms=120, duration_ms=900)
        store.add_message(cid, Role.USER, "What day is it?")
        asks = store.start_assistant(cid, model="gpt-x", provider="openai")
        store.append(asks, "Let me check.")
        store.set_tool_calls(asks, [ToolCall("call_1", "current_datetime", "{}", result="2025-01-01", status="ok",
                                             duration_ms=3)])
        store.finish(asks, MessageStatus.COMPLETE, finish_reason="tool_calls")
        store.add_message(cid, Role.TOOL, "2025-01-01", tool_call_id="call_1")
        cut = store.start_assistant(cid, model="gpt-x", provider="openai", attempt=asks)  # the same answer
        store.append(cut, "It is New Year's d")
        store.finish(cut, MessageStatus.INTERRUPTED, error_kind="connection", error_message="Connection lost.")

        other = store.create_conversation(provider="demo", model="demo")
        store.rename_conversation(other, "\x1b[31mred title ✓")
        store.add_message(other, Role.USER, "stop this")
        stopped = store.start_assistant(other, model="demo", provider="demo")
        store.append(stopped, "partial te")
        store.finish(stopped, MessageStatus.CANCELLED, error_kind="cancelled", error_message="Cancelled.")
        store.add_message(other, Role.USER, "again")
        replaced = store.start_assistant(other, model="demo", provider="demo")  # then regenerated: an alternative
        store.append(replaced, "the first try, cut")
        store.finish(replaced, MessageStatus.INTERRUPTED, error_kind="connection", error_message="Connection lost.")
        store.supersede([replaced])
        failed = store.start_assistant(other, model="demo", provider="demo")
        store.finish(failed, MessageStatus.ERROR, error_kind="auth", error_message="HTTP 401: bad key")
    finally:
        store.close()


def without_ids(conversations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Ids differ between databases: an answer's attempt becomes the position of its first message."""
    out = []
    for c in conversations:
        position = {m["id"]: i for i, m in enumerate(c["messages"])}
        c = {k: v for k, v in c.items() if k != "id"}
        c["messages"] = [{**{k: v for k, v in m.items() if k != "id"}, "attempt": position.get(m["attempt"])}
                         for m in c["messages"]]
        out.append(c)
    return out


def export_all(data_dir: Path) -> dict[str, Any]:
    result = run_cli(data_dir, "export", "--all")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# -- export --all and import --------------------------------------------------------
def test_export_all_then_import_round_trips(tmp_path: Path) -> None:
    source, target = tmp_path / "source", tmp_path / "target"
    seed_everything(source)
    out = tmp_path / "all.json"
    written = run_cli(source, "export", "--all", "-o", str(out))
    assert written.returncode == 0 and written.stdout == "", written.stderr
    original = json.loads(out.read_text(encoding="utf-8"))
    assert original["format"] == "chat-tui/1" and len(original["conversations"]) == 2
    statuses = [m["status"] for c in original["conversations"] for m in c["messages"] if m["role"] == "assistant"]
    # Partial answers marked; an answer replaced by a regenerated one kept, with the status it had.
    assert statuses == ["complete", "complete", "interrupted", "cancelled", "superseded", "error"]
    replaced = next(m for c in original["conversations"] for m in c["messages"] if m["status"] == "superseded")
    assert replaced["prior_status"] == "interrupted"
    trip = next(c for c in original["conversations"] if c["title"] == "Trip to Lisbon")
    tool_round = [m for m in trip["messages"] if m["role"] == "assistant"]
    assert tool_round[1]["attempt"] == tool_round[2]["attempt"] == tool_round[1]["id"]  # two rounds, one answer

    imported = run_cli(target, "import", str(out))
    assert imported.returncode == 0, imported.stderr
    assert "Imported 2 conversations" in imported.stdout
    again = export_all(target)
    assert without_ids(again["conversations"]) == without_ids(original["conversations"])

    # Importing once more adds new conversations; nothing is merged or replaced.
    assert run_cli(target, "import", str(out)).returncode == 0
    assert len(export_all(target)["conversations"]) == 4


def test_a_single_conversation_export_imports_too(tmp_path: Path) -> None:
    source, target = tmp_path / "source", tmp_path / "target"
    seed_everything(source)
    one = tmp_path / "one.json"
    assert run_cli(source, "export", "1", "--format", "json", "-o", str(one)).returncode == 0
    result = run_cli(target, "import", str(one))
    assert result.returncode == 0, result.stderr
    (copy,) = export_all(target)["conversations"]
    assert without_ids([copy]) == without_ids([json.loads(one.read_text(encoding="utf-8"))])
    # And it is searchable.
    hits = run_cli(target, "search", "--json", "alfama")
    assert [h["title"] for h in json.loads(hits.stdout)] == ["Trip to Lisbon"]


def valid_document() -> dict[str, Any]:
    message = {"role": "user", "text": "fine", "status": "complete"}
    return {"format": "chat-tui/1", "conversations": [
        {"title": "first", "created_at": 1.0, "updated_at": 2.0, "messages": [message]},
        {"title": "second", "created_at": 1.0, "updated_at": 2.0, "messages": [dict(message)]},
    ]}


def broken(change: Any) -> str:
    document = valid_document()
    change(document)
    return json.dumps(document)


MALFORMED = [
    ("not json", "{ this is not json", "not valid JSON"),
    ("not an export", "[1, 2, 3]", "not a chat-tui export"),
    ("other format", broken(lambda d: d.update(format="other/2")), "not a chat-tui export"),
    ("no messages", broken(lambda d: d["conversations"][1].pop("messages")), "conversation 2: 'messages' is missing"),
    ("bad role", broken(lambda d: d["conversations"][1]["messages"][0].update(role="wizard")),
     "conversation 2, message 1: 'role' must be one of"),
    ("bad status", broken(lambda d: d["conversations"][1]["messages"][0].update(status="done")), "'status'"),
    ("text not a string", broken(lambda d: d["conversations"][1]["messages"][0].update(text=5)),
     "'text' must be a string, not a number"),
    ("tool call not an object", broken(lambda d: d["conversations"][1]["messages"][0].update(tool_calls=["x"])),
     "a tool call must be an object"),
    ("timestamp not a number", broken(lambda d: d["conversations"][1].update(created_at="yesterday")),
     "'created_at' must be a number"),
    ("NaN", broken(lambda d: d["conversations"][1].update(created_at=float("nan"))), "NaN"),
]


@pytest.mark.parametrize(("text", "needle"), [(t, n) for _, t, n in MALFORMED], ids=[i for i, _, _ in MALFORMED])
def test_a_malformed_file_is_one_line_and_imports_nothing(tmp_path: Path, text: str, needle: str) -> None:
    store = stored(tmp_path)
    try:
        store.create_conversation(title="already here")
    finally:
        store.close()
    path = tmp_path / "import.json"
    path.write_text(text, encoding="utf-8")
    result = run_cli(tmp_path, "import", str(path))
    assert result.returncode == 1
    line = one_line_error(result)
    assert needle in line and "nothing was imported" in line, line
    assert [c["title"] for c in export_all(tmp_path)["conversations"]] == ["already here"]


def test_the_valid_document_of_those_tests_does_import(tmp_path: Path) -> None:
    path = tmp_path / "import.json"
    path.write_text(json.dumps(valid_document()), encoding="utf-8")
    result = run_cli(tmp_path, "import", str(path))
    assert result.returncode == 0, result.stderr
    assert [c["title"] for c in export_all(tmp_path)["conversations"]] == ["first", "second"]


def test_export_usage_errors(tmp_path: Path) -> None:
    seed_everything(tmp_path)
    for args, needle in ((["export"], "Which conversation"), (["export", "1", "--all"], "not both"),
                         (["export", "--all", "--format", "md"], "writes JSON")):
        result = run_cli(tmp_path, *args)
        assert result.returncode == 2 and needle in one_line_error(result)


# -- search -------------------------------------------------------------------------
def test_search_prints_conversation_title_and_snippet(tmp_path: Path) -> None:
    seed_everything(tmp_path)
    result = run_cli(tmp_path, "search", "alfama")
    assert result.returncode == 0, result.stderr
    header, snippet = result.stdout.splitlines()
    assert header.split()[0] == "1" and header.endswith("Trip to Lisbon")
    assert snippet.strip() == "model: Day 1: Alfama."
    data = json.loads(run_cli(tmp_path, "search", "--json", "lisbon").stdout)
    assert [(h["conversation_id"], h["role"]) for h in data] == [(1, "user")]
    assert set(data[0]) == {"conversation_id", "title", "message_id", "role", "snippet", "created_at", "replaced"}
    none = run_cli(tmp_path, "search", "zanzibar")
    assert none.returncode == 0 and none.stdout.startswith("No messages match")
    _, replaced = run_cli(tmp_path, "search", "first try").stdout.splitlines()
    assert replaced.strip() == "model (replaced): the first try, cut"


@pytest.mark.parametrize("query", ['foo"bar', "AND (", "NEAR(", "*", '"', "text:x", "^", "-x OR"])
def test_search_survives_hostile_queries(tmp_path: Path, query: str) -> None:
    seed_everything(tmp_path)
    result = run_cli(tmp_path, "search", "--", query)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_search_output_is_sanitized_on_a_terminal_only(tmp_path: Path) -> None:
    seed_everything(tmp_path)
    piped = run_cli(tmp_path, "search", "partial")
    assert "\x1b[31mred title ✓" in piped.stdout  # the exact title when piped (as `export` does)
    code, shown = run_on_tty(tmp_path, "search", "partial")
    assert code == 0
    assert "␛[31mred title ✓" in shown and "\x1b[31m" not in shown
    assert "\x1b[1mpartial\x1b[22m" in shown  # the match in bold, our only escape codes


# -- the pipe mode of ask -------------------------------------------------------------
def test_stdin_follows_the_prompt(tmp_path: Path) -> None:
    diff = "diff --git a/x.py b/x.py\n+print('hi')\n"
    result = run_cli(tmp_path, "ask", "--provider", "demo", "review this code", input=diff)
    assert result.returncode == 0, result.stderr
    assert result.stdout == CODE + "\n"
    store = stored(tmp_path)
    try:
        (conversation,) = store.list_conversations()
        assert store.messages(conversation.id)[0].text == "review this code\n\n" + diff
        assert conversation.title.startswith("review this code")
    finally:
        store.close()


def test_system_prompt_and_continue(tmp_path: Path, server: SSETestServer) -> None:
    server.queue(*(openai_text_reply([f"answer {n}"]) for n in range(3)))
    base = ["--base-url", server.base_url, "--model", "m"]
    assert run_cli(tmp_path, "ask", *base, "--system", "Answer in French.", "first").returncode == 0
    assert run_cli(tmp_path, "ask", *base, "-c", "second", input="piped part").returncode == 0
    assert run_cli(tmp_path, "ask", *base, "-c", "--system", "Answer in Dutch.", "third").returncode == 0

    def system(request: Any) -> list[str]:
        return [m["content"] for m in request.body["messages"] if m["role"] == "system"]

    first, second, third = server.requests
    assert system(first) == ["Answer in French."]
    assert system(second) == ["Answer in French."]  # the conversation's own, kept by -c
    assert system(third) == ["Answer in Dutch."]  # unless --system says otherwise
    users = [m["content"] for m in third.body["messages"] if m["role"] == "user"]
    assert users == ["first", "second\n\npiped part", "third"]  # one conversation
    store = stored(tmp_path)
    try:
        (conversation,) = store.list_conversations()
        assert conversation.system_prompt == "Answer in French."
    finally:
        store.close()


def test_no_stream_and_raw_print_the_whole_answer(tmp_path: Path) -> None:
    for flags in (["--no-stream"], ["--raw"], ["--no-stream", "--raw"]):
        result = run_cli(tmp_path, "ask", "--provider", "demo", *flags, "compare sorting")
        assert result.returncode == 0, result.stderr
        assert result.stdout == TABLE + "\n"


def test_raw_on_a_terminal_is_the_markdown_itself(tmp_path: Path) -> None:
    code, rendered = run_on_tty(tmp_path, "ask", "--provider", "demo", "write code")
    assert code == 0 and "```" not in rendered and "fetch_all" in rendered
    code, raw = run_on_tty(tmp_path, "ask", "--provider", "demo", "--raw", "write code")
    assert code == 0 and "```python" in raw


class _GatedProvider:
    """Sends the first half of an answer, then waits until it is printed (or
    `wait` seconds) before sending the rest: shows whether `ask` prints while
    the answer is still arriving."""

    name = "demo"
    model = "gated"
    label = "gated"
    supports_prefill = False

    def __init__(self, wait: float) -> None:
        self.printed = asyncio.Event()
        self.wait = wait
        self.sent_all = False

    async def stream(self, request: Any) -> AsyncIterator[Sequence[Any]]:
        from chat_tui.providers.events import Finished, TextDelta

        yield [TextDelta("first half, ")]
        try:
            await asyncio.wait_for(self.printed.wait(), self.wait)
        except TimeoutError:
            pass
        self.sent_all = True
        yield [TextDelta("second half."), Finished("stop")]

    async def aclose(self) -> None:
        pass


class _RecordingOut(io.StringIO):
    def __init__(self, provider: _GatedProvider) -> None:
        super().__init__()
        self.provider = provider
        self.writes: list[tuple[str, bool]] = []

    def write(self, text: str) -> int:
        self.writes.append((text, self.provider.sent_all))
        if text:
            self.provider.printed.set()
        return super().write(text)

    def isatty(self) -> bool:
        return False


@pytest.mark.parametrize("no_stream", [False, True])
async def test_no_stream_prints_only_once_the_answer_is_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_stream: bool
) -> None:
    from chat_tui.cli import _ask, build_parser
    from chat_tui.config import Settings

    provider = _GatedProvider(wait=0.2 if no_stream else 30)
    out = _RecordingOut(provider)
    monkeypatch.setattr(sys, "stdout", out)
    args = build_parser().parse_args(["ask", "--no-tools", *(["--no-stream"] if no_stream else []), "hi"])
    store = Store.open(tmp_path / "chat.sqlite3")
    try:
        assert await _ask(args, Settings(), store, provider, "hi") == 0
    finally:
        store.close()
    assert out.getvalue() == "first half, second half.\n"
    printed_before_the_end = [text for text, sent_all in out.writes if text and not sent_all]
    if no_stream:
        assert printed_before_the_end == []
    else:
        assert printed_before_the_end == ["first half, "]

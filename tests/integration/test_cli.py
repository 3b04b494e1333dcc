"""The `chat-tui` command as a real subprocess: ask, list, export, and every
failure as one clear line on stderr."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from chat_tui.domain import MessageStatus, Role
from chat_tui.providers.demo import CODE, TABLE, WELCOME
from chat_tui.store import Store
from tests.support.cli import cli_env, command, one_line_error, run_cli
from tests.support.sse_server import (
    Reply,
    SSETestServer,
    error_reply,
    openai_chunk,
    openai_text_reply,
    sse,
)


def open_store(data_dir: Path) -> Store:
    return Store.open(data_dir / "chat.sqlite3")


def test_ask_prints_plain_text_when_piped(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "ask", "--provider", "demo", "hello")
    assert result.returncode == 0, result.stderr
    assert result.stdout == WELCOME + "\n"  # the exact text, no Markdown rendering, no escapes
    assert result.stderr == ""
    store = open_store(tmp_path)
    try:
        (conversation,) = store.list_conversations()
        user, answer = store.messages(conversation.id)
        assert (user.role, user.text) == (Role.USER, "hello")
        assert (answer.status, answer.text) == (MessageStatus.COMPLETE, WELCOME)
    finally:
        store.close()


def test_ask_json(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "ask", "--provider", "demo", "--json", "write some python code")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n") == 1  # one JSON object on one line, nothing else
    data = json.loads(result.stdout)
    documented = {"conversation_id", "message_id", "status", "text", "reasoning", "tool_calls",
                  "finish_reason", "usage", "error"}
    assert documented <= set(data), documented - set(data)
    assert data["status"] == "complete" and data["error"] is None
    assert data["text"] == CODE
    assert data["finish_reason"] == "stop"
    assert isinstance(data["conversation_id"], int) and isinstance(data["message_id"], int)
    assert data["usage"]["completion_tokens"] > 0
    store = open_store(tmp_path)
    try:
        message = store.get_message(data["message_id"])
        assert message is not None and message.text == CODE
    finally:
        store.close()


def test_ask_json_reports_the_error(tmp_path: Path, server: SSETestServer) -> None:
    server.queue(error_reply(401, "bad key"))
    result = run_cli(tmp_path, "ask", "--json", "--base-url", server.base_url, "--model", "m", "hi",
                     env={"OPENAI_API_KEY": "sk-wrong"})
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data["status"] == "error" and data["text"] == ""
    assert data["error"]["kind"] == "auth" and "HTTP 401" in data["error"]["message"]


def test_prompt_from_stdin(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "ask", "--provider", "demo", input="please compare\nsorting algorithms\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == TABLE + "\n"
    store = open_store(tmp_path)
    try:
        (conversation,) = store.list_conversations()
        assert store.messages(conversation.id)[0].text == "please compare\nsorting algorithms\n"
        assert conversation.title == "please compare"
    finally:
        store.close()


def test_prompt_from_arguments_and_stdin(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "ask", "--provider", "demo", "Summarise:", input="some document")
    assert result.returncode == 0, result.stderr
    store = open_store(tmp_path)
    try:
        (conversation,) = store.list_conversations()
        assert store.messages(conversation.id)[0].text == "Summarise:\n\nsome document"
    finally:
        store.close()


def test_answer_streams_from_an_openai_compatible_server(tmp_path: Path, server: SSETestServer) -> None:
    server.queue(openai_text_reply(["Streamed ", "over ", "HTTP ✓"]))
    result = run_cli(tmp_path, "ask", "--base-url", server.base_url, "--model", "local-model", "hi")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Streamed over HTTP ✓\n"
    assert server.requests[0].body["model"] == "local-model"
    assert "authorization" not in server.requests[0].headers  # no key given, none sent


def test_401_is_one_line_and_exit_1(tmp_path: Path, server: SSETestServer) -> None:
    server.queue(error_reply(401, "Incorrect API key provided"))
    result = run_cli(tmp_path, "ask", "--base-url", server.base_url, "--model", "m", "hi",
                     env={"OPENAI_API_KEY": "sk-wrong"})
    assert result.returncode == 1
    line = one_line_error(result)
    assert "HTTP 401" in line and "Incorrect API key provided" in line
    assert result.stdout == ""
    assert server.requests[0].headers["authorization"] == "Bearer sk-wrong"


def test_unreachable_server_is_one_line_and_exit_1(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = run_cli(tmp_path, "ask", "--base-url", f"http://127.0.0.1:{port}/v1", "--model", "m", "hi",
                     env={"CHAT_TUI_RETRIES": "0"})
    assert result.returncode == 1
    assert "Cannot connect to http://127.0.0.1:" in one_line_error(result)
    assert result.stdout == ""


def test_interrupted_answer_prints_the_partial_text_and_exits_1(tmp_path: Path, server: SSETestServer) -> None:
    server.queue(Reply(chunks=[sse(openai_chunk("partial ")), sse(openai_chunk("answer"))], drop=True))
    result = run_cli(tmp_path, "ask", "--base-url", server.base_url, "--model", "m", "hi")
    assert result.returncode == 1
    assert result.stdout == "partial answer\n"
    assert "Connection lost" in one_line_error(result)


def test_retries_are_reported_on_stderr(tmp_path: Path, server: SSETestServer) -> None:
    server.queue(error_reply(429, "slow down", {"retry-after": "0"}), openai_text_reply(["ok"]))
    result = run_cli(tmp_path, "ask", "--base-url", server.base_url, "--model", "m", "hi")
    assert result.returncode == 0
    assert result.stdout == "ok\n"
    assert "retry 1/3" in one_line_error(result)


BAD_OPTIONS = [
    (["ask", "--stall-timeout", "soon", "x"], {}, "invalid float value"),
    (["ask", "--stall-timeout", "0", "x"], {}, "stall timeout"),
    (["ask", "--stall-timeout", "-3", "x"], {}, "stall timeout"),
    (["ask", "--provider", "bogus", "x"], {}, "invalid choice"),
    (["ask", "--no-such-option", "x"], {}, "unrecognized arguments"),
    (["ask", "--provider", "demo"], {}, "No prompt"),
    (["ask", "x"], {"CHAT_TUI_RETRIES": "many"}, "CHAT_TUI_RETRIES"),
    (["ask", "x"], {"CHAT_TUI_STALL_TIMEOUT": "nan"}, "stall timeout"),
    (["ask", "--provider", "openai", "x"], {}, "No API key"),
    (["list", "--limit", "ten"], {}, "invalid int value"),
    (["export", "last", "--format", "pdf"], {}, "invalid choice"),
    (["export", "seven"], {}, "not a conversation ID"),
    (["export", "42"], {}, "No conversation 42"),
    (["export", "last"], {}, "no conversations"),
]


@pytest.mark.parametrize(("args", "env", "needle"), [BAD_OPTIONS[i] for i in (0, 6, 12)])
def test_bad_options_are_one_line_and_exit_2(tmp_path: Path, args: list[str], env: dict[str, str], needle: str) -> None:
    result = run_cli(tmp_path, *args, env=env)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert needle in one_line_error(result, prefix="chat-tui")  # "chat-tui: …" or argparse's "chat-tui ask: error: …"
    assert result.stdout == ""


@pytest.mark.parametrize(("args", "env", "needle"), BAD_OPTIONS)
def test_bad_options_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    args: list[str], env: dict[str, str], needle: str,
) -> None:
    # The same cases without a process start each (the subprocess test above
    # covers the interpreter's side: no traceback, the exit code).
    from chat_tui.cli import main

    for key, value in cli_env(tmp_path, env).items():
        monkeypatch.setenv(key, value)
    for key in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(key, raising=False)
    with open(os.devnull) as devnull:
        monkeypatch.setattr(sys, "stdin", devnull)
        try:
            code = main(args)
        except SystemExit as exc:
            code = exc.code
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("chat-tui") and needle in lines[0], captured.err
    assert captured.out == ""


def seed(data_dir: Path, title: str, answer: str, status: MessageStatus = MessageStatus.COMPLETE) -> int:
    """A conversation written through the store, as `ask` would leave it."""
    store = open_store(data_dir)
    try:
        cid = store.create_conversation(provider="demo", model="demo")
        store.add_message(cid, Role.USER, title)
        store.rename_conversation(cid, title)
        mid = store.start_assistant(cid, model="demo", provider="demo")
        store.append(mid, answer)
        failed = status != MessageStatus.COMPLETE
        store.finish(mid, status, error_kind="connection" if failed else None,
                     error_message="Connection lost." if failed else None)
        return cid
    finally:
        store.close()


def test_list(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "list")
    assert result.returncode == 0
    assert result.stdout.startswith("No conversations yet")
    seed(tmp_path, "first question", "one")
    seed(tmp_path, "second \x1b[31mquestion", "two")
    seed(tmp_path, "broken one", "cut", MessageStatus.INTERRUPTED)
    result = run_cli(tmp_path, "list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    assert [line.split()[0] for line in lines] == ["3", "2", "1"]  # newest first
    assert lines[0].endswith("broken one [interrupted]")  # partial answers are marked
    assert lines[1].endswith("second ␛[31mquestion")  # a title never drives the terminal
    assert lines[2].endswith("first question")
    assert "demo" in lines[2]


def test_ask_continue_adds_to_the_last_conversation(tmp_path: Path) -> None:
    cid = seed(tmp_path, "earlier", "earlier answer")
    result = run_cli(tmp_path, "ask", "--provider", "demo", "-c", "and now a table")
    assert result.returncode == 0, result.stderr
    store = open_store(tmp_path)
    try:
        assert [c.id for c in store.list_conversations()] == [cid]
        assert [m.text for m in store.messages(cid)] == ["earlier", "earlier answer", "and now a table", TABLE]
    finally:
        store.close()


def test_export_last_markdown_and_json(tmp_path: Path) -> None:
    seed(tmp_path, "older", "not this one")
    seed(tmp_path, "hello there", "General **Kenobi**")
    md = run_cli(tmp_path, "export", "last", "--format", "md")
    assert md.returncode == 0, md.stderr
    assert md.stdout.startswith("# hello there\n")
    assert "## You\n\nhello there\n" in md.stdout
    assert "## Assistant (demo)\n\nGeneral **Kenobi**\n" in md.stdout
    assert "not this one" not in md.stdout

    js = run_cli(tmp_path, "export", "last", "--format", "json")
    assert js.returncode == 0, js.stderr
    data = json.loads(js.stdout)
    assert data["format"] == "chat-tui/1" and data["title"] == "hello there" and data["id"] == 2
    assert [(m["role"], m["text"], m["status"]) for m in data["messages"]] == [
        ("user", "hello there", "complete"), ("assistant", "General **Kenobi**", "complete")]

    out = tmp_path / "out.json"
    to_file = run_cli(tmp_path, "export", "2", "--format", "json", "-o", str(out))
    assert to_file.returncode == 0 and to_file.stdout == ""
    assert json.loads(out.read_text(encoding="utf-8")) == data


def test_export_keeps_partial_answers_marked(tmp_path: Path) -> None:
    seed(tmp_path, "q", "half an answ", MessageStatus.INTERRUPTED)
    md = run_cli(tmp_path, "export", "last")
    assert md.returncode == 0
    assert "half an answ\n\n> *[interrupted: Connection lost.]*" in md.stdout


def test_markdown_export_shows_the_answer_chosen_and_json_keeps_the_alternatives(tmp_path: Path) -> None:
    cid = seed(tmp_path, "q", "the answer replaced by a regenerated one")
    store = open_store(tmp_path)
    try:
        store.supersede([m.id for m in store.messages(cid) if m.role == Role.ASSISTANT])
        mid = store.start_assistant(cid, model="demo", provider="demo")
        store.append(mid, "the regenerated answer")
        store.finish(mid, MessageStatus.COMPLETE)
    finally:
        store.close()
    md = run_cli(tmp_path, "export", "last")
    assert md.returncode == 0, md.stderr
    assert "the regenerated answer" in md.stdout and "replaced" not in md.stdout
    js = json.loads(run_cli(tmp_path, "export", "last", "--format", "json").stdout)
    assert [(m["text"], m["status"]) for m in js["messages"]] == [
        ("q", "complete"), ("the answer replaced by a regenerated one", "superseded"),
        ("the regenerated answer", "complete")]


def test_export_to_an_unwritable_place_is_one_line(tmp_path: Path) -> None:
    seed(tmp_path, "hi", "there")
    result = run_cli(tmp_path, "export", "last", "-o", str(tmp_path / "missing" / "folder" / "x.md"))
    assert result.returncode == 1
    assert "Cannot write" in one_line_error(result)


def test_reader_going_away_is_quiet(tmp_path: Path) -> None:
    # `chat-tui ask … | head -c 20`: the pipe closes while the answer streams.
    env = cli_env(tmp_path, {"CHAT_TUI_DEMO_SPEED": "400"})
    proc = subprocess.Popen(command("ask", "--provider", "demo", "a long answer please"), env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    head = proc.stdout.read(20)
    proc.stdout.close()
    try:
        code = proc.wait(timeout=30)
    finally:
        proc.kill()
    stderr = proc.stderr.read().decode()
    proc.stderr.close()
    assert "Traceback" not in stderr and "Exception" not in stderr, stderr
    assert code == 141
    store = open_store(tmp_path)
    try:
        (conversation,) = store.list_conversations()
        answer = store.messages(conversation.id)[1]
        assert answer.status == MessageStatus.CANCELLED
        assert answer.text.encode().startswith(head)
    finally:
        store.close()


def test_an_unexpected_error_is_one_line_not_a_traceback(tmp_path, monkeypatch, capsys) -> None:
    """The last resort: a bug anywhere below `main` still ends as one line."""
    from chat_tui import cli

    def broken(*args, **kwargs):
        raise RuntimeError("something\nbroke \x1b[2J here")

    monkeypatch.setenv("CHAT_TUI_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CHAT_TUI_DEBUG", raising=False)
    monkeypatch.setattr(cli, "_run_command", broken)
    assert cli.main(["list"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "RuntimeError: something broke ␛[2J here" in err


def test_ask_on_a_terminal_prints_what_rich_would(tmp_path: Path) -> None:
    """`ask` renders with the app's Markdown (faster code and tables), block by
    block as they end: the same characters and colours as Rich's own Markdown
    of the whole answer, blank lines between blocks included."""
    import io

    from rich.console import Console
    from rich.markdown import Markdown

    from chat_tui.commands.ask import Output

    text = ("# Title\n\nSome **bold** text and `code`.\n\n```python\ndef f(x):\n    return x * 2  # twice\n```\n\n"
            "| a | b |\n|---|--:|\n| 1 | 22 |\n\n- one\n- [a link](https://example.com)\n")

    def console(file: io.StringIO) -> Console:
        return Console(file=file, highlight=False, force_terminal=True, width=80, color_system="truecolor")

    expected = io.StringIO()
    console(expected).print(Markdown(text, hyperlinks=False))
    for piece in (len(text), 7, 1):  # all at once, then streamed: each block printed as it ends
        shown = io.StringIO()
        output = Output(shown, raw=False)
        output.tty = True
        output._console = console(shown)
        for start in range(0, len(text), piece):
            output.write(text[start:start + piece])
        output.finish()
        assert shown.getvalue() == expected.getvalue(), piece

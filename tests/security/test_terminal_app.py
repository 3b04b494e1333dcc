"""The real app in a pseudo-terminal against a loopback server serving hostile output.

One app process takes one prompt per payload (Ctrl+N between them, so each
payload is alone on the screen). For every payload: none of its escape
sequences is in the bytes the app wrote, the screen shows it as inert text,
and the app still runs. Over the whole run: the app wrote no escape
sequence of a kind it never writes itself, no C1 control, no stray control
character. After the app exits, the database holds every answer exactly as
the server sent it.
"""

from __future__ import annotations

import re
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from chat_tui.domain import MessageStatus, Role
from chat_tui.store import Store
from tests.security.conftest import connections, count_payloads
from tests.security.payloads import (
    ANSWERS, ERROR_FORBIDDEN, ERROR_TEXT, ERROR_VISIBLE, TITLE_FORBIDDEN, TITLE_VISIBLE, TITLES, Router, answer_reply,
    http_error, stream_error_reply,
)
from tests.security.terminal import TEXTUAL_SEQUENCES, PtyProcess, chat_tui, pty_env, terminal_problems
from tests.support.sse_server import Reply, SSETestServer, openai_text_reply
from tests.support.tool_replies import Call, openai_tool_reply

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")

READY = "Ask anything"
COLS = 130
RETRY_TEXT = "\x1b]0;retry-R1\x07 \x9b2J [b]MARK-R1[/b]"
TOOL_ARGS = '{"expression": "\x1b]0;tool-arg-T1\x07 \x9b2J"}'  # (raw controls: not even valid JSON)
TOOL_NAME = "\x1b]0;tool-name-T1\x07"


def flat(text: str) -> str:
    """Screen text without borders and line breaks (wrapped lines joined)."""
    return " ".join(re.sub("[\u2500-\u259f]", " ", text).split())


@dataclass
class Case:
    prompt: str
    path: str
    replies: list[Reply]
    done: str
    """On the screen once the turn is over."""
    visible: tuple[str, ...] = ()
    forbidden: tuple[bytes, ...] = ()
    stored: str | None = None
    """The answer text the database must hold."""
    error: str | None = None
    """Text the stored error message must contain."""
    during: str | None = None
    """On the screen while the turn runs (checked with `visible_during`)."""
    visible_during: tuple[str, ...] = ()
    problems: list[str] = field(default_factory=list)
    ran: bool = False
    window: tuple[int, int] = (0, 0)
    """Offsets in the output of what the app wrote from this case's Ctrl+N to the next case's."""


def plan_cases(image_port: int) -> list[Case]:
    cases = []
    for number, payload in enumerate(ANSWERS, 1):
        end = f"END-{number:02d}"
        cases.append(Case(
            f"P{number:02d}", "app: streamed answer (Markdown view)", [answer_reply(payload, f"\n\n{end}", image_port)],
            end, payload.visible, payload.forbidden, stored=payload.stored(image_port) + f"\n\n{end}",
        ))
    cases.append(Case("E01", "app: HTTP error -> banner", [http_error(400, ERROR_TEXT)], "MARKUP-E1",
                      ERROR_VISIBLE, ERROR_FORBIDDEN, stored="", error=ERROR_TEXT))
    cases.append(Case("E02", "app: stream error event -> banner", [stream_error_reply("partial-E2 ", ERROR_TEXT)],
                      "MARKUP-E1", (*ERROR_VISIBLE, "partial-E2"), ERROR_FORBIDDEN, stored="partial-E2 ", error=ERROR_TEXT))
    cases.append(Case("E03", "app: retry countdown label, then banner",
                      [http_error(503, RETRY_TEXT, retry_after="1"), http_error(503, RETRY_TEXT)], "Dismiss",
                      ("␛]0;retry-R1␇ ⍰2J [b]MARK-R1[/b]",), (b"\x1b]0;", b"retry-R1\x07"), stored="", error=RETRY_TEXT,
                      during="retrying in", visible_during=("␛]0;retry-R1␇ ⍰2J [b]MARK-R1[/b]",)))
    cases.append(Case("T01", "app: tool call arguments and tool name",
                      [openai_tool_reply(Call("call_1", "calculator", TOOL_ARGS), Call("call_2", TOOL_NAME, "{}")),
                       openai_text_reply(["tool-done ", "END-T1"])],
                      "END-T1", ("tool-done", "␛]0;tool-name-T1␇(", "␛]0;tool-arg-T1␇ ⍰2J"),
                      (b"\x1b]0;", b"tool-arg-T1\x07", b"tool-name-T1\x07")))
    return cases


def run_case(app: PtyProcess, case: Case) -> None:
    app.write(b"\x0e")  # Ctrl+N: a new, empty conversation
    app.wait_for(lambda p: "New conversation" in p.line(0), "the new conversation")
    app.write(case.prompt.encode())
    app.wait_for(lambda p: case.prompt in p.text, "the typed prompt")
    app.write(b"\r")
    if case.during:
        app.wait_for_text(case.during)
        screen = flat(app.text)
        case.problems += [f"not on the screen while it runs: {v!r}" for v in case.visible_during if flat(v) not in screen]
    app.wait_for(lambda p: case.done in p.text and "Waiting for the model" not in p.text, f"the end of {case.prompt}")
    app.pump(0.1)
    screen = flat(app.text)
    case.problems += [f"not on the screen: {v!r}" for v in case.visible if flat(v) not in screen]
    if not app.alive:
        case.problems.append("the app exited")


def check_store(store: Store, case: Case) -> None:
    ids = [c.id for c in store.list_conversations(500) if c.title == case.prompt]
    if len(ids) != 1:
        case.problems.append(f"expected one conversation titled {case.prompt}, found {len(ids)}")
        return
    answers = [m for m in store.messages(ids[0]) if m.role == Role.ASSISTANT]
    if case.stored is not None and answers[0].text != case.stored:
        case.problems.append(f"stored {answers[0].text[:200]!r}, the server sent {case.stored[:200]!r}")
    if case.error is not None and case.error not in (answers[0].error_message or ""):
        case.problems.append(f"stored error {answers[0].error_message!r} does not hold the server's {case.error!r}")
    if case.prompt == "T01":
        calls = {c.name: c.arguments for m in answers for c in m.tool_calls}
        if calls.get("calculator") != TOOL_ARGS or TOOL_NAME not in calls:
            case.problems.append(f"tool calls not stored as sent: {calls!r}")
        if answers[-1].status != MessageStatus.COMPLETE:
            case.problems.append(f"the tool loop ended {answers[-1].status}")


def test_hostile_output_never_reaches_the_terminal(
    server: SSETestServer, tmp_path: Path, image_sink: socket.socket, request: pytest.FixtureRequest
) -> None:
    cases = plan_cases(image_sink.getsockname()[1])
    router = Router()
    for case in cases:
        router.plan(case.prompt, *case.replies)
    server.responder = router
    data = tmp_path / "data"
    app = PtyProcess(chat_tui("--base-url", server.base_url, "--model", "m"),
                     pty_env(data, {"CHAT_TUI_RETRIES": "1"}), rows=40, cols=COLS)
    try:
        app.wait_for_text(READY, timeout=30)
        start = len(app.output)
        for case in cases:
            case.ran = True
            begin = len(app.output)
            try:
                run_case(app, case)
            except AssertionError as exc:  # the screen is wrong: report what reached the terminal
                case.problems.append(str(exc))
                break
            finally:
                case.window = (begin, len(app.output))
        written_all = bytes(app.output[start:])
        for case, after in zip(cases, [*cases[1:], None]):
            if not case.ran:
                continue
            end = after.window[0] if after is not None and after.ran else len(app.output)
            written = bytes(app.output[case.window[0]:end])
            case.problems += [f"reached the terminal: {m!r}" for m in case.forbidden if m in written]
        problems = terminal_problems(written_all, TEXTUAL_SEQUENCES)
        if not any(c.problems for c in cases):
            app.write(b"\x11")  # Ctrl+Q
            assert app.read_to_end(timeout=15) == 0, app.text
            problems = terminal_problems(bytes(app.output), TEXTUAL_SEQUENCES)
    finally:
        app.close()

    if connections(image_sink):
        problems.append("something fetched an image or opened a link")
    store = Store.open(data / "chat.sqlite3")
    try:
        for case in cases:
            if case.ran:
                check_store(store, case)
    finally:
        store.close()
    for case in cases:
        count_payloads(request.config, case.path, 1)
    failures = [f"whole run: {p}" for p in problems] + [f"{c.prompt} ({c.path}): {p}" for c in cases for p in c.problems]
    assert not failures, "\n".join(failures)


USER_TEXT = "\x1b]0;user-U1\x07 [b]USER-U1[/b] \x9b2J"


def test_hostile_titles_and_saved_messages(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """Saved text comes back on screen as inert as when it streamed: titles in
    the header and the conversation list, a user message, an answer, a banner."""
    data = tmp_path / "data"
    store = Store.open(data / "chat.sqlite3")
    ids = [store.create_conversation(title=title, provider="openai", model="m") for title in TITLES]
    store.add_message(ids[-1], Role.USER, USER_TEXT)
    store.add_message(ids[-1], Role.ASSISTANT, ANSWERS[0].text)
    failed = store.add_message(ids[-1], Role.ASSISTANT, "partial-S1 ")
    store.finish(failed, MessageStatus.ERROR, error_kind="server", error_message=ERROR_TEXT)
    store.close()

    app = PtyProcess(chat_tui("--base-url", "http://127.0.0.1:9/v1", "--model", "m", "--resume", str(ids[-1])),
                     pty_env(data), rows=40, cols=COLS)
    problems = []
    try:
        app.wait_for_text("MARKUP-E1", timeout=30)
        app.pump(0.2)
        screen = flat(app.text)
        expected = (TITLE_VISIBLE[2], "␛]0;user-U1␇ [b]USER-U1[/b] ⍰2J", *ANSWERS[0].visible, *ERROR_VISIBLE)
        problems += [f"not on the chat screen: {v!r}" for v in expected if flat(v) not in screen]
        app.write(b"\x0f")  # Ctrl+O: the conversation list
        app.wait_for_text("Enter open")
        app.pump(0.2)
        screen = flat(app.text)
        problems += [f"not in the conversation list: {v!r}" for v in TITLE_VISIBLE if flat(v) not in screen]
        app.write(b"\x1b")
        app.pump(0.3)
        app.write(b"\x11")
        assert app.read_to_end(timeout=15) == 0, app.text
    finally:
        app.close()
    output = bytes(app.output)
    problems += terminal_problems(output, TEXTUAL_SEQUENCES)
    markers = (*TITLE_FORBIDDEN, *ANSWERS[0].forbidden, *ERROR_FORBIDDEN, b"user-U1\x07")
    problems += [f"reached the terminal: {m!r}" for m in markers if m in output]
    store = Store.open(data / "chat.sqlite3")
    try:
        if [c.title for c in sorted(store.list_conversations(), key=lambda c: c.id)] != TITLES:
            problems.append("the titles changed in the database")
    finally:
        store.close()
    count_payloads(request.config, "app: titles (header, conversation list)", len(TITLES))
    count_payloads(request.config, "app: saved messages and banner", 3)
    assert not problems, "\n".join(problems)

"""kill -9 while an answer streams loses nothing that was printed.

`chat-tui ask` runs as a real process against the loopback server, which
streams slowly; once some of the answer has been printed the process is
killed with SIGKILL. Reopening the store must show every printed character
in the saved answer, marked `interrupted` by crash recovery."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chat_tui.domain import MessageStatus, Role
from chat_tui.store import Store
from tests.support.cli import cli_env, command
from tests.support.sse_server import SSETestServer, openai_text_reply

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")

WORDS = [f"mot{i}·é🙂 " for i in range(2000)]


def read_until(fd: int, count: int, timeout: float) -> bytes:
    """Read from `fd` until `count` bytes arrived (or the process ended, or the time ran out)."""
    data = b""
    deadline = time.monotonic() + timeout
    while len(data) < count and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            piece = os.read(fd, 4096)
            if not piece:
                break
            data += piece
    return data


def read_to_end(fd: int) -> bytes:
    data = b""
    while piece := os.read(fd, 65536):
        data += piece
    return data


@pytest.mark.parametrize("threshold", [1, 300])
def test_sigkill_loses_nothing_that_was_printed(tmp_path: Path, server: SSETestServer, threshold: int) -> None:
    server.responder = lambda request: openai_text_reply(WORDS, delay=0.005)
    proc = subprocess.Popen(
        command("ask", "--base-url", server.base_url, "--model", "m", "tell me everything"),
        env=cli_env(tmp_path), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    try:
        printed = read_until(proc.stdout.fileno(), threshold, timeout=20)
        assert len(printed) >= threshold, (printed, proc.poll(), proc.stderr.read() if proc.poll() is not None else "")
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
        # Whatever it wrote before dying is still in the pipe: that was printed too.
        printed += read_to_end(proc.stdout.fileno())
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()

    text = printed.decode("utf-8")  # strict: no character was cut in two
    full = "".join(WORDS)
    assert full.startswith(text) and 0 < len(text) < len(full)

    store = Store.open(tmp_path / "chat.sqlite3")
    try:
        (conversation,) = store.list_conversations()
        user, answer = store.messages(conversation.id)
        assert (user.role, user.text) == (Role.USER, "tell me everything")
        assert answer.status == MessageStatus.INTERRUPTED
        assert answer.error_kind == "crash"
        assert answer.text.startswith(text), (len(answer.text), len(text))
        assert full.startswith(answer.text)
    finally:
        store.close()


def test_ctrl_c_keeps_the_partial_answer_as_cancelled(tmp_path: Path, server: SSETestServer) -> None:
    server.responder = lambda request: openai_text_reply(WORDS, delay=0.005)
    proc = subprocess.Popen(
        command("ask", "--base-url", server.base_url, "--model", "m", "tell me everything"),
        env=cli_env(tmp_path), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    try:
        printed = read_until(proc.stdout.fileno(), 100, timeout=20)
        assert len(printed) >= 100
        proc.send_signal(signal.SIGINT)
        printed += read_to_end(proc.stdout.fileno())
        assert proc.wait(timeout=10) == 130
        stderr = proc.stderr.read().decode()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert "Traceback" not in stderr
    assert stderr.splitlines() == ["chat-tui: cancelled; the partial answer is saved."]
    text = printed.decode("utf-8").removesuffix("\n")
    store = Store.open(tmp_path / "chat.sqlite3")
    try:
        (conversation,) = store.list_conversations()
        answer = store.messages(conversation.id)[1]
        assert answer.status == MessageStatus.CANCELLED
        assert answer.text == text  # a clean stop: exactly what was printed
    finally:
        store.close()

"""The API key stays in the environment: never on screen, in the database,
exports or error messages, not even when the server echoes it or the app
crashes; the data folder and database files are private to their owner."""

from __future__ import annotations

import os
import secrets
import stat
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from chat_tui.store import Store
from tests.security.conftest import count_payloads
from tests.security.payloads import Payload, Router, answer_reply, http_error, stream_error_reply
from tests.security.terminal import PtyProcess, chat_tui, pty_env, run_in_pty
from tests.support.sse_server import SSETestServer

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals and file modes are POSIX")

CRASH_SCRIPT = """\
from chat_tui.providers import openai_compat

def feed(self, event):
    raise RuntimeError("simulated parser bug")

openai_compat.OpenAIStreamParser.feed = feed
from chat_tui.cli import main
raise SystemExit(main())
"""


def make_key() -> str:
    return f"sk-test-SECRET-{secrets.token_hex(12)}"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def plan_echoes(router: Router, key: str, *prompts: str) -> None:
    """Replies to `prompts`: a normal answer, then errors that quote the key."""
    replies = [
        answer_reply(Payload("ok", ("an answer",)), " done-S"),
        http_error(401, f"Incorrect API key provided: {key}. Check it at https://example.invalid/keys."),
        stream_error_reply("partial ", f"internal error for key {key}"),
    ]
    for prompt, reply in zip(prompts, replies):
        router.plan(prompt, reply)


def test_the_key_never_leaves_the_environment(server: SSETestServer, tmp_path: Path,
                                              request: pytest.FixtureRequest) -> None:
    key = make_key()
    router = Router()
    server.responder = router
    data = tmp_path / "data"
    env = pty_env(data, {"OPENAI_API_KEY": key})
    plan_echoes(router, key, "S1", "S2", "S3")
    outputs: list[bytes] = []

    app = PtyProcess(chat_tui("--base-url", server.base_url, "--model", "m"), env, rows=40, cols=130)
    try:
        app.wait_for_text("Ask anything", timeout=30)
        for prompt, done in (("S1", "done-S"), ("S2", "Incorrect API key"), ("S3", "internal error")):
            app.write(b"\x0e")
            app.wait_for(lambda p: "New conversation" in p.line(0), "a new conversation")
            app.write(prompt.encode())
            app.wait_for_text(prompt)
            app.write(b"\r")
            app.wait_for_text(done)
            if prompt == "S1":  # while the app runs: the folder, the database and its -wal and -shm
                assert mode(data) == 0o700
                files = sorted(p.name for p in data.iterdir())
                assert {"chat.sqlite3", "chat.sqlite3-wal", "chat.sqlite3-shm"} <= set(files), files
                assert {p.name: mode(p) for p in data.iterdir()} == {name: 0o600 for name in files}
        app.pump(0.3)
        app.write(b"\x11")
        assert app.read_to_end(timeout=15) == 0
    finally:
        app.close()
    outputs.append(bytes(app.output))

    plan_echoes(router, key, "S4", "S5", "S6")
    ask = ("ask", "--base-url", server.base_url, "--model", "m")
    commands = [(*ask, "S4"), (*ask, "S5"), (*ask, "S6"), (*ask, "--json", "S5"), (*ask, "--raw", "S4")]
    commands += [("list",), ("export", "last"), ("export", "1", "--format", "json")]
    commands += [("export", str(number + 2), "--format", fmt, "-o", str(tmp_path / f"export.{fmt}"))
                 for number, fmt in enumerate(("md", "json"))]
    with ThreadPoolExecutor(4) as pool:
        outputs += [output for _, output, _ in pool.map(lambda args: run_in_pty(chat_tui(*args), env), commands)]

    # The key was really sent to the server (so it could have leaked) ...
    assert all(r.headers.get("authorization") == f"Bearer {key}" for r in server.requests)
    assert len(server.requests) >= 8
    leaks = [f"terminal output #{n}" for n, out in enumerate(outputs) if key.encode() in out]
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "chat.sqlite3" for p in files) and len([p for p in files if "export" in p.name]) == 2
    leaks += [str(p.relative_to(tmp_path)) for p in files if key.encode() in p.read_bytes()]
    count_payloads(request.config, "secrets: server errors echoing the key (app, ask)", 4)
    assert not leaks, f"the API key leaked into: {leaks}"
    # ... and the server's echoes of it were shown, masked.
    assert any(b"Incorrect API key provided: ********" in out for out in outputs)


def test_a_crash_report_does_not_show_the_key(server: SSETestServer, tmp_path: Path) -> None:
    """Textual's own crash report prints the locals of every frame; ours prints one
    line, and its traceback file has no locals: the key is in neither."""
    key = make_key()
    router = Router()
    server.responder = router
    router.plan("C1", answer_reply(Payload("any", ("text",)), ""))
    script = tmp_path / "crash.py"
    script.write_text(CRASH_SCRIPT)
    app = PtyProcess([sys.executable, str(script), "--base-url", server.base_url, "--model", "m"],
                     pty_env(tmp_path / "data", {"OPENAI_API_KEY": key}), rows=40, cols=130)
    try:
        app.wait_for_text("Ask anything", timeout=30)
        app.write(b"C1")
        app.wait_for_text("C1")
        app.write(b"\r")
        code = app.read_to_end(timeout=30)
    finally:
        app.close()
    output = bytes(app.output)
    assert code != 0
    assert b"simulated parser bug" in output and b"Traceback" not in output
    assert server.requests[0].headers.get("authorization") == f"Bearer {key}"
    assert key.encode() not in output
    logs = list((tmp_path / "data").glob("crash-*.log"))
    assert len(logs) == 1
    report = logs[0].read_bytes()
    assert b"simulated parser bug" in report and key.encode() not in report


def test_data_folder_and_database_files_are_private(tmp_path: Path) -> None:
    old = os.umask(0)  # the most permissive umask: the modes must not depend on it
    try:
        path = tmp_path / "new" / "data" / "chat.sqlite3"
        store = Store.open(path)
        store.create_conversation(title="t")
        modes = {p.name: mode(p) for p in path.parent.iterdir()}
        store.close()
        # A database left readable by others (an older version, a copy) is made private again.
        loose = tmp_path / "loose" / "chat.sqlite3"
        Store.open(loose).close()
        loose.chmod(0o644)
        for suffix in ("-wal", "-shm"):
            Path(f"{loose}{suffix}").unlink(missing_ok=True)
        store = Store.open(loose)
        store.create_conversation(title="t")
        loose_modes = {p.name: mode(p) for p in loose.parent.iterdir()}
        store.close()
    finally:
        os.umask(old)
    assert mode(path.parent) == 0o700
    assert modes == {"chat.sqlite3": 0o600, "chat.sqlite3-wal": 0o600, "chat.sqlite3-shm": 0o600}
    assert loose_modes == {"chat.sqlite3": 0o600, "chat.sqlite3-wal": 0o600, "chat.sqlite3-shm": 0o600}

"""The SQLite store, on a real file: writes, statuses, recovery, permissions."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from chat_tui.domain import MessageStatus, Role, ToolCall
from chat_tui.errors import StoreError
from chat_tui.store import Store
from chat_tui.store.schema import SCHEMA_VERSION


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "chat.sqlite3"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    s = Store.open(db_path)
    yield s
    s.close()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_create_append_finish_round_trip(store: Store) -> None:
    cid = store.create_conversation(provider="openai", model="m", system_prompt="be brief", title="T")
    uid = store.add_message(cid, Role.USER, "question?")
    mid = store.start_assistant(cid, model="m", provider="openai")
    started = store.get_message(mid)
    assert started is not None and started.status == MessageStatus.STREAMING and started.text == ""

    store.append(mid, "Hel")
    store.append(mid, "lo ", "thinking…")
    store.append(mid, "wörld 🎉", " more")
    store.finish(mid, MessageStatus.COMPLETE, finish_reason="stop", usage={"completion_tokens": 3},
                 ttft_ms=12, duration_ms=34)

    messages = store.messages(cid)
    assert [m.id for m in messages] == [uid, mid]
    assert [m.role for m in messages] == [Role.USER, Role.ASSISTANT]
    answer = messages[1]
    assert answer.text == "Hello wörld 🎉"
    assert answer.reasoning == "thinking… more"
    assert answer.status == MessageStatus.COMPLETE
    assert (answer.finish_reason, answer.usage, answer.ttft_ms, answer.duration_ms) == (
        "stop", {"completion_tokens": 3}, 12, 34)
    assert answer.error_kind is None and answer.model == "m" and answer.provider == "openai"

    conversation = store.get_conversation(cid)
    assert conversation is not None
    assert (conversation.title, conversation.model, conversation.system_prompt) == ("T", "m", "be brief")
    assert conversation.message_count == 2
    assert conversation.last_status == MessageStatus.COMPLETE
    assert store.last_conversation_id() == cid


def test_append_is_committed_when_it_returns(store: Store, db_path: Path) -> None:
    cid = store.create_conversation()
    mid = store.start_assistant(cid)
    # A second, independent connection (as another process would have) sees
    # each piece as soon as append returns. (Store(...) directly: Store.open
    # would run crash recovery on this process's own streaming row.)
    other = Store(db_path, sqlite3.connect(db_path))
    try:
        seen = ""
        for piece in ("one ", "two ", "three ✓"):
            store.append(mid, piece)
            message = other.get_message(mid)
            assert message is not None
            assert message.text == seen + piece
            seen = message.text
        assert message.status == MessageStatus.STREAMING
    finally:
        other.close()


@pytest.mark.parametrize("status", [MessageStatus.CANCELLED, MessageStatus.INTERRUPTED, MessageStatus.ERROR])
def test_failed_statuses_keep_text_and_error(store: Store, status: MessageStatus) -> None:
    cid = store.create_conversation()
    mid = store.start_assistant(cid)
    store.append(mid, "partial")
    store.finish(mid, status, error_kind="connection", error_message="Connection lost.")
    message = store.get_message(mid)
    assert message is not None
    assert (message.status, message.text, message.error_kind, message.error_message) == (
        status, "partial", "connection", "Connection lost.")
    assert store.list_conversations()[0].last_status == status


def test_resume_and_dismiss(store: Store) -> None:
    cid = store.create_conversation()
    mid = store.start_assistant(cid)
    store.append(mid, "part")
    store.finish(mid, MessageStatus.INTERRUPTED, error_kind="stall", error_message="stalled")
    store.resume_streaming(mid)
    resumed = store.get_message(mid)
    assert resumed is not None
    assert (resumed.status, resumed.error_kind, resumed.text) == (MessageStatus.STREAMING, None, "part")
    store.finish(mid, MessageStatus.CANCELLED, error_kind="cancelled")
    store.dismiss_error(mid)
    dismissed = store.get_message(mid)
    assert dismissed is not None and dismissed.status == MessageStatus.COMPLETE


def test_tool_calls_round_trip_and_delete_cascades(store: Store) -> None:
    cid = store.create_conversation()
    mid = store.start_assistant(cid)
    calls = [ToolCall("call_1", "get_time", '{"tz": "UTC"}', result="12:00", status="ok", duration_ms=5),
             ToolCall("srv_1", "web_search", "{}", server=True)]
    store.set_tool_calls(mid, calls)
    message = store.get_message(mid)
    assert message is not None and message.tool_calls == calls
    store.delete_conversation(cid)
    assert store.get_message(mid) is None
    assert store.get_conversation(cid) is None


def test_crash_recovery_marks_rows_of_a_dead_process_interrupted(db_path: Path, tmp_path: Path) -> None:
    # A real other process starts an answer, writes part of it, and dies
    # without finishing (os._exit: no cleanup, as with kill -9).
    script = (
        "import os, sys\n"
        "from chat_tui.store import Store\n"
        "s = Store.open(sys.argv[1])\n"
        "cid = s.create_conversation()\n"
        "mid = s.start_assistant(cid)\n"
        "s.append(mid, 'written before the crash ✓')\n"
        "print(mid, flush=True)\n"
        "os._exit(9)\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(db_path)], check=False, capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 9, result.stderr
    mid = int(result.stdout)

    store = Store.open(db_path)
    try:
        message = store.get_message(mid)
        assert message is not None
        assert message.status == MessageStatus.INTERRUPTED
        assert message.error_kind == "crash"
        assert message.text == "written before the crash ✓"
        assert store.recover_interrupted() == 0
    finally:
        store.close()


def test_crash_recovery_leaves_rows_of_a_live_process_alone(store: Store, db_path: Path) -> None:
    cid = store.create_conversation()
    mid = store.start_assistant(cid)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with contextlib.closing(sqlite3.connect(db_path)) as raw:
            raw.execute("UPDATE messages SET owner_pid = ? WHERE id = ?", (other.pid, mid))
            raw.commit()
        assert store.recover_interrupted() == 0
        message = store.get_message(mid)
        assert message is not None and message.status == MessageStatus.STREAMING
    finally:
        other.kill()
        other.wait()
    assert store.recover_interrupted() == 1
    message = store.get_message(mid)
    assert message is not None and message.status == MessageStatus.INTERRUPTED


def test_a_row_left_streaming_under_our_own_pid_is_recovered(store: Store, db_path: Path) -> None:
    """pids are reused (in a container the app often gets the same one): a row
    left by an earlier process with our pid is not mistaken for a live one."""
    cid = store.create_conversation()
    mid = store.start_assistant(cid)
    store.append(mid, "left by an earlier process")
    with contextlib.closing(sqlite3.connect(db_path)) as raw:
        raw.execute("UPDATE messages SET owner_pid = ? WHERE id = ?", (os.getpid(), mid))
        raw.commit()
    assert store.recover_interrupted() == 1
    message = store.get_message(mid)
    assert message is not None and message.status == MessageStatus.INTERRUPTED
    assert message.text == "left by an earlier process"


def test_file_and_folder_modes(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        folder = tmp_path / "new" / "data"
        path = folder / "chat.sqlite3"
        store = Store.open(path)
        try:
            cid = store.create_conversation()
            store.append(store.start_assistant(cid), "x")
            assert mode(folder) == 0o700
            assert mode(path) == 0o600
            for suffix in ("-wal", "-shm"):
                extra = path.with_name(path.name + suffix)
                assert extra.exists(), suffix
                assert mode(extra) == 0o600, suffix
        finally:
            store.close()
    finally:
        os.umask(old)


def test_wal_mode_and_schema_version(store: Store, db_path: Path) -> None:
    with contextlib.closing(sqlite3.connect(db_path)) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"conversations", "messages"} <= tables


def test_reopening_keeps_data_and_does_not_migrate_again(db_path: Path) -> None:
    store = Store.open(db_path)
    cid = store.create_conversation(title="kept")
    store.close()
    again = Store.open(db_path)
    try:
        conversation = again.get_conversation(cid)
        assert conversation is not None and conversation.title == "kept"
        assert again.warnings == []
    finally:
        again.close()


def test_database_from_a_newer_version_is_refused(db_path: Path) -> None:
    Store.open(db_path).close()
    with contextlib.closing(sqlite3.connect(db_path)) as raw:
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        raw.commit()
    with pytest.raises(StoreError) as info:
        Store.open(db_path)
    assert "newer" in str(info.value) and "\n" not in str(info.value)


def test_corrupt_file_is_moved_aside_and_kept(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    garbage = b"this is not a database\x00" * 100
    db_path.write_bytes(garbage)
    store = Store.open(db_path)
    try:
        assert len(store.warnings) == 1 and "damaged" in store.warnings[0]
        asides = [p for p in db_path.parent.iterdir() if p.name.startswith("chat.sqlite3.corrupt-")]
        assert len(asides) == 1
        assert asides[0].read_bytes() == garbage
        assert asides[0].name in store.warnings[0]
        # The new database works.
        cid = store.create_conversation(title="fresh")
        assert [c.id for c in store.list_conversations()] == [cid]
        assert mode(db_path) == 0o600
    finally:
        store.close()


@contextlib.contextmanager
def read_only_database() -> Iterator[Path]:
    """A database this process can read but not write, even when it runs as root."""
    folder = Path(tempfile.mkdtemp(prefix="chat-tui-ro-"))
    try:
        folder.chmod(0o755)
        path = folder / "chat.sqlite3"
        store = Store.open(path)
        store.create_conversation(title="old")
        store.close()
        path.chmod(0o444)
        if os.geteuid() != 0:
            folder.chmod(0o555)
            try:
                yield path
            finally:
                folder.chmod(0o755)
            return
        try:
            os.seteuid(65534)  # root ignores permissions: become nobody for the test
        except OSError:
            pytest.skip("running as root without the right to drop privileges")
        try:
            yield path
        finally:
            os.seteuid(0)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_read_only_database_gives_a_clear_store_error() -> None:
    with read_only_database() as path:
        with pytest.raises(StoreError) as info:
            store = Store.open(path)
            store.create_conversation()  # reached only if opening did not notice
        message = str(info.value)
    assert "read-only" in message
    assert str(path) in message
    assert "\n" not in message and "Traceback" not in message


def test_read_only_database_in_the_cli_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from chat_tui.cli import main

    with read_only_database() as path:
        code = main(["list", "--data-dir", str(path.parent)])
    captured = capsys.readouterr()
    assert code == 1
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("chat-tui: ") and "read-only" in lines[0]
    assert "Traceback" not in captured.err


def test_errors_after_close_are_store_errors(db_path: Path) -> None:
    store = Store.open(db_path)
    cid = store.create_conversation()
    store.close()
    with pytest.raises(StoreError) as info:
        store.add_message(cid, Role.USER, "x")
    assert str(info.value).endswith("closed database.")


def test_answer_totals_are_what_the_messages_add_up_to(store: Store) -> None:
    """Counted by the database, as `conversation_totals` counts them from the messages."""
    import random

    from chat_tui.ui.widgets.message_view import conversation_totals, totals_line

    rng = random.Random(4)
    usages = [None, {}, {"prompt_tokens": 10, "completion_tokens": 3}, {"input_tokens": 7, "output_tokens": 2},
              {"prompt_tokens": "12", "completion_tokens": 1.5}, {"prompt_tokens": None, "input_tokens": 9},
              {"prompt_tokens": 5, "input_tokens": 99, "output_tokens": 4}, {"completion_tokens": True},
              {"total_tokens": 40}, {"prompt_tokens": 2**40, "completion_tokens": 1}]
    cid = store.create_conversation(provider="p", model="m", title="t")
    for _ in range(60):
        store.add_message(cid, Role.USER, "q")
        mid = store.start_assistant(cid)
        store.finish(mid, rng.choice(list(MessageStatus)), usage=rng.choice(usages))
        if rng.random() < 0.2:
            store.supersede([mid])
        if rng.random() < 0.2:
            store.add_message(cid, Role.TOOL, "result", tool_call_id="c1")
    messages = store.messages(cid)
    assert totals_line(*store.answer_totals(cid)) == conversation_totals(messages)
    answers, prompt, completion = store.answer_totals(cid)
    assert answers > 20 and prompt > 2**40 and completion > 0
    other = store.create_conversation(provider="p", model="m", title="empty")
    assert store.answer_totals(other) == (0, 0, 0)


def test_turn_messages_start_at_the_last_question(store: Store) -> None:
    cid = store.create_conversation(provider="p", model="m", title="t")
    assert store.turn_messages(cid) == []
    ids = [store.add_message(cid, Role.USER, "first"), store.add_message(cid, Role.ASSISTANT, "a")]
    ids += [store.add_message(cid, Role.USER, "second"), store.add_message(cid, Role.ASSISTANT, "b"),
            store.add_message(cid, Role.TOOL, "r", tool_call_id="c"), store.add_message(cid, Role.ASSISTANT, "c")]
    assert [m.id for m in store.turn_messages(cid)] == ids[2:]
    edited = store.add_message(cid, Role.USER, "third")
    store.supersede([edited])  # (a question taken back: the one before is the last)
    assert [m.id for m in store.turn_messages(cid)] == [*ids[2:], edited]

"""The local SQLite store: conversations and messages, written while they stream.

An assistant message row exists from the moment its request starts
(`start_assistant`, status `streaming`); every batch of text is committed with
`append` *before* it is handed to whoever shows it, so a crash or `kill -9`
loses nothing that was on screen. When the store opens, rows left `streaming`
by a process that is gone become `interrupted`.

WAL mode with `synchronous=NORMAL`: a commit survives the process being killed
(it is in the WAL file once `append` returns) and costs tens of microseconds.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from chat_tui.domain import ChatMessage, Conversation, MessageStatus, Role, ToolCall
from chat_tui.errors import StoreError
from chat_tui.store.schema import MIGRATIONS, SCHEMA_VERSION
from chat_tui.store.search import SearchMixin
from chat_tui.store.transfer import TransferMixin

_MESSAGE_COLUMNS = (
    "id, conversation_id, role, text, reasoning, tool_calls, tool_call_id, status, model, provider, "
    "error_kind, error_message, finish_reason, usage, ttft_ms, duration_ms, created_at, updated_at, attempt, prior_status"
)


def _row_to_message(row: tuple[Any, ...]) -> ChatMessage:
    (mid, cid, role, text, reasoning, tool_calls, tool_call_id, status, model, provider,
     error_kind, error_message, finish_reason, usage, ttft, duration, created, updated, attempt, prior) = row
    return ChatMessage(
        id=mid,
        conversation_id=cid,
        role=Role(role),
        text=text,
        reasoning=reasoning,
        tool_calls=[ToolCall.from_dict(d) for d in json.loads(tool_calls)] if tool_calls else [],
        tool_call_id=tool_call_id,
        status=MessageStatus(status),
        model=model,
        provider=provider,
        error_kind=error_kind,
        error_message=error_message,
        finish_reason=finish_reason,
        usage=json.loads(usage) if usage else None,
        ttft_ms=ttft,
        duration_ms=duration,
        created_at=created,
        updated_at=updated,
        attempt=attempt,
        prior_status=MessageStatus(prior) if prior else None,
    )


def _pid_alive(pid: int | None) -> bool:
    # Our own pid counts as gone: recovery runs when the store is opened, before
    # this process streams anything, so a message left streaming under our pid
    # was left by an earlier process that had the same pid (pids are reused; in
    # a container the app often gets the same one every time).
    if not pid or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _describe(exc: sqlite3.Error, path: Path) -> str:
    text = str(exc)
    if "readonly" in text or "read-only" in text:
        return f"The database {path} is read-only: check its permissions (nothing was changed)."
    if "locked" in text or "busy" in text:
        return f"The database {path} is locked by another program: close it and try again."
    if "disk is full" in text or "full" in text:
        return f"The disk holding {path} is full: free some space (nothing was lost)."
    if "unable to open" in text:
        return f"Cannot open the database {path}: check that the folder exists and is writable."
    return f"Database error in {path}: {text.rstrip('.')}."


def _owner_only(path: Path) -> None:
    """The database and its -wal and -shm files readable by their owner only,
    also when an older file was looser. (SQLite creates -wal and -shm with the
    database file's mode, so they follow it.)"""
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            if os.stat(file).st_mode & 0o077:
                os.chmod(file, 0o600)
        except OSError:
            pass


class Store(SearchMixin, TransferMixin):
    """Conversations and messages in one SQLite file."""

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self._db = connection
        self.warnings: list[str] = []

    # -- opening ------------------------------------------------------------------
    @classmethod
    def open(cls, path: Path | str) -> Store:
        """Open (creating if needed) the store at `path`.

        The folder is created 0700 and the file 0600. A file that is not a
        database is moved aside (never deleted) and a new one started; the
        store's `warnings` then say so.
        """
        path = Path(path)
        warnings: list[str] = []
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not path.exists():
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        except OSError as exc:
            raise StoreError(f"Cannot create the database {path}: {exc.strerror or exc}.") from None
        _owner_only(path)
        try:
            connection = cls._connect(path)
        except sqlite3.DatabaseError as exc:
            if "not a database" not in str(exc) and "malformed" not in str(exc):
                raise StoreError(_describe(exc, path)) from None
            aside = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
            try:
                os.replace(path, aside)
                for suffix in ("-wal", "-shm"):
                    extra = path.with_name(path.name + suffix)
                    if extra.exists():
                        os.replace(extra, aside.with_name(aside.name + suffix))
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
                connection = cls._connect(path)
            except (OSError, sqlite3.Error) as exc2:
                raise StoreError(f"The database {path} is damaged and could not be moved aside: {exc2}.") from None
            warnings.append(f"The database was damaged; it was kept as {aside.name} and a new one was started.")
        store = cls(path, connection)
        store.warnings = warnings
        store.recover_interrupted()
        return store

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=5.0)
        try:
            db.execute("PRAGMA foreign_keys = ON")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            while version < SCHEMA_VERSION:
                # Another process may be migrating the same file at this moment:
                # take the write lock first, then look at the version again.
                db.execute("BEGIN IMMEDIATE")
                version = db.execute("PRAGMA user_version").fetchone()[0]
                if version < SCHEMA_VERSION:
                    _run_script(db, MIGRATIONS[version])
                    version += 1
                    db.execute(f"PRAGMA user_version = {version}")
                db.execute("COMMIT")
            if version > SCHEMA_VERSION:
                raise StoreError(f"The database {path} was written by a newer chat-tui (schema {version}); upgrade chat-tui.")
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            try:  # (in_transaction itself raises once the connection is closed)
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            raise StoreError(_describe(exc, self.path)) from None

    def recover_interrupted(self) -> int:
        """Mark messages left `streaming` by a process that is gone as `interrupted`."""
        with self._errors():
            rows = self._db.execute("SELECT id, owner_pid FROM messages WHERE status = 'streaming'").fetchall()
            stale = [mid for mid, pid in rows if not _pid_alive(pid)]
            for mid in stale:
                self._db.execute("BEGIN IMMEDIATE")
                self._fold_chunks(mid)
                self._db.execute(
                    "UPDATE messages SET status = 'interrupted', error_kind = 'crash', "
                    "error_message = 'chat-tui stopped while the answer was streaming.', owner_pid = NULL, "
                    "chars_received = length(text) WHERE id = ?",
                    (mid,),
                )
                self._db.execute("COMMIT")
            return len(stale)

    def _fold_chunks(self, message_id: int) -> None:
        """Move a message's streamed chunks into its row (inside the caller's transaction)."""
        chunks = self._db.execute(
            "SELECT text, reasoning FROM message_chunks WHERE message_id = ? ORDER BY seq", (message_id,)
        ).fetchall()
        if not chunks:
            return
        text = "".join(c[0] for c in chunks)
        reasoning = "".join(c[1] for c in chunks)
        self._db.execute(
            "UPDATE messages SET text = text || ?, reasoning = reasoning || ? WHERE id = ?", (text, reasoning, message_id)
        )
        self._db.execute("DELETE FROM message_chunks WHERE message_id = ?", (message_id,))

    def _with_chunks(self, messages: list[ChatMessage]) -> list[ChatMessage]:
        """Add the not yet folded chunks of streaming (or crashed) messages."""
        open_ids = [m.id for m in messages if m.status == MessageStatus.STREAMING]
        if not open_ids:
            return messages
        marks = ",".join("?" * len(open_ids))
        rows = self._db.execute(
            f"SELECT message_id, text, reasoning FROM message_chunks WHERE message_id IN ({marks}) ORDER BY seq",
            open_ids,
        ).fetchall()
        by_id = {m.id: m for m in messages}
        for message_id, text, reasoning in rows:
            message = by_id[message_id]
            message.text += text
            message.reasoning += reasoning
        return messages

    # -- conversations ------------------------------------------------------------
    def create_conversation(self, *, provider: str = "", model: str = "", system_prompt: str = "", title: str = "") -> int:
        now = time.time()
        with self._errors():
            cur = self._db.execute(
                "INSERT INTO conversations (title, created_at, updated_at, provider, model, system_prompt) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (title, now, now, provider, model, system_prompt),
            )
            return int(cur.lastrowid or 0)

    def get_conversation(self, conversation_id: int) -> Conversation | None:
        rows = self.list_conversations(where="c.id = ?", params=(conversation_id,))
        return rows[0] if rows else None

    def list_conversations(self, limit: int = 200, *, where: str = "1", params: tuple[Any, ...] = ()) -> list[Conversation]:
        sql = f"""
            SELECT c.id, c.title, c.created_at, c.updated_at, c.provider, c.model, c.system_prompt,
                   (SELECT status FROM messages m WHERE m.conversation_id = c.id AND m.role = 'assistant'
                    ORDER BY m.id DESC LIMIT 1),
                   (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id)
            FROM conversations c WHERE {where} ORDER BY c.updated_at DESC, c.id DESC LIMIT ?
        """
        with self._errors():
            rows = self._db.execute(sql, (*params, limit)).fetchall()
        return [
            Conversation(
                id=r[0], title=r[1], created_at=r[2], updated_at=r[3], provider=r[4], model=r[5],
                system_prompt=r[6], last_status=MessageStatus(r[7]) if r[7] else None, message_count=r[8],
            )
            for r in rows
        ]

    def last_conversation_id(self) -> int | None:
        with self._errors():
            row = self._db.execute("SELECT id FROM conversations ORDER BY updated_at DESC, id DESC LIMIT 1").fetchone()
        return int(row[0]) if row else None

    def rename_conversation(self, conversation_id: int, title: str) -> None:
        with self._errors():
            self._db.execute("UPDATE conversations SET title = ? WHERE id = ?", (title, conversation_id))

    def delete_conversation(self, conversation_id: int) -> None:
        with self._errors():
            self._db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))

    def touch_conversation(self, conversation_id: int, *, provider: str | None = None, model: str | None = None) -> None:
        with self._errors():
            self._db.execute(
                "UPDATE conversations SET updated_at = ?, provider = COALESCE(?, provider), model = COALESCE(?, model) "
                "WHERE id = ?",
                (time.time(), provider, model, conversation_id),
            )

    # -- messages -----------------------------------------------------------------
    def add_message(
        self,
        conversation_id: int,
        role: Role,
        text: str = "",
        *,
        status: MessageStatus = MessageStatus.COMPLETE,
        model: str = "",
        provider: str = "",
        tool_calls: list[ToolCall] | None = None,
        tool_call_id: str | None = None,
    ) -> int:
        now = time.time()
        owner = os.getpid() if status == MessageStatus.STREAMING else None
        calls = json.dumps([c.to_dict() for c in tool_calls]) if tool_calls else None
        with self._errors():
            cur = self._db.execute(
                "INSERT INTO messages (conversation_id, role, text, tool_calls, tool_call_id, status, model, provider, "
                "chars_received, owner_pid, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (conversation_id, role.value, text, calls, tool_call_id, status.value, model, provider,
                 len(text), owner, now, now),
            )
            self._db.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (now, conversation_id))
            return int(cur.lastrowid or 0)

    def start_assistant(
        self, conversation_id: int, *, model: str = "", provider: str = "", attempt: int | None = None
    ) -> int:
        """The assistant row for a request that is starting (status `streaming`).

        `attempt`: the attempt this round belongs to (the id of its first
        message); by default the row starts an attempt of its own."""
        message_id = self.add_message(
            conversation_id, Role.ASSISTANT, status=MessageStatus.STREAMING, model=model, provider=provider
        )
        with self._errors():
            self._db.execute("UPDATE messages SET attempt = ? WHERE id = ?", (attempt or message_id, message_id))
        return message_id

    def append(self, message_id: int, text: str = "", reasoning: str = "") -> None:
        """Append streamed text and commit it: call before the text is shown.

        One small row per call, so the cost does not grow with the answer."""
        with self._errors():
            self._db.execute(
                "INSERT INTO message_chunks (message_id, text, reasoning) VALUES (?, ?, ?)", (message_id, text, reasoning)
            )

    def set_tool_calls(self, message_id: int, tool_calls: list[ToolCall]) -> None:
        with self._errors():
            self._db.execute(
                "UPDATE messages SET tool_calls = ?, updated_at = ? WHERE id = ?",
                (json.dumps([c.to_dict() for c in tool_calls]), time.time(), message_id),
            )

    def resume_streaming(self, message_id: int) -> None:
        """A partial answer is being continued: back to `streaming`."""
        with self._errors():
            self._db.execute(
                "UPDATE messages SET status = 'streaming', error_kind = NULL, error_message = NULL, "
                "owner_pid = ?, updated_at = ? WHERE id = ?",
                (os.getpid(), time.time(), message_id),
            )

    def finish(
        self,
        message_id: int,
        status: MessageStatus,
        *,
        error_kind: str | None = None,
        error_message: str | None = None,
        finish_reason: str | None = None,
        usage: dict[str, Any] | None = None,
        ttft_ms: int | None = None,
        duration_ms: int | None = None,
    ) -> None:
        with self._errors():
            self._db.execute("BEGIN IMMEDIATE")
            self._fold_chunks(message_id)
            self._db.execute(
                "UPDATE messages SET status = ?, error_kind = ?, error_message = ?, "
                "finish_reason = COALESCE(?, finish_reason), usage = COALESCE(?, usage), "
                "ttft_ms = COALESCE(?, ttft_ms), duration_ms = ?, owner_pid = NULL, chars_received = length(text), "
                "updated_at = ? WHERE id = ?",
                (status.value, error_kind, error_message, finish_reason, json.dumps(usage) if usage else None,
                 ttft_ms, duration_ms, time.time(), message_id),
            )
            self._db.execute("COMMIT")

    def supersede(self, message_ids: list[int], *, restore: tuple[int, ...] | list[int] = ()) -> None:
        """Retire `message_ids` (kept, status `superseded`, their status remembered)
        and bring `restore` back with the status they had, in one transaction."""
        with self._errors():
            self._db.execute("BEGIN IMMEDIATE")
            for message_id in message_ids:
                self._fold_chunks(message_id)
                self._db.execute(
                    "UPDATE messages SET prior_status = CASE status WHEN 'streaming' THEN 'interrupted' "
                    "ELSE status END, status = 'superseded', owner_pid = NULL, "
                    "chars_received = length(text) WHERE id = ? AND status != 'superseded'",
                    (message_id,),
                )
            for message_id in restore:
                self._db.execute(
                    "UPDATE messages SET status = COALESCE(prior_status, 'complete'), prior_status = NULL "
                    "WHERE id = ? AND status = 'superseded'",
                    (message_id,),
                )
            self._db.execute("COMMIT")

    def dismiss_error(self, message_id: int) -> None:
        """Keep a partial answer but stop showing its banner."""
        with self._errors():
            self._db.execute(
                "UPDATE messages SET status = 'complete', updated_at = ? WHERE id = ? AND status IN ('cancelled', 'interrupted')",
                (time.time(), message_id),
            )

    def get_message(self, message_id: int) -> ChatMessage | None:
        with self._errors():
            row = self._db.execute(f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE id = ?", (message_id,)).fetchone()
            return self._with_chunks([_row_to_message(row)])[0] if row else None

    def messages(self, conversation_id: int) -> list[ChatMessage]:
        with self._errors():
            rows = self._db.execute(
                f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ? ORDER BY id", (conversation_id,)
            ).fetchall()
            return self._with_chunks([_row_to_message(r) for r in rows])

    def turn_messages(self, conversation_id: int) -> list[ChatMessage]:
        """The conversation's last question (not superseded) and every message
        after it: what an answer's end needs (its alternatives), however long
        the conversation is."""
        with self._errors():
            rows = self._db.execute(
                f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ? AND id >= COALESCE("
                "(SELECT MAX(id) FROM messages WHERE conversation_id = ? AND role = ? AND status != ?), 0) ORDER BY id",
                (conversation_id, conversation_id, Role.USER.value, MessageStatus.SUPERSEDED.value),
            ).fetchall()
            return self._with_chunks([_row_to_message(r) for r in rows])

    def answer_totals(self, conversation_id: int) -> tuple[int, int, int]:
        """(answers, prompt tokens, completion tokens) over the conversation's
        answers that are not superseded, counted by the database (as
        `conversation_totals` counts them from the messages)."""
        with self._errors():
            row = self._db.execute(
                f"SELECT COUNT(*), COALESCE(SUM({_tokens('prompt_tokens', 'input_tokens')}), 0), "
                f"COALESCE(SUM({_tokens('completion_tokens', 'output_tokens')}), 0) FROM messages "
                "WHERE conversation_id = ? AND role = ? AND status != ?",
                (conversation_id, Role.ASSISTANT.value, MessageStatus.SUPERSEDED.value),
            ).fetchone()
            return int(row[0]), int(row[1]), int(row[2])

    def delete_message(self, message_id: int) -> None:
        with self._errors():
            self._db.execute("DELETE FROM messages WHERE id = ?", (message_id,))


def _tokens(key: str, fallback: str) -> str:
    """SQL for a usage's `key` tokens (`fallback` when it has no `key`), 0 unless an integer."""
    return (f"CASE WHEN json_type(usage, '$.{key}') IS NOT NULL "
            f"THEN iif(json_type(usage, '$.{key}') = 'integer', json_extract(usage, '$.{key}'), 0) "
            f"ELSE iif(json_type(usage, '$.{fallback}') = 'integer', json_extract(usage, '$.{fallback}'), 0) END")


def _run_script(db: sqlite3.Connection, script: str) -> None:
    """Run a migration's statements inside the caller's transaction (a trigger's
    body holds semicolons of its own: a statement ends where SQLite says it is complete)."""
    statement = ""
    for piece in script.split(";"):
        statement += piece + ";"
        if sqlite3.complete_statement(statement):
            if statement.strip(" \t\n;"):
                db.execute(statement)
            statement = ""

"""Reading every conversation out, and writing imported ones in (one transaction)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from chat_tui.domain import ChatMessage, Conversation, MessageStatus


class TransferMixin:
    """`Store.all_conversations` and `Store.import_conversations`."""

    if TYPE_CHECKING:
        _db: sqlite3.Connection

        def _errors(self) -> AbstractContextManager[None]: ...

        def list_conversations(
            self, limit: int = 200, *, where: str = "1", params: tuple[Any, ...] = ()
        ) -> list[Conversation]: ...

    def all_conversations(self) -> list[Conversation]:
        """Every conversation, oldest first."""
        return sorted(self.list_conversations(-1), key=lambda c: c.id)

    def import_conversations(self, items: Sequence[tuple[Conversation, Sequence[ChatMessage]]]) -> list[int]:
        """Add conversations as new ones (new ids; everything else as given), all or none.

        A message still `streaming` in the source is stored `interrupted`: no
        process here is writing it."""
        ids: list[int] = []
        with self._errors():
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for conversation, messages in items:
                    ids.append(self._import_one(conversation, messages))
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return ids

    def _import_one(self, conversation: Conversation, messages: Sequence[ChatMessage]) -> int:
        cur = self._db.execute(
            "INSERT INTO conversations (title, created_at, updated_at, provider, model, system_prompt) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (conversation.title, conversation.created_at, conversation.updated_at, conversation.provider,
             conversation.model, conversation.system_prompt),
        )
        conversation_id = int(cur.lastrowid or 0)
        new_ids: dict[int, int] = {}  # the source's message ids -> ours (answers name their attempt by id)
        for m in messages:
            status, error_kind, error_message = m.status, m.error_kind, m.error_message
            if status == MessageStatus.STREAMING:
                status, error_kind = MessageStatus.INTERRUPTED, "crash"
                error_message = "The answer was still streaming when it was exported."
            row = self._db.execute(
                "INSERT INTO messages (conversation_id, role, text, reasoning, tool_calls, tool_call_id, status, "
                "model, provider, error_kind, error_message, finish_reason, usage, ttft_ms, duration_ms, "
                "chars_received, owner_pid, created_at, updated_at, prior_status) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)",
                (conversation_id, m.role.value, m.text, m.reasoning,
                 json.dumps([c.to_dict() for c in m.tool_calls]) if m.tool_calls else None, m.tool_call_id,
                 status.value, m.model, m.provider, error_kind, error_message, m.finish_reason,
                 json.dumps(m.usage) if m.usage is not None else None, m.ttft_ms, m.duration_ms, len(m.text),
                 m.created_at, m.updated_at,
                 m.prior_status.value if m.prior_status and status == MessageStatus.SUPERSEDED else None),
            )
            new_id = int(row.lastrowid or 0)
            if m.id:
                new_ids[m.id] = new_id
            if m.attempt is not None and m.attempt in new_ids:
                self._db.execute("UPDATE messages SET attempt = ? WHERE id = ?", (new_ids[m.attempt], new_id))
        return conversation_id

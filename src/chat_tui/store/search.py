"""Full-text search over what the user and the model wrote (SQLite FTS5).

The user's words are never FTS query syntax: each word becomes a quoted
prefix term (`"word"*`) and the terms must all match, so `foo"bar`, `AND (`
or `NEAR` are searched for as text and never raise.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from chat_tui.domain import Role, SearchHit

MAX_TERMS = 16
"""Words of a query beyond this many are ignored."""
SNIPPET_TOKENS = 12
"""About how many words a snippet shows."""
_OPEN, _CLOSE = "\ue000", "\ue001"
_SPACE = re.compile(r"\s+")


def fts_query(text: str) -> str:
    """`text` as an FTS5 query that matches messages holding every word (as a word or a word's start).

    Empty when `text` has no word at all."""
    words = [w for w in text.split() if any(ch.isalnum() for ch in w)][:MAX_TERMS]
    return " ".join('"' + w.replace('"', '""') + '"*' for w in words)


def parse_snippet(marked: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    """A snippet with match markers as one line of plain text and the matches' offsets."""
    marked = _SPACE.sub(" ", marked).strip()
    plain: list[str] = []
    spans: list[tuple[int, int]] = []
    length = 0
    start: int | None = None
    for piece in re.split(f"([{_OPEN}{_CLOSE}])", marked):
        if piece == _OPEN:
            start = length
        elif piece == _CLOSE:
            if start is not None and length > start:
                spans.append((start, length))
            start = None
        else:
            plain.append(piece)
            length += len(piece)
    return "".join(plain), tuple(spans)


class SearchMixin:
    """`Store.search`."""

    if TYPE_CHECKING:
        _db: sqlite3.Connection

        def _errors(self) -> AbstractContextManager[None]: ...

    def search(self, query: str, limit: int = 50) -> list[SearchHit]:
        """Messages that contain every word of `query`, best matches first.

        Case and accents are ignored; each word also matches the start of a
        longer one. A query without words finds nothing."""
        match = fts_query(query)
        if not match or limit <= 0:
            return []
        sql = """
            SELECT m.conversation_id, c.title, m.id, m.role,
                   snippet(message_search, 0, ?, ?, '…', ?), m.created_at, m.status
            FROM message_search
            JOIN messages m ON m.id = message_search.rowid
            JOIN conversations c ON c.id = m.conversation_id
            WHERE message_search MATCH ?
            ORDER BY rank, m.id DESC
            LIMIT ?
        """
        with self._errors():
            try:
                rows = self._db.execute(sql, (_OPEN, _CLOSE, SNIPPET_TOKENS, match, limit)).fetchall()
            except sqlite3.OperationalError as exc:
                if "fts5" not in str(exc):
                    raise
                return []  # (quoting leaves no syntax to get wrong; this is a safety net)
        return list(_hits(rows))


def _hits(rows: list[tuple[object, ...]]) -> Iterator[SearchHit]:
    for conversation_id, title, message_id, role, marked, created_at, status in rows:
        snippet, highlights = parse_snippet(str(marked or ""))
        yield SearchHit(
            conversation_id=int(conversation_id),  # type: ignore[call-overload]
            title=str(title),
            message_id=int(message_id),  # type: ignore[call-overload]
            role=Role(str(role)),
            snippet=snippet,
            highlights=highlights,
            created_at=float(created_at),  # type: ignore[arg-type]
            replaced=status == "superseded",
        )

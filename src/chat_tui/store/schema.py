"""The database schema and its migrations, indexed by `PRAGMA user_version`.

Each entry of MIGRATIONS takes the database from version i to i+1. Never edit
a released migration: append a new one.
"""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 0 -> 1
    """
    CREATE TABLE conversations (
        id            INTEGER PRIMARY KEY,
        title         TEXT NOT NULL DEFAULT '',
        created_at    REAL NOT NULL,
        updated_at    REAL NOT NULL,
        provider      TEXT NOT NULL DEFAULT '',
        model         TEXT NOT NULL DEFAULT '',
        system_prompt TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE messages (
        id              INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        role            TEXT NOT NULL,
        text            TEXT NOT NULL DEFAULT '',
        reasoning       TEXT NOT NULL DEFAULT '',
        tool_calls      TEXT,
        tool_call_id    TEXT,
        status          TEXT NOT NULL,
        model           TEXT NOT NULL DEFAULT '',
        provider        TEXT NOT NULL DEFAULT '',
        error_kind      TEXT,
        error_message   TEXT,
        finish_reason   TEXT,
        usage           TEXT,
        ttft_ms         INTEGER,
        duration_ms     INTEGER,
        chars_received  INTEGER NOT NULL DEFAULT 0,
        owner_pid       INTEGER,
        created_at      REAL NOT NULL,
        updated_at      REAL NOT NULL
    );
    CREATE INDEX messages_by_conversation ON messages(conversation_id, id);
    CREATE INDEX messages_by_status ON messages(status);
    CREATE INDEX conversations_by_update ON conversations(updated_at);
    """,
    # 1 -> 2: streamed text goes into small chunk rows (an O(1) insert per
    # checkpoint instead of rewriting a growing row); finish() folds them in.
    """
    CREATE TABLE message_chunks (
        seq        INTEGER PRIMARY KEY,
        message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
        text       TEXT NOT NULL DEFAULT '',
        reasoning  TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX message_chunks_by_message ON message_chunks(message_id, seq);
    """,
    # 2 -> 3: full-text search over what the user and the model wrote. The
    # index reads its text from `messages` (no copy); triggers keep it in step
    # with every insert, delete and change of `messages.text` (streamed text
    # joins it when finish() folds the chunks in). Existing rows are indexed here.
    """
    CREATE VIRTUAL TABLE message_search USING fts5(
        text, content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
    );
    INSERT INTO message_search (rowid, text) SELECT id, text FROM messages WHERE role IN ('user', 'assistant');
    CREATE TRIGGER message_search_insert AFTER INSERT ON messages
    WHEN new.role IN ('user', 'assistant') BEGIN
        INSERT INTO message_search (rowid, text) VALUES (new.id, new.text);
    END;
    CREATE TRIGGER message_search_delete AFTER DELETE ON messages
    WHEN old.role IN ('user', 'assistant') BEGIN
        INSERT INTO message_search (message_search, rowid, text) VALUES ('delete', old.id, old.text);
    END;
    CREATE TRIGGER message_search_update AFTER UPDATE OF text ON messages
    WHEN old.role IN ('user', 'assistant') BEGIN
        INSERT INTO message_search (message_search, rowid, text) VALUES ('delete', old.id, old.text);
        INSERT INTO message_search (rowid, text) VALUES (new.id, new.text);
    END;
    """,
    # 3 -> 4: answers asked again (retry, regenerate) stay as alternatives the
    # user can switch back to. `attempt` is the id of the first assistant
    # message of the attempt a message belongs to (every round of a tool-using
    # answer carries it); `prior_status` is the status a superseded message had,
    # so switching back restores it (a cut-off answer is cut off again).
    """
    ALTER TABLE messages ADD COLUMN attempt INTEGER;
    ALTER TABLE messages ADD COLUMN prior_status TEXT;
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)

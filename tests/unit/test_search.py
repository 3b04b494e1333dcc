"""Full-text search in the store (SQLite FTS5, on a real file): kept in step
with every write, backfilled by the migration, and safe with any query."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chat_tui.domain import ChatMessage, Conversation, MessageStatus, Role
from chat_tui.store import Store
from chat_tui.store.schema import MIGRATIONS, SCHEMA_VERSION
from chat_tui.store.search import fts_query, parse_snippet


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "chat.sqlite3"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    s = Store.open(db_path)
    yield s
    s.close()


def index_matches_messages(store: Store) -> None:
    """The index holds exactly the words of the user's and the model's messages as
    they are now: compared, word by word and position by position, with an index
    built afresh from `messages`. (FTS5's own check against the content table
    cannot be used: tool results are deliberately left out.)"""
    db = store._db
    db.execute("INSERT INTO message_search (message_search) VALUES ('integrity-check')")  # internally sound
    db.execute("CREATE VIRTUAL TABLE temp.fresh USING fts5(text, tokenize='unicode61 remove_diacritics 2')")
    try:
        db.execute("INSERT INTO temp.fresh (rowid, text) SELECT id, text FROM messages WHERE role IN ('user', 'assistant')")
        db.execute("CREATE VIRTUAL TABLE temp.live_words USING fts5vocab(main, message_search, instance)")
        db.execute("CREATE VIRTUAL TABLE temp.fresh_words USING fts5vocab(temp, fresh, instance)")
        query = "SELECT term, doc, offset FROM temp.{} ORDER BY doc, offset, term"
        live = db.execute(query.format("live_words")).fetchall()
        fresh = db.execute(query.format("fresh_words")).fetchall()
        assert live == fresh
    finally:
        for table in ("live_words", "fresh_words", "fresh"):
            db.execute(f"DROP TABLE IF EXISTS temp.{table}")


def converse(store: Store, question: str, answer: str, *, title: str = "") -> tuple[int, int, int]:
    cid = store.create_conversation(provider="demo", model="demo", title=title or question[:30])
    user = store.add_message(cid, Role.USER, question)
    mid = store.start_assistant(cid, model="demo", provider="demo")
    for piece in answer.split(" "):
        store.append(mid, piece + " ")
    store.finish(mid, MessageStatus.COMPLETE)
    return cid, user, mid


def test_a_hit_has_the_conversation_message_snippet_and_date(store: Store) -> None:
    converse(store, "unrelated", "nothing to see")
    cid, user, mid = converse(store, "How do I back up Postgres?", "Run pg_dump nightly and keep a copy elsewhere.",
                              title="Postgres backups")
    (hit,) = store.search("nightly")
    assert (hit.conversation_id, hit.title, hit.message_id, hit.role) == (cid, "Postgres backups", mid, Role.ASSISTANT)
    message = store.get_message(mid)
    assert message is not None and hit.created_at == message.created_at
    assert "pg_dump nightly and" in hit.snippet
    assert [hit.snippet[a:b] for a, b in hit.highlights] == ["nightly"]
    (question,) = store.search("postgres")  # the title is not searched, the question is
    assert question.message_id == user and question.role == Role.USER


def test_a_replaced_answer_is_found_and_said_to_be_replaced(store: Store) -> None:
    cid, _, old = converse(store, "q", "the first wording of it")
    store.supersede([old])
    new = store.start_assistant(cid, model="demo", provider="demo")
    store.append(new, "the second wording of it")
    store.finish(new, MessageStatus.COMPLETE)
    hits = {h.message_id: h for h in store.search("wording")}
    assert set(hits) == {old, new}
    assert hits[old].replaced and not hits[new].replaced


def test_words_match_ignoring_case_and_accents_and_as_prefixes(store: Store) -> None:
    _, _, mid = converse(store, "q", "Le Café sert des crêpes délicieuses")
    assert [h.message_id for h in store.search("CAFE")] == [mid]
    assert [h.message_id for h in store.search("crepe deli")] == [mid]  # every word, each a prefix
    assert store.search("crepe pizza") == []  # all words must match
    assert store.search("afé") == []  # a word matches from its start only


def test_streamed_text_is_found_once_the_answer_is_finished(store: Store) -> None:
    cid = store.create_conversation()
    mid = store.start_assistant(cid)
    store.append(mid, "quaternion rotation")
    assert store.search("quaternion") == []  # still in chunks
    store.finish(mid, MessageStatus.CANCELLED)
    assert [h.message_id for h in store.search("quaternion")] == [mid]
    # Continued later: the new text is found too.
    store.resume_streaming(mid)
    store.append(mid, " and gimbal lock")
    store.finish(mid, MessageStatus.COMPLETE)
    assert [h.message_id for h in store.search("gimbal quaternion")] == [mid]
    index_matches_messages(store)


def test_an_answer_left_streaming_by_a_dead_process_is_found_after_recovery(db_path: Path) -> None:
    store = Store.open(db_path)
    cid = store.create_conversation()
    mid = store.start_assistant(cid)
    store.append(mid, "half a zeppelin")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    store._db.execute("UPDATE messages SET owner_pid = ? WHERE id = ?", (int(dead.stdout), mid))
    store.close()
    store = Store.open(db_path)
    try:
        assert [h.message_id for h in store.search("zeppelin")] == [mid]
        index_matches_messages(store)
    finally:
        store.close()


def test_deleting_removes_from_the_index_and_tool_results_are_not_indexed(store: Store) -> None:
    cid, _, _ = converse(store, "walrus facts", "walruses are big")
    other, _, answer = converse(store, "walrus again", "still walruses")
    store.add_message(other, Role.TOOL, "walrus from a tool", tool_call_id="c1")
    assert {h.conversation_id for h in store.search("walrus")} == {cid, other}
    assert all(h.role != Role.TOOL for h in store.search("walrus"))
    store.delete_conversation(cid)
    assert {h.conversation_id for h in store.search("walrus")} == {other}
    store.delete_message(answer)
    assert {h.message_id for h in store.search("walruses")} == set()
    index_matches_messages(store)


HOSTILE = ['foo"bar', "AND (", '"', "*", "NEAR(a b", "a OR", "text:foo", "^foo", "-foo", "(", ")", "'", "\x00",
           "", "   ", "NOT", "a AND OR NOT b", "foo*bar", '"unterminated', "}{][", "x" * 5000, "word " * 200,
           "🙂", "\\", "NEAR", "rowid:1", "*foo", "foo\x1b[31m"]


@pytest.mark.parametrize("query", HOSTILE)
def test_any_query_is_text_never_syntax(store: Store, query: str) -> None:
    converse(store, "AND ( or NOT", 'he said foo"bar and text:foo')
    hits = store.search(query)
    assert isinstance(hits, list)
    assert fts_query(query).count('"') % 2 == 0


def test_operators_and_quotes_are_searched_as_words(store: Store) -> None:
    _, _, mid = converse(store, "q", 'rock and roll, then foo"bar and NEAR the end')
    assert [h.message_id for h in store.search('foo"bar')] == [mid]
    assert [h.message_id for h in store.search("and roll")] == [mid]
    assert [h.message_id for h in store.search("NEAR end")] == [mid]
    assert store.search("OR") == []  # the word "or" is nowhere (as an operator it would be a syntax error)
    assert store.search("***") == [] and store.search("") == []


def test_limit(store: Store) -> None:
    for n in range(5):
        converse(store, f"lemon {n}", "yes")
    assert len(store.search("lemon", 3)) == 3
    assert len(store.search("lemon")) == 5
    assert store.search("lemon", 0) == []


def test_snippet_parsing() -> None:
    text, spans = parse_snippet("…one \ue000two\ue001\nthree  \ue000four\ue001…")
    assert text == "…one two three four…"
    assert [text[a:b] for a, b in spans] == ["two", "four"]


def test_the_migration_indexes_existing_messages(db_path: Path) -> None:
    # A database as the previous version left it (schema 2), with messages in it.
    db = sqlite3.connect(db_path, isolation_level=None)
    for script in MIGRATIONS[:2]:
        db.executescript(script)
    db.execute("PRAGMA user_version = 2")
    now = time.time()
    db.execute("INSERT INTO conversations (id, title, created_at, updated_at) VALUES (1, 'old', ?, ?)", (now, now))
    rows = [(1, "user", "an old narwhal question", "complete"), (1, "assistant", "an old narwhal answer", "complete"),
            (1, "tool", "narwhal tool output", "complete")]
    for cid, role, text, status in rows:
        db.execute("INSERT INTO messages (conversation_id, role, text, status, created_at, updated_at) "
                   "VALUES (?, ?, ?, ?, ?, ?)", (cid, role, text, status, now, now))
    db.close()

    store = Store.open(db_path)
    try:
        assert store._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        hits = store.search("narwhal")
        assert sorted(h.role for h in hits) == [Role.ASSISTANT, Role.USER]
        assert {h.title for h in hits} == {"old"}
        index_matches_messages(store)
    finally:
        store.close()


def test_import_is_all_or_nothing_and_keeps_everything(store: Store) -> None:
    before = store.all_conversations()
    good = (Conversation(0, "kept title", 100.0, 200.0, "openai", "m", "sys"),
            [ChatMessage(0, 0, Role.USER, "imported ocelot", created_at=101.0, updated_at=101.0),
             ChatMessage(0, 0, Role.ASSISTANT, "half", reasoning="r", status=MessageStatus.STREAMING,
                         created_at=102.0, updated_at=103.0)])
    bad = (Conversation(0, "broken", 1.0, 1.0), [ChatMessage(0, 0, Role.USER, "x", usage={"not json": {1, 2}})])
    with pytest.raises(TypeError):
        store.import_conversations([good, bad])
    assert store.all_conversations() == before and store.search("ocelot") == []

    (cid,) = store.import_conversations([good])
    conversation = store.get_conversation(cid)
    assert conversation is not None
    assert (conversation.title, conversation.created_at, conversation.updated_at, conversation.provider,
            conversation.model, conversation.system_prompt) == ("kept title", 100.0, 200.0, "openai", "m", "sys")
    user, answer = store.messages(cid)
    assert (user.text, user.created_at) == ("imported ocelot", 101.0)
    assert (answer.status, answer.error_kind, answer.reasoning, answer.updated_at) == (
        MessageStatus.INTERRUPTED, "crash", "r", 103.0)  # nobody is streaming it here
    assert [h.message_id for h in store.search("ocelot")] == [user.id]
    assert os.path.exists(store.path)


def test_processes_opening_a_new_database_at_once_all_migrate(tmp_path: Path) -> None:
    # Each migration step takes the write lock before it reads the version, so
    # two processes never run the same step (which failed: "table ... already exists").
    go = tmp_path / "go"
    script = (
        "import os, sys, time\n"
        "from chat_tui.store import Store\n"
        "while not os.path.exists(sys.argv[1]): time.sleep(0.001)\n"
        "store = Store.open(sys.argv[2])\n"
        "store.create_conversation(title='x')\n"
        "store.close()\n"
    )
    db = tmp_path / "fresh" / "chat.sqlite3"
    procs = [subprocess.Popen([sys.executable, "-c", script, str(go), str(db)], stderr=subprocess.PIPE, text=True)
             for _ in range(6)]
    go.touch()
    errors = [p.communicate(timeout=60)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, errors
    store = Store.open(db)
    try:
        assert len(store.all_conversations()) == 6
        assert store._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        store.close()

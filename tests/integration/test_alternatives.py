"""Answers asked again stay as alternatives: the engine lists them and switches
between them, over a real loopback server and a real SQLite file."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from chat_tui.domain import MessageStatus, Role
from chat_tui.engine import ChatEngine, RetryPolicy, TurnEnded
from chat_tui.engine.builtin_tools import builtin_tools
from chat_tui.engine.tools import ToolRegistry
from chat_tui.providers.openai_compat import OpenAICompatProvider
from chat_tui.store import Store
from tests.support.sse_server import Reply, SSETestServer, error_reply, openai_chunk, openai_text_reply, sse
from tests.support.tool_replies import Call, openai_tool_reply


@pytest.fixture
async def engine(store: Store, server: SSETestServer, tmp_path: Path) -> Any:
    provider = OpenAICompatProvider(base_url=server.base_url, model="test-model", stall_timeout=5)
    yield ChatEngine(store, provider, tools=ToolRegistry(builtin_tools(tmp_path)), retry=RetryPolicy(attempts=0))
    await provider.aclose()


async def run(eng: ChatEngine, conversation_id: int, prompt: str | None = None, **kw: Any) -> TurnEnded:
    ended = None
    async with contextlib.aclosing(eng.run_turn(conversation_id, prompt, **kw)) as turn:
        async for batch in turn:
            ended = next((e for e in batch if isinstance(e, TurnEnded)), ended)
    assert ended is not None
    return ended


def shown(store: Store, conversation_id: int) -> list[tuple[str, str, str]]:
    """What the conversation shows (and sends): role, text, status."""
    return [(m.role.value, m.text, m.status.value) for m in store.messages(conversation_id)
            if m.status != MessageStatus.SUPERSEDED]


def cut_reply(text: str) -> Reply:
    """A stream that breaks after `text` (no finish reason, no [DONE])."""
    return Reply(chunks=[sse(openai_chunk(text))], drop=True)


async def test_a_single_answer_has_no_alternatives(engine: ChatEngine, server: SSETestServer) -> None:
    server.queue(openai_text_reply(["only one"]))
    cid = engine.new_conversation()
    assert engine.alternatives(cid) is None
    await run(engine, cid, "hi")
    assert engine.alternatives(cid) is None


async def test_switching_between_answers_restores_each_with_its_status(
    engine: ChatEngine, store: Store, server: SSETestServer
) -> None:
    server.queue(openai_text_reply(["first answer"]), cut_reply("second, cut"), openai_text_reply(["third answer"]))
    cid = engine.new_conversation()
    first = await run(engine, cid, "question")
    second = await run(engine, cid, retry_message_id=first.message_id)
    assert second.status == MessageStatus.INTERRUPTED
    third = await run(engine, cid, retry_message_id=second.message_id)

    found = engine.alternatives(cid)
    assert found is not None
    assert [[m.id for m in group] for group in found.attempts] == [[first.message_id], [second.message_id],
                                                                   [third.message_id]]
    assert found.active == 2

    # Back to the cut-off one: it is cut off again (banner and Continue work as before).
    messages = engine.switch_alternative(cid, 1)
    assert [(m.id, m.text, m.status) for m in messages] == [(second.message_id, "second, cut", MessageStatus.INTERRUPTED)]
    assert shown(store, cid) == [("user", "question", "complete"), ("assistant", "second, cut", "interrupted")]
    assert engine.alternatives(cid).active == 1  # type: ignore[union-attr]

    engine.switch_alternative(cid, 0)
    assert shown(store, cid) == [("user", "question", "complete"), ("assistant", "first answer", "complete")]

    # The next question goes to the model with the chosen answer in its history.
    server.queue(openai_text_reply(["follow-up"]))
    await run(engine, cid, "and then?")
    sent = server.requests[-1].body["messages"]
    assert [(m["role"], m["content"]) for m in sent] == [
        ("user", "question"), ("assistant", "first answer"), ("user", "and then?"),
    ]
    # Alternatives belong to the last message only: the new one has a single answer.
    assert engine.alternatives(cid) is None


async def test_an_answer_with_tool_rounds_is_one_alternative(
    engine: ChatEngine, store: Store, server: SSETestServer
) -> None:
    server.queue(
        openai_tool_reply(Call("call_1", "calculator", '{"expression": "6*7"}')),
        openai_text_reply(["It is 42."]),
        openai_text_reply(["Forty-two."]),
    )
    cid = engine.new_conversation()
    first = await run(engine, cid, "what is 6*7?")
    assert len(first.message_ids) == 2
    await run(engine, cid, retry_message_id=first.message_ids[-1])

    found = engine.alternatives(cid)
    assert found is not None and found.active == 1
    roles = [[m.role for m in group] for group in found.attempts]
    assert roles == [[Role.ASSISTANT, Role.TOOL, Role.ASSISTANT], [Role.ASSISTANT]]

    engine.switch_alternative(cid, 0)
    assert [role for role, _, _ in shown(store, cid)] == ["user", "assistant", "tool", "assistant"]
    assert shown(store, cid)[-1] == ("assistant", "It is 42.", "complete")


async def test_a_failed_attempt_is_an_alternative_too(engine: ChatEngine, store: Store, server: SSETestServer) -> None:
    server.queue(error_reply(500, "boom"), openai_text_reply(["worked"]))
    cid = engine.new_conversation()
    failed = await run(engine, cid, "q")
    assert failed.status == MessageStatus.ERROR
    await run(engine, cid, retry_message_id=failed.message_id)
    engine.switch_alternative(cid, 0)
    assert shown(store, cid)[-1][2] == "error"


async def test_rows_written_before_attempts_were_recorded_are_grouped_by_their_rounds(
    engine: ChatEngine, store: Store, server: SSETestServer, tmp_path: Path
) -> None:
    server.queue(
        openai_tool_reply(Call("call_1", "calculator", '{"expression": "1+1"}')),
        openai_text_reply(["Two."]),
        openai_text_reply(["2"]),
        openai_text_reply(["II"]),
    )
    cid = engine.new_conversation()
    first = await run(engine, cid, "1+1?")
    second = await run(engine, cid, retry_message_id=first.message_ids[-1])
    await run(engine, cid, retry_message_id=second.message_id)
    # As an older version of the app left them: no attempt recorded.
    db = sqlite3.connect(tmp_path / "chat.db")
    db.execute("UPDATE messages SET attempt = NULL")
    db.commit()
    db.close()
    found = engine.alternatives(cid)
    assert found is not None
    assert [len(group) for group in found.attempts] == [3, 1, 1]
    assert found.active == 2


async def test_switching_is_refused_while_the_answer_streams(engine: ChatEngine, store: Store,
                                                             server: SSETestServer) -> None:
    server.queue(openai_text_reply(["a"]), openai_text_reply(["b"]))
    cid = engine.new_conversation()
    first = await run(engine, cid, "q")
    second = await run(engine, cid, retry_message_id=first.message_id)
    store.supersede([second.message_id])  # asked a third time, the answer under way
    mid = store.start_assistant(cid)
    store.append(mid, "partial")
    with pytest.raises(ValueError, match="still streaming"):
        engine.switch_alternative(cid, 0)
    with pytest.raises(ValueError):
        engine.switch_alternative(cid, 7)

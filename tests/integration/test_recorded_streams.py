"""Every recorded real-provider stream, served by a real HTTP server on
127.0.0.1, decodes to its expected result (see fixtures/provider-streams/README.md).

Each stream is served twice: as recorded in one piece, and cut into small
random pieces (so events, lines, CRLFs and UTF-8 characters split across
network reads)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from chat_tui.errors import ErrorKind
from chat_tui.providers.anthropic import AnthropicProvider
from chat_tui.providers.base import ChatRequest, PromptMessage
from chat_tui.providers.http import kind_for_status
from chat_tui.providers.openai_compat import OpenAICompatProvider
from tests.support.collect import collect
from tests.support.sse_server import Reply, SSETestServer

FIXTURES = Path(__file__).parent.parent / "fixtures" / "provider-streams"
NAMES = sorted(p.stem for p in FIXTURES.glob("*.json"))


def test_all_thirty_recordings_are_present() -> None:
    assert len(NAMES) == 30
    for name in NAMES:
        assert (FIXTURES / f"{name}.sse").exists()


def _pieces(body: bytes, split: bool, seed: int) -> list[bytes | float]:
    if not split:
        return [body]
    rng = random.Random(seed)
    out: list[bytes | float] = []
    i = 0
    while i < len(body):
        n = rng.randint(1, 40)
        out.append(body[i : i + n])
        i += n
    return out


@pytest.mark.parametrize("split", [False, True], ids=["whole", "split"])
@pytest.mark.parametrize("name", NAMES)
async def test_recording_decodes_to_expected(name: str, split: bool, server: SSETestServer) -> None:
    meta = json.loads((FIXTURES / f"{name}.json").read_text())
    body = (FIXTURES / f"{name}.sse").read_bytes()
    status = meta["http"]["status"]
    headers = {"content-type": meta["http"].get("headers", {}).get("content-type", "text/event-stream")}
    server.queue(Reply(status=status, chunks=_pieces(body, split, seed=len(body)), headers=headers))
    cls = AnthropicProvider if meta["api_format"] == "anthropic-messages" else OpenAICompatProvider
    provider = cls(base_url=server.base_url, model="m", stall_timeout=5)
    try:
        got = await collect(provider.stream(ChatRequest(model="m", messages=[PromptMessage("user", "hi")])))
    finally:
        await provider.aclose()
    expected = meta["expected"]
    assert got.terminal_events == 1

    if status >= 400:
        assert got.error is not None
        assert got.error.kind == kind_for_status(status)
        assert got.error.status == status
        assert got.error.raw == expected["error"]
        assert "\n" not in got.error.message
        return

    assert got.text == expected["text"]
    assert got.reasoning == expected["reasoning"]
    assert got.refusal == expected.get("refusal", "")
    assert got.tool_calls == expected["tool_calls"]
    assert got.server_tool_calls == expected.get("server_tool_calls", [])
    assert got.finish_reason == expected["finish_reason"]
    assert got.usage == expected["usage"]
    if expected["errors"]:
        assert got.error is not None and got.error.raw == expected["errors"][0]
        assert got.error.kind in (ErrorKind.BAD_REQUEST, ErrorKind.SERVER, ErrorKind.RATE_LIMIT)
    else:
        assert got.error is None, got.error
        assert got.done == expected["done"]

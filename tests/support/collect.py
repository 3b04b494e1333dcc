"""Fold a provider's event stream into one result, for assertions."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from chat_tui.errors import ProviderError
from chat_tui.providers.events import (
    Finished,
    ReasoningDelta,
    RefusalDelta,
    StreamEvent,
    StreamFailed,
    TextDelta,
    ToolCallEnded,
    UsageReported,
)


@dataclass
class Collected:
    text: str = ""
    reasoning: str = ""
    refusal: str = ""
    tool_calls: list[dict[str, str]] = field(default_factory=list)
    server_tool_calls: list[dict[str, str]] = field(default_factory=list)
    usage: dict[str, Any] | None = None
    finish_reason: str | None = None
    done: bool = False
    error: ProviderError | None = None
    terminal_events: int = 0
    batches: int = 0


async def collect(stream: AsyncIterator[Sequence[StreamEvent]]) -> Collected:
    out = Collected()
    async for batch in stream:
        out.batches += 1
        for event in batch:
            assert out.terminal_events == 0, f"event after the terminal event: {event!r}"
            match event:
                case TextDelta(text=t):
                    out.text += t
                case ReasoningDelta(text=t):
                    out.reasoning += t
                case RefusalDelta(text=t):
                    out.refusal += t
                case ToolCallEnded(id=i, name=n, arguments=a, server=s):
                    (out.server_tool_calls if s else out.tool_calls).append({"id": i, "name": n, "arguments": a})
                case UsageReported(usage=u):
                    out.usage = u
                case Finished(reason=r, done=d):
                    out.finish_reason, out.done = r, d
                    out.terminal_events += 1
                case StreamFailed(error=e, finish_reason=r):
                    out.error, out.finish_reason = e, r
                    out.terminal_events += 1
    return out

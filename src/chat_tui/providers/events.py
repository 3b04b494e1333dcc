"""The normalized stream every provider produces.

A provider turns its wire format into these small facts. Events come in
*batches* (one batch per network read), so that whoever consumes them can do
per-batch work (a database commit, a repaint) instead of per-token work.

The last batch of a stream ends with exactly one terminal event:
`Finished` when the stream ended normally, or `StreamFailed` when it broke.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chat_tui.errors import ProviderError


@dataclass(slots=True, frozen=True)
class TextDelta:
    text: str


@dataclass(slots=True, frozen=True)
class ReasoningDelta:
    text: str


@dataclass(slots=True, frozen=True)
class RefusalDelta:
    """OpenAI's `delta.refusal`: the model declines; shown as the answer."""

    text: str


@dataclass(slots=True, frozen=True)
class ToolCallStarted:
    index: int
    id: str
    name: str
    server: bool = False


@dataclass(slots=True, frozen=True)
class ToolCallArgumentsDelta:
    index: int
    text: str


@dataclass(slots=True, frozen=True)
class ToolCallEnded:
    index: int
    id: str
    name: str
    arguments: str
    server: bool = False


@dataclass(slots=True, frozen=True)
class UsageReported:
    usage: dict[str, Any]


@dataclass(slots=True, frozen=True)
class Finished:
    """The stream ended normally. `reason` is the last finish/stop reason, if any."""

    reason: str | None
    done: bool = True
    """Whether the explicit end marker (`[DONE]`, `message_stop`) arrived."""


@dataclass(slots=True, frozen=True)
class StreamFailed:
    """The stream broke or the server reported an error; nothing follows."""

    error: ProviderError
    finish_reason: str | None = None


StreamEvent = (
    TextDelta
    | ReasoningDelta
    | RefusalDelta
    | ToolCallStarted
    | ToolCallArgumentsDelta
    | ToolCallEnded
    | UsageReported
    | Finished
    | StreamFailed
)

"""The normalized stream every provider produces.

A provider turns its wire format into these small facts. Events come in
*batches* (one batch per network read), so that whoever consumes them can do
per-batch work (a database commit, a repaint) instead of per-token work.

The last batch of a stream ends with exactly one terminal event:
`Finished` when the stream ended normally, or `StreamFailed` when it broke.

Events are treated as immutable, but are plain (not frozen) dataclasses: a
frozen one takes twice as long to define (at start-up) and to create (one per
token: 0.7 against 0.4 µs here).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chat_tui.errors import ErrorKind, ProviderError


@dataclass(slots=True)
class TextDelta:
    text: str


@dataclass(slots=True)
class ReasoningDelta:
    text: str


@dataclass(slots=True)
class RefusalDelta:
    """OpenAI's `delta.refusal`: the model declines; shown as the answer."""

    text: str


@dataclass(slots=True)
class ToolCallStarted:
    index: int
    id: str
    name: str
    server: bool = False


@dataclass(slots=True)
class ToolCallArgumentsDelta:
    index: int
    text: str


@dataclass(slots=True)
class ToolCallEnded:
    index: int
    id: str
    name: str
    arguments: str
    server: bool = False


@dataclass(slots=True)
class UsageReported:
    usage: dict[str, Any]


@dataclass(slots=True)
class Finished:
    """The stream ended normally. `reason` is the last finish/stop reason, if any."""

    reason: str | None
    done: bool = True
    """Whether the explicit end marker (`[DONE]`, `message_stop`) arrived."""


@dataclass(slots=True)
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


def end_of_stream(*, parse_errors: int, done: bool, finish_reason: str | None, unit: str) -> Finished | StreamFailed:
    """The terminal event of a stream whose body ended without an error event.

    Malformed events (`unit`: "chunk", "event") make the answer suspect; an end
    marker or a finish reason makes it whole; neither means the connection was
    lost before the model finished.
    """
    if parse_errors:
        noun = unit if parse_errors == 1 else f"{unit}s"
        message = f"The server sent {parse_errors} malformed {noun}; part of the answer may be missing."
        return StreamFailed(ProviderError(ErrorKind.BAD_RESPONSE, message), finish_reason)
    if done or finish_reason is not None:
        return Finished(finish_reason, done=done)
    message = "Connection lost: the stream ended before the answer was finished."
    return StreamFailed(ProviderError(ErrorKind.CONNECTION, message), finish_reason)

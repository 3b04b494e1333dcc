"""What the engine tells whoever shows a turn, besides the provider's events."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chat_tui.domain import MessageStatus, ToolCall
from chat_tui.errors import ProviderError
from chat_tui.providers.events import StreamEvent


@dataclass(slots=True)
class TurnStarted:
    conversation_id: int
    user_message_id: int | None
    message_id: int
    """The assistant message being written (an existing one when continuing)."""
    continued: bool = False


@dataclass(slots=True)
class Retrying:
    """The request failed before any content; it is tried again after `delay` seconds."""

    attempt: int
    max_attempts: int
    delay: float
    error: ProviderError


@dataclass(slots=True)
class SeamTrimmed:
    """While continuing, `chars` characters that repeated the end of the partial answer were dropped."""

    chars: int


@dataclass(slots=True)
class RoundStarted:
    """The tool loop goes on: tool results were sent back and the model answers in a new message.

    `previous_message_id` (the message that asked for the tools) ended `complete`;
    `message_id` is the new assistant message (status `streaming`), and the text
    and tool events that follow belong to it.
    """

    message_id: int
    previous_message_id: int
    round: int
    """2 for the first answer after tool results, then 3, ..."""


@dataclass(slots=True)
class ToolRunning:
    """A tool call starts executing. `call` is a snapshot (status `running`)."""

    message_id: int
    """The assistant message that asked for the call."""
    call: ToolCall


@dataclass(slots=True)
class ToolFinished:
    """A tool call ended. `call` is a snapshot: status `ok` or `error`, result or error, duration_ms.

    Its result is already saved as a tool message (`tool_message_id`). A call
    cancelled with the turn gets no event: the turn ends (`cancelled`) and the
    stored call says `cancelled`.
    """

    message_id: int
    call: ToolCall
    tool_message_id: int | None = None


@dataclass(slots=True)
class TurnEnded:
    message_id: int
    """The last assistant message of the turn."""
    status: MessageStatus
    error: ProviderError | None = None
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    ttft_ms: int | None = None
    duration_ms: int | None = None
    chars: int = 0
    tool_calls: list[ToolCall] = field(default_factory=list)
    """The calls of the last message (`message_id`), with their final status."""
    message_ids: list[int] = field(default_factory=list)
    """Every assistant message of the turn, in order (more than one when tools were used)."""

    @property
    def completion_tokens(self) -> int | None:
        if not self.usage:
            return None
        value = self.usage.get("completion_tokens", self.usage.get("output_tokens"))
        return value if isinstance(value, int) else None


TurnEvent = (
    StreamEvent | TurnStarted | Retrying | SeamTrimmed | RoundStarted | ToolRunning | ToolFinished | TurnEnded
)

"""What the engine tells whoever shows a turn, besides the provider's events."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chat_tui.domain import MessageStatus, ToolCall
from chat_tui.errors import ProviderError
from chat_tui.providers.events import StreamEvent


@dataclass(slots=True, frozen=True)
class TurnStarted:
    conversation_id: int
    user_message_id: int | None
    message_id: int
    """The assistant message being written (an existing one when continuing)."""
    continued: bool = False


@dataclass(slots=True, frozen=True)
class Retrying:
    """The request failed before any content; it is tried again after `delay` seconds."""

    attempt: int
    max_attempts: int
    delay: float
    error: ProviderError


@dataclass(slots=True, frozen=True)
class SeamTrimmed:
    """While continuing, `chars` characters that repeated the end of the partial answer were dropped."""

    chars: int


@dataclass(slots=True)
class TurnEnded:
    message_id: int
    status: MessageStatus
    error: ProviderError | None = None
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    ttft_ms: int | None = None
    duration_ms: int | None = None
    chars: int = 0
    tool_calls: list[ToolCall] = field(default_factory=list)

    @property
    def completion_tokens(self) -> int | None:
        if not self.usage:
            return None
        value = self.usage.get("completion_tokens", self.usage.get("output_tokens"))
        return value if isinstance(value, int) else None


TurnEvent = StreamEvent | TurnStarted | Retrying | SeamTrimmed | TurnEnded

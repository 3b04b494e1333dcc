"""What the engine tells whoever shows a turn, besides the provider's events."""

from __future__ import annotations

from typing import Any

from chat_tui.domain import MessageStatus, ToolCall
from chat_tui.errors import ProviderError
from chat_tui.providers.events import Record, StreamEvent


class TurnStarted(Record):
    """`message_id`: the assistant message being written (an existing one when continuing)."""

    __slots__ = __match_args__ = ("conversation_id", "user_message_id", "message_id", "continued")

    def __init__(self, conversation_id: int, user_message_id: int | None, message_id: int,
                 continued: bool = False) -> None:
        self.conversation_id = conversation_id
        self.user_message_id = user_message_id
        self.message_id = message_id
        self.continued = continued


class Retrying(Record):
    """The request failed before any content; it is tried again after `delay` seconds."""

    __slots__ = __match_args__ = ("attempt", "max_attempts", "delay", "error")

    def __init__(self, attempt: int, max_attempts: int, delay: float, error: ProviderError) -> None:
        self.attempt = attempt
        self.max_attempts = max_attempts
        self.delay = delay
        self.error = error


class SeamTrimmed(Record):
    """While continuing, `chars` characters that repeated the end of the partial answer were dropped."""

    __slots__ = __match_args__ = ("chars",)

    def __init__(self, chars: int) -> None:
        self.chars = chars


class RoundStarted(Record):
    """The tool loop goes on: tool results were sent back and the model answers in a new message.

    `previous_message_id` (the message that asked for the tools) ended `complete`;
    `message_id` is the new assistant message (status `streaming`), and the text
    and tool events that follow belong to it. `round`: 2 for the first answer
    after tool results, then 3, ...
    """

    __slots__ = __match_args__ = ("message_id", "previous_message_id", "round")

    def __init__(self, message_id: int, previous_message_id: int, round: int) -> None:
        self.message_id = message_id
        self.previous_message_id = previous_message_id
        self.round = round


class ToolRunning(Record):
    """A tool call starts executing. `call` is a snapshot (status `running`);
    `message_id` the assistant message that asked for it."""

    __slots__ = __match_args__ = ("message_id", "call")

    def __init__(self, message_id: int, call: ToolCall) -> None:
        self.message_id = message_id
        self.call = call


class ToolFinished(Record):
    """A tool call ended. `call` is a snapshot: status `ok` or `error`, result or error, duration_ms.

    Its result is already saved as a tool message (`tool_message_id`). A call
    cancelled with the turn gets no event: the turn ends (`cancelled`) and the
    stored call says `cancelled`.
    """

    __slots__ = __match_args__ = ("message_id", "call", "tool_message_id")

    def __init__(self, message_id: int, call: ToolCall, tool_message_id: int | None = None) -> None:
        self.message_id = message_id
        self.call = call
        self.tool_message_id = tool_message_id


class TurnEnded(Record):
    """A turn is over. `message_id`: its last assistant message; `tool_calls`:
    that message's calls, with their final status; `message_ids`: every
    assistant message of the turn, in order (more than one when tools were used)."""

    __slots__ = __match_args__ = ("message_id", "status", "error", "finish_reason", "usage", "ttft_ms", "duration_ms",
                                  "chars", "tool_calls", "message_ids")

    def __init__(
        self,
        message_id: int,
        status: MessageStatus,
        error: ProviderError | None = None,
        finish_reason: str | None = None,
        usage: dict[str, Any] | None = None,
        ttft_ms: int | None = None,
        duration_ms: int | None = None,
        chars: int = 0,
        tool_calls: list[ToolCall] | None = None,
        message_ids: list[int] | None = None,
    ) -> None:
        self.message_id = message_id
        self.status = status
        self.error = error
        self.finish_reason = finish_reason
        self.usage = usage
        self.ttft_ms = ttft_ms
        self.duration_ms = duration_ms
        self.chars = chars
        self.tool_calls = [] if tool_calls is None else tool_calls
        self.message_ids = [] if message_ids is None else message_ids

    @property
    def completion_tokens(self) -> int | None:
        if not self.usage:
            return None
        value = self.usage.get("completion_tokens", self.usage.get("output_tokens"))
        return value if isinstance(value, int) else None


TurnEvent = (
    StreamEvent | TurnStarted | Retrying | SeamTrimmed | RoundStarted | ToolRunning | ToolFinished | TurnEnded
)

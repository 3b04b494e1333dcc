"""Plain domain objects shared by the providers, the store, the engine and the UI."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"


class MessageStatus(StrEnum):
    """Where an assistant message is in its life."""

    STREAMING = "streaming"
    """The request is under way; text is being appended."""
    COMPLETE = "complete"
    """The model finished normally."""
    CANCELLED = "cancelled"
    """The user stopped it; the partial text is kept."""
    INTERRUPTED = "interrupted"
    """The stream broke (network, server, stall, crash); the partial text is kept."""
    ERROR = "error"
    """The request failed before any content arrived."""
    SUPERSEDED = "superseded"
    """Replaced by a retry; kept (as an alternative), never sent to the model again."""

    @property
    def is_partial(self) -> bool:
        return self in (MessageStatus.CANCELLED, MessageStatus.INTERRUPTED)


@dataclass(slots=True)
class ToolCall:
    """A function call requested by the model, and (later) its result."""

    id: str
    name: str
    arguments: str = ""
    result: str | None = None
    error: str | None = None
    status: str = "pending"  # pending | running | ok | error | cancelled
    duration_ms: int | None = None
    server: bool = False
    """True for tools the provider runs itself (for example Anthropic web search)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "arguments": self.arguments,
            "result": self.result,
            "error": self.error,
            "status": self.status,
            "duration_ms": self.duration_ms,
            "server": self.server,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ToolCall:
        return cls(
            id=str(data.get("id", "")),
            name=str(data.get("name", "")),
            arguments=str(data.get("arguments", "")),
            result=data.get("result"),
            error=data.get("error"),
            status=str(data.get("status", "pending")),
            duration_ms=data.get("duration_ms"),
            server=bool(data.get("server", False)),
        )


@dataclass(slots=True)
class Usage:
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> Usage:
        prompt = raw.get("prompt_tokens", raw.get("input_tokens"))
        completion = raw.get("completion_tokens", raw.get("output_tokens"))
        return cls(
            prompt_tokens=prompt if isinstance(prompt, int) else None,
            completion_tokens=completion if isinstance(completion, int) else None,
            raw=raw,
        )

    def to_json(self) -> str:
        return json.dumps(self.raw)


@dataclass(slots=True)
class Conversation:
    id: int
    title: str
    created_at: float
    updated_at: float
    provider: str = ""
    model: str = ""
    system_prompt: str = ""
    last_status: MessageStatus | None = None
    message_count: int = 0


@dataclass(slots=True)
class ChatMessage:
    """One row of a conversation, as stored."""

    id: int
    conversation_id: int
    role: Role
    text: str = ""
    reasoning: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_call_id: str | None = None
    status: MessageStatus = MessageStatus.COMPLETE
    model: str = ""
    provider: str = ""
    error_kind: str | None = None
    error_message: str | None = None
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    ttft_ms: int | None = None
    duration_ms: int | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    attempt: int | None = None
    """The id of the first assistant message of the attempt this answer belongs to
    (all rounds of one answer share it; a retry starts a new one)."""
    prior_status: MessageStatus | None = None
    """For a superseded message: the status it had before, restored on switching back."""

    @property
    def usage_obj(self) -> Usage | None:
        return Usage.from_raw(self.usage) if self.usage else None


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A message that matches a full-text search."""

    conversation_id: int
    title: str
    message_id: int
    role: Role
    snippet: str
    """A short piece of the message around the match, on one line."""
    highlights: tuple[tuple[int, int], ...]
    """The (start, end) offsets in `snippet` of the matching words."""
    created_at: float
    """When the message was written."""
    replaced: bool = False
    """An answer (or message) replaced by a retry, a regeneration or an edit:
    kept in the store, not shown unless switched back to."""

"""What every provider promises.

Contract of `Provider.stream(request)`:

* It is an async generator of *batches* (lists) of `StreamEvent`s; one batch
  holds what one network read delivered.
* It never raises for provider or network trouble: failures arrive as a final
  `StreamFailed` event carrying a `ProviderError` with an `ErrorKind`. The last
  event of a stream is always `Finished` or `StreamFailed`.
* Closing the generator (`aclose()`, or cancelling the task iterating it)
  closes the HTTP response at once, so the server stops generating.
* It knows nothing of the store, the engine or the UI.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from chat_tui.domain import ToolCall
from chat_tui.providers.events import StreamEvent


@dataclass(slots=True)
class PromptMessage:
    """A message as sent to the model, in a provider-neutral form."""

    role: str  # system | user | assistant | tool
    content: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_call_id: str | None = None
    name: str | None = None
    is_error: bool = False
    """For a tool result: the call failed (the content says why)."""


@dataclass(slots=True)
class ToolSpec:
    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(slots=True)
class ChatRequest:
    model: str
    messages: list[PromptMessage]
    system: str = ""
    tools: list[ToolSpec] = field(default_factory=list)
    max_tokens: int | None = None
    temperature: float | None = None
    prefill: bool = False
    """The last message is a partial assistant answer the model should extend."""


class Provider(Protocol):
    name: str
    """Short kind: "openai", "anthropic" or "demo"."""
    model: str
    """The model of the next requests; set it to use another one (`label` follows)."""
    label: str
    """What the UI shows, for example "openai · gpt-4.1-mini"."""
    supports_prefill: bool

    def stream(self, request: ChatRequest) -> AsyncIterator[Sequence[StreamEvent]]: ...

    async def list_models(self) -> list[str]:
        """The names of the models the server offers; [] when it has no list.
        Failures raise `ProviderError` (one line, bounded in time and size)."""
        ...

    async def aclose(self) -> None: ...

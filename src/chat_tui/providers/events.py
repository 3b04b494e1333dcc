"""The normalized stream every provider produces.

A provider turns its wire format into these small facts. Events come in
*batches* (one batch per network read), so that whoever consumes them can do
per-batch work (a database commit, a repaint) instead of per-token work.

The last batch of a stream ends with exactly one terminal event:
`Finished` when the stream ended normally, or `StreamFailed` when it broke.

Events are treated as immutable, but are plain records (`Record`), not frozen
dataclasses: a frozen one takes twice as long to create (one per token), and
any dataclass compiles its methods when it is defined, at start-up.
"""

from __future__ import annotations

from typing import Any

from chat_tui.errors import ErrorKind, ProviderError


class Record:
    """A small record: its fields are its `__match_args__` (kept in `__slots__`,
    by the class or a base), compared and shown like a dataclass's.
    (Dataclasses compile their methods at import: 0.7 ms each, and the app
    defines these before its first frame.)"""

    __slots__ = ()
    __match_args__: tuple[str, ...] = ()
    __hash__ = None  # type: ignore[assignment]  # mutable, as a dataclass with eq is

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.__match_args__)

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__match_args__)
        return f"{type(self).__name__}({fields})"


class _Text(Record):
    """A piece of text of some kind (an event of each kind is its own type)."""

    __slots__ = __match_args__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class TextDelta(_Text):
    __slots__ = ()


class ReasoningDelta(_Text):
    __slots__ = ()


class RefusalDelta(_Text):
    """OpenAI's `delta.refusal`: the model declines; shown as the answer."""

    __slots__ = ()


class ToolCallStarted(Record):
    __slots__ = __match_args__ = ("index", "id", "name", "server")

    def __init__(self, index: int, id: str, name: str, server: bool = False) -> None:
        self.index = index
        self.id = id
        self.name = name
        self.server = server


class ToolCallArgumentsDelta(Record):
    __slots__ = __match_args__ = ("index", "text")

    def __init__(self, index: int, text: str) -> None:
        self.index = index
        self.text = text


class ToolCallEnded(Record):
    __slots__ = __match_args__ = ("index", "id", "name", "arguments", "server")

    def __init__(self, index: int, id: str, name: str, arguments: str, server: bool = False) -> None:
        self.index = index
        self.id = id
        self.name = name
        self.arguments = arguments
        self.server = server


class UsageReported(Record):
    __slots__ = __match_args__ = ("usage",)

    def __init__(self, usage: dict[str, Any]) -> None:
        self.usage = usage


class Finished(Record):
    """The stream ended normally. `reason` is the last finish/stop reason, if any;
    `done`: whether the explicit end marker (`[DONE]`, `message_stop`) arrived."""

    __slots__ = __match_args__ = ("reason", "done")

    def __init__(self, reason: str | None, done: bool = True) -> None:
        self.reason = reason
        self.done = done


class StreamFailed(Record):
    """The stream broke or the server reported an error; nothing follows."""

    __slots__ = __match_args__ = ("error", "finish_reason")

    def __init__(self, error: ProviderError, finish_reason: str | None = None) -> None:
        self.error = error
        self.finish_reason = finish_reason


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

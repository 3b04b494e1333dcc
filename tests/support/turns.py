"""Run one engine turn and fold its events, for assertions."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from chat_tui.engine import ChatEngine, Retrying, TurnEnded, TurnStarted
from chat_tui.providers.events import (
    Finished,
    ReasoningDelta,
    RefusalDelta,
    StreamFailed,
    TextDelta,
)


@dataclass
class Turn:
    shown: str = ""
    """The text the engine handed out, in order (what a UI would show)."""
    reasoning: str = ""
    message_id: int | None = None
    ended: TurnEnded | None = None
    retries: list[Retrying] = field(default_factory=list)
    terminal: list[Any] = field(default_factory=list)
    events: list[Any] = field(default_factory=list)


async def run_turn(engine: ChatEngine, conversation_id: int, prompt: str | None = None, **kwargs: Any) -> Turn:
    turn = Turn()
    async with contextlib.aclosing(engine.run_turn(conversation_id, prompt, **kwargs)) as stream:
        async for batch in stream:
            for event in batch:
                fold(turn, event)
    return turn


def fold(turn: Turn, event: Any) -> None:
    turn.events.append(event)
    match event:
        case TurnStarted(message_id=mid):
            turn.message_id = mid
        case TextDelta(text=t) | RefusalDelta(text=t):
            turn.shown += t
        case ReasoningDelta(text=t):
            turn.reasoning += t
        case Retrying():
            turn.retries.append(event)
        case Finished() | StreamFailed():
            turn.terminal.append(event)
        case TurnEnded():
            turn.ended = event


class SleepRecorder:
    """Stands in for asyncio.sleep: records each delay and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)

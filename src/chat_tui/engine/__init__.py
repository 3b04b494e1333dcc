"""The chat engine: runs turns against a provider and records them in the store.

It knows nothing of Textual; it yields plain events for whoever shows them.
"""

from chat_tui.engine.events import (
    Retrying,
    RoundStarted,
    SeamTrimmed,
    ToolFinished,
    ToolRunning,
    TurnEnded,
    TurnEvent,
    TurnStarted,
)
from chat_tui.engine.tools import Tool, ToolError, ToolRegistry
from chat_tui.engine.turn import ChatEngine, RetryPolicy

__all__ = [
    "ChatEngine",
    "RetryPolicy",
    "Retrying",
    "RoundStarted",
    "SeamTrimmed",
    "Tool",
    "ToolError",
    "ToolFinished",
    "ToolRegistry",
    "ToolRunning",
    "TurnEnded",
    "TurnEvent",
    "TurnStarted",
]

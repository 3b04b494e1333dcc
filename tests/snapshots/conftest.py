from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from chat_tui.ui.widgets.stream_view import MarkdownStreamView
from chat_tui.ui.widgets.tool_call_view import ToolCallView
from chat_tui.ui.widgets.typing_indicator import TypingIndicator


@pytest.fixture(autouse=True)
def deterministic(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Snapshots must not depend on timers or the local time zone: no cursor
    blink, no indicator animation, dates shown in UTC."""
    monkeypatch.setattr(MarkdownStreamView, "blink", False)
    monkeypatch.setattr(TypingIndicator, "animate", False)
    monkeypatch.setattr(ToolCallView, "animate", False)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    time.tzset()

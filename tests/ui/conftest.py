from __future__ import annotations

from collections.abc import Iterator

import pytest
from textual.screen import Screen

from chat_tui.ui.widgets.stream_view import MarkdownStreamView
from chat_tui.ui.widgets.tool_call_view import ToolCallView
from chat_tui.ui.widgets.typing_indicator import TypingIndicator


@pytest.fixture(autouse=True)
def no_blink(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The cursor blink and the typing indicator's animation change the screen
    on a timer; turn them off so that screens (and snapshots) are deterministic."""
    monkeypatch.setattr(MarkdownStreamView, "blink", False)
    monkeypatch.setattr(TypingIndicator, "animate", False)
    monkeypatch.setattr(ToolCallView, "animate", False)
    yield


@pytest.fixture
def layouts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry for each layout of a screen made while the test runs."""
    made: list[int] = []
    refresh_layout = Screen._refresh_layout

    def counted(self: Screen[object], *args: object, **kwargs: object) -> None:
        made.append(1)
        refresh_layout(self, *args, **kwargs)

    monkeypatch.setattr(Screen, "_refresh_layout", counted)
    return made

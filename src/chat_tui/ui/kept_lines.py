"""Widgets whose drawn lines are kept between screen updates until they change.

Textual takes a widget's lines from its cache at every screen update that
reaches the widget, but first works out its colours (walking its ancestors)
and line filters again: ~0.2 ms a widget here. While an answer streams, every
frame scrolls the conversation, so every frame reaches every message on
screen, and the blank row kept under the answer for its stats line. A
`KeptLines` widget keeps the lines drawn for an area at a size until anything
asks it to repaint (`refresh`: new content, a new style, a hover ...) or its
style changes; the screen-update test compares what is on screen with a fresh
paint at every step.
"""

from __future__ import annotations

from typing import Any

from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget


class KeptLines:
    """Mixin for a widget (before `Widget` in the bases) drawn by Textual's `render_lines`."""

    _kept: tuple[tuple[Any, ...], list[Strip]] | None = None

    def render_lines(self, crop: Region) -> list[Strip]:
        widget: Widget = self  # type: ignore[assignment]
        key = (crop, widget.size, tuple(widget.app.get_line_filters()))
        kept = self._kept
        if kept is not None and kept[0] == key:
            return kept[1]
        lines = super().render_lines(crop)  # type: ignore[misc]
        self._kept = (key, lines)
        return lines

    def forget_lines(self) -> None:
        """Draw the lines again at the next screen update that reaches the widget."""
        self._kept = None

    def refresh(self, *args: Any, **kwargs: Any) -> Any:
        self._kept = None
        return super().refresh(*args, **kwargs)  # type: ignore[misc]

    def notify_style_update(self) -> None:
        self._kept = None
        super().notify_style_update()  # type: ignore[misc]

"""Containers that draw nothing of their own are painted as one blank line.

Textual styles every line of every widget under a screen update, containers
included, although a container without a border or content shows only its
background (in its padding and the gaps between its children). A streaming
answer scrolls the whole conversation at each new line, so each screen update
styled every visible line of the transcript, of the answer's container and of
the screen behind them: about 0.1 ms a line, a sixth of a screen update here.
Textual's public `BLANK` flag paints such a widget with one blank line instead.

It is set only while the app's colour filters leave a blank line as it is: a
NO_COLOR or dimming filter must see every line, so then Textual draws them.
"""

from __future__ import annotations

from textual.filter import ANSIToTruecolor


class BlankBackground:
    """Mixin for a widget whose content is only its background (no border,
    outline, tint or text of its own; padding is fine: it is background too)."""

    @property
    def BLANK(self) -> bool:  # noqa: N802 - Textual's name
        filters = self.app.get_line_filters()  # type: ignore[attr-defined]
        return all(isinstance(line_filter, ANSIToTruecolor) for line_filter in filters)

"""The app's only reaches into Textual's private API, kept in one place.

Textual is pinned (pyproject.toml), and `tests/ui/test_textual_internals.py`
fails if what these rely on changes. Each exists because no public API does
the job:

* `LayoutOnce`: Textual lays the screen out a second time whenever a widget's
  virtual size changes (`Widget._size_updated` sets a reactive that asks for a
  layout), although the layout that found the new size has just placed
  everything. A streaming answer changes it with every new line, so the second
  layout doubled the cost of each one. (Scrollbars are updated either way.)
  Textual also marks the whole widget for repainting when its size changes
  (`_set_dirty()`), which throws away the cached cells of every line on screen
  although only the bottom of a growing answer changed: about a third of each
  screen update while streaming.
* `report_error`: what Textual does with an exception raised in a timer
  callback (show it, exit), for a callback scheduled straight on the event loop
  (a Textual timer per frame costs a task and a message).

One more stays where it belongs: `ChatApp._fatal_error` replaces Textual's crash
report, which prints every local variable of every frame (request headers and
message text among them) to the terminal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.geometry import Region

if TYPE_CHECKING:
    from textual.app import App
    from textual.geometry import Size
    from textual.widget import Widget


class LayoutOnce:
    """Mixin for a widget whose size changes need no second layout, and which
    grows at its bottom: when only its height changes, the lines above the old
    bottom keep Textual's cached cells (Textual would draw every line again)."""

    def _size_updated(self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True) -> bool:
        widget: Widget = self  # type: ignore[assignment]
        old = widget._size
        grown = old.width == size.width and old.height != size.height and old.width > 0
        if grown:
            # Mark only the lines from the old bottom edge (its padding or border
            # may move) to the new one, then let Textual see the size as known.
            gutter = widget.styles.gutter
            first = max(0, min(old.height, size.height) - gutter.bottom)
            widget._size = size
            lines = max(old.height, size.height) - first
            widget._set_dirty(Region(-gutter.left, first - gutter.top, size.width, lines))
        resize = super()._size_updated(size, virtual_size, container_size, layout=False)  # type: ignore[misc]
        return resize or grown


def report_error(app: App[object], error: Exception) -> None:
    app._handle_exception(error)

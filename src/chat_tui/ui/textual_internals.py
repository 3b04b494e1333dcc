"""The app's only reaches into Textual's private API, kept in one place.

Textual is pinned (pyproject.toml), and `tests/ui/test_textual_internals.py`
fails if what these rely on changes. Each exists because no public API does
the job:

* `LayoutOnce`: Textual lays the screen out a second time whenever a widget's
  virtual size changes (`Widget._size_updated` sets a reactive that asks for a
  layout), although the layout that found the new size has just placed
  everything. A streaming answer changes it with every new line, so the second
  layout doubled the cost of each one. (Scrollbars are updated either way.)
* `report_error`: what Textual does with an exception raised in a timer
  callback (show it, exit), for a callback scheduled straight on the event loop
  (a Textual timer per frame costs a task and a message).

One more stays where it belongs: `ChatApp._fatal_error` replaces Textual's crash
report, which prints every local variable of every frame (request headers and
message text among them) to the terminal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual.app import App
    from textual.geometry import Size


class LayoutOnce:
    """Mixin for a widget whose size changes need no second layout."""

    def _size_updated(self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True) -> bool:
        return super()._size_updated(size, virtual_size, container_size, layout=False)  # type: ignore[misc]


def report_error(app: App[object], error: Exception) -> None:
    app._handle_exception(error)

"""The scrolling conversation: follows the stream only while it is at the bottom."""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.geometry import Size


class Transcript(VerticalScroll):
    DEFAULT_CSS = """
    Transcript {
        height: 1fr;
        padding: 0 1;
        /* The scrollbar's room is always kept, so the text width does not
           change when the scrollbar appears (that would re-render everything). */
        scrollbar-gutter: stable;
    }
    """

    def _size_updated(self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True) -> bool:
        # Textual lays the screen out a second time when a widget's virtual size
        # changes (a reactive with layout=True), though the layout that found the
        # new size has just placed everything (scrollbars are updated either way).
        # A streaming answer changes it with each new line.
        return super()._size_updated(size, virtual_size, container_size, layout=False)

    def on_mount(self) -> None:
        # Anchored: new content keeps the view at the bottom until the user
        # scrolls up; scrolling back to the bottom anchors it again.
        self.anchor()

"""The scrolling conversation: follows the stream only while it is at the bottom."""

from __future__ import annotations

from textual.containers import VerticalScroll

from chat_tui.ui.blank import BlankBackground
from chat_tui.ui.textual_internals import CachedVerticalScrollBar, LayoutOnce, WindowedScroll


class Transcript(BlankBackground, CachedVerticalScrollBar, WindowedScroll, LayoutOnce, VerticalScroll):
    DEFAULT_CSS = """
    Transcript {
        height: 1fr;
        padding: 0 1;
        /* The scrollbar's room is always kept, so the text width does not
           change when the scrollbar appears (that would re-render everything),
           and the bar is always there, drawn blank while there is nothing to
           scroll: its appearing, when an answer first outgrows the view, laid
           the screen out twice. */
        scrollbar-gutter: stable;
        overflow-y: scroll;
    }
    """

    def on_mount(self) -> None:
        # Anchored: new content keeps the view at the bottom until the user
        # scrolls up; scrolling back to the bottom anchors it again.
        self.anchor()

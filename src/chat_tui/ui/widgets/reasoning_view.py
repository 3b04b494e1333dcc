"""The model's reasoning ("thinking"), in a section above the answer.

Open while only reasoning streams ("Thinking… 4.2 s"); it folds away the moment
the answer starts ("Thought for 12 s"), and can be opened again. The text is
rendered like an answer (sanitized, frame-batched) but never part of it.
"""

from __future__ import annotations

import time

from textual.widgets import Collapsible

from chat_tui.ui.widgets.stream_view import MarkdownStreamView


class ReasoningView(Collapsible):
    DEFAULT_CSS = """
    ReasoningView {
        border: none;
        padding: 0;
        margin: 0 0 1 0;
        background: transparent;
    }
    ReasoningView MarkdownStreamView { color: $text-muted; }
    ReasoningView Contents { padding: 0 0 0 2; }
    """

    def __init__(self, text: str = "", *, streaming: bool = False, seconds: float | None = None) -> None:
        self.body = MarkdownStreamView(text, streaming=streaming)
        self._start = time.monotonic()
        self.streaming = streaming
        title = "Thinking…" if streaming else self._done_title(seconds)
        super().__init__(self.body, title=title, collapsed=not streaming)

    @staticmethod
    def _done_title(seconds: float | None) -> str:
        return f"Thought for {seconds:.0f} s" if seconds is not None else "Reasoning"

    def append(self, text: str) -> None:
        self.body.append(text)
        if self.streaming:
            self.title = f"Thinking… {time.monotonic() - self._start:.0f} s"

    def finish(self) -> None:
        """The answer started (or the stream ended): fold the reasoning away."""
        if not self.streaming:
            return
        self.streaming = False
        self.body.finish()
        self.title = self._done_title(time.monotonic() - self._start)
        self.collapsed = True

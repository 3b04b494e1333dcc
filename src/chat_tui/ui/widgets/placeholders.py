"""What the transcript shows where there are no messages (yet): an empty
conversation's starting points, and the count of older messages not mounted."""

from __future__ import annotations

from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Static


class EarlierMessages(Static):
    """At the top of a long conversation: how many older messages are not shown yet."""

    DEFAULT_CSS = "EarlierMessages { color: $text-muted; text-align: center; height: 1; margin: 1 0; }"
    count: reactive[int] = reactive(0)

    def __init__(self, count: int) -> None:
        super().__init__()
        self.count = count

    def render(self) -> Content:
        return Content(f"↑ {self.count:,} earlier messages (scroll up to see them)")


class EmptyState(Static):
    """What an empty conversation shows: where to start."""

    DEFAULT_CSS = """
    EmptyState { width: 1fr; height: auto; margin: 4 2; color: $text-muted; text-align: center; }
    """

    def __init__(self, demo: bool) -> None:
        lines: list = [("Start a conversation", "bold $text"), "\n\nType below and press Enter. Esc stops an answer; "
                       "F1 lists every key; Ctrl+O opens saved conversations."]
        if demo:
            lines += ["\n\nTry: ", ("show me some code", "$accent"), " · ", ("compare sorting algorithms", "$accent"),
                      " · ", ("calculate 12 * (3 + 4)", "$accent"), " (calls a tool) · ", ("something long", "$accent")]
        super().__init__(Content.assemble(*lines))

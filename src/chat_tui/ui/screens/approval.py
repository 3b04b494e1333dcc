"""Asks whether a tool call that needs approval may run."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from chat_tui.domain import ToolCall
from chat_tui.sanitize import sanitize


class ApprovalScreen(ModalScreen[bool]):
    DEFAULT_CSS = """
    ApprovalScreen { align: center middle; }
    ApprovalScreen > Vertical {
        width: 80%; max-width: 100; height: auto; max-height: 80%;
        border: round $warning; background: $surface; padding: 1 2;
    }
    ApprovalScreen #question { text-style: bold; margin-bottom: 1; }
    ApprovalScreen #arguments { color: $text-muted; max-height: 20; overflow-y: auto; }
    ApprovalScreen Horizontal { height: auto; margin-top: 1; }
    ApprovalScreen Button { margin-right: 2; }
    """
    BINDINGS = [
        Binding("y", "answer(True)", "Allow"),
        Binding("n,escape", "answer(False)", "Refuse"),
    ]

    def __init__(self, call: ToolCall) -> None:
        super().__init__()
        self.call = call

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Content.assemble("Allow the tool ", (sanitize(self.call.name), "$accent"), " to run?"),
                         id="question")
            yield Static(Content(sanitize(self.call.arguments or "{}")), id="arguments")
            with Horizontal():
                yield Button("Allow (y)", id="allow", variant="warning")
                yield Button("Refuse (n)", id="refuse")

    @on(Button.Pressed)
    def choose(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "allow")

    def action_answer(self, allow: bool) -> None:
        self.dismiss(allow)

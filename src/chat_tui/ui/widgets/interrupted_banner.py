"""The banner under a partial answer: why it stopped, how much arrived, what to do."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Static

from chat_tui.domain import MessageStatus
from chat_tui.sanitize import sanitize


def describe_stop(status: MessageStatus, error_kind: str | None, error_message: str | None, chars: int) -> str:
    """The cause of a stop in plain words, with how much was received."""
    received = f"{chars:,} characters" if chars != 1 else "1 character"
    kind = error_kind or ""
    if status == MessageStatus.ERROR:
        return sanitize(error_message or "The request failed.")
    if kind == "crash":
        return f"chat-tui closed while this answer streamed; the {received} received were saved."
    if status == MessageStatus.CANCELLED or kind == "cancelled":
        return f"Cancelled after {received}." if chars else "Cancelled before any answer arrived."
    what = {
        "connection": "Connection lost",
        "stall": "The stream stalled",
        "timeout": "The server stopped answering",
        "rate_limit": "Rate limited by the provider",
        "server": "The server reported an error",
        "bad_response": "The server sent a malformed stream",
        "too_large": "The response was too large",
        "length": "Cut off at the model's length limit",
        "crash": "chat-tui stopped while this answer streamed",
    }.get(kind, "The answer stopped")
    detail = sanitize(error_message or "")
    if kind == "stall" and detail:
        return f"{detail.rstrip('.')} after {received}." if chars else detail
    text = f"{what} after {received}." if chars else f"{what}."
    if detail and kind not in ("crash", "length", "connection"):
        text += f" {detail}"
    return text


class InterruptedBanner(Widget):
    DEFAULT_CSS = """
    InterruptedBanner {
        height: auto;
        layout: vertical;
        border-left: thick $warning;
        background: $warning 10%;
        padding: 0 1;
        margin: 1 0 0 0;
    }
    InterruptedBanner.-cancelled {
        border-left: thick $secondary;
        background: $secondary 8%;
    }
    InterruptedBanner.-error {
        border-left: thick $error;
        background: $error 10%;
    }
    InterruptedBanner #reason { width: 1fr; }
    InterruptedBanner Horizontal { height: auto; margin-top: 1; }
    InterruptedBanner Button { min-width: 12; margin-right: 1; height: 1; border: none; }
    """

    @dataclass
    class ActionRequested(Message):
        banner: InterruptedBanner
        action: str  # retry | continue | dismiss
        message_id: int

        @property
        def control(self) -> InterruptedBanner:
            return self.banner

    def __init__(self, message_id: int, reason: str, *, status: MessageStatus, can_continue: bool = True) -> None:
        classes = {MessageStatus.CANCELLED: "-cancelled", MessageStatus.ERROR: "-error"}.get(status, "")
        super().__init__(classes=classes)
        self.message_id = message_id
        self.reason = reason
        self.can_continue = can_continue

    def compose(self) -> ComposeResult:
        yield Static(Content.assemble(("⚠ ", "$warning"), self.reason), id="reason")
        with Horizontal():
            yield Button("Retry ^R", id="retry", compact=True)
            if self.can_continue:
                yield Button("Continue ^G", id="continue", variant="primary", compact=True)
            yield Button("Dismiss", id="dismiss", compact=True)

    @on(Button.Pressed)
    def request_action(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id:
            self.post_message(self.ActionRequested(self, event.button.id, self.message_id))

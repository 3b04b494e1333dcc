"""ToolCallView: one row per tool call, live.

A spinner, the tool's name and a short preview of its arguments (growing while
they stream) and the elapsed time; then ✔ with a one-line result, or ✖ with the
error. Enter or a click expands the row to the full arguments and result.
Everything shown is sanitized text in `Content`, never markup.
"""

from __future__ import annotations

import time

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.reactive import var
from textual.widget import Widget
from textual.widgets import Static

from chat_tui.domain import ToolCall
from chat_tui.sanitize import sanitize

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
PREVIEW = 60


def one_line(text: str, limit: int) -> str:
    text = " ".join(sanitize(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ToolCallView(Widget, can_focus=True):
    DEFAULT_CSS = """
    ToolCallView {
        height: auto;
        padding: 0 1;
    }
    ToolCallView:focus { background: $boost; }
    ToolCallView #details {
        display: none;
        padding: 0 0 0 4;
        color: $text-muted;
    }
    ToolCallView.-expanded #details { display: block; }
    """
    BINDINGS = [Binding("enter,space", "toggle", "Expand", show=False)]
    animate = True
    """Spin while running (turned off in snapshot tests)."""

    expanded: var[bool] = var(False, toggle_class="-expanded")

    def __init__(self, call: ToolCall) -> None:
        super().__init__()
        self.call = call
        self.arguments = call.arguments
        self._started = time.monotonic()
        self._frame = 0
        self._timer = None
        self._ready = False

    def compose(self) -> ComposeResult:
        yield Static(id="row")
        yield Static(id="details")

    def on_mount(self) -> None:
        self._ready = True
        self._refresh_row()
        if self.animate and self.running:
            self._timer = self.set_interval(0.1, self._spin)

    @property
    def running(self) -> bool:
        return self.call.status in ("pending", "requested", "running")

    # -- updates from the turn ---------------------------------------------------------------
    def add_arguments(self, text: str) -> None:
        self.arguments += text
        self._refresh_row()

    def set_arguments(self, arguments: str) -> None:
        self.arguments = arguments
        self._refresh_row()

    def start(self, call: ToolCall) -> None:
        self.call = call
        self._started = time.monotonic()
        self._refresh_row()

    def finish(self, call: ToolCall) -> None:
        self.call = call
        if call.arguments:
            self.arguments = call.arguments
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._refresh_row()

    # -- drawing ------------------------------------------------------------------------------
    def _spin(self) -> None:
        self._frame = (self._frame + 1) % len(SPINNER)
        if self.running:
            self._refresh_row()

    def _refresh_row(self) -> None:
        if not self._ready:
            return
        call = self.call
        preview = one_line(self.arguments, PREVIEW)
        name = sanitize(call.name) or "tool"
        if self.running:
            elapsed = time.monotonic() - self._started if self.animate else 0.0
            mark = (SPINNER[self._frame], "$accent")
            tail: list = [(f"  {elapsed:.1f} s", "$text-muted")]
        elif call.status == "ok":
            mark = ("✔", "$success")
            tail = [("  → ", "$text-muted"), one_line(call.result or "", 70), *self._duration()]
        elif call.status == "cancelled":
            mark = ("✖", "$warning")
            tail = [("  cancelled", "$warning"), *self._duration()]
        else:
            mark = ("✖", "$error")
            tail = [("  ", ""), (one_line(call.error or call.result or "failed", 70), "$error"), *self._duration()]
        row = Content.assemble(mark, " ", (name, "bold"), ("(", "$text-muted"), preview, (")", "$text-muted"), *tail)
        self.query_one("#row", Static).update(row)
        if self.expanded:
            self._refresh_details()

    def _duration(self) -> list:
        ms = self.call.duration_ms
        return [(f"  {ms / 1000:.2f} s", "$text-muted")] if ms is not None else []

    def _refresh_details(self) -> None:
        call = self.call
        parts: list = [("arguments: ", "bold"), sanitize(self.arguments or "{}")]
        if call.result is not None:
            parts += ["\n", ("result: ", "bold"), sanitize(call.result)]
        if call.error:
            parts += ["\n", ("error: ", "bold"), sanitize(call.error)]
        self.query_one("#details", Static).update(Content.assemble(*parts))

    def watch_expanded(self, expanded: bool) -> None:
        if expanded:
            self._refresh_details()

    def action_toggle(self) -> None:
        self.expanded = not self.expanded

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self.action_toggle()

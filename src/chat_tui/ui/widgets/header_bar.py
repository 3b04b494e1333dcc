"""The top bar: app name, conversation title, provider and model (and a clear DEMO badge)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Static

from chat_tui.sanitize import sanitize
from chat_tui.ui.textual_internals import LayoutOnce


class _Item(LayoutOnce, Static):
    """A part of the bar: when its text changes width, the layout that places
    it is the only one (Textual asked for a second)."""


class HeaderBar(Horizontal):
    DEFAULT_CSS = """
    HeaderBar {
        height: 1;
        dock: top;
        background: $panel;
        padding: 0 1;
    }
    HeaderBar #app-name { width: auto; text-style: bold; color: $accent; }
    HeaderBar #title { width: 1fr; padding: 0 2; color: $text-muted; }
    HeaderBar #provider { width: auto; }
    HeaderBar #totals { width: auto; color: $text-muted; margin-right: 2; }
    HeaderBar #demo-badge { width: auto; background: $warning; color: $background; text-style: bold; padding: 0 1; margin-left: 1; }
    """

    def __init__(self, provider_label: str, *, demo: bool) -> None:
        super().__init__()
        self.provider_label = provider_label
        self.demo = demo

    def compose(self) -> ComposeResult:
        yield _Item("chat-tui", id="app-name")
        yield _Item("New conversation", id="title")
        yield _Item("", id="totals")
        yield _Item(Content(sanitize(self.provider_label)), id="provider")
        if self.demo:
            yield Static("DEMO · no API key set", id="demo-badge")

    def set_title(self, title: str) -> None:
        self.query_one("#title", Static).update(Content(sanitize(title) or "New conversation"))

    def set_totals(self, totals: str) -> None:
        self.query_one("#totals", Static).update(Content(totals))

    def set_provider(self, label: str) -> None:
        self.query_one("#provider", Static).update(Content(sanitize(label)))
